"""The ``zcpark`` command (DESIGN.md §7).

Each subcommand lives in the package that owns it and is imported only when it runs, so that the
edge agent's command does not pull in the server. Every command exits 0 on success and 2 on bad
input, with one line naming the file, field and reason; it never prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from config.errors import ConfigError, UsageError

Handler = Callable[[argparse.Namespace], int]

#: subcommand -> "module:function" that runs it; filled in as each part of zcpark lands.
COMMANDS: dict[str, str] = {
    "check": "zcpark.check:run",
    "demo": "zcpark.demo:run",
    "forecast backtest": "forecasting.cli:run_backtest_cmd",
    "dispatch solve": "dispatch.cli:run_solve",
    "server": "park_server.cli:run_server",
    "edge": "edge_agent.cli:run_edge",
    "simulate": "edge_agent.cli:run_simulate",
    "db upgrade": "park_server.cli:run_db",
    "parks sync": "park_server.cli:run_parks_sync",
    "users add": "park_server.cli:run_users_add",
    "gateways add": "park_server.cli:run_gateways_add",
    "gateways broker": "park_server.cli:run_gateways_broker",
    "report": "park_server.cli:run_report",
    "docs config": "zcpark.docs:run",
}

NOT_BUILT = "not built yet in this version of zcpark"


def _add_subcommands(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="run the whole system on embedded defaults (see README)")
    p.add_argument("--workdir", default="var/demo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--modbus-port-base", type=int, default=15020)
    p.add_argument("--mqtt-url", help="use this broker instead of 127.0.0.1:1883 or a new one")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: Ctrl-C)")
    p.add_argument(
        "--park", default="huolingol", help="which shipped park to run (default huolingol)"
    )
    p.add_argument(
        "--history-days", type=int, default=35, help="days of history written before going live"
    )

    p = sub.add_parser("server", help="run the park server (FastAPI)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)

    p = sub.add_parser("edge", help="run an edge agent for one gateway file")
    p.add_argument("gateway", metavar="GATEWAY.yaml")

    p = sub.add_parser("simulate", help="serve a park's devices as Modbus/MQTT simulators")
    p.add_argument("park", metavar="PARK.yaml")
    p.add_argument("--modbus-port-base", type=int, default=15020)
    p.add_argument("--fault", action="append", metavar="METER=drop|slow:MS|exception:CODE")

    p = sub.add_parser("db", help="database schema")
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    dbsub.add_parser("upgrade", help="apply all migrations")

    p = sub.add_parser("parks", help="park files")
    psub = p.add_subparsers(dest="parks_command", metavar="ACTION", required=True)
    q = psub.add_parser("sync", help="load park files into the database")
    q.add_argument("files", nargs="+", metavar="PARK.yaml")

    p = sub.add_parser("users", help="console users")
    usub = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    q = usub.add_parser("add", help="add a user (password on standard input)")
    q.add_argument("name")
    q.add_argument("--role", required=True, choices=["admin", "manager", "viewer"])
    q.add_argument("--park", action="append", default=[], dest="parks")
    q.add_argument("--password-stdin", action="store_true", required=True)

    p = sub.add_parser("gateways", help="gateway keys")
    gsub = p.add_subparsers(dest="gateways_command", metavar="ACTION", required=True)
    q = gsub.add_parser("add", help="register a gateway and print its key once")
    q.add_argument("gateway")
    q.add_argument("--park", required=True)
    q.add_argument("--broker-url", help="the broker the gateway uses (default ZCPARK_MQTT_URL's)")
    q.add_argument("--uplink-out", metavar="FILE", help="write its uplink credentials (YAML)")
    q.add_argument("--mosquitto-passwd", metavar="FILE", help="rewrite the broker's password file")
    q.add_argument("--mosquitto-acl", metavar="FILE", help="rewrite the broker's ACL file")
    q = gsub.add_parser("broker", help="write the broker's password and ACL files again")
    q.add_argument("--mosquitto-passwd", metavar="FILE", required=True)
    q.add_argument("--mosquitto-acl", metavar="FILE", required=True)

    p = sub.add_parser("forecast", help="forecasting")
    fsub = p.add_subparsers(dest="forecast_command", metavar="ACTION", required=True)
    q = fsub.add_parser("backtest", help="rolling-origin backtest of a forecast model")
    q.add_argument("--data", required=True, metavar="FILE")
    q.add_argument("--target", required=True, choices=["pv", "wind", "load"])
    q.add_argument("--time-col", required=True)
    q.add_argument("--value-col", required=True)
    q.add_argument("--capacity-kw", type=float)
    q.add_argument("--lat", type=float)
    q.add_argument("--lon", type=float)
    q.add_argument("--weather-cols", default="")
    q.add_argument("--workday-col", help="column holding the day type (1 on working days) for load")
    q.add_argument("--holidays", help="else a calendar of config/factors/holidays.yaml, e.g. cn")
    q.add_argument("--issue-hour", type=int, default=10)
    q.add_argument("--tz", default="Asia/Shanghai")
    q.add_argument("--out", metavar="metrics.json")
    q.add_argument(
        "--leads",
        action="store_true",
        help="also score by lead time (0-1 h, 1-6 h, 6-24 h, 24-48 h): metrics.json by_lead",
    )

    p = sub.add_parser("dispatch", help="dispatch optimisation")
    dsub = p.add_subparsers(dest="dispatch_command", metavar="ACTION", required=True)
    q = dsub.add_parser("solve", help="solve a dispatch scenario (DESIGN.md §8)")
    q.add_argument("scenario", metavar="SCENARIO.json")
    q.add_argument("--out", metavar="PLAN.json")

    p = sub.add_parser("report", help="monthly green-power and carbon report")
    p.add_argument("--park", required=True)
    p.add_argument("--month", required=True, metavar="YYYY-MM")
    p.add_argument("--format", required=True, choices=["html", "pdf", "xlsx"])
    p.add_argument("--lang", default="zh", choices=["zh", "en"])
    p.add_argument("--out", required=True, metavar="FILE")

    p = sub.add_parser("docs", help="generated documentation")
    docsub = p.add_subparsers(dest="docs_command", metavar="ACTION", required=True)
    q = docsub.add_parser("config", help="regenerate docs/configuration.md from the models")
    q.add_argument("--check", action="store_true", help="exit 1 when the file is stale")

    p = sub.add_parser("check", help="validate park, gateway and device-profile files")
    p.add_argument("files", nargs="+", metavar="FILE.yaml")


def _command_key(args: argparse.Namespace) -> str:
    parts = [args.command]
    for attr in (
        "db_command",
        "parks_command",
        "users_command",
        "gateways_command",
        "forecast_command",
        "dispatch_command",
        "docs_command",
    ):
        value = getattr(args, attr, None)
        if value:
            parts.append(value)
    return " ".join(parts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zcpark",
        description="Energy management for zero-carbon industrial parks.",
    )
    parser.add_argument("--version", action="version", version="zcpark 0.1.0")
    _add_subcommands(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    key = _command_key(args)
    target = COMMANDS.get(key) or COMMANDS.get(args.command)
    if target is None:
        print(f"zcpark {key}: {NOT_BUILT}", file=sys.stderr)
        return 2
    module_name, func_name = target.split(":")
    handler: Handler = getattr(importlib.import_module(module_name), func_name)
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"zcpark {key}: {exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"zcpark {key}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
