"""A weather source configured after the history it would explain: its columns have no value on
any training row. The forecaster fits on the rest and still predicts (it used to fail inside the
trees' binning: 'window shape cannot be larger than input array shape')."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.models import QuantileForecaster


def test_a_feature_without_any_value_is_left_out() -> None:
    index = pd.date_range("2026-05-01", periods=24 * 21, freq="h", tz="UTC")
    rng = np.random.default_rng(3)
    hour = index.hour.to_numpy()
    y = 100 + 20 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 2, len(index))
    x = pd.DataFrame({"hour": hour, "lag": np.roll(y, 24), "ghi": np.nan}, index=index)
    model = QuantileForecaster("load", max_iter=30).fit(x, y)
    future = x.iloc[-24:].assign(ghi=500.0)  # the weather forecast is there for the horizon
    p = model.predict(future)
    assert p.shape == (24, 3) and np.all(np.isfinite(p))
    assert np.all(p[:, 0] <= p[:, 1]) and np.all(p[:, 1] <= p[:, 2])
    assert np.mean(np.abs(p[:, 1] - y[-24:])) < 10


def test_a_feature_with_one_value_is_left_out() -> None:
    """The demo's weather file reaches one training row back: one value, which the trees'
    binning cannot take (it failed the PV forecast at some hours of the day)."""
    index = pd.date_range("2026-05-01", periods=24 * 21, freq="h", tz="UTC")
    rng = np.random.default_rng(4)
    x = pd.DataFrame({"hour": index.hour.to_numpy(dtype=float)}, index=index)
    x["w_ghi"] = np.nan
    x.iloc[-1, x.columns.get_loc("w_ghi")] = 300.0
    y = 50 + 10 * np.sin(x["hour"].to_numpy() / 24 * 2 * np.pi) + rng.normal(0, 1, len(index))
    model = QuantileForecaster("pv", max_iter=20).fit(x, y)
    assert model.columns == ["hour"]
    assert np.all(np.isfinite(model.predict(x)))
