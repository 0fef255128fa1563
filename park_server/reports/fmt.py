"""How a report cell is written in each language: the one formatting rule of every rendering
(HTML, PDF through the HTML, and the display strings the tests compare)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, format_percent

from park_server.locale import BABEL_LOCALE, translations
from park_server.reports.model import Cell

DASH = "—"


def N_(msgid: str) -> str:
    """Mark a message id for extraction (pybabel -k N_)."""
    return msgid


#: decimals shown per kind (kWh are shown as MWh)
_PATTERN = {
    "kwh": "#,##0.00",
    "t": "#,##0.00",
    "tce": "#,##0.00",
    "t_per_tce": "#,##0.0000",
    "intensity": "#,##0.0000",
    "count": "#,##0",
    "factor": "#,##0.######",
    "number": "#,##0.###",
}


def gettext(lang: str, msgid: str) -> str:
    return msgid if not msgid else translations(lang).gettext(msgid)


def display(cell: Cell, lang: str, tz: str) -> str:
    """The text of ``cell`` as the report prints it."""
    v, kind = cell.value, cell.kind
    if kind == "text":
        return "" if v is None else str(v)
    if kind == "msg":
        return DASH if v is None else gettext(lang, str(v))
    if v is None:
        return DASH
    if kind == "bool":
        return gettext(lang, N_("pass")) if v else gettext(lang, N_("fail"))
    if kind == "ts":
        assert isinstance(v, int | float)
        return datetime.fromtimestamp(v / 1000, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    if kind == "date":
        return str(v)
    assert isinstance(v, int | float) and not isinstance(v, bool), (kind, v)
    loc = BABEL_LOCALE[lang]
    if kind == "share":
        return format_percent(v, format="#,##0.00%", locale=loc)
    if kind == "kwh":
        v = v / 1000.0
    return format_decimal(v, format=_PATTERN.get(kind, "#,##0.00"), locale=loc)
