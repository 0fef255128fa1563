"""The one model of the monthly report (issue #12): typed, immutable, plain JSON both ways.

A :class:`Report` is a list of scopes (the park, then each enterprise), each a list of
:class:`Section`\\ s of :class:`Table`\\ s and :class:`Chart`\\ s, an appendix, and the month's
15-minute :class:`IntervalTable`. Every number is a :class:`Cell` carrying its value in the unit
of DESIGN.md §10 (kWh, t, tce, a share 0..1), how it is shown (``kind``) and the key it comes from
(a §10 dotted key such as ``energy_kwh.consumption``, or a report key such as
``days.2026-11-03.pv``). The HTML, PDF and XLSX renderings read this model only; labels are
gettext message ids translated when rendering (park_server/locale).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import TypeAdapter

#: How a cell is shown: ``kwh`` as MWh, ``share`` as a percentage, ``msg`` a message id to
#: translate, ``ts`` epoch ms shown in the park's zone, ``factor`` a factor value as entered.
Kind = Literal[
    "text",
    "msg",
    "kwh",
    "share",
    "t",
    "tce",
    "t_per_tce",
    "intensity",
    "count",
    "bool",
    "date",
    "ts",
    "factor",
    "number",
]
Value = str | bool | int | float | None


@dataclass(frozen=True)
class Cell:
    value: Value
    kind: Kind = "text"
    #: where the figure comes from (a §10 key, or a report key); None for labels
    key: str | None = None


@dataclass(frozen=True)
class Column:
    id: str
    #: message id of the header
    label: str
    #: unit shown in the header (not translated), e.g. "MWh", "tCO₂"
    unit: str = ""
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    #: message id of a note printed under the table
    note: str | None = None
    type: Literal["table"] = "table"


@dataclass(frozen=True)
class Series:
    #: message id of the legend entry
    name: str
    values: tuple[float | None, ...]
    key: str
    style: Literal["bar", "line", "dashed"] = "bar"


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    kind: Literal["stacked_bar", "lines"]
    #: x labels (local days, YYYY-MM-DD)
    x: tuple[str, ...]
    series: tuple[Series, ...]
    #: y axis label, a message id
    y_label: str
    #: values are shares (0..1) shown as percentages
    percent: bool = False
    #: values are kWh shown as MWh
    mwh: bool = False
    type: Literal["chart"] = "chart"


Block = Table | Chart


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    blocks: tuple[Block, ...]
    #: message id of an explanation printed under the title
    intro: str | None = None


@dataclass(frozen=True)
class Scope:
    """The park (``id == "park"``, ``enterprise`` None) or one enterprise."""

    id: str
    enterprise: str | None
    name: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class IntervalTable:
    """The month's 15-min energy by meter role [kWh], enough to recompute every figure.

    ``ts_ms`` are interval starts (UTC); ``complete`` is 1 where every primary meter has data
    (only those intervals count, docs/carbon.md); a value is None where no meter of the column
    reported."""

    columns: tuple[str, ...]
    ts_ms: tuple[int, ...]
    complete: tuple[int, ...]
    values: tuple[tuple[float | None, ...], ...]


@dataclass(frozen=True)
class Change:
    """A figure that differs from the previous revision."""

    figure: str
    before: Value
    after: Value


@dataclass(frozen=True)
class ReportMeta:
    park: str
    park_name: str
    park_name_zh: str
    month: str
    timezone: str
    #: SHA-256 of the canonical JSON of the report's inputs (park_server.reports.digest)
    sha256: str = ""
    #: SHA-256 (first 16 hex) of the factor lines the figures use
    factors_version: str = ""
    revision: int = 0
    generated_ms: int = 0
    changes: tuple[Change, ...] = ()
    #: the month had data up to this moment (its end for a past month) [epoch ms]
    as_of_ms: int = 0


@dataclass(frozen=True)
class Report:
    meta: ReportMeta
    scopes: tuple[Scope, ...]
    appendix: tuple[Section, ...]
    intervals: IntervalTable = field(default_factory=lambda: IntervalTable((), (), (), ()))

    def with_meta(self, **changes: Any) -> Report:
        return replace(self, meta=replace(self.meta, **changes))

    def figures(self) -> dict[str, Value]:
        """Every numeric cell as ``{scope}:{key}`` → value (the XLSX ``figures`` sheet, the diff
        between revisions)."""
        out: dict[str, Value] = {}
        for scope in self.scopes:
            for section in scope.sections:
                _collect(out, scope.id, section)
        for section in self.appendix:
            _collect(out, "park", section)
        return out


def _collect(out: dict[str, Value], scope: str, section: Section) -> None:
    for block in section.blocks:
        if isinstance(block, Table):
            for row in block.rows:
                for cell in row:
                    if cell.key is not None and cell.kind not in ("text", "msg"):
                        out[f"{scope}:{cell.key}"] = cell.value


_ADAPTER: TypeAdapter[Report] = TypeAdapter(Report)


def to_json(report: Report) -> str:
    """The report as canonical JSON (keys sorted, no NaN), what is stored per revision."""
    data = _ADAPTER.dump_python(report, mode="json")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str | bytes) -> Report:
    return _ADAPTER.validate_json(text)
