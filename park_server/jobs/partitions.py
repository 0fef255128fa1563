"""The partition job (PostgreSQL, hourly): month partitions of ``measurement`` made ahead of time,
stragglers moved out of the default partition, and — with ``ZCPARK_RAW_RETENTION_DAYS`` — raw
months past retention dropped (rollups kept). Nothing to do on SQLite or an unpartitioned table."""

from __future__ import annotations

import logging

from park_server.db import partitions
from park_server.state import ServerState
from park_server.timeutil import DAY_MS, now_ms

log = logging.getLogger("zcpark.partitions")

EVERY_SECONDS = 3600


def partition_job(state: ServerState) -> None:
    if state.engine.dialect.name != "postgresql":
        return
    retention = state.settings.raw_retention_days
    now = now_ms()
    with state.engine.begin() as conn:
        if not partitions.is_partitioned(conn):
            return
        since = None if retention is None else now - retention * DAY_MS
        made = partitions.ensure_partitions(conn, now, since_ms=since)
    if made:
        log.info("measurement partitions created: %s", ", ".join(made))
    if retention is None:
        return
    with state.engine.begin() as conn:
        dropped = partitions.drop_old_partitions(conn, now, retention)
    if dropped:
        log.info(
            "raw samples older than %d days dropped: %s (rollups kept)",
            retention,
            ", ".join(dropped),
        )
