"""The report as one self-contained HTML document (Jinja2): what the console shows, and what
WeasyPrint prints to PDF (park_server.reports.pdf). Charts are inline SVG (in print, the same SVG
as an image), styles inline, so the file opens anywhere without the server."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment
from markupsafe import Markup

from park_server.locale import LANGUAGES, jinja_environment
from park_server.reports.charts import chart_svg_of
from park_server.reports.fmt import display, gettext
from park_server.reports.model import Cell, Chart, Report, Section, Table

TEMPLATES = Path(__file__).resolve().parent / "templates"
HTML_LANG = {"zh": "zh-CN", "en": "en"}


@cache
def _env(lang: str) -> Environment:
    env = jinja_environment(TEMPLATES, lang)
    return env


@dataclass(frozen=True)
class Part:
    """Some consecutive pages of the printed report: the cover or not, a run of scopes, the
    appendix or not. Every scope starts a page, so the parts' pages are the whole's."""

    scopes: slice
    cover: bool
    appendix: bool


#: layout cost of a chart in table cells (WeasyPrint draws one in the time of some 60 cells)
CHART_CELLS = 60


def _cells(sections: tuple[Section, ...]) -> int:
    return sum(
        len(b.rows) * len(b.columns) if isinstance(b, Table) else CHART_CELLS
        for sec in sections
        for b in sec.blocks
    )


def report_cells(report: Report) -> int:
    """The printed report's layout work, in table cells (a chart as :data:`CHART_CELLS`)."""
    return sum(_cells(s.sections) for s in report.scopes) + _cells(report.appendix)


def print_parts(report: Report, first_share: float = 0.5) -> tuple[Part, Part] | None:
    """The printed report cut in two at a scope boundary, the first part as near
    ``first_share`` of the layout work (counted in table cells) as the cut can be; None when
    there are fewer than two scopes."""
    if len(report.scopes) < 2:
        return None
    aim = first_share * report_cells(report)
    # the cells before each scope boundary k (1 .. n - 1)
    before = list(accumulate(_cells(s.sections) for s in report.scopes[:-1]))
    cut = 1 + min(range(len(before)), key=lambda k: abs(before[k] - aim))
    return (
        Part(slice(0, cut), cover=True, appendix=False),
        Part(slice(cut, None), cover=False, appendix=True),
    )


def page_numbers_html(lang: str, pages: int) -> str:
    """``pages`` empty pages of the report's page box with only their numbers "n / N", in the
    place the whole report's would be (stamped over the pages of parts printed apart)."""
    body = '<div class="page"></div>' * pages
    return (
        f'<!doctype html><html lang="{HTML_LANG[lang]}"><head><meta charset="utf-8">'
        f"<style>{_css()}\n.page + .page {{ break-before: page; }}</style></head>"
        f"<body>{body}</body></html>"
    )


@cache
def _css() -> str:
    """The report's one stylesheet (screen and print)."""
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")


def _repr(value: object) -> str:
    return "" if value is None else repr(value)


def render_html(
    report: Report, lang: str = "zh", *, for_print: bool = False, part: Part | None = None
) -> str:
    """The report in ``lang`` (zh or en) as HTML. ``for_print`` adds the running page footer
    WeasyPrint puts on every page (a browser shows the footer once, at the end). ``part``, for
    print only: a document of some of its pages (:func:`print_parts`), without page numbers."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang: {lang!r} is not one of {', '.join(LANGUAGES)}")
    m = report.meta
    tz = m.timezone

    def tr(msgid: str) -> str:
        return gettext(lang, msgid)

    def cell(c: Cell) -> str:
        return display(c, lang, tz)

    def svg(chart: Chart) -> Markup:
        drawn = chart_svg_of(chart, lang)
        if for_print:
            # an image for WeasyPrint: the same vector drawing, but its thousands of nodes stay
            # out of the page's style cascade (the PDF of 500 meters: 15 % less time)
            data = base64.b64encode(drawn.encode("utf-8")).decode("ascii")
            return Markup(f'<img alt="" src="data:image/svg+xml;base64,{data}">')
        return Markup(drawn)

    generated = datetime.fromtimestamp(m.generated_ms / 1000, ZoneInfo(tz))
    ctx: dict[str, Any] = {
        "r": report,
        "m": m,
        "lang": lang,
        "html_lang": HTML_LANG[lang],
        "tr": tr,
        "cell": cell,
        "svg": svg,
        "repr": _repr,
        "is_table": lambda b: isinstance(b, Table),
        "park_title": (m.park_name_zh or m.park_name) if lang == "zh" else m.park_name,
        "generated": generated.strftime("%Y-%m-%d %H:%M %Z"),
        "css": Markup(_css()),
        "for_print": for_print,
        "scopes": report.scopes if part is None else report.scopes[part.scopes],
        "cover": part is None or part.cover,
        "appendix": part is None or part.appendix,
        "page_numbers": part is None,
    }
    return _env(lang).get_template("report.html").render(ctx)
