"""``zcpark demo``: the whole system on embedded defaults, on this machine.

A Mosquitto broker (the local one on 1883, or one started on a free port), the park server on
SQLite with the six shipped parks and its console, device simulators for one park (Huolin Gol by
default, ``--park P`` for any other), and an edge agent reading them — data flows simulator ->
agent -> MQTT -> server, the dispatcher plans every minute and its setpoints flow back to the
simulated battery and potlines.

Before going live it writes weeks of history for the park through the ingest path
(zcpark/demo_history.py, with planted events), rolls it up, forecasts and plans, then enters
certificates, a green-power trade, budgets and last month's inputs through the API
(zcpark/demo_seed.py) and generates last month's report — so the console is full from the
first minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from config.errors import UsageError
from config.redact import redact
from zcpark.demo_history import backfill, continue_live
from zcpark.demo_seed import Api, seed

DEMO_GATEWAY = "gw-demo"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DemoBroker:
    """The broker the demo uses: the server's URL, the gateway's, and the process when the demo
    started it (with a password file and ACL: docs/deployment.md, "Broker credentials")."""

    server_url: str
    gateway_url: str
    note: str
    process: subprocess.Popen[bytes] | None = None


def _broker(workdir: Path, url: str | None, db_url: str, creds: Any) -> DemoBroker:
    if url:
        return DemoBroker(url, url, "(given with --mqtt-url)")
    if _port_open("127.0.0.1", 1883):
        local = "mqtt://127.0.0.1:1883"
        return DemoBroker(
            local,
            local,
            "(this machine's, anonymous: no password or ACL, so any local client may publish "
            "as the gateway; setpoints are still signed)",
        )
    if shutil.which("mosquitto") is None:
        raise UsageError(
            "no MQTT broker on 127.0.0.1:1883 and no 'mosquitto' to start one "
            "(install it: apt-get install mosquitto, or run make demo)"
        )
    return _start_own_broker(workdir, db_url, creds)


def _start_own_broker(workdir: Path, db_url: str, creds: Any) -> DemoBroker:
    """A Mosquitto of the demo's own on a free port that takes only the server's user and the
    demo gateway's (password file and ACL written by park_server.db.broker_auth)."""
    import os

    from sqlmodel import Session

    from park_server.db import broker_auth
    from park_server.db.engine import make_engine

    port = _free_port()
    server_url = f"mqtt://zcpark-server:{secrets.token_urlsafe(18)}@127.0.0.1:{port}"
    passwd, acl = workdir / "mosquitto.passwd", workdir / "mosquitto.acl"
    engine = make_engine(db_url)
    with Session(engine) as session:
        broker_auth.write_broker_files(session, passwd=passwd, acl=acl, server_url=server_url)
    engine.dispose()
    conf = workdir / "mosquitto.conf"
    # as root, Mosquitto would read its 0600 files as user mosquitto, and fail
    run_as = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {passwd}\nacl_file {acl}\n{run_as}"
    )
    proc = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(100):
        if _port_open("127.0.0.1", port):
            break
        time.sleep(0.05)
    return DemoBroker(
        server_url,
        creds.mqtt_url(f"mqtt://127.0.0.1:{port}"),
        f"(started for the demo: users and ACL in {passwd.name}, {acl.name})",
        proc,
    )


def _prepare_database(url: str, workdir: Path, park_id: str) -> tuple[str, str]:
    from sqlmodel import Session, select

    from config import Park, shipped_parks
    from config.park import WeatherForecastSource
    from park_server.db import crud
    from park_server.db.engine import make_engine
    from park_server.db.migrate import upgrade
    from park_server.db.tables import ParkRow, UserRow

    upgrade(url)
    engine = make_engine(url)
    secret_file = workdir / "admin-password.txt"
    with Session(engine) as session:
        crud.sync_park_files(session, paths=shipped_parks())
        if session.exec(select(UserRow).where(UserRow.name == "admin")).first() is None:
            password = secrets.token_urlsafe(9)
            crud.create_user(session, name="admin", role="admin", parks=[], password=password)
            secret_file.write_text(password + "\n")
        password = secret_file.read_text().strip()
        key = crud.create_gateway(session, park_id=park_id, gateway_id=DEMO_GATEWAY)
        # the demo's weather provider: a CSV the demo rewrites from the simulator (_weather_feed)
        row = session.get(ParkRow, park_id)
        assert row is not None
        park = Park.model_validate_json(row.config_json)
        source = WeatherForecastSource(
            source="file", url=str(workdir / WEATHER_FILE), every_minutes=15
        )
        row.config_json = park.model_copy(update={"weather_forecast": source}).model_dump_json()
        session.add(row)
        session.commit()
    engine.dispose()
    return password, key


