"""A counter that wraps where its park file says (``counter_rollover_kwh``) adds what it counted up
to the wrap; without the setting, the drop to near zero is a reset that counts only the new reading."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session
from zctest_server import ingest_samples, make_server

from park_server.db import crud
from park_server.jobs.rollup import rollup_job
from park_server.state import ServerState
from park_server.timeutil import QUARTER_MS, format_ts, now_ms


@pytest.mark.parametrize(("rollover", "energy"), [(100_000.0, 8.0 + 6.0), (None, 8.0 + 4.0)])
def test_a_wrapping_counter(tmp_path: Path, rollover: float | None, energy: float) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'w.db'}")
    with Session(server.engine) as session:
        park = crud.park_config(session, park_id="huolingol")
        assert park is not None
        meters = [
            m.model_copy(update={"counter_rollover_kwh": rollover}) if m.id == "aux-load" else m
            for m in park.meters
        ]
        crud.sync_park(session, park=park.model_copy(update={"meters": meters}))
        session.commit()
        now = now_ms()
        bucket = now - now % QUARTER_MS - 2 * QUARTER_MS
        readings = [
            (bucket - 60_000, 99_990.0),
            (bucket + 60_000, 99_998.0),
            (bucket + 120_000, 4.0),
        ]
        ingest_samples(
            session,
            [
                {
                    "ts": format_ts(t),
                    "meter": "aux-load",
                    "quantity": "energy_import_kwh",
                    "value": v,
                }
                for t, v in readings
            ],
        )
    rollup_job(ServerState(server.settings, server.engine))
    with server.engine.connect() as conn:
        got = conn.execute(
            text(
                "SELECT value FROM rollup WHERE meter_id = 'aux-load' AND quantity = "
                "'energy_import_kwh' AND resolution = '15min' AND ts_ms = :b"
            ),
            {"b": bucket},
        ).scalar_one()
    assert got == pytest.approx(energy)
