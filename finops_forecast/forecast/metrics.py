"""Forecast accuracy metrics on numpy arrays (one window of one series at a time)."""
from __future__ import annotations

import numpy as np

__all__ = ["mase", "smape", "pinball", "coverage", "score_windows"]


def mase(actual, pred, train, season_length: int) -> float:
    """Mean absolute scaled error: MAE over the in-sample MAE of the seasonal naive forecast on ``train``.

    Parameters
    ----------
    actual, pred : array_like
        Actuals and point forecasts of one window [GPU-h per step].
    train : array_like
        The window's training data [GPU-h per step].
    season_length : int
        Season of the reference seasonal naive [steps] (1 falls back to naive).

    Returns
    -------
    float
        MASE (dimensionless); NaN when the training data is constant (the scale is 0).
    """
    train = np.asarray(train, float)
    m = season_length if len(train) > season_length else 1
    scale = np.mean(np.abs(train[m:] - train[:-m])) if len(train) > m else np.nan
    mae = np.mean(np.abs(np.asarray(actual, float) - np.asarray(pred, float)))
    return float(mae / scale) if scale and scale > 0 else float("nan")


def smape(actual, pred) -> float:
    """Symmetric MAPE [%] in [0, 200]; a step where actual and forecast are both 0 counts as 0 error."""
    a, p = np.asarray(actual, float), np.asarray(pred, float)
    den = np.abs(a) + np.abs(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, 2 * np.abs(a - p) / den, 0.0)
    return float(100 * np.mean(r))


def pinball(actual, quantiles: dict) -> float:
    """Mean pinball (quantile) loss over the given quantiles [GPU-h per step].

    Parameters
    ----------
    quantiles : dict
        Probability -> forecast quantile values, each like ``actual``.
    """
    a = np.asarray(actual, float)
    losses = []
    for q, v in quantiles.items():
        d = a - np.asarray(v, float)
        losses.append(np.mean(np.maximum(q * d, (q - 1) * d)))
    return float(np.mean(losses))


def coverage(actual, lo, hi) -> float:
    """Share of actuals inside ``[lo, hi]``."""
    a = np.asarray(actual, float)
    return float(np.mean((a >= np.asarray(lo, float)) & (a <= np.asarray(hi, float))))


def score_windows(actual, pred, quantiles: dict, train, season_length: int, level) -> dict:
    """All scores of one backtest window: mae, mase, smape, pinball and coverage_<level>."""
    out = {"mae": float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(pred, float)))),
           "mase": mase(actual, pred, train, season_length), "smape": smape(actual, pred),
           "pinball": pinball(actual, quantiles)}
    for lv in level:
        lo, hi = round(0.5 - lv / 200, 6), round(0.5 + lv / 200, 6)
        out[f"coverage_{lv:g}"] = coverage(actual, quantiles[lo], quantiles[hi])
    return out
