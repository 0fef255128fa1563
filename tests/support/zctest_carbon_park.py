"""The synthetic carbon month (tests/support/zctest_carbon.py) as a park on a real server.

``PARK_YAML`` is a park file whose meters are the synthetic month's; :func:`telemetry` turns the
month's interval energy into the samples a gateway would send (one per meter per 15 minutes:
power in kW, which the rollup's mean × covered time turns back into the interval's kWh, and for
``load-b`` a cumulative import counter with a reset on day 10); :func:`carbon_server` stores
them through the real ingest path and rolls them up with the rollup job.

The counter reset sits on ``load-b`` (a counter-only meter) rather than on ``grid-main``: the
grid meter has the 6-hour gap, and a counter bridging a gap puts the whole gap's energy into the
first interval after it (what a counter knows), which the hand answers do not expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import zctest_carbon as synth
from sqlmodel import Session
from zctest_server import Server, make_server

from park_server.db import crud
from park_server.db.crud import load_park_meters
from park_server.ingest.batches import ingest_batch
from park_server.jobs.rollup import rollup_job
from park_server.state import ServerState
from park_server.timeutil import QUARTER_MS, format_ts

PARK_YAML = """\
id: synthpark
name: Synthetic carbon park
name_zh: 合成零碳园区
league: Test
timezone: Asia/Shanghai
location: {lat: 40.8, lon: 111.7}
grid: {id: grid, import_limit_kw: 20000, export_limit_kw: 5000, anti_reverse_flow: false}
tariff: mengxi-large-industry
emission_factor: {region: inner_mongolia, year: 2022}
green_share_target: 0.8
enterprises:
  - {id: alu, name: Potline plant, industry: aluminium, meters: [pot-1], green_share_target: 0.8}
  - {id: bat, name: Battery plant, industry: batteries, meters: [load-b], green_share_target: 0.5}
assets:
  - {id: pv-1, kind: pv, capacity_kw: 10000}
  - id: wind-1
    kind: wind
    turbines: 1
    turbine_rated_kw: 2000
    power_curve: {wind_speed_ms: [0, 3, 12, 25], power_kw: [0, 0, 2000, 2000]}
  - {id: bess-1, kind: storage, energy_kwh: 3200, power_kw: 800, charge_efficiency: 0.95, discharge_efficiency: 0.95}
  - {id: pot-1, kind: flexible_load, type: potline, min_kw: 3000, max_kw: 5000, ramp_kw_per_interval: 500}
  - {id: load-b, kind: load, nominal_kw: 800}
meters:
  - {id: grid-main, asset: grid, profile: janitza-umg604}
  - {id: grid-check, asset: grid, profile: acrel-adl400, duty: check, check_tolerance_pct: 50}
  - {id: pv-1, asset: pv-1, profile: sunspec-inverter-float}
  - {id: wind-1, asset: wind-1, profile: wind-scada-gateway}
  - {id: bess-1, asset: bess-1, profile: sma-storage-pcs}
  - {id: pot-1, asset: pot-1, profile: potline-rectifier}
  - {id: load-b, asset: load-b, profile: chint-dtsu666}
