"""Carbon records through the API: who may read and write, bad input refused with the field named
and nothing partial stored, the upload size limit, and the dual-control alarm job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from zctest_carbon_park import AFTER_NOVEMBER, CarbonServer, carbon_server, csv_upload
from zctest_clock import FakeClock

from park_server.db.tables import EventRow
from park_server.jobs.carbon_alarms import check_budgets

URL = "/api/v1/parks/synthpark"
HEADER = "enterprise,kind,serial_from,serial_to,mwh,technology,project,vintage,month\n"


@pytest.fixture
def cs(database_url: str, tmp_path: Path, server_clock: FakeClock) -> CarbonServer:
    server_clock.t = AFTER_NOVEMBER.timestamp()
    server_clock.running = False  # projections to 1e-9: the clock stands still
    return carbon_server(database_url, tmp_path, ingest=False)


@pytest.fixture
def client(cs: CarbonServer) -> Iterator[TestClient]:
    with cs.server.client() as c:
        yield c


def _csv(client: TestClient, h: dict[str, str], body: str) -> Any:
    return client.post(
        f"{URL}/certificates", content=body, headers={**h, "Content-Type": "text/csv"}
    )


def _loc(r: Any) -> list[Any]:
    return [d["loc"] for d in r.json()["detail"]]


def test_roles(cs: CarbonServer, client: TestClient) -> None:
    viewer, manager = cs.server.token(client, "vera"), cs.server.token(client, "cara")
    other, admin = cs.server.token(client, "mia"), cs.server.token(client, "ada")
    reads = [
        "/carbon?period=month&date=2026-11-01",
        "/certificates",
        "/budgets/2026",
        "/inputs/2026-11",
        "/offsets",
    ]
    for path in reads:
        assert client.get(URL + path, headers=viewer).status_code == 200, path
        assert client.get(URL + path, headers=other).status_code == 403, path
        assert client.get(URL + path).status_code == 401, path
    budget = {"budgets": [{"enterprise": None, "carbon_t": 1000.0}]}
    for i, (h, code) in enumerate(((viewer, 403), (other, 403), (manager, 200), (admin, 200))):
        assert client.put(f"{URL}/budgets/2026", json=budget, headers=h).status_code == code
        r = _csv(client, h, HEADER + f"alu,gec,G-{i}1,G-{i}1,1,wind,P,2026,2026-11\n")
        assert r.status_code == code, r.text
        assert client.post(f"{URL}/offsets", json=[], headers=h).status_code == code
        assert client.put(f"{URL}/inputs/2026-11", json={}, headers=h).status_code == code
    # the viewer's and the other park's manager's attempts stored nothing
    listed = client.get(f"{URL}/certificates", headers=viewer).json()
    assert sorted(c["created_by"] for c in listed) == ["ada", "cara"]


def test_certificate_counted_once_and_bad_rows(cs: CarbonServer, client: TestClient) -> None:
    h = cs.server.token(client, "cara")
    r = _csv(client, h, csv_upload())
    assert r.status_code == 200 and r.json()["accepted"] == 3
    # the same certificates again, one overlapping by a single serial, and a good row
    again = (
        HEADER
        + "bat,gec,GEC-000550,GEC-000560,11,pv,Etuoke PV,2026-10,2026-11\n"
        + "alu,gec,GEC-000001,GEC-000500,500,wind,Zahanaoer wind,2026-10,2026-11\n"
        + "alu,gec,GEC-001001,GEC-001010,10,wind,Zahanaoer wind,2026-10,2026-11\n"
        + "alu,gec,GEC-002001,GEC-002010,-10,wind,Zahanaoer wind,2026-10,2026-11\n"
    )
    r = _csv(client, h, again)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["accepted"] == 1
    assert [x["line"] for x in body["rejected"]] == [2, 3, 5]
    assert "overlaps" in body["rejected"][0]["reason"]
    assert "overlaps" in body["rejected"][1]["reason"]
    assert body["rejected"][2]["reason"].startswith("mwh:")
    assert [d["loc"] for d in body["detail"]] == [["body", 2], ["body", 3], ["body", 5]]
    listed = client.get(f"{URL}/certificates", headers=h).json()
    assert len(listed) == 4  # three before, the one good row of the second upload
    # a GEC that came bundled with a trade, entered again as a certificate
    trade = {
        "enterprise": "alu",
        "kind": "trade",
        "serial_from": "GEC-003001",
        "serial_to": "GEC-003050",
        "mwh": 60,
        "technology": "wind",
        "project": "PPA",
        "vintage": "2026-11",
        "month": "2026-11",
    }
    assert client.post(f"{URL}/certificates", json=[trade], headers=h).status_code == 200
    gec = {**trade, "kind": "gec", "serial_to": "GEC-003010", "mwh": 10}
    r = client.post(f"{URL}/certificates", json=[gec], headers=h)
    assert r.status_code == 422
    assert "bundled with a green-power trade" in r.json()["rejected"][0]["reason"]
    assert len(client.get(f"{URL}/certificates", headers=h).json()) == 5
    # a wrong header refuses the whole file, naming it
    r = _csv(client, h, "enterprise,kind\nalu,gec\n")
    assert r.status_code == 422 and _loc(r) == [["body", "header"]]
    r = client.post(
        f"{URL}/certificates", content="x", headers={**h, "Content-Type": "application/xml"}
    )
    assert r.status_code == 415
    assert len(client.get(f"{URL}/certificates", headers=h).json()) == 5


def test_trade_profile_checked(cs: CarbonServer, client: TestClient) -> None:
    h = cs.server.token(client, "cara")
    r = _csv(client, h, csv_upload())
    gec_id, _, trade_id = r.json()["ids"]  # the bat trade of 20 MWh is the third row
    point = {"ts": "2026-10-31T16:00:00Z", "kwh": 10_000.0}  # 00:00 on 1 November, local
    r = client.post(f"{URL}/trades/{trade_id}/profile", json={"profile": [point]}, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "profile"]]
    assert "adds up to 10000 kWh" in r.json()["detail"][0]["msg"]
    late = {"ts": "2026-10-31T16:05:00Z", "kwh": 20_000.0}
    r = client.post(f"{URL}/trades/{trade_id}/profile", json={"profile": [late]}, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "profile", 0, "ts"]]
    outside = {"ts": "2026-10-31T15:45:00Z", "kwh": 20_000.0}  # still October, local
    r = client.post(f"{URL}/trades/{trade_id}/profile", json={"profile": [outside]}, headers=h)
    assert r.status_code == 422 and "outside the trade's month" in r.text
    negative = {"ts": "2026-10-31T16:00:00Z", "kwh": -1.0}
    r = client.post(f"{URL}/trades/{trade_id}/profile", json={"profile": [negative]}, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "profile", 0, "kwh"]]
    assert (
        client.post(f"{URL}/trades/{gec_id}/profile", json={"profile": []}, headers=h).status_code
        == 404
    )
    assert (
        client.post(f"{URL}/trades/999/profile", json={"profile": []}, headers=h).status_code == 404
    )
    listed = {c["id"]: c for c in client.get(f"{URL}/certificates", headers=h).json()}
    assert listed[trade_id]["profile_intervals"] == 0  # nothing of a refused profile stored
    good = {"ts": "2026-10-31T16:00:00Z", "kwh": 20_000.0}
    r = client.post(f"{URL}/trades/{trade_id}/profile", json={"profile": [good]}, headers=h)
    assert r.status_code == 200 and r.json() == {"trade": trade_id, "intervals": 1, "kwh": 20_000.0}


def test_budgets_inputs_offsets_refused_whole(cs: CarbonServer, client: TestClient) -> None:
    h = cs.server.token(client, "cara")
    ok = {"budgets": [{"enterprise": None, "carbon_t": 12000.0, "t_co2_per_t_product": 3.0}]}
    assert client.put(f"{URL}/budgets/2026", json=ok, headers=h).status_code == 200
    unknown = {"budgets": [{"carbon_t": 1.0}, {"enterprise": "zinc", "carbon_t": 5.0}]}
    r = client.put(f"{URL}/budgets/2026", json=unknown, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "budgets", 1, "enterprise"]]
    negative = {"budgets": [{"enterprise": "alu", "carbon_t": -5.0}]}
    r = client.put(f"{URL}/budgets/2026", json=negative, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "budgets", 0, "carbon_t"]]
    twice = {"budgets": [{"enterprise": "alu"}, {"enterprise": "alu"}]}
    assert client.put(f"{URL}/budgets/2026", json=twice, headers=h).status_code == 422
    assert client.put(f"{URL}/budgets/1999", json=ok, headers=h).status_code == 422
    stored = client.get(f"{URL}/budgets/2026", headers=h).json()
    assert stored["source"] == "stored"
    assert stored["budgets"] == [
        {
            "enterprise": None,
            "carbon_t": 12000.0,
            "energy_tce": None,
            "t_co2_per_t_product": 3.0,
            "t_co2_per_10k_yuan": None,
        }
    ]

    entry = {"enterprise": "alu", "production_t": 220.0, "fuels": {"diesel_t": 2.0}}
    assert (
        client.put(f"{URL}/inputs/2026-11", json={"entries": [entry]}, headers=h).status_code == 200
    )
    bad = {"entries": [{**entry, "production_t": 230.0}, {"enterprise": "bat", "production_t": -1}]}
    r = client.put(f"{URL}/inputs/2026-11", json=bad, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "entries", 1, "production_t"]]
    fuel = {"entries": [{"enterprise": "bat", "fuels": {"coal_t": -2}}]}
    r = client.put(f"{URL}/inputs/2026-11", json=fuel, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "entries", 0, "fuels", "coal_t"]]
    r = client.put(f"{URL}/inputs/2026-11", json={"entries": [{"enterprise": "zinc"}]}, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "entries", 0, "enterprise"]]
    r = client.put(f"{URL}/inputs/2027-01", json={"entries": [entry]}, headers=h)
    assert r.status_code == 422 and _loc(r) == [["path", "month"]]
    r = client.put(f"{URL}/inputs/2026-13", json={"entries": [entry]}, headers=h)
    assert r.status_code == 422
    guide = {"guide": {"water_reuse": 1.5}}
    r = client.put(f"{URL}/inputs/2026-11", json=guide, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "guide", "water_reuse"]]
    got = client.get(f"{URL}/inputs/2026-11", headers=h).json()
    assert [(e["enterprise"], e["production_t"]) for e in got["entries"]] == [("alu", 220.0)]

    r = client.post(
        f"{URL}/offsets",
        json=[
            {"kind": "ccer", "project": "Forest", "vintage": 2025, "t_co2e": 100.0},
            {"kind": "sink", "project": "Grass", "vintage": 2025, "t_co2e": -3.0},
        ],
        headers=h,
    )
    assert r.status_code == 422 and _loc(r) == [["body", 1, "t_co2e"]]
    assert client.get(f"{URL}/offsets", headers=h).json() == []


def test_carbon_query_refused(cs: CarbonServer, client: TestClient) -> None:
    h = cs.server.token(client, "vera")
    r = client.get(f"{URL}/carbon?period=month&date=2026-11-31", headers=h)
    assert r.status_code == 422 and _loc(r) == [["query", "date"]]
    r = client.get(f"{URL}/carbon?period=week&date=2026-11-01", headers=h)
    assert r.status_code == 422 and _loc(r) == [["query", "period"]]
    r = client.get(f"{URL}/carbon?period=month&date=2026-11-01&enterprise=zinc", headers=h)
    assert r.status_code == 422 and _loc(r) == [["query", "enterprise"]]
    r = client.get(f"{URL}/carbon?period=month&date=2027-01-01", headers=h)
    assert r.status_code == 422 and "has not begun" in r.text
    r = client.get(f"{URL}/carbon?period=year&date=9999-12-31", headers=h)
    assert r.status_code == 422 and _loc(r) == [["query", "date"]]
    # periods with no data: nothing made up, completeness says so
    for period, day, label in (
        ("month", "2026-11-01", "2026-11"),
        ("day", "2026-11-15", "2026-11-15"),
        ("year", "2026-03-01", "2026"),
    ):
        r = client.get(f"{URL}/carbon?period={period}&date={day}", headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["period"], body["label"]) == (period, label)
        assert body["completeness"] == 0.0 and body["energy_kwh"]["consumption"] == 0.0
        assert body["green"]["volumetric_share"] is None
    # the running day (14:00 local on 1 December) expects nothing after now
    r = client.get(f"{URL}/carbon?period=day&date=2026-12-01", headers=h)
    assert r.status_code == 200 and r.json()["completeness"] == 0.0


def test_upload_size_limited(cs: CarbonServer) -> None:
    cs.server.settings.max_body_bytes = 1000
    with cs.server.client() as client:
        h = cs.server.token(client, "cara")
        rows = "".join(
            f"alu,gec,GEC-{i:06d},GEC-{i:06d},1,wind,Zahanaoer wind,2026-10,2026-11\n"
            for i in range(1, 40)
        )
        assert len(HEADER + rows) > 1000
        assert _csv(client, h, HEADER + rows).status_code == 413
        assert client.get(f"{URL}/certificates", headers=h).json() == []


def test_budget_alarm_names_which_and_how_much(cs: CarbonServer, client: TestClient) -> None:
    h = cs.server.token(client, "cara")
    recorded = {
        "entries": [
            {
                "enterprise": None,
                "production_t": 2200.0,
                "recorded_carbon_t": 8000.0,
                "recorded_energy_tce": 4500.0,
            },
            {"enterprise": "alu", "recorded_carbon_t": 5000.0, "recorded_energy_tce": 3000.0},
        ]
    }
    assert client.put(f"{URL}/inputs/2026-10", json=recorded, headers=h).status_code == 200
    tight = {
        "budgets": [
            {"enterprise": None, "carbon_t": 8500.0, "t_co2_per_t_product": 3.0},
            {"enterprise": "alu", "carbon_t": 5100.0},
            {"enterprise": "bat", "carbon_t": 100.0},
        ]
    }
    assert client.put(f"{URL}/budgets/2026", json=tight, headers=h).status_code == 200

    def events() -> dict[str, EventRow]:
        with Session(cs.server.engine) as session:
            rows = session.exec(select(EventRow).where(EventRow.park_id == "synthpark")).all()
            return {r.kind: r for r in rows if r.subject == "synthpark"}

    def subjects(kind: str) -> dict[str, EventRow]:
        with Session(cs.server.engine) as session:
            rows = session.exec(select(EventRow).where(EventRow.kind == kind)).all()
            return {r.subject: r for r in rows}

    with Session(cs.server.engine) as session:
        alarms = check_budgets(session)
    # 8000 t by the end of October, 6 h into 1 December (local 14:00): the year so far at
    # 8000 / (334 + 14/24) days, and the 30 days 10 h left at that rate
    elapsed = 334 + 14 / 24
    projected = 8000.0 + 8000.0 / elapsed * (365 - elapsed)
    by_kind = {a.kind: a for a in alarms if a.scope == "synthpark"}
    alu = [a for a in alarms if a.scope == "alu"]
    alu_projected = 5000.0 + 5000.0 / elapsed * (365 - elapsed)
    assert [(a.kind, a.limit) for a in alu] == [("carbon_budget", 5100.0)]
    assert alu[0].value == pytest.approx(alu_projected, rel=1e-9)
    assert not [a for a in alarms if a.scope == "bat"]  # nothing recorded or measured for bat
    assert by_kind["carbon_budget"].value == pytest.approx(projected, rel=1e-9)
    assert by_kind["carbon_budget"].excess == pytest.approx(projected - 8500.0, rel=1e-9)
    assert by_kind["intensity_per_t_product"].value == pytest.approx(8000.0 / 2200.0)
    ev = events()
    assert ev["carbon_budget"].closed_ms is None and ev["carbon_budget"].subject == "synthpark"
    assert f"{projected - 8500.0:.6g} tCO2" in ev["carbon_budget"].message
    assert "intensity per t product 3 tCO2/t" in ev["intensity_per_t_product"].message
    assert "energy_budget" not in ev  # no energy budget was set
    assert subjects("carbon_budget")["alu"].closed_ms is None
    assert "bat" not in subjects("carbon_budget")

    loose = {"budgets": [{"enterprise": None, "carbon_t": 20000.0, "t_co2_per_t_product": 4.0}]}
    assert client.put(f"{URL}/budgets/2026", json=loose, headers=h).status_code == 200
    with Session(cs.server.engine) as session:
        assert check_budgets(session) == []
    ev = events()
    assert subjects("carbon_budget")["alu"].closed_ms is not None  # alu has no budget any more
    assert ev["carbon_budget"].closed_ms is not None
    assert ev["intensity_per_t_product"].closed_ms is not None
