"""The synthetic carbon month (zctest_carbon) as report inputs, and readers of the renderings
(pdftotext, pdffonts, pdftoppm from poppler-utils; openpyxl), for the report tests."""

from __future__ import annotations

import html.parser
import shutil
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import zctest_carbon as synth
from openpyxl import load_workbook

from park_server.reports.build import ForecastAccuracy, ReportInputs

PARK_NAME = "Synthetic carbon park"
PARK_NAME_ZH = "合成零碳园区"
NAMES = {"alu": "Potline plant", "bat": "Battery plant"}
#: the month's forecast accuracy as the query layer would hand it (by hand, not measured)
ACCURACY = (
    ForecastAccuracy("pv", 30, 30 * 48, 0.0625, 0.125, 0.5, 0.8),
    ForecastAccuracy("wind", 30, 30 * 96, 0.1, 0.2, 0.5, None),
    ForecastAccuracy("load", 0, 0, None, None, None, None),
)
#: what the report's accuracy table shows for them
HAND_ACCURACY = {
    "accuracy.pv.nmae": 0.0625,
    "accuracy.pv.persistence_nmae": 0.125,
    "accuracy.pv.skill": 0.5,
    "accuracy.pv.coverage_p10_p90": 0.8,
    "accuracy.wind.nmae": 0.1,
    "accuracy.wind.skill": 0.5,
}


def report_inputs(**overrides: Any) -> ReportInputs:
    return ReportInputs(
        carbon=synth.inputs(**overrides),
        park_name=PARK_NAME,
        park_name_zh=PARK_NAME_ZH,
        enterprise_names=NAMES,
        accuracy=ACCURACY,
    )


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} missing: apt-get install poppler-utils (.ci/system-deps.sh)"
    return path


def pdf_pages_text(pdf: Path) -> list[str]:
    """The text of every page (pdftotext -layout), in order."""
    out = subprocess.run(
        [poppler("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    pages = out.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdf_fonts(pdf: Path) -> list[list[str]]:
    out = subprocess.run(
        [poppler("pdffonts"), str(pdf)], capture_output=True, check=True, text=True
    ).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def pdf_to_png(pdf: Path, prefix: Path, dpi: int = 60) -> list[Path]:
    subprocess.run([poppler("pdftoppm"), "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True)
    return sorted(prefix.parent.glob(prefix.name + "-*.png"))


class _Cells(html.parser.HTMLParser):
    """data-key → (data-value, text) of every figure cell of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, tuple[str, str]] = {}
        self._key: str | None = None
        self._value = ""
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and a.get("data-key"):
            self._key, self._value, self._text = a["data-key"], a.get("data-value") or "", []

    def handle_data(self, data: str) -> None:
        if self._key is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._key is not None:
            self.cells.setdefault(self._key, (self._value, "".join(self._text).strip()))
            self._key = None


def html_cells(page: str) -> dict[str, tuple[str, str]]:
    parser = _Cells()
    parser.feed(page)
    return parser.cells


def xlsx_sheets(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    wb = load_workbook(BytesIO(data), data_only=True)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def enter_synthetic_month(client: Any, headers: dict[str, str]) -> None:
    """Everything a manager enters for the synthetic month, through the carbon API (as
    tests/park_server/carbon_api/test_carbon_month.py does)."""
    from zctest_carbon_park import alu_profile_body, csv_upload, profiled_trade_row

    url = "/api/v1/parks/synthpark"
    h = headers
    r = client.post(
        f"{url}/certificates", content=csv_upload(), headers={**h, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    r = client.post(f"{url}/certificates", json=[profiled_trade_row()], headers=h)
    assert r.status_code == 200, r.text
    (trade_id,) = r.json()["ids"]
    r = client.post(f"{url}/trades/{trade_id}/profile", json=alu_profile_body(), headers=h)
    assert r.status_code == 200, r.text
    entries = [
        {
            "enterprise": "alu",
            "production_t": 220.0,
            "output_10k_yuan": 1800.0,
            "fuels": {"diesel_t": 2.0},
        },
        {
            "enterprise": "bat",
            "output_10k_yuan": 500.0,
            "fuels": {"natural_gas_m3": 10000.0, "purchased_heat_gj": 100.0},
        },
    ]
    guide = {"solid_waste_utilisation": 0.85, "waste_heat_utilisation": 0.4, "water_reuse": 0.9}
    r = client.put(f"{url}/inputs/2026-11", json={"entries": entries, "guide": guide}, headers=h)
    assert r.status_code == 200, r.text
    before = synth.YEAR_BEFORE[None]
    r = client.put(
        f"{url}/inputs/2026-10",
        json={
            "entries": [
                {
                    "enterprise": None,
                    "production_t": before.production_t,
                    "output_10k_yuan": before.output_10k_yuan,
                    "recorded_carbon_t": before.carbon_t,
                    "recorded_energy_tce": before.energy_tce,
                }
            ]
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    (december,) = synth.LAST_YEAR[None]
    r = client.put(
        f"{url}/inputs/{december.month}",
        json={
            "entries": [
                {
                    "enterprise": None,
                    "recorded_carbon_t": december.carbon_t,
                    "recorded_energy_tce": december.energy_tce,
                }
            ]
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    budgets = [
        {
            "enterprise": b.enterprise,
            "carbon_t": b.carbon_t,
            "energy_tce": b.energy_tce,
            "t_co2_per_t_product": b.t_co2_per_t_product,
        }
        for b in synth.BUDGETS
    ]
    r = client.put(f"{url}/budgets/2026", json={"budgets": budgets}, headers=h)
    assert r.status_code == 200, r.text
    r = client.post(f"{url}/offsets", json=[o.model_dump() for o in synth.OFFSETS], headers=h)
    assert r.status_code == 200, r.text
