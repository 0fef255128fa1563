"""End to end in Debian's chromium (Playwright): sign in, dashboard figures equal the API's, a live
value changes after a new sample is ingested, an alarm is acknowledged, a viewer is refused,
the language switches; no request leaves the server; a screenshot of every page at 1366×768
and 1024×768 under the test's output folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from zctest_console import POWER_KW, SOC_PCT, LiveServer, chromium_path

from park_server.console.render import number, percent
from park_server.timeutil import format_ts, now_ms

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SIZES = {"1366": (1366, 768), "1024": (1024, 768)}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Visit:
    """A browser context that refuses (and records) every request to another host."""

    def __init__(self, browser: object, live: LiveServer, width: int = 1366, height: int = 768):
        self.live = live
        self.foreign: list[str] = []
        self.context = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": width, "height": height}, locale="zh-CN"
        )
        own = urlsplit(live.url).netloc

        def guard(route: object) -> None:
            url = route.request.url  # type: ignore[attr-defined]
            if urlsplit(url).netloc != own and not url.startswith(("data:", "blob:")):
                self.foreign.append(url)
                route.abort()  # type: ignore[attr-defined]
            else:
                route.continue_()  # type: ignore[attr-defined]

        self.context.route("**/*", guard)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.allowed: list[str] = []  # console messages a test expects (a refused page)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" else None,
        )

    def sign_in(self, user: str, next_path: str = "/") -> None:
        self.page.goto(f"{self.live.url}{next_path}")
        assert "/login" in self.page.url  # no session: the sign-in page
        self.page.fill("input[name=username]", user)
        self.page.fill("input[name=password]", self.live.server.passwords[user])
        self.page.click("form[action='/login'] button[type=submit]")
        self.page.wait_for_url(f"{self.live.url}{next_path}")

    def close(self) -> None:
        self.context.close()
        assert not self.foreign, f"requests to other hosts: {self.foreign}"
        errors = [e for e in self.errors if not any(a in e for a in self.allowed)]
        assert not errors, f"errors in the page: {errors}"


def _today(tz: str = "Asia/Shanghai") -> str:
    """The park's day now, on the pinned clock the server process runs on too."""
    return datetime.fromtimestamp(now_ms() / 1000, ZoneInfo(tz)).date().isoformat()


