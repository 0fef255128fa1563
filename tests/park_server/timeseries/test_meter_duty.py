"""Only primary meters count: a potline measured on its DC side (primary) and on its AC side
(check meter) is consumption once, in the KPIs and in what the load forecast reads."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session
from zctest_server import make_server, store_power

from park_server.db import crud
from park_server.timeseries.kpis import park_kpis
from park_server.timeseries.queries import measured
from park_server.timeutil import QUARTER_MS, local_now


def test_a_check_meter_is_compared_never_summed(tmp_path: Path) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'd.db'}")
    day = (local_now("Asia/Shanghai") - timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    start = int(day.timestamp() * 1000)
    times = list(range(start, start + 96 * QUARTER_MS, QUARTER_MS // 3))  # every 5 min
    store_power(server, "potline-zhn", [(t, 500_000.0) for t in times])  # DC side, primary
    store_power(server, "potline-zhn-ac", [(t, 510_000.0) for t in times])  # AC side, check
    store_power(server, "aux-load", [(t, 10_000.0) for t in times])
    with Session(server.engine) as session:
        park = crud.park_config(session, park_id="huolingol")
        assert park is not None
        kpis = park_kpis(session.connection(), park, "day", day.date())
        # (500 MW + 10 MW) × 24 h, the AC side's 510 MW not added
        assert kpis["consumption_kwh"] == pytest.approx(510_000.0 * 24)
        load = measured(session, "huolingol", "load", start, start + 96 * QUARTER_MS)
        assert len(load) == 96
        assert load.to_numpy() == pytest.approx([510_000.0] * 96)
