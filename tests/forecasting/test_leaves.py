"""The trees' smallest leaf: by target, and for PV by whether weather columns are given."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.models import QuantileForecaster


def test_pv_leaves_grow_without_a_weather_column() -> None:
    """PV's trees keep 200 rows a leaf with weather columns, 300 without (clouds are then noise
    to them), and what the caller gives in any case."""
    index = pd.date_range("2026-01-01", periods=24 * 60, freq="h", tz="UTC")
    rng = np.random.default_rng(3)
    y = rng.uniform(0, 100, len(index))
    plain = pd.DataFrame({"hour": index.hour.to_numpy(dtype=float)}, index=index)
    with_weather = plain.assign(w_ghi=rng.uniform(0, 900, len(index)))
    model = QuantileForecaster("pv", max_iter=5)
    assert model.fit(plain, y).min_samples_leaf == 300
    assert model.fit(with_weather, y).min_samples_leaf == 200  # the same object, refit
    assert model.model.min_samples_leaf == 200
    assert (
        QuantileForecaster("pv", max_iter=5, min_samples_leaf=50).fit(plain, y).min_samples_leaf
        == 50
    )
    assert QuantileForecaster("wind", max_iter=5).fit(plain, y).min_samples_leaf == 100