def test_dashboard_shows_the_apis_figures_and_live_values(
    browser: object, live_server: LiveServer
) -> None:
    v = Visit(browser, live_server)
    api = live_server.api("mia")
    try:
        v.sign_in("mia", "/parks/huolingol")
        page = v.page
        kpis = api.get("/api/v1/parks/huolingol/kpis", params={"date": _today()}).json()
        for key, expected in (
            ("green_share", kpis["green_share"]),
            ("green_share_volumetric", kpis["green_share_volumetric"]),
            ("consumption_kwh", kpis["consumption_kwh"]),
            ("co2_t", kpis["co2_t"]),
            ("energy_kwh.grid_import", kpis["energy_kwh"]["grid_import"]),
        ):
            shown = page.get_attribute(f"[data-kpi='{key}']", "data-value")
            assert expected is not None, (key, kpis)
            assert shown is not None and float(shown) == pytest.approx(expected, rel=1e-12), key
        assert kpis["consumption_kwh"] > 0
        assert page.inner_text("[data-kpi='green_share']") == percent(kpis["green_share"], "zh")
        # every live value on the page is the API's newest sample
        latest = api.get("/api/v1/parks/huolingol/latest").json()
        by_key = {(r["meter"], r["quantity"]): r["value"] for r in latest}
        cells = page.query_selector_all(".live[data-meter]")
        assert len(cells) >= len(POWER_KW)
        for cell in cells:
            key = (cell.get_attribute("data-meter"), cell.get_attribute("data-quantity"))
            if not cell.get_attribute("data-value"):  # a meter without data shows a dash
                assert key not in by_key and cell.inner_text() == "—", key
                continue
            assert float(cell.get_attribute("data-value") or "nan") == by_key[key], key
        soc = page.locator(".live[data-meter='bess-1'][data-quantity='soc_pct']")
        assert soc.inner_text() == f"{number(SOC_PCT, 'zh')} %"
        # the plan in force and its baseline, as /dispatch/latest gives them
        plan = api.get("/api/v1/parks/huolingol/dispatch/latest").json()
        assert page.get_attribute("[data-plan]", "data-plan") == plan["plan_id"]
        for side, kp in (("plan", plan["kpis"]), ("baseline", plan["baseline_kpis"])):
            shown = page.get_attribute(f"[data-kpi='{side}.green_share']", "data-value")
            assert float(shown or "nan") == pytest.approx(kp["green_share"], rel=1e-12)
        # the newest forecast issue of each target
        for target in ("pv", "wind", "load"):
            f = api.get("/api/v1/parks/huolingol/forecasts", params={"target": target}).json()
            el = page.locator(f"[data-forecast='{target}']")
            assert el.get_attribute("data-issued") == f["issued"]
            assert float(el.get_attribute("data-first-p50") or "nan") == f["points"][0]["p50"]
            assert page.locator(f"#chart-{target} canvas").count() == 1  # ECharts drew it
        # forecast accuracy: yesterday is scored, with the API's figures
        page.click("nav.park-tabs a[href='/parks/huolingol/forecasts']")
        page.wait_for_url("**/parks/huolingol/forecasts")
        for target in ("pv", "wind", "load"):
            days = api.get(
                "/api/v1/parks/huolingol/forecasts/accuracy", params={"target": target, "days": 30}
            ).json()
            scored = [d for d in days if d["nmae"] is not None]
            assert scored, target
            row = page.locator(f"#acc-{target} ~ details tr[data-day='{scored[-1]['date']}']")
            cells = row.locator("td")
            for i, key in ((2, "nmae"), (3, "persistence_nmae"), (4, "skill")):
                assert float(cells.nth(i).get_attribute("data-value") or "nan") == scored[-1][key]
            # the period's figures: interval-weighted, skill = 1 − nMAE ÷ persistence nMAE
            n = sum(d["intervals"] for d in scored)
            nmae = sum(d["nmae"] * d["intervals"] for d in scored) / n
            held = sum(d["persistence_intervals"] for d in scored)
            pers = sum(d["persistence_nmae"] * d["persistence_intervals"] for d in scored) / held
            summary = page.locator(f"[data-summary='{target}'] dd")
            shown = [summary.nth(i).get_attribute("data-value") for i in range(3)]
            assert [float(x or "nan") for x in shown] == pytest.approx(
                [nmae, pers, 1 - nmae / pers], rel=1e-12
            )
            # by lead time: the API's buckets of the last 7 days
            leads = api.get(
                "/api/v1/parks/huolingol/forecasts/accuracy/by-lead",
                params={"target": target, "days": 7},
            ).json()
            for b in leads:
                tr = page.locator(f"[data-leads='{target}'] tr[data-lead='{b['lead']}']")
                assert int(tr.locator("td").nth(1).inner_text()) == b["points"], (target, b)
            page.wait_for_selector(f"#acc-{target} canvas", timeout=10_000)  # ECharts drew it
        # meters and gateways: each meter's data completeness of the last 24 h is the API's
        page.goto(f"{live_server.url}/parks/huolingol/gateways")
        found = api.get("/api/v1/parks/huolingol/completeness", params={"hours": 24}).json()
        assert any(m["share"] == 1.0 for m in found["meters"])  # 54 h of samples, every 5 min
        for m in found["meters"]:
            cell = page.locator(f"[data-completeness='{m['meter']}']")
            assert float(cell.get_attribute("data-value") or "nan") == m["share"], m
            assert cell.inner_text() == percent(m["share"], "zh")
        page.goto(f"{live_server.url}/parks/huolingol")
        # a new sample arrives: the page shows it within a few polls, without a reload
        grid = page.locator(".live[data-meter='grid-main'][data-quantity='active_power_kw']")
        before = grid.inner_text()
        new_kw = 212_345.5
        live_server.ingest(
            [
                {
                    "ts": format_ts(now_ms() - 1000),
                    "meter": "grid-main",
                    "quantity": "active_power_kw",
                    "value": new_kw,
                }
            ],
            batch=10**6,
        )
        page.wait_for_function(
            "(v) => document.querySelector(\".live[data-meter='grid-main'][data-quantity='active_power_kw']\").textContent === v",
            arg=number(new_kw, "zh"),
            timeout=10_000,
        )
        assert grid.inner_text() != before
        assert grid.get_attribute("data-value") == str(new_kw)
    finally:
        api.close()
        v.close()


