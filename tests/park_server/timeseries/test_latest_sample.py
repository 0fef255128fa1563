"""Live values come from ``latest_sample``, kept by ingest: the newest sample that is not bad, a
late or re-sent older sample leaves it, and the answer is the same as the raw table's."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session
from zctest_server import ingest_samples, make_server

from park_server.timeseries.queries import latest_sample, latest_values
from park_server.timeutil import format_ts, now_ms


def _s(t: int, v: float, quality: str = "good") -> dict[str, object]:
    return {
        "ts": format_ts(t),
        "meter": "aux-load",
        "quantity": "active_power_kw",
        "value": v,
        "quality": quality,
    }


def test_latest_moves_on_only_with_newer_good_samples(tmp_path: Path) -> None:
    server = make_server(f"sqlite:///{tmp_path / 'l.db'}")
    now = now_ms()
    with Session(server.engine) as session:
        ingest_samples(session, [_s(now - 60_000, 10.0), _s(now - 30_000, 12.0)])
        assert latest_sample(session, "huolingol", "aux-load", "active_power_kw") == (
            now - 30_000,
            12.0,
        )
        ingest_samples(session, [_s(now - 45_000, 99.0)])  # late: older than the newest
        ingest_samples(session, [_s(now - 10_000, 0.0, "bad")])  # offline device's 0.0
        assert latest_sample(session, "huolingol", "aux-load", "active_power_kw") == (
            now - 30_000,
            12.0,
        )
        ingest_samples(session, [_s(now - 5_000, 14.0, "uncertain")])
        assert ("aux-load", "active_power_kw", now - 5_000, 14.0) in latest_values(
            session, "huolingol"
        )
