"""Quantile models for PV, wind and load: P10/P50/P90 from gradient-boosted trees (scikit-learn).

The features are built by :func:`design_matrix` from what is known at the issue time (see
features.py): calendar, the last known value at the same time of day, the value a week before,
the 30-day climatology, clear-sky irradiance for PV, and the weather columns when given (their
values at the target time stand for a weather forecast).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.isotonic import IsotonicRegression

from forecasting.bands import ConformalBands
from forecasting.features import (
    calendar,
    clear_sky_ghi,
    k_known,
    known_climatology,
    known_lag,
    last_known,
    same_type_lag,
    weather_features,
)

QUANTILES = (0.1, 0.5, 0.9)
FloatArray = npt.NDArray[np.float64]


def design_matrix(
    values: pd.Series,
    target: str,
    issue_hour: int,
    tz: str,
    periods_per_day: int,
    weather: pd.DataFrame | None = None,
    lat: float | None = None,
    lon: float | None = None,
    workday: np.ndarray | None = None,
    power_curve: Callable[[FloatArray], FloatArray] | None = None,
    issued_at: pd.Timestamp | None = None,
    lead: pd.Timedelta | None = None,
) -> pd.DataFrame:
    """Features of every row of ``values`` (a regular UTC grid), known at each row's issue time.

    ``weather`` (same index) stands for a weather forecast; ``workday`` (1.0 on working days,
    per row) gives the day type, Monday to Friday when absent. For wind, the first wind-speed
    column (its name holds "speed" or starts with "ws") at t and an hour either side also goes
    through ``power_curve`` (wind speed [m/s] -> power [kW]) when given; otherwise the forecaster
    learns the curve from the data (:class:`QuantileForecaster`). ``issued_at`` makes a live
    forecast: the rows from then on are features as known at that moment (see issue_times);
    ``lead`` makes every row as known ``lead`` before its own time (a lead-time model's rows).
    """
    index = pd.DatetimeIndex(values.index)
    k = k_known(index, issue_hour, tz, issued_at, lead)
    x = calendar(index, tz, periods_per_day, workday)
    x["persist"] = known_lag(values, k, periods_per_day)
    if target == "load":
        x["same_type"] = same_type_lag(values, x["workday"].to_numpy(), k, periods_per_day)
    else:  # the sun and the wind keep no calendar of working days
        x = x.drop(columns=["dow", "weekend", "workday", "workday_yday", "workday_tmrw"])
    x["week_ago"] = known_lag(values, np.full(len(values), 7), periods_per_day)
    x["climatology"] = known_climatology(values, k, periods_per_day)
    x["last_known"] = last_known(values, issue_hour, tz, issued_at, lead)
    if target == "pv" and lat is not None and lon is not None:
        x["clear_sky_ghi"] = clear_sky_ghi(index, lat, lon)
    if weather is not None:
        wf = weather_features(weather, periods_per_day, tz)
        for col in wf.columns:
            x[col] = wf[col].to_numpy()
        speed = [c for c in weather.columns if "speed" in c.lower() or c.lower().startswith("ws")]
        if target == "wind" and speed:
            step = max(periods_per_day // 24, 1)
            ws = weather[speed[0]].astype(float)
            for name, v in (("", ws), ("_prev", ws.shift(step)), ("_next", ws.shift(-step))):
                x[f"wind_speed{name}"] = v.to_numpy()
                if power_curve is not None:  # the park's turbines, from its configuration
                    speeds: FloatArray = np.asarray(v.to_numpy(), dtype=np.float64)
                    x[f"curve{name}"] = power_curve(speeds)
    return x


#: Smallest leaf of the trees, by target. PV and wind follow the weather: what the features do
#: not explain is noise, and small leaves learn it (PV without a weather forecast: skill 0.232
#: with 20 rows per leaf, 0.262 with 200). Load follows a calendar and a year of hourly data
#: is short: 200 rows per leaf blur it (0.666 with 20, 0.624 with 200).
MIN_SAMPLES_LEAF = {"pv": 200, "wind": 100, "load": 20}


class QuantileForecaster:
    """P50 from a least-squares boosted-tree model; P10/P90 from a conformal predictive system
    (:class:`~forecasting.bands.ConformalBands`, by hour of day) on its errors on whole days held
    out from a first fit (every ``holdout_every``-th day, spread over the whole history). That first fit also stops boosting when the held-out days stop
    improving, so a noisy target gets fewer trees than a regular one; the final model goes on
    from there on every row. Predictions are sorted so that P10 <= P50 <= P90."""

    def __init__(
        self,
        target: str = "load",
        max_iter: int = 200,
        learning_rate: float = 0.1,
        seed: int = 0,
        holdout_every: int = 7,
        patience: int = 10,
        min_samples_leaf: int | None = None,
        extra: float = 0.25,
    ) -> None:
        self.max_iter, self.learning_rate, self.seed = max_iter, learning_rate, seed
        self.holdout_every, self.patience, self.extra = holdout_every, patience, extra
        self.min_samples_leaf = min_samples_leaf or MIN_SAMPLES_LEAF.get(target, 20)
        self.bands = ConformalBands(gamma=0.0)
        #: the held-out days' errors [unit of the target] and their hours of day
        self.holdout_resid: FloatArray = np.zeros(0)
        self.holdout_hours: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        #: where a band edge may lie [unit of the target]: the training targets' range, widened
        self.y_range = (-np.inf, np.inf)
        self.curve: IsotonicRegression | None = None
        self.scale = 1.0
        #: correlation of the held-out days' errors one step apart (0 when unknown)
        self.rho = 0.0

    def estimator(self, max_iter: int | None = None) -> HistGradientBoostingRegressor:
        """The boosted-tree model with this forecaster's settings (no early stopping)."""
        return HistGradientBoostingRegressor(
            max_iter=max_iter or self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=31,
            min_samples_leaf=self.min_samples_leaf,
            early_stopping=False,
            random_state=self.seed,
        )

    def _with_curve(self, x: pd.DataFrame) -> pd.DataFrame:
        if self.curve is None:
            return x
        x = x.copy()
        for name in ("", "_prev", "_next"):
            v = x[f"wind_speed{name}"].to_numpy()
            out = np.full(len(v), np.nan)
            ok = ~np.isnan(v)
            if ok.any():
                out[ok] = self.curve.predict(v[ok])
            x[f"curve{name}"] = out
        return x

    def fit(self, x: pd.DataFrame, y: FloatArray) -> QuantileForecaster:
        """Fit on rows ``x`` with targets ``y`` (scaled inside by their mean magnitude, so that
        the stopping rule reads the same on kW, MW or per-unit values)."""
        magnitude = float(np.mean(np.abs(y))) if len(y) else 0.0
        self.scale = magnitude if magnitude > 0 else 1.0
        y = np.asarray(y, dtype=float) / self.scale
        self.curve = None
        if "wind_speed" in x.columns and "curve" not in x.columns:
            # no configured power curve: the data's own, monotone in wind speed
            ws = x["wind_speed"].to_numpy()
            ok = ~np.isnan(ws) & ~np.isnan(y)
            if ok.sum() >= 100:
                self.curve = IsotonicRegression(out_of_bounds="clip").fit(ws[ok], y[ok])
                x = self._with_curve(x)
        # a feature with fewer than two values on the training rows (a weather source configured
        # after the history it would explain, whose forecast reaches back one row) carries
        # nothing to learn, and the trees cannot bin it ("window shape cannot be larger than
        # input array shape")
        day = pd.DatetimeIndex(x.index).asi8 // (86_400 * 10 ** _unit_exp(x.index))
        held = (day % self.holdout_every) == (self.holdout_every - 1)
        split = bool(held.sum() >= 24 and (~held).sum() >= 24)
        # (on the rows the first fit bins: those not held out, when days are held out)
        first = x[~held] if split else x
        self.columns = [str(c) for c in x.columns if first[c].nunique(dropna=True) >= 2]
        x = x[self.columns]
        if split:
            probe = self.estimator().set_params(early_stopping=True, n_iter_no_change=self.patience)
            probe.fit(x[~held], y[~held], X_val=x[held], y_val=y[held])
            resid = y[held] - probe.predict(x[held])
            hours = hour_bins(x)[held]
            self.rho = _step_autocorrelation(pd.DatetimeIndex(x.index), held, resid)
            # then go on boosting on every row, the held-out days included, for a quarter as
            # many trees again: as good as a refit on every row (skill within 0.001 on the
            # development data), for about half its time
            more = max(1, round(probe.n_iter_ * self.extra))
            probe.set_params(warm_start=True, early_stopping=False, max_iter=probe.n_iter_ + more)
            self.model = probe.fit(x, y)
        else:  # too little data to hold days out: in-sample errors, bands too narrow
            self.model = self.estimator().fit(x, y)
            resid = y - self.model.predict(x)
            hours = hour_bins(x)
        # the band: a conformal predictive system on the held-out days' errors, by hour of day
        # (forecasting.bands); with too few of them per hour, on all of them
        self.holdout_resid = np.asarray(resid, dtype=float) * self.scale
        self.holdout_hours = hours
        self.bands = ConformalBands(gamma=0.0).calibrate(self.holdout_resid, hours)
        self.y_range = plausible_range(y * self.scale)
        return self

    def intraday(self, preds: FloatArray, last_error: float) -> FloatArray:
        """``preds`` (rows of the horizon, one step apart from the next step on) moved by the
        model's error at the issue moment, fading as the errors of held-out days fade from one
        step to the next (``rho`` per step): the first hours follow the newest measurement, later
        ones the model."""
        fade = self.rho ** np.arange(1, len(preds) + 1)
        out: FloatArray = preds + (last_error * fade)[:, None]
        return out

    @property
    def iterations(self) -> int:
        return int(self.model.n_iter_)

    def predict(self, x: pd.DataFrame) -> FloatArray:
        """(rows, 3) array of P10, P50, P90."""
        p50 = self.model.predict(self._with_curve(x)[self.columns]) * self.scale
        lo, hi = self.bands.predict(p50, hour_bins(x), *self.y_range)
        preds = np.column_stack([np.minimum(lo, p50), p50, np.maximum(hi, p50)])
        return np.sort(preds, axis=1)


def plausible_range(y: FloatArray, margin: float = 0.25) -> tuple[float, float]:
    """The range of the values ``y`` widened by ``margin`` of its span each side: where a band
    edge may lie when too few errors are known to place it (-inf..inf without values)."""
    finite = np.asarray(y, dtype=float)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return -np.inf, np.inf
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return lo - margin * span, hi + margin * span


def hour_bins(x: pd.DataFrame) -> npt.NDArray[np.int64]:
    """The local hour of day (0..23) of each row of a design matrix: the bands' categories."""
    return np.asarray(np.floor(x["hour"].to_numpy()).astype(np.int64) % 24)


def _step_autocorrelation(index: pd.DatetimeIndex, held: np.ndarray, resid: FloatArray) -> float:
    """Correlation of consecutive errors (rows one step apart, both held out), in 0..0.99."""
    stamps = index.asi8
    if len(stamps) < 3:
        return 0.0
    step = np.median(np.diff(stamps))
    t = stamps[held]
    pairs = np.diff(t) == step
    a, b = resid[:-1][pairs], resid[1:][pairs]
    if len(a) < 20 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.clip(np.corrcoef(a, b)[0, 1], 0.0, 0.99))


def _unit_exp(index: pd.Index) -> int:
    return {"s": 0, "ms": 3, "us": 6, "ns": 9}[pd.DatetimeIndex(index).unit]
