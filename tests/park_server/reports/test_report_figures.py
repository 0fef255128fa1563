"""The synthetic carbon month's report: every figure of the model, the HTML, the PDF's text and
the XLSX equals the hand answers (tests/support/zctest_carbon.py); the XLSX's intervals sheet,
summed here, gives the report's totals; the PDF renders to PNG pages, has the expected page
count and embeds the CJK font; Chinese and English."""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pikepdf
import pytest
import zctest_carbon as synth
from babel.messages.extract import extract_from_dir
from zctest_report import (
    HAND_ACCURACY,
    PARK_NAME,
    PARK_NAME_ZH,
    html_cells,
    pdf_fonts,
    pdf_pages_text,
    pdf_to_png,
    poppler,
    report_inputs,
    xlsx_sheets,
)

from config import load_factors
from park_server.locale import translations
from park_server.reports import pdf as pdf_module
from park_server.reports.build import build_report
from park_server.reports.fmt import display
from park_server.reports.html import print_parts, render_html, report_cells
from park_server.reports.model import Cell, Column, Report, Section, Table, from_json, to_json
from park_server.reports.pdf import PARALLEL_CELLS, render_pdf
from park_server.reports.xlsx import render_xlsx

REL = 1e-9
LANGS = ("zh", "en")
#: each scope's hand answers; the park's also holds the accuracy table's
SCOPES: dict[str, dict[str, float]] = {
    "park": {**synth.HAND, **HAND_ACCURACY},
    "alu": synth.HAND_ALU,
    "bat": synth.HAND_BAT,
}
#: how each hand key is shown (the kind of its cell)
KIND_BY_PREFIX = (
    ("completeness", "share"),
    ("energy_kwh.", "kwh"),
    ("green.certificates_kwh", "kwh"),
    ("green.trades_kwh", "kwh"),
    ("green.", "share"),
    ("emissions_t.", "t"),
    ("energy_tce.", "tce"),
    ("indicators.clean_energy_share", "share"),
    ("indicators.", "t_per_tce"),
    ("intensity.", "intensity"),
    ("budget.energy", "tce"),
    ("budget.", "t"),
    ("reductions_t.", "t"),
    ("accuracy.", "share"),
)
#: Nov 2026 starts 2026-10-31T16:00Z; the synthetic month is done by December
GENERATED_MS = 1_764_547_200_000 + 365 * 86_400_000
EXPECTED_PAGES = 18


def kind_of(key: str) -> str:
    return next(kind for prefix, kind in KIND_BY_PREFIX if key.startswith(prefix))


def close(got: Any, want: float) -> bool:
    return isinstance(got, int | float) and abs(got - want) <= REL * max(1.0, abs(want))


@pytest.fixture(scope="module")
def report() -> Report:
    r = build_report(report_inputs(), load_factors())
    return r.with_meta(
        revision=1, sha256="5" * 64, factors_version="f" * 16, generated_ms=GENERATED_MS
    )


