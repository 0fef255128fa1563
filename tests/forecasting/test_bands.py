"""Conformal bands (forecasting.bands): coverage on new draws, Mondrian categories, short
histories wider, adaptive levels that answer misses."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.bands import ConformalBands
from forecasting.metrics import coverage, interval_score


def test_band_covers_eighty_percent_of_new_draws_per_category() -> None:
    rng = np.random.default_rng(3)
    # two categories of very different spread (a calm night, a cloudy noon), skewed at noon
    bins = np.repeat([0, 1], 2000)
    resid = np.where(bins == 0, rng.normal(0, 0.1, 4000), rng.gamma(2.0, 5.0, 4000) - 10)
    bands = ConformalBands().calibrate(resid, bins)
    new_bins = np.repeat([0, 1], 5000)
    new = np.where(new_bins == 0, rng.normal(0, 0.1, 10000), rng.gamma(2.0, 5.0, 10000) - 10)
    p50 = np.full(10000, 100.0)
    lo, hi = bands.predict(p50, new_bins)
    for b in (0, 1):
        sel = new_bins == b
        assert 0.78 <= coverage(100 + new[sel], lo[sel], hi[sel]) <= 0.82
    # the skewed category's band is asymmetric, as its errors are: P10 and P90 of gamma(2, 5)
    noon = new_bins == 1
    assert lo[noon][0] == pytest.approx(100 + 5 * 0.5318 - 10, abs=0.4)
    assert hi[noon][0] == pytest.approx(100 + 5 * 3.8897 - 10, abs=0.6)
    # and a night band is not widened by the noon errors
    assert (hi - lo)[~noon][0] < 0.3


def test_few_errors_give_a_wider_band_and_none_an_infinite_one_clipped() -> None:
    rng = np.random.default_rng(5)
    many = ConformalBands().calibrate(rng.normal(0, 1, 5000), np.zeros(5000, dtype=np.int64))
    few = ConformalBands().calibrate(rng.normal(0, 1, 12), np.zeros(12, dtype=np.int64))
    lo_m, hi_m = many.predict(np.zeros(1), np.zeros(1, dtype=np.int64))
    lo_f, hi_f = few.predict(np.zeros(1), np.zeros(1, dtype=np.int64))
    # 12 errors: the band reaches the 2nd lowest / highest error, about P7 and P93
    assert hi_f[0] - lo_f[0] > hi_m[0] - lo_m[0]
    # below ten errors a P90 cannot be placed: the band is the whole plausible range
    tiny = ConformalBands().calibrate(rng.normal(0, 1, 5), np.zeros(5, dtype=np.int64))
    lo, hi = tiny.predict(np.zeros(1), np.zeros(1, dtype=np.int64), y_min=-7.0, y_max=9.0)
    assert (lo[0], hi[0]) == (-7.0, 9.0)


def test_a_category_with_few_errors_uses_all_of_them() -> None:
    rng = np.random.default_rng(7)
    resid = np.concatenate([rng.normal(0, 1, 500), [50.0, -50.0]])
    bins = np.concatenate([np.zeros(500, dtype=np.int64), [3, 3]])
    lo, hi = ConformalBands().calibrate(resid, bins).predict(np.zeros(2), np.array([3, 9]))
    pooled_lo, pooled_hi = np.quantile(resid, [0.1, 0.9])
    assert lo == pytest.approx([pooled_lo] * 2, abs=0.05)
    assert hi == pytest.approx([pooled_hi] * 2, abs=0.05)


def test_adaptive_levels_widen_after_misses_and_narrow_after_hits() -> None:
    bands = ConformalBands(gamma=0.01)
    bands.update(np.full(10, 5.0), np.zeros(10), np.ones(10))  # all above P90
    assert bands.hi_tail == pytest.approx(0.1 + 0.01 * 10 * (0.1 - 1))
    assert bands.lo_tail == pytest.approx(0.1 + 0.01 * 10 * 0.1)
    rng = np.random.default_rng(0)
    resid = rng.normal(0, 1, 2000)
    wide = bands.calibrate(resid, np.zeros(2000, dtype=np.int64)).predict(
        np.zeros(1), np.zeros(1, dtype=np.int64)
    )
    plain = ConformalBands().calibrate(resid, np.zeros(2000, dtype=np.int64))
    base = plain.predict(np.zeros(1), np.zeros(1, dtype=np.int64))
    assert wide[1][0] > base[1][0] + 0.3  # the upper edge moved out
    assert wide[0][0] > base[0][0]  # the lower, never missed, moved in


def test_adaptive_levels_hold_coverage_when_the_errors_grow() -> None:
    """Errors double in spread halfway: a fixed calibration under-covers, adaptation does not."""
    rng = np.random.default_rng(11)
    n_days, per_day = 200, 24
    scale = np.where(np.arange(n_days) < 100, 1.0, 2.0)
    errs = rng.normal(0, 1, (n_days, per_day)) * scale[:, None]
    cov = {}
    for gamma in (0.0, 0.005):
        bands = ConformalBands(gamma=gamma)
        hits = []
        for d in range(30, n_days):
            window = errs[max(0, d - 56) : d - 1].ravel()  # known at the issue, a day late
            lo, hi = bands.calibrate(window, np.zeros(len(window), dtype=np.int64)).predict(
                np.zeros(per_day), np.zeros(per_day, dtype=np.int64)
            )
            hits.append((errs[d] >= lo) & (errs[d] <= hi))
            bands.update(errs[d], lo, hi)
        cov[gamma] = float(np.mean(np.concatenate(hits[100 - 30 : 130 - 30])))
    assert cov[0.0] < 0.7  # right after the change the old errors are too small
    assert cov[0.005] > cov[0.0] + 0.05


def test_interval_score_on_known_arrays() -> None:
    obs = np.array([0.0, 5.0, 12.0])
    lo, hi = np.array([1.0, 4.0, 8.0]), np.array([3.0, 6.0, 10.0])
    # width 2 each; 0 is 1 below, 12 is 2 above, at 2/alpha = 10 per unit
    assert interval_score(obs, lo, hi, 1.0) == pytest.approx((2 + 10 + 2 + 2 + 20) / 3)
