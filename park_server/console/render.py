"""Jinja2 environments (one per language, each with its gettext catalogue) and the filters that
format what the API returns: numbers in the language's style, UTC time stamps in the park's zone.

Formatting only: no filter computes a figure (DESIGN.md §6).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern
from jinja2 import Environment

from park_server.locale import BABEL_LOCALE, LANGUAGES, jinja_environment
from park_server.timeutil import parse_ts

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value: object, lang: str, digits: int | None = None) -> str:
    """A value as the page shows it: '—' for none; below 1000 one decimal, else whole numbers,
    grouped in thousands (the same rule as console.js ``fmt``)."""
    if not _is_number(value):
        return "—"
    assert isinstance(value, int | float)
    if digits is None:
        digits = 1 if abs(value) < 1000 else 0
    return str(
        _pattern("#,##0" + ("." + "0" * digits if digits else "")).apply(value, _locale(lang))
    )


def percent(value: object, lang: str) -> str:
    """A share 0..1 as a percentage with one decimal; '—' for none."""
    if not _is_number(value):
        return "—"
    assert isinstance(value, int | float)
    return str(_pattern("#,##0.0%").apply(value, _locale(lang)))


@cache
def _pattern(pattern: str) -> NumberPattern:
    return parse_pattern(pattern)  # parsed once: a page formats hundreds of numbers


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(BABEL_LOCALE[lang])


def local_time(ts: object, tz: str, fmt: str = "%m-%d %H:%M") -> str:
    """An API time stamp (ISO 8601 Z or epoch ms) in the park's zone; '—' for none."""
    if ts is None:
        return "—"
    try:
        ms = parse_ts(ts)
    except ValueError:
        return str(ts)
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(tz)).strftime(fmt)


@cache
def environment(lang: str) -> Environment:
    env = jinja_environment(TEMPLATES, lang)
    env.filters["num"] = lambda v, digits=None: number(v, lang, digits)
    env.filters["pct"] = lambda v: percent(v, lang)
    # kWh shown in MWh, kg in t: units of display, the value is the API's
    env.filters["mwh"] = lambda v: number(v / 1000 if _is_number(v) else None, lang)
    env.filters["tonnes"] = lambda v: number(v / 1000 if _is_number(v) else None, lang)
    env.filters["local"] = local_time
    env.globals["lang"] = lang
    env.globals["languages"] = LANGUAGES
    return env


def render(lang: str, template: str, context: dict[str, Any]) -> str:
    return environment(lang).get_template(template).render(context)