"""
GATEWAY = "gw-synth"
#: a moment after the synthetic November: the server's clock is set here for these tests
AFTER_NOVEMBER = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
#: load-b's counter before the month [kWh]; it restarts from zero on RESET_DAY
COUNTER_START_KWH = 1_000_000.0


def telemetry() -> list[dict[str, object]]:
    """The synthetic month's samples (a gap is a gap: no sample)."""
    frame = synth.intervals()
    samples: list[dict[str, object]] = []
    for ts, meter, kwh, avail in frame.itertuples(index=False):
        if meter == "load-b":
            continue
        t = format_ts(int(ts.value // 1_000_000))
        samples.append({"ts": t, "meter": meter, "quantity": "active_power_kw", "value": 4 * kwh})
        if meter in ("pv-1", "wind-1"):
            samples.append(
                {"ts": t, "meter": meter, "quantity": "available_power_kw", "value": 4 * avail}
            )
    # load-b: one counter reading at 14 min into every interval (its increase since the reading
    # before lands in this interval), and one just before the month so the first interval counts
    load = frame[frame["meter"] == "load-b"]
    first = int(load["ts"].iloc[0].value // 1_000_000)
    counter = COUNTER_START_KWH
    reading = first - QUARTER_MS + 14 * 60_000
    samples.append(
        {
            "ts": format_ts(reading),
            "meter": "load-b",
            "quantity": "energy_import_kwh",
            "value": counter,
        }
    )
    reset_done = False
    for ts, kwh in zip(load["ts"], load["kwh"], strict=True):
        local = ts.tz_convert(synth.TZ)
        if local.day == synth.RESET_DAY and local.hour == 9 and not reset_done:
            counter = 0.0  # the meter restarted just after its last reading
            reset_done = True
        counter += float(kwh)
        reading = int(ts.value // 1_000_000) + 14 * 60_000
        samples.append(
            {
                "ts": format_ts(reading),
                "meter": "load-b",
                "quantity": "energy_import_kwh",
                "value": counter,
            }
        )
    return samples


@dataclass
class CarbonServer:
    server: Server
    gateway_key: str


def carbon_server(url: str, tmp: Path, *, ingest: bool = True) -> CarbonServer:
    """A migrated server with the shipped parks and ``synthpark``, its users (``cara`` manager,
    ``vera`` viewer of synthpark; ``mia`` manages huolingol only) and, with ``ingest``, the
    synthetic month stored through the ingest path and rolled up."""
    server = make_server(url)
    path = tmp / "synthpark.yaml"
    path.write_text(PARK_YAML, encoding="utf-8")
    with Session(server.engine) as session:
        crud.sync_park_files(session, paths=[path])
        key = crud.create_gateway(session, park_id="synthpark", gateway_id=GATEWAY)
        for name, role in (("cara", "manager"), ("vera", "viewer")):
            password = f"{name}-password-1"
            crud.create_user(session, name=name, role=role, parks=["synthpark"], password=password)
            server.passwords[name] = password
    if ingest:
        samples = telemetry()
        with Session(server.engine) as session:
            meters = load_park_meters(session, "synthpark")
            for i in range(0, len(samples), 5000):
                chunk = samples[i : i + 5000]
                body = {
                    "v": 1,
                    "park": "synthpark",
                    "gateway": GATEWAY,
                    "batch": i,
                    "samples": chunk,
                }
                res = ingest_batch(session, body, park=meters, gateway_id=GATEWAY)
                assert res.accepted == len(chunk), res.rejected[:3]
        rollup_job(ServerState(server.settings, server.engine))
    return CarbonServer(server, key)


def csv_upload() -> str:
    """The month's certificates and its unprofiled trade as a §10 CSV."""
    return (
        "enterprise,kind,serial_from,serial_to,mwh,technology,project,vintage,month\n"
        "alu,gec,GEC-000001,GEC-000500,500,wind,Zahanaoer wind,2026-10,2026-11\n"
        "bat,gec,GEC-000501,GEC-000550,50,pv,Etuoke PV,2026-10,2026-11\n"
        "bat,trade,,,20,pv,Mengxi PV PPA,2026-11,2026-11\n"
    )


def profiled_trade_row() -> dict[str, object]:
    return {
        "enterprise": "alu",
        "kind": "trade",
        "mwh": 72,
        "technology": "wind",
        "project": "Mengxi wind PPA",
        "vintage": "2026-11",
        "month": "2026-11",
    }


def alu_profile_body() -> dict[str, object]:
    profile = synth.alu_profile()
    return {
        "profile": [
            {"ts": format_ts(int(t.value // 1_000_000)), "kwh": float(v)}
            for t, v in zip(pd.DatetimeIndex(profile.index), profile.to_numpy(), strict=True)
            if v > 0
        ]
    }
