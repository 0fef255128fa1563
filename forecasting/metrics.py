"""Forecast error metrics (DESIGN.md §9), normalised by capacity (PV, wind) or mean (load).

The quantile (pinball) loss and the interval score come from scoringrules (Gneiting & Raftery's
proper scoring rules); nMAE, nRMSE and coverage are one line each.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scoringrules

FloatArray = npt.NDArray[np.float64]


def nmae(obs: FloatArray, pred: FloatArray, normaliser: float) -> float:
    """Mean absolute error / normaliser [-]."""
    return float(np.mean(np.abs(pred - obs)) / normaliser)


def nrmse(obs: FloatArray, pred: FloatArray, normaliser: float) -> float:
    """Root mean square error / normaliser [-]."""
    return float(np.sqrt(np.mean((pred - obs) ** 2)) / normaliser)


def pinball(obs: FloatArray, quantiles: dict[float, FloatArray], normaliser: float) -> float:
    """Mean pinball (quantile) loss over the given quantiles / normaliser [-]."""
    losses = [np.mean(scoringrules.quantile_score(obs, pred, q)) for q, pred in quantiles.items()]
    return float(np.mean(losses) / normaliser)


def interval_score(
    obs: FloatArray, low: FloatArray, high: FloatArray, normaliser: float, alpha: float = 0.2
) -> float:
    """Mean interval score of the central (1 − alpha) band [low, high] / normaliser [-]: its width
    plus 2/alpha times the distance by which an observation falls outside (Gneiting & Raftery
    2007); P10–P90 is alpha = 0.2."""
    return float(np.mean(scoringrules.interval_score(obs, low, high, alpha)) / normaliser)


def coverage(obs: FloatArray, low: FloatArray, high: FloatArray) -> float:
    """Share of observations within [low, high] [-]."""
    return float(np.mean((obs >= low) & (obs <= high)))


def skill(model_nrmse: float, reference_nrmse: float) -> float:
    """1 − nRMSE_model / nRMSE_reference [-]."""
    return 1.0 - model_nrmse / reference_nrmse
