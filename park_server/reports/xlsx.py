"""The report as XLSX (openpyxl): a sheet per table and per chart with the numbers behind it,
``figures`` (every figure with its key), ``report`` (revision, hash, what changed) and
``intervals``, the month's 15-min energy by meter role, from which every figure can be
recomputed. Numbers are written in their §10 units (kWh, t, tce, shares 0..1), unrounded;
only the cell format rounds what is shown."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from park_server.reports.fmt import gettext
from park_server.reports.model import Cell, Chart, Report, Table

#: number format per kind; the value itself is never rounded
_FORMAT = {
    "kwh": "#,##0.00",
    "share": "0.00%",
    "t": "#,##0.00",
    "tce": "#,##0.00",
    "t_per_tce": "0.0000",
    "intensity": "0.0000",
    "count": "#,##0",
    "factor": "General",
    "number": "#,##0.000",
}
_UNIT = {"kwh": "kWh", "share": "0..1", "t": "t", "tce": "tce", "t_per_tce": "tCO₂/tce"}
_BOLD = Font(bold=True)


def _sheet_name(used: set[str], name: str) -> str:
    base = name[:31]
    out, i = base, 2
    while out in used:
        suffix = f"~{i}"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(out)
    return out


def _value(c: Cell, lang: str, tz: str) -> object:
    if c.kind == "msg":
        return None if c.value is None else gettext(lang, str(c.value))
    if c.kind == "bool":
        return None if c.value is None else bool(c.value)
    if c.kind == "ts":
        assert isinstance(c.value, int)
        return datetime.fromtimestamp(c.value / 1000, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    return c.value


def _header(ws: WriteOnlyWorksheet, labels: list[str]) -> None:
    row = []
    for label in labels:
        cell = WriteOnlyCell(ws, value=label)
        cell.font = _BOLD
        row.append(cell)
    ws.append(row)


def _table_sheet(ws: WriteOnlyWorksheet, t: Table, lang: str, tz: str) -> None:
    kinds: list[str] = []
    for j in range(len(t.columns)):
        ks = {r[j].kind for r in t.rows if r[j].value is not None and r[j].kind != "text"}
        kinds.append(ks.pop() if len(ks) == 1 else "")
    labels = []
    for col, kind in zip(t.columns, kinds, strict=True):
        unit = _UNIT.get(kind, col.unit if kind not in _FORMAT else "")
        labels.append(gettext(lang, col.label) + (f" [{unit}]" if unit else ""))
    ws.append([gettext(lang, t.title)])
    _header(ws, [*labels, "key"])
    for r in t.rows:
        out = []
        for c in r:
            cell = WriteOnlyCell(ws, value=_value(c, lang, tz))
            if c.kind in _FORMAT:
                cell.number_format = _FORMAT[c.kind]
            out.append(cell)
        keys = " | ".join(c.key for c in r if c.key)
        out.append(WriteOnlyCell(ws, value=keys))
        ws.append(out)
    if t.note:
        ws.append([])
        ws.append([gettext(lang, t.note)])


def _chart_sheet(ws: WriteOnlyWorksheet, ch: Chart, lang: str) -> None:
    ws.append([gettext(lang, ch.title)])
    unit = " [kWh]" if ch.mwh else (" [0..1]" if ch.percent else "")
    _header(ws, ["day", *[gettext(lang, s.name) + unit for s in ch.series]])
    for i, x in enumerate(ch.x):
        ws.append([x, *[s.values[i] for s in ch.series]])
    ws.append([])
    ws.append(["key", *[s.key for s in ch.series]])


def render_xlsx(report: Report, lang: str = "zh") -> bytes:
    """The report's workbook in ``lang`` (sheet and column labels; numbers are the same)."""
    m, tz = report.meta, report.meta.timezone
    wb = Workbook(write_only=True)
    used: set[str] = set()
    ws = wb.create_sheet(_sheet_name(used, "report"))
    generated = datetime.fromtimestamp(m.generated_ms / 1000, ZoneInfo(tz))
    for k, v in (
        ("park", m.park),
        ("park_name", m.park_name),
        ("park_name_zh", m.park_name_zh),
        ("month", m.month),
        ("timezone", m.timezone),
        ("revision", m.revision),
        ("generated", generated.isoformat()),
        ("sha256", m.sha256),
        ("factors_version", m.factors_version),
        ("language", lang),
    ):
        ws.append([k, v])
    ws.append([])
    _header(ws, ["changed figure", "before", "after"])
    for c in m.changes:
        ws.append([c.figure, c.before, c.after])

    ws = wb.create_sheet(_sheet_name(used, "figures"))
    _header(ws, ["scope", "key", "value"])
    for key, value in report.figures().items():
        scope, _, k = key.partition(":")
        ws.append([scope, k, value])

    sections = [(s.id, sec) for s in report.scopes for sec in s.sections]
    sections += [("park", sec) for sec in report.appendix]
    for scope_id, sec in sections:
        for b in sec.blocks:
            ws = wb.create_sheet(_sheet_name(used, f"{scope_id}-{b.id}"))
            if isinstance(b, Table):
                _table_sheet(ws, b, lang, tz)
            else:
                _chart_sheet(ws, b, lang)

    it = report.intervals
    ws = wb.create_sheet(_sheet_name(used, "intervals"))
    _header(ws, ["ts_utc", "ts_local", "complete", *it.columns])
    zone = ZoneInfo(tz)
    for ts, complete, values in zip(it.ts_ms, it.complete, it.values, strict=True):
        utc = datetime.fromtimestamp(ts / 1000, ZoneInfo("UTC"))
        ws.append(
            [
                utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                utc.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                complete,
                *values,
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