def _credentials(db_url: str, park_id: str) -> Any:
    """The demo gateway's broker credentials and setpoint key (new at every start)."""
    from sqlmodel import Session

    from park_server.db import broker_auth
    from park_server.db.engine import make_engine

    engine = make_engine(db_url)
    with Session(engine) as session:
        creds = broker_auth.issue_credentials(session, park_id=park_id, gateway_id=DEMO_GATEWAY)
    engine.dispose()
    return creds


def _gateway_file(
    workdir: Path, mqtt_url: str, port_base: int, park_id: str, setpoint_key: str | None = None
) -> Path:
    from config import load_park
    from config.loader import PARKS_DIR

    park = load_park(PARKS_DIR / f"{park_id}.yaml")
    doc = {
        "gateway": DEMO_GATEWAY,
        "park": park_id,
        "uplink": {
            "mqtt": mqtt_url,
            "batch_max_samples": 500,
            "batch_max_seconds": 1.0,
            "status_interval_s": 10,
            **({"setpoint_key": setpoint_key} if setpoint_key else {}),
        },
        "buffer": {"path": "gw-demo.sqlite", "max_mb": 512},
        "buses": [
            {
                "name": "plant-lan",
                "kind": "modbus_tcp",
                "host": "127.0.0.1",
                "port": port_base,
                "timeout_s": 1.0,
            }
        ],
        "devices": [
            {
                "meter": m.id,
                "bus": "plant-lan",
                "port": port_base + i,
                "unit_id": 1,
                "profile": m.profile,
                "poll_interval_s": 1,
            }
            for i, m in enumerate(park.meters)
        ],
    }
    path = workdir / "gw-demo.yaml"
    path.write_text("# written by zcpark demo\n" + yaml.safe_dump(doc, sort_keys=False))
    return path


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from config import load_park, shipped_parks
    from config.loader import PARKS_DIR
    from edge_agent.agent import Agent
    from edge_agent.simulate import start_park
    from park_server.app import create_app
    from park_server.settings import Settings

    parks = sorted(p.stem for p in shipped_parks())
    if args.park not in parks:
        raise UsageError(f"--park: no shipped park {args.park!r} (one of {', '.join(parks)})")
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{workdir / 'zcpark.db'}"
    password, key = _prepare_database(db_url, workdir, args.park)
    creds = _credentials(db_url, args.park)
    demo_broker = _broker(workdir, args.mqtt_url, db_url, creds)
    broker = demo_broker.process
    gw_path = _gateway_file(
        workdir, demo_broker.gateway_url, args.modbus_port_base, args.park, creds.setpoint_key
    )
    settings = Settings(
        database_url=db_url, mqtt_url=demo_broker.server_url, dispatch_interval_s=60.0
    )
    park = load_park(PARKS_DIR / f"{args.park}.yaml")
    base = f"http://{args.host}:{args.port}"

    print(f"zcpark demo in {workdir}")
    print(f"  MQTT broker   {redact(demo_broker.server_url)} {demo_broker.note}")
    sys.stdout.flush()
    past = _history(settings, park, workdir, args.history_days)
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
    )

    async def main() -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        model, sims, servers = await start_park(park, args.modbus_port_base)
        if past is not None:
            continue_live(model, past)
        feed = asyncio.create_task(_weather_feed(model, workdir / WEATHER_FILE, stop))
        agent = Agent(gw_path)
        agent_task = asyncio.create_task(agent.run(stop))
        server_task = asyncio.create_task(server.serve())
        while not server.started and not server_task.done():
            await asyncio.sleep(0.05)
        t_seed = time.monotonic()
        seeded = await asyncio.to_thread(_seed, base, password, park) if past else {}
        if seeded:
            seeded["seconds"] = round(time.monotonic() - t_seed)
        print(f"  console       {base}/  (API: {base}/api/v1, docs: {base}/docs)")
        print(f"  sign in as    admin / {password}  (also in {workdir / 'admin-password.txt'})")
        print(
            f"  simulators    {len(park.meters)} devices of {park.id} on 127.0.0.1:"
            f"{args.modbus_port_base}..{args.modbus_port_base + len(park.meters) - 1}"
        )
        print(f"  edge agent    {gw_path} (gateway key of {DEMO_GATEWAY}: {key[:14]}...)")
        if seeded:
            print(f"  entered       {json.dumps(seeded)}")
        print("  ready." + (" Ctrl-C stops everything." if not args.seconds else ""))
        sys.stdout.flush()
        if args.seconds:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), args.seconds)
        else:
            await stop.wait()
        stop.set()
        summary = _summary(db_url)
        summary["agent"] = agent.status()
        server.should_exit = True
        await asyncio.gather(agent_task, server_task, feed, return_exceptions=True)
        for s in servers:
            await s.shutdown()  # type: ignore[no-untyped-call]
        del sims, model
        return summary

    try:
        summary = asyncio.run(main())
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(5)
    print("summary: " + json.dumps(summary, default=str))
    return 0


