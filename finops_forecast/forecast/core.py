"""Forecast one series: baseline and burst, daily totals, hourly shape, sample paths (numpy only).

This is the work unit that the engines run, once per series (and per cutoff in backtests). It takes the
series' history on the output grid (hours for ``freq="h"``, days for ``freq="D"``) and returns the point forecast
and sample paths for the horizon.

Method for hourly output (``resolution="daily"``, the default)
------------------------------------------------------------------
1. Split demand into baseline and burst: ``baseline_t = min(y_t, Q_q(y_{t-w+1..t}))`` with the trailing
   ``q``-quantile over ``w`` hours, the same definition as :func:`finops_forecast.usage.decompose.decompose`;
   ``burst = y - baseline``. ``components="hybrid"`` (default) forecasts the total and the baseline, each with
   its own model, and takes burst = total - baseline (the baseline capped at the total path by path);
   ``"split"`` forecasts baseline and burst and adds them; ``"total"`` forecasts the total only. Backtests on the
   real traces (docs/forecast.md) show that adding separately forecast bursts loses accuracy on the total
   (Philly's bursts are large and erratic), hence the hybrid default.
2. Sum each component into 24-hour blocks that end at the last observed hour (so no block is partial) and
   forecast the block totals with the chosen model (season of 7 blocks). Paths of daily totals are drawn by
   :func:`finops_forecast.forecast.models.draw_paths`.
3. Give each forecast day an hourly shape by *analog days*: each path and day draws one of the last
   ``analog_weeks`` observed days at the same position in the week and spreads the day's total like that day
   (its hourly shares). The point forecast uses the mean share. Within-day peaks and troughs are therefore as
   sharp as in the history, which matters to an optimizer that prices hours.
4. Demand paths are the total's (hybrid, total) or baseline + burst (split).

``resolution="hourly"`` fits the model directly on hours (season 24) instead: slower, measured in
``bench/bench_forecast_accuracy.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from finops_forecast.errors import ForecastError
from finops_forecast.forecast.models import (
    AUTO_CANDIDATES, MODELS, AutoSelect, FixedSelection, draw_paths, make_model,
)

__all__ = ["SeriesSpec", "SeriesForecast", "forecast_series", "split_baseline", "daily_blocks",
           "FALLBACK_ORDER"]

#: models tried, in order, when the requested one cannot fit the series
FALLBACK_ORDER = ("seasonal_naive", "naive")


@dataclass(frozen=True)
class SeriesSpec:
    """Settings of one series' forecast (shared by every series of a run).

    Attributes
    ----------
    models : tuple of str
        One model name, or several: the candidates of a per-series backtest selection (``("auto",)`` means
        :data:`finops_forecast.forecast.models.AUTO_CANDIDATES`).
    horizon : int
        Output steps to forecast [h for freq "h", days for freq "D"].
    freq : str
        "h" or "D".
    resolution : str
        For freq "h": "daily" (daily totals + analog-day hourly shape) or "hourly" (model on hours).
    components : str
        "hybrid" (total and baseline forecast separately; burst = total - baseline), "split" (baseline and
        burst forecast separately, total = their sum) or "total".
    n_paths : int
        Sample paths to return.
    window_hours, quantile :
        Decomposition window [h] and floor quantile.
    analog_weeks : int
        Weeks of history the hourly shapes are drawn from.
    cv_h, cv_windows, cv_step :
        Backtest horizon [model steps], windows and steps between windows of the per-series selection.
    calibrate : bool
        Calibrate interval widths on the selection backtest.
    fixed : tuple of (str, str, float)
        ``(component, model, interval_scale)`` records of an earlier selection: those components are fit with
        that model (parameters refit on this history, the interval scale reused) and skip the selection
        backtest. Empty (default): every component is fit as ``models`` says.
    """

    models: tuple = ("auto",)
    horizon: int = 24
    freq: str = "h"
    resolution: str = "daily"
    components: str = "hybrid"
    n_paths: int = 200
    window_hours: int = 168
    quantile: float = 0.05
    analog_weeks: int = 8
    cv_h: int = 7
    cv_windows: int = 4
    cv_step: int = 1
    calibrate: bool = True
    model_kwargs: dict = field(default_factory=dict)
    fixed: tuple = ()

    @property
    def step_hours(self) -> int:
        return 24 if self.freq == "D" else 1

    @property
    def daily_model(self) -> bool:
        return self.freq == "D" or self.resolution == "daily"


@dataclass
class SeriesForecast:
    """Result of :func:`forecast_series`.

    Attributes
    ----------
    mean : ndarray (horizon,)
        Point forecast [GPU-h per step].
    paths : ndarray (n_paths, horizon)
        Sample paths [GPU-h per step], >= 0.
    selection : list of dict
        One record per component: component, model, interval_scale, scores (backtest MASE per candidate),
        fallback (bool) and note.
    baseline_mean, baseline_paths : ndarray or None
        The baseline (persistent floor) forecast, <= demand path by path; None for ``components="total"``.
    """

    mean: np.ndarray
    paths: np.ndarray
    selection: list
    baseline_mean: np.ndarray | None = None
    baseline_paths: np.ndarray | None = None


def split_baseline(y: np.ndarray, window: int = 168, quantile: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Baseline (trailing low quantile, capped at demand) and burst (the rest) of a series.

    Parameters
    ----------
    y : ndarray
        Demand [GPU-h per step].
    window : int
        Trailing window [steps].
    quantile : float
        Floor quantile in [0, 1).

    Returns
    -------
    baseline, burst : ndarray
        Both >= 0, ``baseline + burst == y`` [GPU-h per step].
    """
    floor = pd.Series(y).rolling(max(1, int(window)), min_periods=1).quantile(quantile, interpolation="lower")
    baseline = np.minimum(np.maximum(floor.to_numpy(), 0.0), y)
    return baseline, y - baseline


