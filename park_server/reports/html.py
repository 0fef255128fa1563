"""The report as one self-contained HTML document (Jinja2): what the console shows, and what
WeasyPrint prints to PDF (park_server.reports.pdf). Charts are inline SVG (in print, the same SVG
as an image), styles inline, so the file opens anywhere without the server."""

from __future__ import annotations

import base64
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment
from markupsafe import Markup

from park_server.locale import LANGUAGES, jinja_environment
from park_server.reports.charts import chart_svg_of
from park_server.reports.fmt import display, gettext
from park_server.reports.model import Cell, Chart, Report, Table

TEMPLATES = Path(__file__).resolve().parent / "templates"
HTML_LANG = {"zh": "zh-CN", "en": "en"}


@cache
def _env(lang: str) -> Environment:
    env = jinja_environment(TEMPLATES, lang)
    return env


def _repr(value: object) -> str:
    return "" if value is None else repr(value)


def render_html(report: Report, lang: str = "zh", *, for_print: bool = False) -> str:
    """The report in ``lang`` (zh or en) as HTML. ``for_print`` adds the running page footer
    WeasyPrint puts on every page (a browser shows the footer once, at the end)."""
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
        "css": Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        "for_print": for_print,
    }
    return _env(lang).get_template("report.html").render(ctx)
