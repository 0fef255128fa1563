"""Properties of the accounting over random parks and days (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import load_factors
from park_server.carbon import (
    UNASSIGNED,
    CarbonInputs,
    CarbonSettings,
    Certificate,
    EnterpriseSettings,
    MeterSpec,
    SerialRange,
    Trade,
    carbon_figures,
    energy_balance,
    period_of,
)
from park_server.carbon.balance import FLOWS

FACTORS = load_factors()
PERIOD = period_of("day", date(2026, 6, 1))
INDEX = PERIOD.intervals()
T = len(INDEX)
ENERGY = ("consumption", "pv", "wind", "direct_green", "grid_import", "grid_export",
          "storage_charge", "storage_discharge")  # fmt: skip


@dataclass(frozen=True)
class Case:
    settings: CarbonSettings
    meters: tuple[MeterSpec, ...]
    data: pd.DataFrame
    trades: tuple[Trade, ...]
    certificates: tuple[Certificate, ...]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    n_ent = draw(st.integers(1, 3))
    ids = [f"e{k}" for k in range(n_ent)]
    fixed = draw(st.booleans())
    shares = draw(st.lists(st.floats(0, 1), min_size=n_ent, max_size=n_ent))
    if sum(shares) > 1:
        shares = [s / sum(shares) for s in shares]
    settings = CarbonSettings(
        park="p",
        sharing="fixed" if fixed else "pro_rata",
        enterprises=tuple(
            EnterpriseSettings(id=e, fixed_share=s if fixed else None)
            for e, s in zip(ids, shares, strict=True)
        ),
    )
    common_load = draw(st.booleans())
    meters = [
        MeterSpec(id="grid", role="grid"),
        MeterSpec(id="pv", role="pv"),
        MeterSpec(id="wind", role="wind"),
        MeterSpec(id="line", role="direct_green"),
        MeterSpec(id="bess", role="storage"),
        *(MeterSpec(id=f"load-{e}", role="load", enterprise=e) for e in ids),
    ]
    if common_load:
        meters.append(MeterSpec(id="load-common", role="load"))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = {"grid": 2000.0, "pv": 800.0, "wind": 600.0, "line": 200.0, "bess": 300.0}
    rows = []
    for m in meters:
        if m.role in ("grid", "storage"):
            values = rng.uniform(-1, 1, T) * scale[m.id]
        elif m.role == "load":
            values = rng.uniform(0, 500, T) * rng.integers(0, 2, T)  # some idle intervals
        else:
            values = rng.uniform(0, scale[m.id], T) * rng.integers(0, 2, T)
        rows.append(pd.DataFrame({"ts": INDEX, "meter": m.id, "kwh": values}))
    data = pd.concat(rows, ignore_index=True)
    holder = draw(st.sampled_from([*ids, None]))
    profile = pd.Series(rng.uniform(0, 300, T), index=INDEX)
    trades = (
        Trade(holder, float(profile.sum()) / 1000, "wind", "PPA", "2026-06", "2026-06",
              profile_kwh=profile),
        Trade(draw(st.sampled_from(ids)), draw(st.floats(0.1, 50)), "pv", "P", "2026-06", "2026-06"),
    )  # fmt: skip
    certs = tuple(
        Certificate(
            e, SerialRange("G", k * 1000, k * 1000 + 9), 10.0, "wind", "W", "2026", "2026-06"
        )
        for k, e in enumerate(draw(st.lists(st.sampled_from(ids), max_size=3)))
    )
    return Case(settings, tuple(meters), data, trades, certs)


def _inputs(case: Case, **kw: object) -> CarbonInputs:
    base: dict[str, object] = {
        "settings": case.settings,
        "meters": case.meters,
        "intervals": case.data,
        "period": PERIOD,
        "trades": case.trades,
        "certificates": case.certificates,
    }
    base.update(kw)
    return CarbonInputs(**base)  # type: ignore[arg-type]


FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(cases())
def test_enterprises_add_up_to_the_park(case: Case) -> None:
    bal = energy_balance(case.data, case.meters, case.settings, PERIOD)
    assert set(bal.enterprises) == {*case.settings.enterprise_ids, UNASSIGNED}
    total = sum(bal.enterprises.values())
    for flow in FLOWS:
        np.testing.assert_allclose(total[flow], bal.park[flow], rtol=1e-9, atol=1e-6)
    for frame in bal.enterprises.values():
        assert (frame["green"] <= frame["consumption"] + 1e-9).all()
        assert (frame.fillna(0) >= -1e-9).all().all()
    assert (bal.park["green"] <= bal.park["consumption"] + 1e-9).all()


@FAST
@given(cases())
def test_time_matched_share_never_above_volumetric(case: Case) -> None:
    fig = carbon_figures(_inputs(case), FACTORS)
    for e in (None, *case.settings.enterprise_ids):
        g = (fig.park if e is None else carbon_figures(_inputs(case), FACTORS, e).enterprise).green  # type: ignore[union-attr]
        if g.volumetric_share is None:
            continue
        assert g.time_matched_share is not None
        assert 0 <= g.time_matched_share <= g.volumetric_share + 1e-12 <= 1 + 1e-12


@FAST
@given(cases(), st.floats(1, 5000), st.data())
def test_adding_a_certificate_never_raises_market_co2(
    case: Case, mwh: float, data: st.DataObject
) -> None:
    holder = data.draw(st.sampled_from([*case.settings.enterprise_ids, None]))
    n = round(mwh)
    extra = Certificate(holder, SerialRange("X", 1, n), float(n), "pv", "P", "2026", "2026-06")
    for e in (None, *case.settings.enterprise_ids):
        before = carbon_figures(_inputs(case), FACTORS, e)
        after = carbon_figures(_inputs(case, certificates=(*case.certificates, extra)), FACTORS, e)
        b, a = (before.enterprise or before.park), (after.enterprise or after.park)
        assert a.emissions.scope2_market <= b.emissions.scope2_market + 1e-12
        assert a.emissions.total_market <= b.emissions.total_market + 1e-12
        assert a.emissions.scope2_location == b.emissions.scope2_location
        assert a.green.time_matched_share == b.green.time_matched_share


@FAST
@given(cases(), st.data())
def test_a_gap_lowers_completeness_not_energy(case: Case, data: st.DataObject) -> None:
    drop = data.draw(st.sets(st.integers(0, len(case.data) - 1), min_size=1, max_size=40))
    gapped = case.data.drop(index=list(drop))
    full = energy_balance(case.data, case.meters, case.settings, PERIOD)
    bal = energy_balance(gapped, case.meters, case.settings, PERIOD)
    primary = len(case.meters)
    assert full.completeness == 1.0
    assert bal.completeness == (T * primary - len(drop)) / (T * primary) < 1.0
    # intervals the gap touched are unknown (NaN), never zero; the others keep their energy
    touched = set(case.data.loc[list(drop), "ts"])
    hit = bal.park.index.isin(list(touched))
    assert bal.park.loc[hit].isna().all().all()
    pd.testing.assert_frame_equal(
        bal.park.loc[~hit, list(ENERGY)], full.park.loc[~hit, list(ENERGY)], rtol=1e-12
    )
    # a missing value written as NaN is the same gap as a missing row
    nan = case.data.copy()
    nan.loc[list(drop), "kwh"] = np.nan
    same = energy_balance(nan, case.meters, case.settings, PERIOD)
    pd.testing.assert_frame_equal(same.park, bal.park)