def daily_blocks(y: np.ndarray) -> np.ndarray:
    """Sum an hourly array into 24-hour blocks ending at its last hour (a leading partial block is dropped).

    Returns an array (n_blocks, 24) of the hours of each block [GPU-h].
    """
    nb = len(y) // 24
    return y[len(y) - nb * 24:].reshape(nb, 24)


def _model_for(spec: SeriesSpec, name_or_cands: tuple, h: int, step_hours: int):
    kwargs = {k: dict(v) for k, v in spec.model_kwargs.items()}
    kwargs.setdefault("prophet", {}).setdefault("step_hours", step_hours)
    if len(name_or_cands) == 1 and name_or_cands[0] != "auto":
        name = name_or_cands[0]
        return make_model(name, **kwargs.get(name, {}))
    cands = AUTO_CANDIDATES if name_or_cands == ("auto",) else tuple(name_or_cands)
    return AutoSelect(candidates=cands, h=max(1, min(spec.cv_h, h)), n_windows=spec.cv_windows,
                      step=spec.cv_step,
                      calibrate=spec.calibrate, model_kwargs=kwargs)


def _fit_predict(z: np.ndarray, m: int, h: int, spec: SeriesSpec, step_hours: int, component: str):
    """Mean and sd of ``h`` model steps of ``z``, its selection record and the fitted model (None for a constant
    or empty series), falling back to simpler models when needed."""
    rec = {"component": component, "model": None, "interval_scale": 1.0, "scores": {}, "fallback": False,
           "note": ""}
    if len(z) == 0:
        rec.update(model="constant", note="no history: forecast is zero")
        return np.zeros(h), np.zeros(h), rec, None
    if np.ptp(z) == 0:
        rec.update(model="constant",
                   note=f"constant series ({z[0]:g} per step): forecast is that constant, with no spread")
        return np.full(h, float(z[0])), np.zeros(h), rec, None
    fixed = {c: (name, scale) for c, name, scale in spec.fixed}
    if component in fixed and fixed[component][0] in MODELS:
        name, scale = fixed[component]
        model = FixedSelection(model=_model_for(spec, (name,), h, step_hours), interval_scale=float(scale))
    else:
        model = _model_for(spec, spec.models, h, step_hours)
    tried = []
    for candidate in [model] + [MODELS[f]() for f in FALLBACK_ORDER]:
        need = candidate.min_length(m)
        if len(z) < need:
            tried.append(f"{candidate.name} needs >= {need} points, the series has {len(z)}")
            continue
        try:
            mean, sd = candidate.fit(z, m).predict(h)
        except Exception as exc:  # numerical failure of a model: fall back and say so
            tried.append(f"{candidate.name} failed ({type(exc).__name__}: {exc})")
            continue
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sd))):
            tried.append(f"{candidate.name} gave non-finite forecasts")
            continue
        if isinstance(candidate, FixedSelection):
            rec.update(model=candidate.model.name, interval_scale=candidate.interval_scale,
                       note="model of an earlier selection, refit on this history")
        elif isinstance(candidate, AutoSelect):
            sel = candidate.selection_
            rec.update(model=sel["model"], interval_scale=sel["interval_scale"], scores=sel["scores"],
                       note=sel["note"], cv_windows=sel["cv_windows"], cv_h=sel["cv_h"])
            if sel["note"].startswith("history"):
                rec["fallback"] = True
        else:
            rec["model"] = candidate.name
        if tried:
            rec["fallback"] = True
            rec["note"] = "; ".join(tried) + f"; fell back to {candidate.name}"
        return mean, sd, rec, candidate
    raise ForecastError(f"No model could forecast the {component} series: " + "; ".join(tried))  # unreachable