@pytest.fixture(scope="module")
def pdfs(report: Report, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The PDFs every PDF test reads: Chinese printed in two processes and joined (as a large
    report is), English in one."""
    out = {}
    said = _Said()
    logger = logging.getLogger("zcpark.reports")
    logger.addHandler(said)
    try:
        for lang in LANGS:
            path = tmp_path_factory.mktemp(f"pdf-{lang}") / f"report-{lang}.pdf"
            path.write_bytes(render_pdf(report, lang, parts=2 if lang == "zh" else 1))
            out[lang] = path
    finally:
        logger.removeHandler(said)
    # the child printed its part: nothing fell back to this process
    assert not said.messages, said.messages
    return out


class _Said(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_model_figures_equal_the_hand_answers(report: Report) -> None:
    figures = report.figures()
    wrong = {
        f"{scope}:{k}": (figures.get(f"{scope}:{k}"), v)
        for scope, hand in SCOPES.items()
        for k, v in hand.items()
        if not close(figures.get(f"{scope}:{k}"), v)
    }
    assert not wrong
    assert figures["park:green.meets_target"] is synth.HAND_FLAGS["green.meets_target"]
    assert figures["park:indicators.core_pass"] is False
    assert figures["park:indicators.clean_energy_pass"] is False
    # the model survives its JSON (what a revision stores) unchanged
    assert from_json(to_json(report)) == report


def test_completeness_per_meter_lists_the_gap(report: Report) -> None:
    figures = report.figures()
    expected = synth.DAYS * 96
    for meter in ("grid-main", "pv-1"):
        assert figures[f"park:completeness.{meter}.expected"] == expected
        assert figures[f"park:completeness.{meter}.with_data"] == expected - synth.N
        assert figures[f"park:completeness.{meter}.gaps"] == 1
    # the meters with every sample are named together, not one row each
    assert figures["park:completeness.complete_meters"] == 5
    assert figures["park:completeness.expected"] == expected
    assert "park:completeness.wind-1.share" not in figures
    (section,) = [s for s in report.appendix if s.id == "completeness"]
    whole = next(b for b in section.blocks if b.id == "complete_meters")
    assert isinstance(whole, Table)
    assert whole.rows[0][2].value == "grid-check, wind-1, bess-1, pot-1, load-b"
    # the gap: day 20, block B (06:00-12:00 local) = 2026-11-19T22:00Z .. 2026-11-20T04:00Z
    start_ms = int(pd.Timestamp("2026-11-20 06:00", tz=synth.TZ).value // 1_000_000)
    assert figures[f"park:gaps.grid-main.{start_ms}.start"] == start_ms
    assert figures[f"park:gaps.grid-main.{start_ms}.end"] == start_ms + 6 * 3_600_000
    assert figures[f"park:gaps.grid-main.{start_ms}.intervals"] == synth.N


@pytest.mark.parametrize("lang", LANGS)
def test_every_figure_in_the_html(report: Report, lang: str) -> None:
    page = render_html(report, lang)
    cells = html_cells(page)
    wrong = {}
    for scope, hand in SCOPES.items():
        for key, want in hand.items():
            value, text = cells[f"{scope}:{key}"]
            shown = display(Cell(want, kind_of(key)), lang, synth.TZ)  # type: ignore[arg-type]
            if not close(float(value), want) or text != shown:
                wrong[f"{scope}:{key}"] = (value, text, want, shown)
    assert not wrong
    assert cells["park:curtailment_basis"][1] == translations(lang).gettext(
        "measured: available power reported by every PV and wind meter"
    )
    assert cells["park:budget.projection_basis"][1] == translations(lang).gettext(
        "last year's months"
    )
    title = translations(lang).gettext("Monthly green-power and carbon report")
    assert title in page
    assert ("绿电与碳排放月报" in page) == (lang == "zh")
    # footer: park, month, revision, generation time, hash
    assert ("5" * 64) in page and "2026-11" in page and "2026-12-01 08:00" in page


def _scope_pages(pages: list[str], lang: str) -> dict[str, str]:
    """The text of each scope's pages (a scope starts a page with its title)."""
    tr = translations(lang).gettext
    heads = {
        "park": f"{tr('Park')}: {PARK_NAME_ZH if lang == 'zh' else PARK_NAME}",
        "alu": f"{tr('Enterprise')}: Potline plant",
        "bat": f"{tr('Enterprise')}: Battery plant",
        "appendix": tr("Appendix"),
    }
    starts = {}
    for name, head in heads.items():
        found = [i for i, p in enumerate(pages) if p.lstrip().startswith(head)]
        assert found, f"no page starts with {head!r}"
        starts[name] = found[0]
    order = sorted(starts.items(), key=lambda kv: kv[1])
    out = {}
    for (name, first), nxt in zip(order, [*order[1:], (None, len(pages))], strict=True):
        out[name] = "\n".join(pages[first : nxt[1]])
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_every_figure_in_the_pdf_text(
    report: Report, pdfs: dict[str, Path], lang: str, tmp_path: Path
) -> None:
    pages = pdf_pages_text(pdfs[lang])
    assert len(pages) == EXPECTED_PAGES
    text = _scope_pages(pages, lang)
    missing = {}
    for scope, hand in SCOPES.items():
        where = text[scope]
        for key, want in hand.items():
            shown = display(Cell(want, kind_of(key)), lang, synth.TZ)  # type: ignore[arg-type]
            body = text["appendix"] if key.startswith("accuracy.") else where
            if shown not in body:
                missing[f"{scope}:{key}"] = shown
    assert not missing
    # the footer is on every page: park, month, revision, hash
    for i, p in enumerate(pages):
        assert "5" * 64 in p.replace(" ", ""), f"page {i + 1} has no hash in its footer"
        assert f"{i + 1} / {len(pages)}" in p
    # pages render to PNG, one per page
    pngs = pdf_to_png(pdfs[lang], tmp_path / "page")
    assert len(pngs) == len(pages)
    assert all(p.stat().st_size > 5000 for p in pngs)


def test_pdf_embeds_the_cjk_font(pdfs: dict[str, Path]) -> None:
    for lang in LANGS:
        fonts = pdf_fonts(pdfs[lang])
        cjk = [f for f in fonts if "Noto-Sans-CJK-SC" in f[0]]
        assert cjk, fonts
        # name type... emb sub uni: every CJK font embedded
        assert all(f[-5] == "yes" for f in cjk), cjk
    zh = "\n".join(pdf_pages_text(pdfs["zh"]))
    assert "绿电与碳排放月报" in zh and "绿电占比（电量法）" in zh and "核心指标" in zh


def _bbox_words(pdf: Path) -> str:
    """Every word of every page with its box (pdftotext -bbox), without the file's head."""
    out = subprocess.run(
        [poppler("pdftotext"), "-bbox", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    return out[out.index("<doc>") :]


def _outline(pdf: Path) -> list[tuple[int, str, int, float]]:
    """(depth, title, page index, top) of every bookmark, in order."""
    with pikepdf.Pdf.open(pdf) as doc:
        page_of = {p.objgen: i for i, p in enumerate(doc.pages)}
        rows: list[tuple[int, str, int, float]] = []

        def walk(items: list[Any], depth: int) -> None:
            for item in items:
                dest = item.destination
                rows.append((depth, item.title, page_of[dest[0].objgen], float(dest[3])))
                walk(item.children, depth + 1)

        with doc.open_outline() as outline:
            walk(outline.root, 0)
    return rows


def test_two_processes_print_the_pages_one_prints(
    report: Report, pdfs: dict[str, Path], tmp_path: Path
) -> None:
    """The zh PDF of the fixture was printed in two parts, joined and page-numbered after; the
    same report printed in one WeasyPrint run has the same words in the same places on every
    page, page numbers included, the same bookmarks and the same metadata."""
    one = tmp_path / "one.pdf"
    one.write_bytes(render_pdf(report, "zh", parts=1))
    joined = pdfs["zh"]
    assert _bbox_words(joined) == _bbox_words(one)
    assert _outline(joined) == _outline(one)
    assert len(_outline(one)) > 20
    with pikepdf.Pdf.open(joined) as a, pikepdf.Pdf.open(one) as b:
        for key in ("/Title", "/CreationDate", "/ModDate"):
            assert str(a.docinfo[key]) == str(b.docinfo[key])
        assert str(a.docinfo["/Title"]) == "synthpark 2026-11 r1"
        assert str(a.Root.Lang) == str(b.Root.Lang) == "zh-CN"


def _small(report: Report) -> Report:
    """The park and one enterprise, their first sections only: a PDF of a few pages."""
    scopes = tuple(dataclasses.replace(s, sections=s.sections[:1]) for s in report.scopes[:2])
    return dataclasses.replace(report, scopes=scopes, appendix=())


@pytest.fixture(scope="module")
def small_one_run(report: Report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("small") / "one.pdf"
    path.write_bytes(render_pdf(_small(report), "en", parts=1))
    return path


@pytest.mark.parametrize(
    "child",
    [
        # exits with an error before printing
        [sys.executable, "-c", "import sys; sys.exit('no fonts here')"],
        # tells a page count, then fails while drawing
        [
            sys.executable,
            "-c",
            "import sys, pathlib; pathlib.Path(sys.argv[-1]).with_suffix('.pages')"
            ".write_text('99'); sys.exit('killed while drawing')",
        ],
        # cannot start at all
        ["/nonexistent/python3"],
    ],
    ids=["exits", "dies-after-its-page-count", "cannot-start"],
)
def test_a_failing_child_process_loses_no_page(
    report: Report,
    small_one_run: Path,
    child: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """The child that should print the second part fails (a fault injected): its part is
    printed in this process, the warning says why, and the PDF is the one-run PDF word for
    word, page numbers included."""
    monkeypatch.setattr(pdf_module, "child_command", lambda src, dst: [*child, str(src), str(dst)])
    with caplog.at_level(logging.WARNING, logger="zcpark.reports"):
        data = render_pdf(_small(report), "en", parts=2)
    said = " | ".join(r.getMessage() for r in caplog.records)
    why = {
        "exits": "exited 1: no fonts here",
        "dies-after-its-page-count": "exited 1: killed while drawing",
        "cannot-start": "no child process",
    }
    assert any(w in said for w in why.values()) and "here" in said, said
    path = tmp_path / "small.pdf"
    path.write_bytes(data)
    assert _bbox_words(path) == _bbox_words(small_one_run)
    pages = pdf_pages_text(path)
    assert len(pages) >= 3 and all(
        re.search(rf"\b{i + 1} ?/ ?{len(pages)}\b", p) for i, p in enumerate(pages)
    )


def test_the_child_prints_its_part_and_tells_its_page_count(report: Report, tmp_path: Path) -> None:
    """The child's own protocol: WeasyPrint loaded, it waits for its standard input to end,
    prints IN to OUT and writes the page count to OUT.pages."""
    src, dst = tmp_path / "in.html", tmp_path / "out.pdf"
    src.write_text(render_html(_small(report), "en", for_print=True), encoding="utf-8")
    done = subprocess.run(pdf_module.child_command(src, dst), input=b"", capture_output=True)
    assert done.returncode == 0, done.stderr
    with pikepdf.Pdf.open(dst) as doc:
        assert int(dst.with_suffix(".pages").read_text()) == len(doc.pages) >= 3


def test_a_small_report_is_printed_in_one_run(
    report: Report, small_one_run: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_child(*a: object) -> None:
        raise AssertionError("a small report started a child process")

    monkeypatch.setattr(pdf_module, "_Child", no_child)
    path = tmp_path / "auto.pdf"
    path.write_bytes(render_pdf(_small(report), "en"))
    assert _bbox_words(path) == _bbox_words(small_one_run)


def test_print_parts_cut_between_scopes(report: Report) -> None:
    cut = print_parts(report, 0.45)
    assert cut is not None
    first, second = cut
    assert first.cover and not first.appendix and not second.cover and second.appendix
    assert first.scopes.stop == second.scopes.start and first.scopes.start == 0
    assert 1 <= first.scopes.stop < len(report.scopes)
    assert print_parts(dataclasses.replace(report, scopes=report.scopes[:1])) is None
    assert report_cells(report) < PARALLEL_CELLS  # the synthetic month prints in one run
    # three scopes of 10, 30 and 20 cells, no appendix: the cut nearest the share
    cell = Cell(1.0, "kwh")

    def scope(s: Any, cells: int) -> Any:
        table = Table("t", "T", (Column("a", "A"),), tuple((cell,) for _ in range(cells)))
        return dataclasses.replace(s, sections=(Section("s", "S", (table,)),))

    three = dataclasses.replace(
        report,
        scopes=tuple(scope(s, n) for s, n in zip(report.scopes, (10, 30, 20), strict=True)),
        appendix=(),
    )
    assert report_cells(three) == 60
    assert print_parts(three, 0.2)[0].scopes == slice(0, 1)  # type: ignore[index]
    assert print_parts(three, 0.6)[0].scopes == slice(0, 2)  # type: ignore[index]
    assert print_parts(three, 0.9)[1].scopes == slice(2, None)  # type: ignore[index]


def test_the_child_command_says_how_to_call_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "park_server.reports.pdf"], capture_output=True, text=True
    )
    assert (
        done.returncode == 2 and "usage: python -m park_server.reports.pdf [--wait]" in done.stderr
    )


def _sheet_figures(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    return {f"{scope}:{key}": value for scope, key, value in rows[1:]}


@pytest.mark.parametrize("lang", LANGS)
def test_every_figure_in_the_xlsx(report: Report, lang: str) -> None:
    sheets = xlsx_sheets(render_xlsx(report, lang))
    figures = _sheet_figures(sheets["figures"])
    wrong = {
        f"{scope}:{k}": (figures.get(f"{scope}:{k}"), v)
        for scope, hand in SCOPES.items()
        for k, v in hand.items()
        if not close(figures.get(f"{scope}:{k}"), v)
    }
    assert not wrong
    meta = {r[0]: r[1] for r in sheets["report"][:10]}
    assert meta["sha256"] == "5" * 64 and meta["revision"] == 1 and meta["month"] == "2026-11"
    # a sheet per table and per chart, for the park and each enterprise
    for scope in ("park", "alu", "bat"):
        for name in ("summary", "energy_days", "energy_chart", "green_chart", "emissions"):
            assert f"{scope}-{name}" in sheets
    assert "park-factors" in sheets and "park-completeness" in sheets
    # the summary sheet carries each figure's key beside its row
    summary = sheets["park-summary"]
    row = next(r for r in summary if r[-1] and "energy_kwh.consumption" in str(r[-1]))
    assert close(row[1], synth.HAND["energy_kwh.consumption"])


def test_the_intervals_sheet_sums_to_the_report_totals(report: Report) -> None:
    rows = xlsx_sheets(render_xlsx(report, "en"))["intervals"]
    head, body = rows[0], rows[1:]
    assert len(body) == synth.DAYS * 96
    col = {name: i for i, name in enumerate(head)}
    complete = [r for r in body if r[col["complete"]] == 1]
    assert len(body) - len(complete) == synth.N  # the gap's intervals

    def total(name: str, rows_: list[tuple[Any, ...]] = complete) -> float:
        return math.fsum(r[col[name]] or 0.0 for r in rows_)

    hand = synth.HAND
    for column, key in (
        ("consumption_kwh", "energy_kwh.consumption"),
        ("grid_import_kwh", "energy_kwh.grid_import"),
        ("grid_export_kwh", "energy_kwh.grid_export"),
        ("pv_kwh", "energy_kwh.pv"),
        ("wind_kwh", "energy_kwh.wind"),
        ("storage_charge_kwh", "energy_kwh.storage_charge"),
        ("storage_discharge_kwh", "energy_kwh.storage_discharge"),
    ):
        assert close(total(column), hand[key]), column
    assert close(total("consumption_alu_kwh"), synth.HAND_ALU["energy_kwh.consumption"])
    assert close(total("consumption_bat_kwh"), synth.HAND_BAT["energy_kwh.consumption"])
    # curtailment from the sheet: available − generated of PV and wind
    curtailed = math.fsum(
        (r[col["pv_wind_available_kwh"]] or 0.0)
        - (r[col["pv_kwh"]] or 0.0)
        - (r[col["wind_kwh"]] or 0.0)
        for r in complete
    )
    assert close(curtailed, hand["energy_kwh.curtailed"])
    # the scope-2 lines from the sheet and the factors sheet
    factors = {
        r[0]: r[1] for r in xlsx_sheets(render_xlsx(report, "en"))["park-factors"][2:] if r[0]
    }
    assert close(
        total("grid_import_kwh") / 1000 * factors["grid_location"],
        hand["emissions_t.scope2_location"],
    )
    # a gap interval keeps what was measured: wind, storage and loads, no grid or PV
    gap = next(r for r in body if r[col["complete"]] == 0)
    assert gap[col["grid_import_kwh"]] is None and gap[col["pv_kwh"]] is None
    assert gap[col["wind_kwh"]] == 200.0 and gap[col["consumption_kwh"]] == 1200.0


def test_every_report_string_has_its_chinese_translation() -> None:
    root = Path(__file__).resolve().parents[3]
    method_map = [
        ("park_server/reports/**.py", "python"),
        ("park_server/reports/templates/**.html", "jinja2"),
    ]
    ids = set()
    for m in extract_from_dir(root, method_map, keywords={"_": None, "N_": None}):
        ids.add(m[2] if isinstance(m[2], str) else m[2][0])
    assert len(ids) > 150
    zh = translations("zh")
    untranslated = sorted(i for i in ids if i and zh.gettext(i) == i and i not in {"nMAE"})
    assert untranslated == []
    en = translations("en")
    assert all(en.gettext(i) == i for i in ids if i)


def test_the_collector_is_back_on_after_overlapping_prints() -> None:
    """Two threads print at once, the second starting inside the first and ending after it:
    the collector is off while either prints and on again once both are done."""
    import gc
    import threading

    assert gc.isenabled()
    inside, first_done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def second() -> None:
        with pdf_module._gc_paused():
            inside.set()
            first_done.wait(5)
            seen.append(gc.isenabled())

    with pdf_module._gc_paused():
        t = threading.Thread(target=second)
        t.start()
        assert inside.wait(5)
    seen.append(gc.isenabled())  # the first is done, the second still prints
    first_done.set()
    t.join(5)
    assert seen == [False, False] and gc.isenabled()
