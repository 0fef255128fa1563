"""Park server: ingest, storage, rollups, API, console, carbon accounting, reports, scheduler."""