def test_manager_acknowledges_an_alarm_and_a_viewer_is_refused(
    browser: object, live_server: LiveServer
) -> None:
    m = Visit(browser, live_server)
    try:
        m.sign_in("mia", "/parks/huolingol/alarms")
        button = m.page.locator("[data-ack]").first
        event_id = button.get_attribute("data-ack")
        button.click()
        m.page.wait_for_url("**/parks/huolingol/alarms")
        row = m.page.locator(f"tr[data-event='{event_id}']")
        assert row.locator("[data-acknowledged-by]").get_attribute("data-acknowledged-by") == "mia"
        assert row.locator("[data-ack]").count() == 0
        # the API says the same: who and when
        api = live_server.api("mia")
        found = [
            e for e in api.get("/api/v1/parks/huolingol/events").json() if str(e["id"]) == event_id
        ]
        api.close()
        assert found and found[0]["acknowledged_by"] == "mia" and found[0]["acknowledged"]
    finally:
        m.close()
    v = Visit(browser, live_server)
    try:
        v.sign_in("vic", "/parks/huolingol/alarms")
        assert v.page.locator("[data-ack]").count() == 0
        assert v.page.locator("[data-readonly]").count() == 1
        # even a well-formed form (with the session's token) is refused for a viewer
        csrf = v.page.get_attribute("form[action='/logout'] input[name=csrf]", "value")
        r = v.page.request.post(
            f"{live_server.url}/parks/huolingol/alarms/{event_id}/acknowledge",
            form={"csrf": csrf or ""},
            max_redirects=0,
        )
        assert r.status == 403
        assert "viewer" in r.text()
        # and a park outside the viewer's list is not shown at all
        v.allowed.append("status of 403")
        v.page.goto(f"{live_server.url}/parks/baotou_aluminum")
        assert v.page.locator("[data-error='forbidden']").count() == 1
    finally:
        v.close()


def test_carbon_budget_certificates_and_a_report(
    browser: object, live_server: LiveServer, tmp_path: Path
) -> None:
    api = live_server.api("mia")
    m = Visit(browser, live_server)
    try:
        m.sign_in("mia", "/parks/huolingol/carbon")
        year = int(m.page.get_attribute("input[name=year]", "value") or "0")
        # a manager edits the park's carbon budget: stored through the API's own route
        m.page.fill("input[name=':carbon_t']", "4321000")
        m.page.click("[data-save=budgets]")
        m.page.wait_for_selector("[data-saved]")
        budgets = api.get(f"/api/v1/parks/huolingol/budgets/{year}").json()
        assert budgets["source"] == "stored"
        assert [b["carbon_t"] for b in budgets["budgets"] if b["enterprise"] is None] == [4321000]
        # a bad number is refused with the field named, and nothing changes
        m.allowed.append("status of 422")  # the refusals below answer 422, as the API does
        m.page.fill("input[name=':carbon_t']", "lots")
        m.page.click("[data-save=budgets]")
        assert "carbon_t" in m.page.inner_text("[data-problems]")
        assert api.get(f"/api/v1/parks/huolingol/budgets/{year}").json() == budgets
        # certificates CSV with one bad row: the good row is stored, the bad one named
        csv = tmp_path / "certificates.csv"
        csv.write_text(
            "enterprise,kind,serial_from,serial_to,mwh,technology,project,vintage,month\n"
            "huomei-hongjun,gec,GEC000101,GEC000110,10,wind,Zahanaoer,2026,2026-05\n"
            "huomei-hongjun,gec,GEC000201,GEC000210,ten,wind,Zahanaoer,2026,2026-05\n"
        )
        m.page.set_input_files("input[name=csv]", str(csv))
        m.page.click("[data-form=certificates] button[type=submit]")
        refused = m.page.locator("[data-rejected-line]")
        assert refused.count() == 1
        assert refused.get_attribute("data-rejected-line") == "3"
        assert "mwh" in refused.inner_text()
        held = api.get("/api/v1/parks/huolingol/certificates").json()
        assert [c["serial_from"] for c in held] == ["GEC000101"]
        assert m.page.locator(f"[data-instrument='{held[0]['id']}']").count() == 1
        # a report: generate last month now, download its XLSX, the same bytes as the API's
        m.page.click("nav.park-tabs a[href='/parks/huolingol/reports']")
        m.page.click("[data-form=generate] button[type=submit]")
        issued = m.page.get_attribute("[data-generated]", "data-generated") or ""
        month = issued.split("-r")[0]
        with m.page.expect_download() as got:
            m.page.click(f"tr[data-report='{issued}'] [data-download=xlsx]")
        path = got.value.path()
        served = api.get(f"/api/v1/parks/huolingol/reports/{month}.xlsx").content
        assert path is not None and Path(path).read_bytes() == served
        assert served[:2] == b"PK"
    finally:
        m.close()
    v = Visit(browser, live_server)
    try:
        v.sign_in("vic", "/parks/huolingol/carbon")
        assert v.page.locator("[data-form=budgets] input[name=':carbon_t']").count() == 0
        assert v.page.locator("[data-form=certificates]").count() == 0
        assert v.page.locator("[data-readonly]").count() == 1
        csrf = v.page.get_attribute("form[action='/logout'] input[name=csrf]", "value") or ""
        r = v.page.request.post(
            f"{live_server.url}/parks/huolingol/carbon/budgets",
            form={"csrf": csrf, "year": str(year), ":carbon_t": "1"},
            max_redirects=0,
        )
        assert r.status == 403
        assert api.get(f"/api/v1/parks/huolingol/budgets/{year}").json() == budgets
    finally:
        v.close()
        api.close()