def _history(settings: Any, park: Any, workdir: Path, days: int) -> Any:
    """Write the park's history through the ingest path, roll it up, forecast and plan, as the
    server's jobs would; return the simulator's state at the end of the history (None: none)."""
    if days <= 0:
        return None
    from park_server.db.engine import make_engine
    from park_server.jobs import dispatch, forecast
    from park_server.jobs.alarms import alarm_job
    from park_server.jobs.rollup import rollup_job
    from park_server.state import ServerState

    took: dict[str, float] = {}
    t = time.monotonic()

    def lap(name: str) -> None:
        nonlocal t
        took[name], t = time.monotonic() - t, time.monotonic()

    engine = make_engine(settings.database_url)
    past, planted, stored = backfill(engine, park, DEMO_GATEWAY, time.time(), days)
    lap("ingest")
    _write_weather(past, Path(workdir) / WEATHER_FILE)
    state = ServerState(settings, engine)
    rollup_job(state)
    lap("rollups")
    forecast.forecast_job(state)
    lap("forecasts")
    dispatch.rolling_job(state)
    alarm_job(state)
    lap("plan")
    engine.dispose()
    print(
        f"  history       {days} days, {stored:,} samples through the ingest path, rolled up, "
        f"forecast and planned ({', '.join(f'{k} {v:.0f} s' for k, v in took.items())}): a "
        f"gateway outage, a curtailment day on {planted.curtailment_day}, a counter reset of "
        f"{planted.reset_meter}"
    )
    sys.stdout.flush()
    return past


def _seed(base: str, password: str, park: Any) -> dict[str, Any]:
    """Enter the manager's figures through the API and generate last month's report."""
    from park_server.timeutil import local_now

    api = Api(f"{base}/api/v1", "admin", password)
    today = local_now(park.timezone).date()
    done = seed(api, park, today)
    month = done["month"]
    report = api.call("POST", f"/parks/{park.id}/reports/{month}")
    done["report"] = {k: report.get(k) for k in ("month", "revision", "sha256")}
    return done


def _write_weather(model: Any, path: Path) -> None:
    """The weather provider's file, written once before the server first reads it."""
    import csv

    rows = model.weather_forecast(time.time())
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    tmp.replace(path)  # the server never reads a half-written file


WEATHER_FILE = "weather-forecast.csv"


async def _weather_feed(model: Any, path: Path, stop: asyncio.Event) -> None:
    """Rewrite the demo park's weather forecast (next 48 h) every 15 minutes, as a provider's
    feed would; the server reads it as the park's configured file source."""

    while not stop.is_set():
        _write_weather(model, path)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 900)


def _summary(db_url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from park_server.db.engine import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        samples = conn.execute(text("SELECT COUNT(*) FROM measurement")).scalar_one()
        meters = conn.execute(text("SELECT COUNT(DISTINCT meter_id) FROM measurement")).scalar_one()
        plans = conn.execute(text("SELECT COUNT(*) FROM dispatch_plan")).scalar_one()
        weather = conn.execute(text("SELECT COUNT(*) FROM weather_forecast")).scalar_one()
        forecasts = conn.execute(text("SELECT COUNT(*) FROM forecast")).scalar_one()
    engine.dispose()
    return {
        "samples_stored": samples,
        "meters_reporting": meters,
        "plans": plans,
        "forecasts": forecasts,
        "weather_values": weather,
    }
