"""P10–P90 bands that hold on data the models were not tuned on: a conformal predictive system.

The band of a forecast is its P50 plus the 10th and 90th percentiles of recent out-of-sample
errors (observation − P50), taken by crepes' :class:`~crepes.ConformalPredictiveSystem` with the
finite-sample correction of split conformal prediction — under exchangeable errors, a share of at
least 1 − 2·tail of new observations lies within the band. The errors are split by a Mondrian
category (the hour of day, so a night's zeros and a noon peak are never pooled); a category with
fewer than ``min_per_bin`` errors uses all of them. Errors are rarely exchangeable over months
(seasons, a model refit, a meter that drifts), so adaptive conformal inference (Gibbs & Candès,
"Adaptive conformal inference under distribution shift", NeurIPS 2021) moves the tail levels
after every known outcome: a miss narrows the tail, a hit widens it, by ``gamma``:
``tail ← tail + gamma · (target − miss)``, each tail on its own.

With few errors (a new site) the finite-sample correction asks for a more extreme percentile, and
below about ten errors for an infinite one, clipped to the plausible range of the meter: short
histories give wider bands, not narrower.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from crepes import ConformalPredictiveSystem

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: the tail probability each side of the band: P10 and P90
TAIL = 0.1


@dataclass
class ConformalBands:
    """Mondrian conformal predictive system on recent errors, with adaptive tail levels.

    ``calibrate`` with the errors known now, ``predict`` the band of new P50s, ``update`` with
    outcomes as they become known (adaptive conformal inference; ``gamma = 0`` turns it off).
    """

    tail: float = TAIL
    min_per_bin: int = 30
    gamma: float = 0.005
    #: the running tail levels (below P10, above P90), moved by ``update``
    lo_tail: float = field(init=False)
    hi_tail: float = field(init=False)

    def __post_init__(self) -> None:
        self.lo_tail = self.hi_tail = self.tail
        self._bins: set[int] = set()
        self._mondrian: ConformalPredictiveSystem | None = None
        self._pooled: ConformalPredictiveSystem | None = None

    def calibrate(self, residuals: FloatArray, bins: IntArray) -> ConformalBands:
        """Errors (observation − P50) [unit of the target] and their categories."""
        residuals = np.asarray(residuals, dtype=float)
        bins = np.asarray(bins, dtype=np.int64)
        ok = ~np.isnan(residuals)
        residuals, bins = residuals[ok], bins[ok]
        self._pooled = (
            ConformalPredictiveSystem().fit(residuals=residuals) if len(residuals) else None
        )
        cats, counts = np.unique(bins, return_counts=True)
        self._bins = {int(c) for c, n in zip(cats, counts, strict=True) if n >= self.min_per_bin}
        keep = np.isin(bins, list(self._bins))
        self._mondrian = (
            ConformalPredictiveSystem().fit(residuals=residuals[keep], bins=bins[keep])
            if keep.any()
            else None
        )
        return self

    def predict(
        self, p50: FloatArray, bins: IntArray, y_min: float = -np.inf, y_max: float = np.inf
    ) -> tuple[FloatArray, FloatArray]:
        """Lower and upper band edges of ``p50`` [unit of the target], within [y_min, y_max]."""
        p50 = np.asarray(p50, dtype=float)
        bins = np.asarray(bins, dtype=np.int64)
        lo, hi = np.full(len(p50), y_min), np.full(len(p50), y_max)
        lower, upper = 100 * self.lo_tail, 100 * (1 - self.hi_tail)
        mondrian = np.isin(bins, list(self._bins)) & ~np.isnan(p50)
        pooled = ~mondrian & ~np.isnan(p50)
        with warnings.catch_warnings():  # too few errors for a percentile: y_min/y_max, as meant
            warnings.simplefilter("ignore", UserWarning)
            for cps, rows, b in (
                (self._mondrian, mondrian, bins[mondrian]),
                (self._pooled, pooled, None),
            ):
                if cps is None or not rows.any():
                    continue
                out = np.asarray(
                    cps.predict(
                        y_hat=p50[rows],
                        bins=b,
                        lower_percentiles=[lower],
                        higher_percentiles=[upper],
                        y_min=y_min,
                        y_max=y_max,
                        smoothing=False,
                    ),
                    dtype=float,
                )
                lo[rows], hi[rows] = out[:, 0], out[:, 1]
        return np.clip(lo, y_min, y_max), np.clip(hi, y_min, y_max)

    def update(self, obs: FloatArray, lo: FloatArray, hi: FloatArray) -> None:
        """Move the tail levels by the outcomes ``obs`` of bands [lo, hi] (NaN ones skipped)."""
        obs, lo, hi = (np.asarray(a, dtype=float) for a in (obs, lo, hi))
        ok = ~np.isnan(obs) & ~np.isnan(lo) & ~np.isnan(hi)
        if not ok.any():
            return
        below = (obs[ok] < lo[ok]).astype(float)
        above = (obs[ok] > hi[ok]).astype(float)
        self.lo_tail = _clip_tail(self.lo_tail + self.gamma * float(np.sum(self.tail - below)))
        self.hi_tail = _clip_tail(self.hi_tail + self.gamma * float(np.sum(self.tail - above)))


def _clip_tail(tail: float) -> float:
    # never a band of nothing, never one that excludes the median
    return float(np.clip(tail, 0.002, 0.45))