def test_language_switch(browser: object, live_server: LiveServer) -> None:
    v = Visit(browser, live_server)
    try:
        v.sign_in("ada", "/")
        assert v.page.inner_text("main h1") == "总览"  # zh is the default
        # the overview's §10 figures are the carbon API's
        api = live_server.api("ada")
        c = api.get(
            "/api/v1/parks/huolingol/carbon", params={"period": "month", "date": _today()}
        ).json()
        region = api.get(
            "/api/v1/region/carbon", params={"period": "month", "date": _today()}
        ).json()
        api.close()
        card = v.page.locator("[data-park='huolingol']")
        for key, value in (
            ("carbon.green.time_matched_share", c["green"]["time_matched_share"]),
            ("carbon.green.volumetric_share", c["green"]["volumetric_share"]),
            ("carbon.budget.used_t", c["budget"]["used_t"]),
        ):
            shown = card.locator(f"[data-kpi='{key}']").get_attribute("data-value")
            assert float(shown or "nan") == pytest.approx(value, rel=1e-12), key
        # the regional totals are the region API's, league by league and for the region
        rows = {g["league"]: g for g in region["leagues"]} | {"__region__": region["region"]}
        assert region["region"]["energy_kwh"]["consumption"] > 0
        for league, t in rows.items():
            cells = v.page.locator(f"[data-region] tr[data-league='{league}'] td")
            assert int(cells.nth(0).inner_text()) == len(t["parks"]), league
            for i, value in ((1, t["energy_kwh"]["consumption"]),
                             (2, t["green"]["time_matched_share"]),
                             (4, t["emissions_t"]["total_market"])):  # fmt: skip
                shown = cells.nth(i).get_attribute("data-value")
                if value is None or not t["parks_with_data"]:  # a dash: nothing measured
                    assert shown == "None", (league, i)
                else:
                    assert float(shown or "nan") == pytest.approx(value, rel=1e-12), (league, i)
        v.page.click("[data-lang-switch='en']")
        v.page.wait_for_url("**/?lang=en")
        assert v.page.inner_text("main h1") == "Overview"
        v.page.goto(f"{live_server.url}/parks/huolingol")  # the choice is kept (a cookie)
        assert v.page.inner_text("main h1") == "Dashboard"
        v.page.click("[data-lang-switch='zh']")
        assert v.page.inner_text("main h1") == "仪表盘"
    finally:
        v.close()


PAGES = {
    "login": "/login",
    "overview": "/",
    "dashboard": "/parks/huolingol",
    "gateways": "/parks/huolingol/gateways",
    "gateway": "/parks/huolingol/gateways/gw-hlgl-01",
    "forecasts": "/parks/huolingol/forecasts",
    "alarms": "/parks/huolingol/alarms?show=all",
    "carbon": "/parks/huolingol/carbon",
    "reports": "/parks/huolingol/reports",
    "empty-dashboard": "/parks/damao",
    "api-docs": "/docs",
}


def test_screenshots_of_every_page(
    browser: object, live_server: LiveServer, tmp_path: Path
) -> None:
    """Every page at both sizes in zh (the default), the overview and dashboard in en too."""
    v = Visit(browser, live_server)
    shots: list[Path] = []

    def shoot(name: str, path: str, lang: str, size: str) -> None:
        v.page.goto(f"{live_server.url}{path}{'&' if '?' in path else '?'}lang={lang}")
        if name == "api-docs":
            v.page.wait_for_selector(".swagger-ui .info", timeout=10_000)
        else:
            v.page.wait_for_load_state("networkidle")
        shot = tmp_path / f"{name}-{lang}-{size}.png"
        v.page.screenshot(path=str(shot), full_page=True)
        shots.append(shot)

    try:
        for size, (w, h) in SIZES.items():
            v.page.set_viewport_size({"width": w, "height": h})
            if size == "1366":
                shoot("login", "/login", "zh", size)
                v.sign_in("ada", "/")
            for name, path in PAGES.items():
                if name != "login":
                    shoot(name, path, "zh", size)
            for name in ("overview", "dashboard"):
                shoot(name, PAGES[name], "en", size)
        shoot("login", "/login", "zh", "1024")  # signed in: the form is the same
    finally:
        v.close()
    assert len(shots) == (len(PAGES) + 2) * len(SIZES)
    assert all(s.stat().st_size > 10_000 for s in shots)
    keep = REPO / "docs" / "screenshots"
    # the README's tour, refreshed on demand so that a test run leaves the checkout as it was
    if keep.is_dir() and os.environ.get("ZCPARK_UPDATE_SCREENSHOTS") == "1":
        for shot in shots:
            if shot.name.endswith("-1366.png") or shot.name.startswith("dashboard-zh-1024"):
                shutil.copy(shot, keep / shot.name)