def _analog_shapes(hist_blocks: np.ndarray, n_days: int, analog_weeks: int) -> np.ndarray:
    """Block indices (n_days, K) of the analog days of each forecast day (same position in the week)."""
    nb = len(hist_blocks)
    k = max(1, int(analog_weeks))
    per_class = []
    for c in range(7):
        idx = np.arange(c, nb, 7)
        if len(idx) == 0:  # less than a week of history: any recent day
            idx = np.arange(nb)
        idx = idx[-k:]
        per_class.append(np.resize(idx, k))
    per_class = np.stack(per_class)  # (7, k)
    day_class = (nb + np.arange(n_days)) % 7
    return per_class[day_class]


def _shares(blocks: np.ndarray, shrink: float = 0.25) -> np.ndarray:
    """Hourly shares of each day, shrunk toward the average profile on days with small totals.

    ``share = (block + lam * profile) / (total + lam)`` with ``profile`` the total-weighted mean shape and
    ``lam = shrink * mean daily total``: a quiet day whose few GPU-hours fell in one hour does not make a forecast
    day with a large total put it all in that hour.
    """
    tot = blocks.sum(axis=1, keepdims=True)
    grand = tot.sum()
    profile = blocks.sum(axis=0) / grand if grand > 0 else np.full(24, 1 / 24)
    lam = shrink * grand / max(len(blocks), 1)
    if lam <= 0:
        return np.broadcast_to(profile, blocks.shape).copy()
    return (blocks + lam * profile) / (tot + lam)


def forecast_series(y, spec: SeriesSpec, seed) -> SeriesForecast:
    """Forecast one series.

    Parameters
    ----------
    y : ndarray
        History on the output grid, oldest first, ending at the last observed step, gaps already filled
        [GPU-h per step].
    spec : SeriesSpec
        Settings.
    seed : int, sequence of int or numpy.random.SeedSequence
        Seed of this series' randomness (the orchestrator derives it from the run seed and the series key, so
        results do not depend on the engine or on the other series).

    Returns
    -------
    SeriesForecast
    """
    y = np.asarray(y, dtype=float)
    H = int(spec.horizon)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    comp_seeds = ss.spawn(2)
    if spec.components in ("split", "hybrid"):
        window = max(1, spec.window_hours // spec.step_hours)
        base, burst = split_baseline(y, window, spec.quantile)
        comps = [("baseline", base), ("burst", burst)] if spec.components == "split" else \
            [("total", y), ("baseline", base)]
    else:
        comps = [("total", y)]

    out = {}
    records = []
    hourly_via_days = spec.freq == "h" and spec.resolution == "daily" and len(y) >= 24
    for (name, comp), cseed in zip(comps, comp_seeds):
        rng_model, rng_shape = (np.random.default_rng(s) for s in cseed.spawn(2))
        if hourly_via_days:
            blocks = daily_blocks(comp)
            z = blocks.sum(axis=1)
            n_days = -(-H // 24)
            mean_d, sd_d, rec, fitted = _fit_predict(z, 7, n_days, spec, 24, name)
            # paths around the unclipped point (a pool forecast below 0 has every path at 0, not half of them
            # above it); the point itself is reported clipped
            paths_d = draw_paths(fitted, mean_d, sd_d, spec.n_paths, rng_model)
            mean_d = np.maximum(mean_d, 0.0)
            shares = _shares(blocks)
            analogs = _analog_shapes(blocks, n_days, spec.analog_weeks)  # (n_days, K)
            mean_c = (mean_d[:, None] * shares[analogs].mean(axis=1)).reshape(-1)[:H]
            pick = rng_shape.integers(0, analogs.shape[1], size=(spec.n_paths, n_days))
            chosen = analogs[np.arange(n_days)[None, :], pick]  # (n_paths, n_days)
            paths_c = (paths_d[:, :, None] * shares[chosen]).reshape(spec.n_paths, -1)[:, :H]
        else:
            m = 7 if spec.freq == "D" else 24
            mean_c, sd, rec, fitted = _fit_predict(comp, m, H, spec, spec.step_hours, name)
            paths_c = draw_paths(fitted, mean_c, sd, spec.n_paths, rng_model)
            mean_c = np.maximum(mean_c, 0.0)
        out[name] = (mean_c, paths_c)
        records.append(rec)
    if spec.components == "split":
        mean = out["baseline"][0] + out["burst"][0]
        paths = out["baseline"][1] + out["burst"][1]
        base_mean, base_paths = out["baseline"]
    elif spec.components == "hybrid":
        mean, paths = out["total"]
        # the floor never exceeds the demand, path by path
        base_mean = np.minimum(out["baseline"][0], mean)
        base_paths = np.minimum(out["baseline"][1], paths)
    else:
        mean, paths = out["total"]
        base_mean = base_paths = None
    # paths travel (dask) and are stored as float32 values: 7 significant digits are plenty for GPU-hours and
    # halve what workers send back; both engines round the same way, so results stay identical
    paths = paths.astype(np.float32)
    base_paths = None if base_paths is None else base_paths.astype(np.float32)
    return SeriesForecast(mean=mean, paths=paths, selection=records, baseline_mean=base_mean,
                          baseline_paths=base_paths)
