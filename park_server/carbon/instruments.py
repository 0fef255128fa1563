"""Green instruments: green electricity certificates (GEC) and green-power trades.

A GEC is the sole proof of renewable attributes, 1 GEC = 1 MWh (NDRC/MOF/NEA 2023 No. 1044;
the ratio is ``gec_mwh_per_certificate`` in config/factors). A green-power trade is a contract
with its delivered MWh in a month, optionally with a 15-min delivery profile; the GECs that
come bundled with it are its serial range and are counted with the trade, never again as
certificates. Both are held by an enterprise (or by the park itself, ``enterprise=None``) for a
month (YYYY-MM, local).

:func:`validate_instrument_csv` checks an upload with DESIGN.md §10's header, row by row: the
good rows are returned, each bad one as ``{"line": n, "reason": "…"}`` (the header is line 1).
A serial range overlapping one already held, or one used earlier in the same upload, is refused.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from park_server.carbon.errors import CarbonInputError
from park_server.carbon.inputs import check_month
from park_server.carbon.period import Period

CSV_HEADER = (
    "enterprise",
    "kind",
    "serial_from",
    "serial_to",
    "mwh",
    "technology",
    "project",
    "vintage",
    "month",
)
TECHNOLOGIES = ("wind", "pv", "hydro", "biomass", "geothermal", "other")

_SERIAL = re.compile(r"^(.*?)(\d+)$")
_VINTAGE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")


@dataclass(frozen=True)
class SerialRange:
    """GEC serial numbers ``prefix + first .. prefix + last`` (inclusive)."""

    prefix: str
    first: int
    last: int
    digits: int = 0

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    def overlaps(self, other: SerialRange) -> bool:
        return self.prefix == other.prefix and self.first <= other.last and other.first <= self.last

    def __str__(self) -> str:
        return f"{self.prefix}{self.first:0{self.digits}d}–{self.prefix}{self.last:0{self.digits}d}"


def parse_serial_range(serial_from: str, serial_to: str) -> SerialRange:
    """``"GEC-000101", "GEC-000200"`` → a range of 100 certificates."""
    a, b = _SERIAL.match(serial_from.strip()), _SERIAL.match(serial_to.strip())
    if a is None:
        raise CarbonInputError("serial_from", f"{serial_from!r} does not end in digits")
    if b is None:
        raise CarbonInputError("serial_to", f"{serial_to!r} does not end in digits")
    if a.group(1) != b.group(1):
        raise CarbonInputError(
            "serial_to", f"prefix {b.group(1)!r} differs from serial_from's {a.group(1)!r}"
        )
    first, last = int(a.group(2)), int(b.group(2))
    if last < first:
        raise CarbonInputError("serial_to", f"{serial_to!r} comes before serial_from")
    return SerialRange(a.group(1), first, last, len(a.group(2)))


@dataclass(frozen=True)
class Certificate:
    """GECs held for ``month``: ``mwh`` = number of certificates × 1 MWh."""

    enterprise: str | None
    serial: SerialRange
    mwh: float
    technology: str
    project: str
    vintage: str
    month: str


@dataclass(frozen=True)
class Trade:
    """A green-power trade delivering ``mwh`` in ``month``; ``profile_kwh`` per 15-min interval
    start (UTC) where the contract has a delivery profile (it must add up to ``mwh``)."""

    enterprise: str | None
    mwh: float
    technology: str
    project: str
    vintage: str
    month: str
    bundled: SerialRange | None = None
    profile_kwh: pd.Series | None = field(default=None, compare=False)
    id: str | None = None

    def __post_init__(self) -> None:
        if self.profile_kwh is not None:
            idx = self.profile_kwh.index
            if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None:
                raise CarbonInputError(
                    "profile_kwh", "index must be tz-aware interval starts (UTC)"
                )
            if ((idx.minute % 15 != 0) | (idx.second != 0) | (idx.microsecond != 0)).any():
                raise CarbonInputError("profile_kwh", "every value must start a 15-minute interval")
            total = float(self.profile_kwh.sum())
            if (self.profile_kwh < 0).any():
                raise CarbonInputError("profile_kwh", "a delivery profile can not be negative")
            if abs(total - self.mwh * 1000.0) > 1e-6 * max(1.0, self.mwh * 1000.0):
                raise CarbonInputError(
                    "profile_kwh", f"adds up to {total:g} kWh, the trade delivers {self.mwh:g} MWh"
                )


Instrument = Certificate | Trade


@dataclass(frozen=True)
class HeldRange:
    """A serial range already held: as certificates, or bundled with a trade."""

    serial: SerialRange
    kind: Literal["gec", "trade"]
    ref: str = ""


def held_ranges(instruments: Iterable[Instrument]) -> list[HeldRange]:
    out: list[HeldRange] = []
    for x in instruments:
        if isinstance(x, Certificate):
            out.append(HeldRange(x.serial, "gec", x.project))
        elif x.bundled is not None:
            out.append(HeldRange(x.bundled, "trade", x.id or x.project))
    return out


@dataclass(frozen=True)
class InstrumentUpload:
    accepted: list[Instrument]
    #: ``{"line": n, "reason": "…"}`` per refused row (§10)
    rejected: list[dict[str, object]]


def _clash(serial: SerialRange, kind: str, held: Sequence[HeldRange]) -> str | None:
    for h in held:
        if not serial.overlaps(h.serial):
            continue
        where = f" ({h.ref})" if h.ref else ""
        if h.kind == "trade" and kind == "gec":
            return (
                f"certificates {serial} came bundled with a green-power trade{where} and are "
                "counted there: a certificate is counted once"
            )
        return f"serial range {serial} overlaps {h.serial}, already held{where}"
    return None


def parse_instrument_row(
    row: Mapping[str, object], *, enterprises: Collection[str], gec_mwh: float
) -> Instrument:
    """One row (CSV text, or JSON values) as a :class:`Certificate` or :class:`Trade`."""

    def text(name: str) -> str:
        value = row.get(name)
        return "" if value is None else str(value).strip()

    enterprise = text("enterprise") or None
    if enterprise is not None and enterprise not in enterprises:
        raise CarbonInputError("enterprise", f"no enterprise {enterprise!r} in the park")
    kind = text("kind")
    if kind not in ("gec", "trade"):
        raise CarbonInputError("kind", f"{kind!r} is not gec or trade")
    try:
        mwh = float(text("mwh"))
    except ValueError:
        raise CarbonInputError("mwh", f"{text('mwh')!r} is not a number") from None
    if not mwh > 0:
        raise CarbonInputError("mwh", f"must be positive, not {text('mwh')}")
    technology = text("technology")
    if technology not in TECHNOLOGIES:
        raise CarbonInputError(
            "technology", f"{technology!r} is not one of {', '.join(TECHNOLOGIES)}"
        )
    project = text("project")
    if not project:
        raise CarbonInputError("project", "is empty")
    vintage = text("vintage")
    if not _VINTAGE.match(vintage):
        raise CarbonInputError("vintage", f"{vintage!r} is not a year YYYY or month YYYY-MM")
    month = text("month")
    try:
        check_month(month)
    except ValueError as exc:
        raise CarbonInputError("month", str(exc)) from None
    if vintage > month:
        raise CarbonInputError("vintage", f"{vintage} is after the month {month} it is used for")
    sf, st = text("serial_from"), text("serial_to")
    serial = parse_serial_range(sf, st) if (sf or st) else None
    if kind == "gec":
        if serial is None:
            raise CarbonInputError("serial_from", "a gec row needs serial_from and serial_to")
        if abs(serial.count * gec_mwh - mwh) > 1e-9 * mwh:
            raise CarbonInputError(
                "mwh", f"{mwh:g} MWh does not match the {serial.count} certificates {serial}"
            )
        return Certificate(enterprise, serial, mwh, technology, project, vintage, month)
    if serial is not None and serial.count * gec_mwh > mwh * (1 + 1e-9):
        raise CarbonInputError(
            "mwh",
            f"{mwh:g} MWh delivered, fewer than the {serial.count} bundled certificates {serial}",
        )
    return Trade(enterprise, mwh, technology, project, vintage, month, bundled=serial)


def validate_instrument_rows(
    rows: Sequence[tuple[int, Mapping[str, object]]],
    *,
    enterprises: Collection[str],
    held: Sequence[HeldRange],
    gec_mwh: float,
) -> InstrumentUpload:
    """Check numbered rows; each bad one is refused with its line, the good ones kept."""
    accepted: list[Instrument] = []
    rejected: list[dict[str, object]] = []
    seen: list[HeldRange] = list(held)
    for line, row in rows:
        try:
            x = parse_instrument_row(row, enterprises=enterprises, gec_mwh=gec_mwh)
        except CarbonInputError as exc:
            rejected.append({"line": line, "reason": f"{exc.field}: {exc.reason}"})
            continue
        serial = x.serial if isinstance(x, Certificate) else x.bundled
        kind: Literal["gec", "trade"] = "gec" if isinstance(x, Certificate) else "trade"
        if serial is not None:
            reason = _clash(serial, kind, seen)
            if reason is not None:
                rejected.append({"line": line, "reason": f"serial_from: {reason}"})
                continue
            seen.append(HeldRange(serial, kind, f"line {line} of this upload"))
        accepted.append(x)
    return InstrumentUpload(accepted, rejected)


def validate_instrument_csv(
    text: str,
    *,
    enterprises: Collection[str],
    held: Sequence[HeldRange] = (),
    gec_mwh: float,
) -> InstrumentUpload:
    """Parse and check a CSV upload with the header of DESIGN.md §10.

    Parameters
    ----------
    text : str
        The CSV, header ``enterprise,kind,serial_from,serial_to,mwh,technology,project,vintage,month``.
    enterprises : collection of str
        The park's enterprise ids (an empty ``enterprise`` means the park itself).
    held : sequence of HeldRange
        Serial ranges already held (:func:`held_ranges` of what is stored).
    gec_mwh : float
        MWh per certificate (config/factors ``gec_mwh_per_certificate``) [MWh].

    Raises
    ------
    CarbonInputError
        The header is not §10's (then no row is read).
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CarbonInputError("header", "the file is empty") from None
    if tuple(header) != CSV_HEADER:
        raise CarbonInputError("header", f"expected {','.join(CSV_HEADER)}, got {','.join(header)}")
    rows: list[tuple[int, Mapping[str, object]]] = []
    bad: list[dict[str, object]] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(CSV_HEADER):
            bad.append(
                {"line": line, "reason": f"has {len(cells)} fields, expected {len(CSV_HEADER)}"}
            )
            continue
        rows.append((line, dict(zip(CSV_HEADER, cells, strict=True))))
    upload = validate_instrument_rows(rows, enterprises=enterprises, held=held, gec_mwh=gec_mwh)
    rejected = sorted([*bad, *upload.rejected], key=lambda r: int(str(r["line"])))
    return InstrumentUpload(upload.accepted, rejected)


def _held_by(x: Instrument, enterprise: str | None) -> bool:
    return enterprise is None or x.enterprise == enterprise


def certificates_kwh(
    certificates: Iterable[Certificate], period: Period, enterprise: str | None = None
) -> float:
    """Certificates of the period [kWh]; a monthly holding counts pro rata to the period's days
    in its month. ``enterprise=None``: the whole park (enterprises and the park itself)."""
    return sum(
        c.mwh * 1000.0 * period.share_of_month(c.month)
        for c in certificates
        if _held_by(c, enterprise)
    )


def trades_kwh(trades: Iterable[Trade], period: Period, enterprise: str | None = None) -> float:
    """Delivered energy of every trade in the period, profiled or not [kWh]."""
    total = 0.0
    for t in trades:
        if not _held_by(t, enterprise):
            continue
        if t.profile_kwh is not None:
            idx = pd.DatetimeIndex(t.profile_kwh.index).tz_convert("UTC")
            inside = (idx >= period.start) & (idx < period.end)
            total += float(t.profile_kwh.to_numpy()[inside].sum())
        else:
            total += t.mwh * 1000.0 * period.share_of_month(t.month)
    return total
