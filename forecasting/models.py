"""Quantile models for PV, wind and load: P10/P50/P90 from gradient-boosted trees (scikit-learn).

The features are built by :func:`design_matrix` from what is known at the issue time (see
features.py): calendar, the last known value at the same time of day, the value a week before,
the 30-day climatology, clear-sky irradiance for PV, and the weather columns when given (their
values at the target time stand for a weather forecast).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from forecasting.features import calendar, clear_sky_ghi, k_known, known_climatology, known_lag

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
) -> pd.DataFrame:
    index = pd.DatetimeIndex(values.index)
    k = k_known(index, issue_hour, tz)
    x = calendar(index, tz)
    x["persist"] = known_lag(values, k, periods_per_day)
    x["week_ago"] = known_lag(values, np.full(len(values), 7), periods_per_day)
    x["climatology"] = known_climatology(values, k, periods_per_day)
    if target == "pv" and lat is not None and lon is not None:
        x["clear_sky_ghi"] = clear_sky_ghi(index, lat, lon)
    if weather is not None:
        for col in weather.columns:
            x[f"w_{col}"] = weather[col].to_numpy(dtype=float)
        if target == "wind":
            for col in weather.columns:
                if "speed" in col.lower() or col.lower().startswith("ws"):
                    x[f"w_{col}_cubed"] = np.clip(weather[col].to_numpy(dtype=float), 0, 25) ** 3
    return x


class QuantileForecaster:
    """P50 from a least-squares boosted-tree model; P10/P90 from the quantiles of its errors,
    by hour of day, on the last part of the training data held out from the fit (so the bands
    are out-of-sample). Predictions are sorted so that P10 <= P50 <= P90."""

    def __init__(
        self, max_iter: int = 200, learning_rate: float = 0.1, seed: int = 0, holdout: float = 0.2
    ) -> None:
        self.max_iter, self.learning_rate, self.seed, self.holdout = (
            max_iter,
            learning_rate,
            seed,
            holdout,
        )
        self.band: dict[int, tuple[float, float]] = {}

    def _model(self) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=31,
            min_samples_leaf=20,
            early_stopping=False,
            random_state=self.seed,
        )

    def fit(self, x: pd.DataFrame, y: FloatArray) -> QuantileForecaster:
        cut = int(len(y) * (1 - self.holdout))
        probe = self._model().fit(x.iloc[:cut], y[:cut])
        resid = y[cut:] - probe.predict(x.iloc[cut:])
        hours = np.floor(x["hour"].to_numpy()[cut:]).astype(int)
        overall = (
            (float(np.quantile(resid, 0.1)), float(np.quantile(resid, 0.9)))
            if len(resid)
            else (0.0, 0.0)
        )
        self.band = {}
        for h in range(24):
            r = resid[hours == h]
            self.band[h] = (
                (float(np.quantile(r, 0.1)), float(np.quantile(r, 0.9)))
                if len(r) >= 10
                else overall
            )
        self.model = self._model().fit(x, y)
        return self

    def predict(self, x: pd.DataFrame) -> FloatArray:
        """(rows, 3) array of P10, P50, P90."""
        p50 = self.model.predict(x)
        hours = np.floor(x["hour"].to_numpy()).astype(int) % 24
        lo = np.array([self.band[h][0] for h in hours])
        hi = np.array([self.band[h][1] for h in hours])
        preds = np.column_stack([p50 + lo, p50, p50 + hi])
        return np.sort(preds, axis=1)
