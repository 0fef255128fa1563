"""Server-side commands: server, db upgrade, parks sync, users add, gateways add/broker."""

from __future__ import annotations

import argparse
import logging
import re
import socket
import sys
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine
from sqlmodel import Session

from config.errors import UsageError
from config.gateway import check_mqtt_url
from config.redact import redact
from park_server.db import broker_auth, crud
from park_server.db.engine import make_engine
from park_server.db.migrate import upgrade
from park_server.db.tables import ParkRow
from park_server.settings import Settings, get_settings, with_server_secret


def _engine() -> Engine:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    upgrade(settings.database_url)  # every command works on the newest schema
    return engine


def run_server(args: argparse.Namespace) -> int:
    import uvicorn

    from park_server.app import create_app

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = with_server_secret(server_settings(get_settings(), args.port))
    upgrade(settings.database_url)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="info",
        **uvicorn_options(settings),
    )
    return 0


def server_settings(settings: Settings, port: int) -> Settings:
    """The settings of `zcpark server` on ``port``: without ZCPARK_INSTANCE_ID the instance is
    named {hostname}-{port} (two servers on one host differ by port; a restart keeps both), so its
    MQTT session is resumed after a crash (docs/decisions.md)."""
    if settings.instance_id:
        return settings
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:50] or "host"
    return settings.model_copy(update={"instance_id": f"{host}-{port}"})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """X-Forwarded-For is believed only from ZCPARK_TRUSTED_PROXIES (none by default), never from
    every local client as uvicorn would by default: a rotated header must not evade the login
    limiter."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}


def run_db(args: argparse.Namespace) -> int:
    from park_server.db.migrate import run

    return run(args)


def run_parks_sync(args: argparse.Namespace) -> int:
    engine = _engine()
    with Session(engine) as session:
        parks = crud.sync_park_files(session, paths=[Path(p) for p in args.files])
    for park in parks:
        print(f"park {park.id}: {len(park.assets)} assets, {len(park.meters)} meters synced")
    return 0


def run_users_add(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise UsageError("password (standard input): at least 8 characters")
    if args.role != "admin" and not args.parks:
        raise UsageError(f"--park: a {args.role} needs at least one park")
    engine = _engine()
    with Session(engine) as session:
        for p in args.parks:
            if session.get(ParkRow, p) is None:
                raise UsageError(f"--park: no park {p!r} in the database (run zcpark parks sync)")
        try:
            crud.create_user(
                session, name=args.name, role=args.role, parks=args.parks, password=password
            )
        except ValueError as exc:
            raise UsageError(f"NAME: {exc}") from None
    print(f"user {args.name} ({args.role}) added", file=sys.stderr)
    return 0


def run_gateways_add(args: argparse.Namespace) -> int:
    engine = _engine()
    with Session(engine) as session:
        if session.get(ParkRow, args.park) is None:
            raise UsageError(
                f"--park: no park {args.park!r} in the database (run zcpark parks sync)"
            )
        key = crud.create_gateway(session, park_id=args.park, gateway_id=args.gateway)
        creds = broker_auth.issue_credentials(session, park_id=args.park, gateway_id=args.gateway)
        broker_url = _gateway_broker_url(args.broker_url)
        uplink = {"mqtt": creds.mqtt_url(broker_url), "setpoint_key": creds.setpoint_key}
        if args.uplink_out:
            broker_auth.write_private(
                Path(args.uplink_out),
                f"# uplink of gateway {args.gateway} (park {args.park}): merge into its file\n"
                + yaml.safe_dump({"uplink": uplink}, sort_keys=False),
            )
        if args.mosquitto_passwd or args.mosquitto_acl:
            _write_broker_files(session, args)
    print(key)  # alone on its line: outside tools read it (DESIGN.md §7)
    if args.uplink_out:
        print(f"uplink credentials written to {args.uplink_out}", file=sys.stderr)
    else:
        print(f"uplink.mqtt: {uplink['mqtt']}", file=sys.stderr)
        print(f"uplink.setpoint_key: {uplink['setpoint_key']}", file=sys.stderr)
    return 0


def run_gateways_broker(args: argparse.Namespace) -> int:
    """``zcpark gateways broker --mosquitto-passwd FILE --mosquitto-acl FILE``: write the broker's
    password and ACL files for every gateway again (after a server password change, or when the
    files were lost), without handing out new credentials."""
    engine = _engine()
    with Session(engine) as session:
        _write_broker_files(session, args)
    return 0


def _gateway_broker_url(url: str | None) -> str:
    """The broker a gateway connects to: --broker-url, else ZCPARK_MQTT_URL's host, else
    mqtt://127.0.0.1:1883 (the credentials of the URL are replaced by the gateway's)."""
    chosen = url or get_settings().mqtt_url or "mqtt://127.0.0.1:1883"
    try:
        check_mqtt_url(chosen)
    except ValueError as exc:
        raise UsageError(f"--broker-url: {redact(str(exc))}") from None
    return chosen


def _write_broker_files(session: Session, args: argparse.Namespace) -> None:
    if not (args.mosquitto_passwd and args.mosquitto_acl):
        missing = "--mosquitto-acl" if args.mosquitto_passwd else "--mosquitto-passwd"
        raise UsageError(f"{missing}: required with the other (the two files go together)")
    for opt in ("mosquitto_passwd", "mosquitto_acl"):
        folder = Path(getattr(args, opt)).parent
        if not folder.is_dir():
            raise UsageError(f"--{opt.replace('_', '-')}: folder {str(folder)!r} does not exist")
    try:
        n = broker_auth.write_broker_files(
            session,
            passwd=Path(args.mosquitto_passwd),
            acl=Path(args.mosquitto_acl),
            server_url=get_settings().mqtt_url,
        )
    except ValueError as exc:
        raise UsageError(f"ZCPARK_MQTT_URL: {exc}") from None
    print(
        f"broker files written: {args.mosquitto_passwd}, {args.mosquitto_acl} ({n} gateways "
        "and the server); reload Mosquitto (kill -HUP) to apply them",
        file=sys.stderr,
    )


def run_report(args: argparse.Namespace) -> int:
    """``zcpark report --park P --month YYYY-MM --format F [--lang L] --out FILE``: the month's
    report (issued now, or the newest revision when its data are unchanged) written to FILE."""
    from park_server.reports.issue import ReportError, issue, rendering

    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"--out: folder {str(out.parent)!r} does not exist")
    if out.is_dir():
        raise UsageError(f"--out: {args.out!r} is a folder, not a file")
    engine = _engine()
    with Session(engine) as session:
        park = crud.park_config(session, park_id=args.park)
        if park is None:
            raise UsageError(
                f"--park: no park {args.park!r} in the database (run zcpark parks sync)"
            )
        try:
            done = issue(session, park, args.month, by="cli")
            info, data = rendering(
                session, park.id, args.month, args.format, args.lang, done.info.revision
            )
        except ReportError as exc:
            raise UsageError(f"--{exc.field}: {exc.reason}") from None
    out.write_bytes(data)
    state = "new revision" if done.created else "unchanged, revision"
    print(
        f"{args.out}: {park.id} {args.month} {state} {info.revision} "
        f"({args.format}, {args.lang}), sha256 {info.sha256}",
        file=sys.stderr,
    )
    return 0
