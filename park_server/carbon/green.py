"""Green share, two ways, as DESIGN.md §10 defines them.

- physical green consumed per interval G_i: from :mod:`park_server.carbon.balance`;
- a trade with a 15-min profile is matched in its interval: M_i = min(profile_i, consumption_i − G_i),
  per enterprise against its own residual; a trade the park itself holds is matched against the
  park's residual after the enterprises' matches;
- time_matched_share = Σ (G_i + M_i) / Σ consumption_i;
- volumetric_share = min(1, (Σ G_i + certificates_kwh + trades_kwh) / Σ consumption_i), every
  trade's delivered energy in trades_kwh, profiled or not.

Certificates and unprofiled trades count only in the volumetric share, so
time_matched_share ≤ volumetric_share. Incomplete intervals (NaN) count in neither sum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from park_server.carbon.balance import EnergyBalance
from park_server.carbon.instruments import Trade


def _profile_sum(trades: Iterable[Trade], index: pd.DatetimeIndex) -> np.ndarray:
    total = np.zeros(len(index))
    for t in trades:
        if t.profile_kwh is None:
            continue
        p = t.profile_kwh.copy()
        p.index = pd.DatetimeIndex(p.index).tz_convert("UTC")
        total += p.groupby(level=0).sum().reindex(index).fillna(0.0).to_numpy()
    return total


@dataclass(frozen=True)
class TradeMatch:
    """M_i per interval [kWh]: per entity (enterprises and UNASSIGNED) and for the park."""

    enterprises: dict[str, pd.Series]
    park: pd.Series


def match_trades(balance: EnergyBalance, trades: Iterable[Trade]) -> TradeMatch:
    """Match profiled trades in their intervals (M_i); NaN where the interval is incomplete."""
    trades = list(trades)
    index = pd.DatetimeIndex(balance.park.index)
    out: dict[str, pd.Series] = {}
    for e, frame in balance.enterprises.items():
        profile = _profile_sum([t for t in trades if t.enterprise == e], index)
        residual = (frame["consumption"] - frame["green"]).clip(lower=0).to_numpy()
        out[e] = pd.Series(np.minimum(profile, residual), index=index)
    matched = sum((s for s in out.values()), pd.Series(0.0, index=index))
    park_profile = _profile_sum([t for t in trades if t.enterprise is None], index)
    park_residual = (balance.park["consumption"] - balance.park["green"] - matched).clip(lower=0)
    park = matched + np.minimum(park_profile, park_residual.to_numpy())
    return TradeMatch(out, park)


@dataclass(frozen=True)
class GreenShares:
    """Green figures of one period and one scope (the park or an enterprise)."""

    consumption_kwh: float
    #: Σ G_i, physical green consumed (on-site, direct supply, green storage discharge)
    physical_kwh: float
    #: Σ M_i, profiled trades matched in their interval
    matched_trades_kwh: float
    certificates_kwh: float
    trades_kwh: float
    volumetric_share: float | None
    time_matched_share: float | None
    target_share: float | None
    #: volumetric share against the binding target; None without a target or consumption
    meets_target: bool | None

    @property
    def time_matched_kwh(self) -> float:
        return self.physical_kwh + self.matched_trades_kwh

    @property
    def volumetric_kwh(self) -> float:
        """Green consumption by the volumetric count, never more than consumption [kWh]."""
        total = self.physical_kwh + self.certificates_kwh + self.trades_kwh
        return min(self.consumption_kwh, total)


def green_shares(
    consumption_kwh: float,
    physical_kwh: float,
    matched_trades_kwh: float,
    certificates_kwh: float,
    trades_kwh: float,
    target_share: float | None = None,
) -> GreenShares:
    """The two shares from the period's sums [kWh]; None where there is no consumption."""
    if consumption_kwh > 0:
        volumetric: float | None = min(
            1.0, (physical_kwh + certificates_kwh + trades_kwh) / consumption_kwh
        )
        matched: float | None = (physical_kwh + matched_trades_kwh) / consumption_kwh
    else:
        volumetric = matched = None
    meets = None if target_share is None or volumetric is None else volumetric >= target_share
    return GreenShares(
        consumption_kwh,
        physical_kwh,
        matched_trades_kwh,
        certificates_kwh,
        trades_kwh,
        volumetric,
        matched,
        target_share,
        meets,
    )
