"""The monthly report over the API, the command line and the scheduler job, on the synthetic
month stored through the real ingest path and rollups (zctest_carbon_park): generate, list and
serve; viewers read, managers generate; bad input is a 4xx with a reason (CLI: exit 2, one
line); a late sample makes revision 2."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import zctest_carbon as synth
from zctest_carbon_park import AFTER_NOVEMBER, GATEWAY, CarbonServer, carbon_server
from zctest_clock import FakeClock, pinned
from zctest_report import enter_synthetic_month, html_cells, xlsx_sheets

from park_server.db import crud
from park_server.db.engine import Session
from park_server.db.plans import store_plan
from park_server.ingest.batches import ingest_batch
from park_server.jobs.report_job import report_job
from park_server.jobs.rollup import rollup_job
from park_server.reports.issue import list_reports
from park_server.settings import get_settings
from park_server.state import ServerState
from park_server.timeutil import format_ts
from zcpark.cli import main

URL = "/api/v1/parks/synthpark/reports"
REL = 1e-9


@pytest.fixture(scope="module")
def cs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CarbonServer]:
    tmp = tmp_path_factory.mktemp("report-api")
    with pinned(FakeClock(AFTER_NOVEMBER)):  # the month is in the past for ingest and entries
        server = carbon_server(f"sqlite:///{tmp / 'zcpark.db'}", tmp)
        store_the_plan(server.server.engine)
        with server.server.client() as client:
            enter_synthetic_month(client, server.server.token(client, "cara"))
    yield server


def store_the_plan(engine: Any) -> None:
    """One day-ahead plan of the month and its rule-based baseline, as the dispatcher stores it
    (as the carbon API test does)."""
    (plan,) = synth.PLANS
    start = int(synth.PERIOD.start.value // 1_000_000) + 16 * 3600_000
    with Session(engine) as session:
        store_plan(
            session,
            park_id="synthpark",
            kind="day_ahead",
            created_ms=start - 3600_000,
            start_ms=start,
            end_ms=start + 24 * 3600_000,
            plan={
                "status": "optimal",
                "kpis": plan.kpis.model_dump(),
                "baseline_kpis": plan.baseline_kpis.model_dump(),
            },
        )


def _at(clock: FakeClock | None, when: datetime) -> None:
    assert clock is not None
    clock.t = when.timestamp()


def test_the_job_issues_last_month_from_0200_on_the_first(
    cs: CarbonServer, server_clock: FakeClock
) -> None:
    state = ServerState(cs.server.settings, cs.server.engine)
    _at(server_clock, datetime(2026, 11, 30, 17, 30, tzinfo=UTC))  # 01:30 on 1 Dec in Shanghai
    report_job(state)
    with Session(cs.server.engine) as session:
        assert list_reports(session, "synthpark") == []
    _at(server_clock, datetime(2026, 11, 30, 18, 15, tzinfo=UTC))  # 02:15 local
    report_job(state)
    report_job(state)  # a second run issues nothing new
    with Session(cs.server.engine) as session:
        issued = list_reports(session, "synthpark")
        assert [(r.month, r.revision, r.generated_by) for r in issued] == [
            ("2026-11", 1, "scheduler")
        ]
        # the shipped parks measured nothing in November: no report for them
        assert all(
            list_reports(session, p.id) == []
            for p in crud.park_configs(session)
            if p.id != "synthpark"
        )


def test_generate_list_and_serve(cs: CarbonServer, server_clock: FakeClock) -> None:
    _at(server_clock, AFTER_NOVEMBER)
    with cs.server.client() as client:
        manager = cs.server.token(client, "cara")
        viewer = cs.server.token(client, "vera")
        r = client.post(f"{URL}/2026-11", headers=manager)
        # the job issued revision 1 on the same data: nothing new
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["month"], body["revision"], body["created"]) == ("2026-11", 1, False)
        listed = client.get(URL, headers=viewer).json()
        assert listed == [
            {
                "month": "2026-11",
                "revision": 1,
                "sha256": body["sha256"],
                "generated": body["generated"],
                "formats": ["html", "pdf", "xlsx"],
                "factors_version": body["factors_version"],
            }
        ]
        r = client.get(f"{URL}/2026-11.html", headers=viewer)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert r.headers["x-report-sha256"] == body["sha256"]
        cells = html_cells(r.text)
        for key, want in synth.HAND.items():
            got = float(cells[f"park:{key}"][0])
            assert abs(got - want) <= REL * max(1.0, abs(want)), key
        for key, want in synth.HAND_ALU.items():
            got = float(cells[f"alu:{key}"][0])
            assert abs(got - want) <= REL * max(1.0, abs(want)), key
        assert "绿电与碳排放月报" in r.text and body["sha256"] in r.text
        en = client.get(f"{URL}/2026-11.html", params={"lang": "en", "revision": 1}, headers=viewer)
        assert en.status_code == 200 and "Monthly green-power and carbon report" in en.text
        x = client.get(f"{URL}/2026-11.xlsx", headers=viewer)
        assert x.status_code == 200
        assert "attachment" in x.headers["content-disposition"]
        sheets = xlsx_sheets(x.content)
        assert "intervals" in sheets and len(sheets["intervals"]) == 1 + synth.DAYS * 96
        # served again: the same bytes (stored on first request)
        assert client.get(f"{URL}/2026-11.xlsx", headers=viewer).content == x.content


def test_bad_input_is_a_4xx_with_a_reason(cs: CarbonServer, server_clock: FakeClock) -> None:
    _at(server_clock, AFTER_NOVEMBER)
    with cs.server.client() as client:
        manager = cs.server.token(client, "cara")
        viewer = cs.server.token(client, "vera")
        admin = cs.server.token(client, "ada")
        other = cs.server.token(client, "mia")  # manages huolingol only

        def detail(r: object) -> str:
            return str(r.json()["detail"])  # type: ignore[attr-defined]

        r = client.post(f"{URL}/2027-01", headers=manager)
        assert r.status_code == 422 and "is in the future" in detail(r)
        r = client.post(f"{URL}/2026-12", headers=manager)
        assert r.status_code == 422 and "running month" in detail(r)
        for bad in ("2026-13", "2026-1", "november", "2026-11-01"):
            r = client.post(f"{URL}/{bad}", headers=manager)
            assert r.status_code == 422 and "YYYY-MM" in detail(r), bad
            r = client.get(f"{URL}/{bad}.pdf", headers=viewer)
            assert r.status_code == 422, bad
        r = client.get(f"{URL}/2026-11.docx", headers=viewer)
        assert r.status_code == 422 and "YYYY-MM.pdf" in detail(r)
        r = client.get(f"{URL}/2026-11.pdf", params={"lang": "fr"}, headers=viewer)
        assert r.status_code == 422
        r = client.get(f"{URL}/2026-11.html", params={"revision": 9}, headers=viewer)
        assert r.status_code == 404 and "revision 9" in detail(r)
        r = client.get(f"{URL}/2026-10.html", headers=viewer)
        assert r.status_code == 404 and "no report" in detail(r)
        # path-like months never reach a file
        for path in ("..%2F..%2Fetc.pdf", "..%2F..%2Fetc%2Fpasswd", "%2E%2E.pdf"):
            r = client.get(f"{URL}/{path}", headers=viewer)
            assert r.status_code in (404, 422), path
            r = client.post(f"{URL}/{path}", headers=manager)
            assert r.status_code in (404, 422), path
        # unknown park, a park the user may not read, a viewer generating
        r = client.get("/api/v1/parks/nowhere/reports", headers=admin)
        assert r.status_code == 404 and "nowhere" in detail(r)
        r = client.post("/api/v1/parks/nowhere/reports/2026-11", headers=admin)
        assert r.status_code == 404
        r = client.get(URL, headers=other)
        assert r.status_code == 403
        r = client.get(f"{URL}/2026-11.pdf", headers=other)
        assert r.status_code == 403
        r = client.post(f"{URL}/2026-11", headers=viewer)
        assert r.status_code == 403
        r = client.post(f"{URL}/2026-11", headers=other)
        assert r.status_code == 403
        assert client.get(URL).status_code == 401
        # nothing of that was stored
        assert [x["revision"] for x in client.get(URL, headers=viewer).json()] == [1]


def test_cli_report_writes_the_file_and_refuses_bad_input(
    cs: CarbonServer,
    server_clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _at(server_clock, AFTER_NOVEMBER)
    monkeypatch.setenv("ZCPARK_DATABASE_URL", cs.server.settings.database_url)
    get_settings.cache_clear()
    try:
        out = tmp_path / "november.xlsx"
        args = ["report", "--park", "synthpark", "--month", "2026-11", "--format", "xlsx"]
        assert main([*args, "--lang", "en", "--out", str(out)]) == 0
        sheets = xlsx_sheets(out.read_bytes())
        figures = {f"{s}:{k}": v for s, k, v in sheets["figures"][1:]}
        want = synth.HAND["energy_kwh.consumption"]
        assert abs(figures["park:energy_kwh.consumption"] - want) <= REL * want
        assert "revision 1" in capsys.readouterr().err  # unchanged data: the job's revision
        for month, reason in (
            ("../../etc", "is not a month YYYY-MM"),
            ("2026-12", "running month"),
            ("2031-01", "in the future"),
        ):
            bad = tmp_path / "bad.pdf"
            code = main(
                [
                    "report",
                    "--park",
                    "synthpark",
                    "--month",
                    month,
                    "--format",
                    "pdf",
                    "--out",
                    str(bad),
                ]
            )
            err = capsys.readouterr().err
            assert code == 2 and reason in err and len(err.strip().splitlines()) == 1, err
            assert "Traceback" not in err and not bad.exists()
        code = main(
            [
                "report",
                "--park",
                "nowhere",
                "--month",
                "2026-11",
                "--format",
                "pdf",
                "--out",
                str(tmp_path / "x.pdf"),
            ]
        )
        err = capsys.readouterr().err
        assert code == 2 and "--park: no park 'nowhere'" in err
        code = main([*args, "--out", str(tmp_path / "missing" / "x.xlsx")])
        assert code == 2 and "--out" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_a_late_sample_makes_revision_2(cs: CarbonServer, server_clock: FakeClock) -> None:
    _at(server_clock, AFTER_NOVEMBER)
    # the gap's first interval (day 20, 06:00 local) arrives late: grid 200 kWh, PV 800 kWh
    ts = int(datetime(2026, 11, 19, 22, 0, tzinfo=UTC).timestamp() * 1000)
    samples = [
        {"ts": format_ts(ts), "meter": "grid-main", "quantity": "active_power_kw", "value": 800.0},
        {"ts": format_ts(ts), "meter": "pv-1", "quantity": "active_power_kw", "value": 3200.0},
        {"ts": format_ts(ts), "meter": "pv-1", "quantity": "available_power_kw", "value": 3200.0},
    ]
    with Session(cs.server.engine) as session:
        meters = crud.load_park_meters(session, "synthpark")
        body = {"v": 1, "park": "synthpark", "gateway": GATEWAY, "batch": 10**9, "samples": samples}
        res = ingest_batch(session, body, park=meters, gateway_id=GATEWAY)
        assert res.accepted == 3
    rollup_job(ServerState(cs.server.settings, cs.server.engine))
    with cs.server.client() as client:
        manager = cs.server.token(client, "cara")
        viewer = cs.server.token(client, "vera")
        r = client.post(f"{URL}/2026-11", headers=manager)
        assert r.status_code == 201, r.text
        body2 = r.json()
        assert body2["revision"] == 2 and body2["created"] is True
        changed = {c["figure"]: c for c in body2["changes"]}
        c = changed["park:energy_kwh.consumption"]
        assert abs(c["after"] - c["before"] - 1200.0) < 1e-6
        r = client.post(f"{URL}/2026-11", headers=manager)
        assert r.status_code == 200 and r.json()["revision"] == 2
        listed = client.get(URL, headers=viewer).json()
        assert [x["revision"] for x in listed] == [2, 1]
        assert listed[0]["sha256"] != listed[1]["sha256"]
        html = client.get(f"{URL}/2026-11.html", params={"lang": "en"}, headers=viewer).text
        assert "Changed since revision 1" in html
        old = client.get(f"{URL}/2026-11.html", params={"revision": 1}, headers=viewer)
        assert old.status_code == 200 and listed[1]["sha256"] in old.text
