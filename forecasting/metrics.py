"""Forecast error metrics (DESIGN.md §9), normalised by capacity (PV, wind) or mean (load)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def nmae(obs: FloatArray, pred: FloatArray, normaliser: float) -> float:
    """Mean absolute error / normaliser [-]."""
    return float(np.mean(np.abs(pred - obs)) / normaliser)


def nrmse(obs: FloatArray, pred: FloatArray, normaliser: float) -> float:
    """Root mean square error / normaliser [-]."""
    return float(np.sqrt(np.mean((pred - obs) ** 2)) / normaliser)


def pinball(obs: FloatArray, quantiles: dict[float, FloatArray], normaliser: float) -> float:
    """Mean pinball (quantile) loss over the given quantiles / normaliser [-]."""
    losses = []
    for q, pred in quantiles.items():
        diff = obs - pred
        losses.append(np.mean(np.maximum(q * diff, (q - 1) * diff)))
    return float(np.mean(losses) / normaliser)


def coverage(obs: FloatArray, low: FloatArray, high: FloatArray) -> float:
    """Share of observations within [low, high] [-]."""
    return float(np.mean((obs >= low) & (obs <= high)))


def skill(model_nrmse: float, reference_nrmse: float) -> float:
    """1 − nRMSE_model / nRMSE_reference [-]."""
    return 1.0 - model_nrmse / reference_nrmse
