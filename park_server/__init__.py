"""The park server: stores what the gateways send, rolls it up, forecasts, dispatches, accounts
carbon and green power, serves the API (and, as they land, the console and monthly reports).

One subpackage per concern, each importing only those below it (import-linter contracts in
pyproject.toml, run by ``make lint``; docs/architecture.md draws the tree):

- ``cli``, ``app``: the command line and the composition root (the FastAPI app, its lifespan).
- ``api``: thin routes, their dependencies and error shape; no SQL of their own.
- ``jobs``: the scheduler with its leadership and every background job.
- ``ingest``, ``timeseries``: data in (validation, MQTT link, setpoints out) and data read
  (rollups, latest values, measurement queries, stored forecasts).
- ``state``: what the running server holds besides the database.
- ``db``: tables, migrations, engine, crud.
- ``security``, ``settings``, ``timeutil``: small modules every layer may use.
"""
