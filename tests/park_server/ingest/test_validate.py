"""Sample validation: the fast path and the reasons agree on what a number is."""

from __future__ import annotations

import numpy as np

from park_server.db.crud import MeterInfo, ParkMeters
from park_server.ingest.batches import validate_batch
from park_server.timeutil import format_ts, now_ms


def test_numbers_booleans_and_reversed_meters() -> None:
    park = ParkMeters("p", {"m": MeterInfo(1), "rev": MeterInfo(-1)})
    ts = format_ts(now_ms() - 60_000)
    body = {
        "v": 1,
        "park": "p",
        "gateway": "g",
        "batch": 3,
        "samples": [
            {"ts": ts, "meter": "m", "quantity": "active_power_kw", "value": np.float64(1.5)},
            {"ts": ts, "meter": "m", "quantity": "reactive_power_kvar", "value": 2},
            {"ts": ts, "meter": "m", "quantity": "voltage_v", "value": True},
            {"ts": ts, "meter": "rev", "quantity": "active_power_kw", "value": 10.0},
            {"ts": ts, "meter": "rev", "quantity": "energy_import_kwh", "value": 7.0},
            {"ts": ts, "meter": "m", "quantity": "active_power_kw", "value": 9.0},  # same key again
        ],
    }
    rows, rejected, batch = validate_batch(body, park=park, gateway_id="g")
    assert batch == 3
    assert rejected == [{"index": 2, "reason": "value True is not a finite number"}]
    got = {(r[1], r[2]): r[4] for r in rows}
    assert got[("m", "active_power_kw")] == 1.5  # the first of a repeated key is kept
    assert got[("m", "reactive_power_kvar")] == 2.0
    # a meter installed the other way round is turned to §2's convention
    assert got[("rev", "active_power_kw")] == -10.0
    assert got[("rev", "energy_export_kwh")] == 7.0
    assert len(rows) == 4
