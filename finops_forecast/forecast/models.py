"""Forecasting models behind one interface, on numpy arrays.

Every model follows the same small protocol, in the manner of statsforecast: ``fit(y, season_length)`` on a 1-D
float array of a series' history (oldest first, no missing values) and ``predict(h)`` returning the point forecast
and the standard deviation of the forecast error for each of the next ``h`` steps, in the unit of ``y``
(GPU-hours per step [GPU-h]). Fitted state ends in ``_``. Quantiles and sample paths are derived from
``(mean, sd)`` by :func:`model_forecast`, so every model gives them in the same way and the conformance test in
``tests/forecast/test_conformance.py`` runs every model through the same checks.

Models
------
``seasonal_naive``  the value one season earlier (the reference every score is relative to)
``naive``           the last value (fallback for series shorter than one season)
``ets``             statsmodels ``ETSModel``: additive error, additive damped trend, additive season
``theta``           statsmodels ``ThetaModel`` (deseasonalised theta method, drift)
``sarimax``         statsmodels ``SARIMAX`` (1,1,1)x(0,1,1,m); (1,1,1) without the season on short series
``prophet``         Prophet, daily steps with weekly seasonality (slow: fit small sets of series)
``recovery``        :class:`Recovery`: a cluster's level, outage steps treated as missing, no dip extrapolated,
                    a trend only when significant since the last outage
``level_bursts``    :class:`LevelBursts`: a slow level (robust trend, a random walk only as large as the history
                    shows) plus bursts that fade; sample paths resample the history's own bursts
``auto``            :class:`AutoSelect`: picks one of its candidates per series by a rolling-origin backtest
                    and calibrates the width of the intervals on that backtest's errors
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from finops_forecast.errors import ForecastError, unknown_name

__all__ = [
    "ForecastModel", "SpreadBound", "SeasonalNaive", "Naive", "ETS", "Theta", "SARIMAX", "Prophet", "Recovery", "AutoSelect",
    "LevelBursts", "ModelForecast", "MODELS", "AUTO_CANDIDATES", "make_model", "model_forecast", "sample_paths",
    "draw_paths",
    "level_quantiles",
]


class ForecastModel:
    """Base class: a model fitted on one series, predicting mean and error standard deviation.

    Subclasses set ``name`` and implement :meth:`min_length`, :meth:`_fit` and :meth:`_predict`.
    """

    name: str = "model"
    #: add the uncertainty of the series' long-run growth rate to the model's own (see :func:`drift_se`)
    drift_uncertainty: bool = True
    #: the error sd stops growing once the history's own spread is reached (a series that reverts), instead of
    #: fanning out without bound (the conformance test checks a fan only for the others)
    bounded_fan: bool = False
    #: bound the error sd by the history's own changes (:class:`SpreadBound`); models with ``drift_uncertainty``
    #: only (the others bound their own fan)
    spread_bounded: bool = True

    def min_length(self, season_length: int) -> int:
        """Fewest observations the model needs [steps]."""
        return 2

    def fit(self, y, season_length: int = 1) -> "ForecastModel":
        """Fit the model.

        Parameters
        ----------
        y : array_like of float
            History of one series, oldest first, no NaN [GPU-h per step].
        season_length : int
            Steps per season (7 for daily data with a weekly cycle, 24 or 168 for hourly data) [steps].

        Returns
        -------
        self
        """
        y = np.asarray(y, dtype=float)
        if y.ndim != 1:
            raise ForecastError(f"{self.name}: y must be a 1-D array, got shape {y.shape}.")
        if not np.all(np.isfinite(y)):
            raise ForecastError(f"{self.name}: y contains NaN or inf; fill gaps before fitting (forecast() "
                                "fills missing hours with 0 GPU-hours).")
        need = self.min_length(season_length)
        if len(y) < need:
            raise ForecastError(f"{self.name} needs at least {need} observations, the series has {len(y)}. "
                                "Use a simpler model such as 'naive' or give a longer history.")
        self.season_length_ = int(season_length)
        self.n_obs_ = len(y)
        self.drift_se_ = drift_se(y, int(season_length)) if self.drift_uncertainty else 0.0
        self.spread_bound_ = SpreadBound.of(y) if self.drift_uncertainty and self.spread_bounded else None
        self._fit(y, int(season_length))
        return self

    def predict(self, h: int) -> tuple[np.ndarray, np.ndarray]:
        """Point forecast and forecast-error standard deviation for steps 1..h.

        Parameters
        ----------
        h : int
            Horizon [steps], >= 1.

        Returns
        -------
        mean : ndarray of shape (h,)
            Point forecast [GPU-h per step].
        sd : ndarray of shape (h,)
            Standard deviation of the forecast error, non-decreasing in the horizon [GPU-h per step].
        """
        if not hasattr(self, "n_obs_"):
            raise ForecastError(f"{self.name} is not fitted. Call fit(y, season_length) first.")
        h = _check_h(h)
        mean, sd = self._predict(h)
        mean = np.asarray(mean, dtype=float).reshape(h)
        sd = np.asarray(sd, dtype=float).reshape(h)
        sd = np.where(np.isfinite(sd), np.maximum(sd, 0.0), 0.0)
        # long horizons: the growth rate itself is uncertain, its error grows linearly with the horizon
        sd = np.sqrt(sd ** 2 + (self.drift_se_ * np.arange(1, h + 1)) ** 2)
        # ... but never wider than the history's own changes over h steps allow (SpreadBound)
        if self.spread_bound_ is not None:
            sd = np.minimum(sd, self.spread_bound_(h, mean))
        # a forecast is never more certain further out: enforce a fan that does not narrow
        sd = np.maximum.accumulate(sd)
        return mean, sd

    # -- for subclasses
    def _fit(self, y: np.ndarray, m: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, h: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def drift_se(y: np.ndarray, season_length: int) -> float:
    """Standard error of the series' growth per step, from its non-overlapping seasonal differences.

    With ``d`` the differences over one season (``y[t] - y[t-m]``), the growth per step is ``mean(d) / m`` and
    its standard error ``std(d) / (m * sqrt(len(d) / m))`` (only ``len(d) / m`` of the overlapping differences
    are independent). ``predict`` adds ``(drift_se * h) ** 2`` to every model's error variance, as the
    random walk with drift does (``var = h sigma^2 (1 + h / T)``): negligible at a week, dominant at years,
    so forecasts fan out over the 1- and 3-year terms of commitments [GPU-h per step per step].
    """
    m = season_length if len(y) > 2 * season_length else 1
    d = y[m:] - y[:-m]
    if len(d) < 2:
        return 0.0
    return float(np.std(d, ddof=1) / (m * np.sqrt(max(len(d) / m, 1.0))))


@dataclass(frozen=True)
class SpreadBound:
    """The widest error sd the history supports at each horizon: what its own changes over ``h`` steps show.

    A model fitted to one-step errors (ETS, theta with a high smoothing weight) forecasts a random walk whose sd
    grows as ``sqrt(h)`` without bound, and :func:`drift_se` adds a growth-rate error that treats every seasonal
    difference as independent. On a pool whose level stays put for months both are contradicted by the history
    itself: the sample's a2 training pool (61-86 GPUs a month for 18 months; its changes over 91 and 273 days
    have an RMS of 19 and 20 GPUs) got an ETS fan whose 10th percentile was 0 GPUs from the second month on.
    The bound is, for ``h`` steps ahead,

    ``bound(h) = sqrt(V(min(h, H)) + q max(0, h - H) + (g h)^2) + |mean(h) - y[-1]|``

    - ``V(l)``: the mean squared change of the history over ``l`` steps, ``mean((y[t+l] - y[t])^2)``, taken as
      its running maximum over ``l`` (the error of carrying the value ``l`` steps forward, seasons and trend
      included: an upper bound on what a fitted model should claim), up to ``H = n // 2`` steps;
    - ``q``: the growth of ``V`` per step over ``[H/2, H]`` (least squares, >= 0): a random walk in the level
      goes on beyond the lags seen at the rate the longest of them showed (0 on a level that stays put);
    - ``g``: the error of the series' growth rate, the larger of the trend slope's standard error (least squares
      on time, widened by ``sqrt((1 + rho) / (1 - rho))`` for the residuals' lag-1 autocorrelation ``rho``,
      at most 0.95) and ``sqrt(q / n)``, a random walk's (what :func:`drift_se` gives on a walk);
    - ``|mean(h) - y[-1]|``: how far the model's point forecast departs from carrying the last value forward
    (a seasonal naive forecast repeats last week; a trend moves away): the bound is one on the error of carrying
    forward, so a forecast that departs from it may err by that much more (triangle inequality).

    On a random walk the bound grows as the walk's own variance and rarely binds; on a level with bursts it
    stops the fan at the spread of the history's changes plus the growth rate's error.

    Attributes
    ----------
    lags : ndarray of int
        Lags at which ``V`` was measured [steps] (all up to 256, then a geometric grid up to ``H``).
    v : ndarray
        Running maximum of the mean squared change at ``lags`` [(GPU-h per step)^2].
    q : float
        Walk variance per step beyond ``H`` [(GPU-h per step)^2 per step].
    g : float
        Growth-rate error [GPU-h per step per step].
    last : float
        The history's last value [GPU-h per step].
    """

    lags: np.ndarray
    v: np.ndarray
    q: float
    g: float
    last: float

    @classmethod
    def of(cls, y: np.ndarray) -> "SpreadBound | None":
        """The bound of a history ``y`` [GPU-h per step]; None when it is shorter than 8 steps."""
        y = np.asarray(y, dtype=float)
        n = len(y)
        top = n // 2
        if top < 4:
            return None
        t = np.arange(n, dtype=float)
        slope, inter = np.polyfit(t, y, 1)
        e = y - inter - slope * t
        rho = _lag1(e, 0.95)
        se = float(np.sqrt(np.mean(e ** 2) * 12.0 / (n * (n * n - 1.0))) * np.sqrt((1 + rho) / (1 - rho)))
        lags = np.unique(np.concatenate([np.arange(1, min(top, 256) + 1),
                                         np.geomspace(1, top, 64).round().astype(int)]))
        v = np.maximum.accumulate(np.array([np.mean((y[k:] - y[:-k]) ** 2) for k in lags]))
        far = lags >= top / 2
        q = float(max(0.0, np.polyfit(lags[far], v[far], 1)[0])) if far.sum() >= 2 else 0.0
        return cls(lags=lags, v=v, q=q, g=max(se, float(np.sqrt(q / n))), last=float(y[-1]))

    def __call__(self, h: int, mean=None) -> np.ndarray:
        """The bound on the error sd of steps 1..h [GPU-h per step].

        ``mean`` (the model's point forecast of those steps) adds ``|mean - y[-1]|``: the bound is on the error
        of carrying the last value forward, and a forecast that departs from it (a season ago, a trend) may err
        by that much more (the triangle inequality of root mean squares)."""
        k = np.arange(1, h + 1, dtype=float)
        top = float(self.lags[-1])
        var = (np.interp(np.minimum(k, top), self.lags, self.v) + self.q * np.maximum(0.0, k - top)
               + (self.g * k) ** 2)
        away = 0.0 if mean is None else np.abs(np.asarray(mean, dtype=float) - self.last)
        return np.sqrt(var) + away


def _check_h(h) -> int:
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)):
        raise ForecastError(f"Horizon must be a positive integer number of steps, got {h!r}.")
    if h <= 0:
        raise ForecastError(f"Horizon must be >= 1 step, got {h}. Ask for at least one step ahead.")
    return int(h)


class Naive(ForecastModel):
    """Last value carried forward; errors of a random walk (sd grows with the square root of the horizon)."""

    name = "naive"

    def min_length(self, season_length: int) -> int:
        return 1

    def _fit(self, y, m):
        self.last_ = float(y[-1])
        d = np.diff(y)
        self.sigma_ = float(np.sqrt(np.mean(d ** 2))) if len(d) else 0.0

    def _predict(self, h):
        return np.full(h, self.last_), self.sigma_ * np.sqrt(np.arange(1, h + 1))


class SeasonalNaive(ForecastModel):
    """The value one season earlier, repeated.

    Error sd is the root mean square of the in-sample seasonal differences, growing with the square root of the
    number of seasons ahead (a seasonal random walk).
    """

    name = "seasonal_naive"

    def min_length(self, season_length: int) -> int:
        return max(1, season_length)

    def _fit(self, y, m):
        self.last_season_ = y[-m:].copy()
        d = y[m:] - y[:-m]
        self.sigma_ = float(np.sqrt(np.mean(d ** 2))) if len(d) else float(np.std(y))

    def _predict(self, h):
        m = len(self.last_season_)
        idx = np.arange(h)
        k = idx // m + 1
        return self.last_season_[idx % m], self.sigma_ * np.sqrt(k)


class ETS(ForecastModel):
    """statsmodels ``ETSModel`` with additive errors, an additive damped trend and (when the history allows) an
    additive season.

    Parameters
    ----------
    damped_trend : bool
        Damp the trend so that long horizons do not extrapolate a line for years.
    trend : bool
        Include a trend component.
    """

    name = "ets"

    def __init__(self, trend: bool = True, damped_trend: bool = True):
        self.trend = trend
        self.damped_trend = damped_trend

    def min_length(self, season_length: int) -> int:
        return 10

    def _fit(self, y, m):
        import pandas as pd
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        seasonal = m > 1 and len(y) >= 2 * m + 2
        # heuristic initial states are ~10x faster than estimating them and as accurate on long histories
        init = "heuristic" if (len(y) >= max(4 * m if seasonal else 0, 20) and len(y) >= 10) else "estimated"
        self.spec_ = dict(error="add", trend="add" if self.trend else None,
                          damped_trend=bool(self.trend and self.damped_trend),
                          seasonal="add" if seasonal else None, seasonal_periods=m if seasonal else None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = ETSModel(pd.Series(y), initialization_method=init, **self.spec_).fit(disp=False)
            except Exception:  # heuristic initialisation refuses some short or odd series
                res = ETSModel(pd.Series(y), initialization_method="estimated", **self.spec_).fit(disp=False)
        self.res_ = res
        self.n_ = len(y)

    def _predict(self, h):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = self.res_.get_prediction(start=self.n_, end=self.n_ + h - 1)
            mean = np.asarray(pred.predicted_mean, dtype=float)
            var = np.asarray(pred.var_pred_mean, dtype=float)
        return mean, np.sqrt(np.maximum(var, 0.0))


class Theta(ForecastModel):
    """statsmodels ``ThetaModel`` (Assimakopoulos & Nikolopoulos theta method with drift), deseasonalised
    multiplicatively when the series is positive and long enough, additively otherwise."""

    name = "theta"

    def min_length(self, season_length: int) -> int:
        return 4

    def _fit(self, y, m):
        from statsmodels.tsa.forecasting.theta import ThetaModel

        deseason = m > 1 and len(y) >= 2 * m
        method = "multiplicative" if (deseason and np.all(y > 0)) else "additive"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.res_ = ThetaModel(y, period=m if m > 1 else None, deseasonalize=deseason,
                                   method=method).fit()
        self.y_ = y

    def _predict(self, h):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mean = np.asarray(self.res_.forecast(h), dtype=float)
        # statsmodels' interval formula, sigma2 * (1 + (h - 1) * (1 + (alpha - 1)^2)), with sigma2 taken from the
        # one-step errors of the fitted SES (drift removed) instead of fitting an extra ARIMA(0,1,1), which
        # made ThetaResults.prediction_intervals ~10x slower than the whole theta fit
        alpha = float(self.res_.params.iloc[1])
        z = np.asarray(getattr(self.res_.model, "_y", self.y_), dtype=float)  # the deseasonalised series
        level, err = z[0], np.empty(len(z) - 1)
        for t in range(1, len(z)):
            err[t - 1] = z[t] - level
            level += alpha * err[t - 1]
        sigma2 = float(np.var(err)) if len(err) > 1 else 0.0
        sd = np.sqrt(sigma2 * (1 + np.arange(h) * (1 + (alpha - 1) ** 2)))
        return mean, sd


def outage_mask(y: np.ndarray, window: int = 14, share: float = 0.5, max_run: int | None = None) -> np.ndarray:
    """Steps that look like an outage: below ``share`` x the median of the ``window`` clean steps before them.

    Only earlier steps are compared (the first step is never an outage). An outage is short: when more than
    ``max_run`` consecutive steps are low, the demand has moved to a new level (a burst ended, a fleet shrank),
    and the whole run is unmasked, which makes it the reference of the steps after it; the mask of a history may
    then change when later steps are appended (a fit sees only its own history, so this is no look-ahead).

    Parameters
    ----------
    y : ndarray (n,)
        History [GPU-h per step].
    window : int
        Steps of the reference median [steps].
    share : float
        A step below this share of the reference is an outage, in (0, 1).
    max_run : int or None
        Longest outage [steps]; None: no limit.

    Returns
    -------
    ndarray of bool (n,)
    """
    return _outages(y, window, share, max_run)[0]


def _outages(y: np.ndarray, window: int, share: float, max_run: int | None) -> tuple[np.ndarray, int]:
    """:func:`outage_mask` and the first step of the current level (0, or where the last long low run began:
    the reference of later steps starts there)."""
    out = np.zeros(len(y), bool)
    run, floor = 0, 0
    for t in range(1, len(y)):
        lo = max(floor, t - window)
        ref = y[lo:t][~out[lo:t]]
        if len(ref):
            out[t] = y[t] < share * float(np.median(ref))
        run = run + 1 if out[t] else 0
        if max_run is not None and run > max_run:
            floor = t - run + 1
            out[floor:t + 1] = False
            run = 0
    return out, floor


class Recovery(ForecastModel):
    """What a GPU cluster does: it runs near a level set by its capacity and comes back to it after an outage.

    Steps flagged by :func:`outage_mask` (a day below half the median of the 14 before it: an outage, a
    drained cluster) are treated as missing. The forecast is the median of the last ``window`` clean steps,
    plus, with two clean seasons, each season position's median deviation from the rolling level (shrunk by
    half). It does not extrapolate a dip: the level reverts, so the error sd is that of the one-step errors of
    the same rule on the clean history and does not grow with the horizon (only the growth-rate uncertainty of
    every model, :func:`drift_se`, fans it out at long horizons; the error sd is that of the last four seasons).
    A trend is followed only when the evidence
    says so (``trend``): the Theil-Sen slope of the last ``window`` clean steps *since the last outage* (at least
    ``window // 2`` of them; an outage and the recovery after it are a break, not a trend), kept when its
    ``1 - trend_alpha`` interval excludes 0 (:func:`robust_trend`); the level is then moved along it to the last
    step and the forecast extrapolates it.

    Parameters
    ----------
    window : int
        Clean steps in the level's median [steps] (14 days on daily totals).
    outage_share : float
        A step below this share of the median of the ``window`` steps before it is an outage.
    trend : bool
        Follow a significant trend (False: the level alone, the model before issue 20).
    trend_alpha : float
        Test level of the trend, in (0, 1) (0.01: a trend needs strong evidence).
    max_outage : int
        Longest outage [steps]: a longer low run is a new level (a burst ended, a fleet shrank), and the level,
        the trend and the errors are then taken from the steps since it began.
    """

    name = "recovery"

    def __init__(self, window: int = 14, outage_share: float = 0.5, trend: bool = True, trend_alpha: float = 0.01,
                 max_outage: int = 3):
        self.window = int(window)
        self.outage_share = float(outage_share)
        self.max_outage = int(max_outage)
        self.trend = bool(trend)
        self.trend_alpha = float(trend_alpha)

    def min_length(self, season_length: int) -> int:
        return 4

    def _fit(self, y, m):
        bad, floor = _outages(y, self.window, self.outage_share, self.max_outage)
        z = np.where(bad, np.nan, y)
        clean = np.flatnonzero(~bad)
        clean = clean[clean >= floor] if np.sum(clean >= floor) >= 2 else clean  # the current level only
        last = clean[-self.window:]
        since = last[last > np.flatnonzero(bad)[-1]] if bad.any() else last  # an outage breaks a trend
        self.slope_ = robust_trend(since, y[since], self.trend_alpha) \
            if self.trend and len(since) >= self.window // 2 else 0.0
        lev = np.full(len(y), np.nan)  # rolling level at each step, from the clean steps before it only
        for j, t in enumerate(clean):
            if j >= 2:
                win = clean[max(0, j - self.window):j]
                lev[t] = float(np.median(y[win])) + self.slope_ * (t - float(np.median(win)))
        self.level_ = float(np.median(y[last])) + self.slope_ * (len(y) - float(np.median(last)))
        dev = z - lev
        self.season_ = np.zeros(max(m, 1))
        if m > 1 and np.sum(np.isfinite(dev)) >= 2 * m:
            pos = np.arange(len(y)) % m
            recent = np.arange(len(y)) >= len(y) - 4 * m
            for k in range(m):
                d = dev[(pos == k) & recent]
                d = d[np.isfinite(d)]
                self.season_[k] = 0.5 * float(np.median(d)) if len(d) else 0.0
        self.phase_ = len(y) % max(m, 1)
        e = dev[np.isfinite(dev) & (np.arange(len(y)) >= len(y) - 4 * max(m, 1))]  # the recent errors
        self.sigma_ = float(np.sqrt(np.mean(e ** 2))) if len(e) >= 2 else float(np.std(y[clean]))
        self.outages_ = int(bad.sum())

    def _predict(self, h):
        m = len(self.season_)
        k = np.arange(h)
        mean = self.level_ + self.slope_ * k + self.season_[(self.phase_ + k) % m]
        return np.maximum(mean, 0.0), np.full(h, self.sigma_)


def robust_trend(x: np.ndarray, y: np.ndarray, alpha: float = 0.1) -> float:
    """Theil-Sen slope of ``y`` on ``x`` when its ``1 - alpha`` confidence interval excludes 0, else 0.

    A cluster's level moves only when the evidence says so: a noisy window (a dip and its recovery) has a
    slope interval that straddles 0 and gets no trend; a steady growth or decline does.

    Parameters
    ----------
    x : ndarray (n,)
        Step indices [steps].
    y : ndarray (n,)
        Values [GPU-h per step].
    alpha : float
        Test level in (0, 1).

    Returns
    -------
    float
        Slope [GPU-h per step per step]; 0 with fewer than 4 points.
    """
    if len(x) < 4 or np.ptp(y) == 0:
        return 0.0
    slope, _, lo, hi = stats.theilslopes(y, x, alpha=1 - alpha)
    return float(slope) if lo > 0 or hi < 0 else 0.0


class LevelBursts(ForecastModel):
    """A level that moves slowly plus bursts that fade: the shape of a training pool's demand.

    Training demand sits on a floor and jumps for days or weeks when a large run starts, then comes back. A model
    fitted to its one-step errors (ETS, theta) reads each burst as a new level and forecasts a random walk, whose
    fan grows without bound: over the years of a commitment that puts a fifth of the paths at zero GPUs while the
    history never left its floor. This model separates the two:

    - the level ``a + b t``: the Theil-Sen slope ``b`` of the history, kept when its ``1 - trend_alpha``
      interval excludes 0; its standard error, the interval's half-width / ``z`` widened by ``sqrt((1 + rho) /
      (1 - rho))`` for the lag-1 autocorrelation ``rho`` of the residuals, widens the fan (bursts make
      neighbouring days alike, so the interval, which assumes independent residuals, is 2-5x too narrow on a
      bursty pool; the test itself stays at the interval: with the widened error Philly's real decline is
      dropped in short windows and the 7-day backtest loses 4% MASE, and a spurious slope moves the level by
      at most ``n b``, below); ``a`` the median of ``y - b t``. Ahead, the trend fades with
      the history's length ``n`` as time constant (:meth:`_trend_steps`): it moves the level by at most ``n b``;
    - a seasonal profile (``season_length`` > 1: weekly on daily steps, daily on hours): the median of the last
      ``seasons`` seasons' deviations per position in the season, less the median of those deviations;
    - the rest ``r`` (the bursts and the noise), taken as stationary with the persistence ``phi`` of its lag-1
      autocorrelation: the point forecast moves today's deviation back to the *median* of ``r`` as ``phi ** h``
      (the median, not the mean: bursts skew ``r`` up, and the selection scores absolute errors), and its
      error sd (root mean square around that point) grows to that of ``r``, ``rms(r - median) sqrt(1 - phi **
      (2 h))``, without growing further;
    - a random walk in the level, as large as the history shows: from the variogram of the rest at two long lags
      (:meth:`_level_variance`), zero on a pool whose level only trends.

    Sample paths (:meth:`sample_deviations`) draw the rest from the history itself: each path starts after a past
    day whose last week of rests was close to today's (one of the nearest ``analogs``) and goes on from there, by a
    stationary block bootstrap with mean block length ``1 / (1 - phi)``: a burst under way goes on as a past one
    did, and later bursts keep their height, duration and skew. Each path also draws its own slope error and
    level walk. :func:`draw_paths` uses them in place of the Gaussian random walk of :func:`sample_paths`.

    Parameters
    ----------
    trend_alpha : float
        Test level of the slope, in (0, 1).
    seasons : int
        Recent seasons of the profile [seasons], >= 1 (odd: a median of an even count invents half-levels after
        a shift).
    max_phi : float
        Upper bound of the persistence, in [0, 1) (a deviation that never fades is a level, not a burst).
    analogs : int
        Past steps each path may start after (the nearest to today's rest) [steps], >= 1.
    """

    name = "level_bursts"
    drift_uncertainty = False  # the slope's own uncertainty is part of the model
    bounded_fan = True

    def __init__(self, trend_alpha: float = 0.1, seasons: int = 7, max_phi: float = 0.95, analogs: int = 10):
        checks = [("trend_alpha", 0 < trend_alpha < 1, "a test level in (0, 1), e.g. 0.1"),
                  ("seasons", int(seasons) == seasons and seasons >= 1, "a whole number of seasons >= 1, e.g. 7"),
                  ("max_phi", 0 <= max_phi < 1, "a persistence bound in [0, 1), e.g. 0.95"),
                  ("analogs", int(analogs) == analogs and analogs >= 1, "a whole number >= 1, e.g. 10")]
        for name, ok, what in checks:
            if not ok:
                raise ForecastError(f"level_bursts: {name}={locals()[name]!r} is out of range; pass {what} "
                                    f"(model_kwargs={{'level_bursts': {{'{name}': ...}}}}).")
        self.trend_alpha = float(trend_alpha)
        self.seasons = int(seasons)
        self.max_phi = float(max_phi)
        self.analogs = int(analogs)

    def min_length(self, season_length: int) -> int:
        return max(8, 2 * season_length)

    def _fit(self, y, m):
        n = len(y)
        m = max(int(m), 1)
        self.slope_, self.slope_se_ = self._slope(y, m)
        t = np.arange(n, dtype=float)
        x = y - self.slope_ * t
        self.level_ = float(np.median(x))
        x = x - self.level_
        self.season_ = np.zeros(m)
        if m > 1 and n >= 2 * m:
            recent = slice(max(0, n - self.seasons * m), n)
            pos = (np.arange(n) % m)[recent]
            xr = x[recent]
            prof = np.array([np.median(xr[pos == k]) for k in range(m)])
            self.season_ = prof - np.median(xr)
        r = x - self.season_[np.arange(n) % m]
        self.median_rest_ = float(np.median(r))
        self.phi_ = _lag1(r, self.max_phi)
        c = r - self.median_rest_
        self.rest_ = c
        self.last_ = float(c[-1])
        self.n_ = n
        self.level_var_ = self._level_variance(c, m)

    def _slope(self, y: np.ndarray, m: int) -> tuple[float, float]:
        """Slope [per step] and its standard error: the Theil-Sen line of the history (of the means of blocks of
        ``ceil(n / MAX_POINTS)`` steps on a long one: Theil-Sen holds every pair), its interval's half-width / z
        widened by ``sqrt((1 + rho) / (1 - rho))`` for the lag-1 autocorrelation ``rho`` of the residuals."""
        block = max(1, -(-len(y) // _THEIL_SEN_POINTS))
        nb = len(y) // block
        if nb < 4:
            return 0.0, 0.0
        z = y[len(y) - nb * block:].reshape(nb, block).mean(axis=1)
        if np.ptp(z) == 0:
            return 0.0, 0.0
        tb = np.arange(nb, dtype=float)
        slope, inter, lo, hi = stats.theilslopes(z, tb, alpha=1 - self.trend_alpha)
        rho = _lag1(z - inter - slope * tb, self.max_phi)
        zq = stats.norm.ppf(1 - self.trend_alpha / 2)
        keep = lo > 0 or hi < 0  # Theil-Sen's own interval decides whether the point follows the trend
        se = float(hi - lo) / (2 * zq) * np.sqrt((1 + rho) / (1 - rho))
        return (float(slope) / block if keep else 0.0), se / block

    def _level_variance(self, c: np.ndarray, m: int) -> float:
        """Variance per step of a random walk in the level [(GPU-h per step)^2 per step].

        The variogram of a walk ``q`` plus a stationary rest, ``g(h) = E[(c[t+h] - c[t])^2] / 2 = q h / 2 +
        var_s (1 - phi^h)``, is linear in ``h`` once ``phi^h`` is small: ``q = 2 (g(2L) - g(L)) / L`` at a lag
        ``L = max(4 m, 4 / (1 - phi))``, which the walk's own share of ``var(c)`` does not bias (differences of
        block means would, through the stationary correction). Zero when the history is shorter than ``4 L`` or
        the variogram does not grow."""
        lag = max(4 * m, int(np.ceil(4 / (1 - self.phi_))))
        if len(c) < 4 * lag:
            return 0.0
        g1 = 0.5 * float(np.mean((c[lag:] - c[:-lag]) ** 2))
        g2 = 0.5 * float(np.mean((c[2 * lag:] - c[:-2 * lag]) ** 2))
        return max(0.0, 2 * (g2 - g1) / lag)

    def _trend_steps(self, k: np.ndarray) -> np.ndarray:
        """Steps the trend has moved the level by step ``k``: ``n (1 - exp(-k / n))`` for a history of ``n``
        steps (``k`` at first; never more than ``n``: a trend seen over ``n`` steps fades over the next ``n``,
        so 73 days of decline are not drawn through three years)."""
        return self.n_ * -np.expm1(-k / self.n_)

    def _trend_at(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position on the (faded) trend line of step ``k`` ahead [steps from the first observation], and its
        lever on the slope's error: the distance from the history's middle, where the line's error is 0
        [steps]."""
        trend = self.n_ - 1 + self._trend_steps(k)
        return trend, trend - (self.n_ - 1) / 2

    def _predict(self, h):
        k = np.arange(1, h + 1)
        tt = self.n_ - 1 + k
        decay = self.phi_ ** k
        trend, lever = self._trend_at(k)
        mean = (self.level_ + self.slope_ * trend + self.season_[tt % len(self.season_)] + self.median_rest_
                + decay * self.last_)
        sd_rest = float(np.sqrt(np.mean(self.rest_ ** 2)))
        sd = np.sqrt(sd_rest ** 2 * (1 - decay ** 2) + (self.slope_se_ * lever) ** 2
                     + self.level_var_ * k)
        return mean, sd

    def _analog_days(self) -> np.ndarray:
        """The ``analogs`` past steps whose last ``w`` rests were nearest today's last ``w`` (squared distance),
        ``w = min(7, 1 / (1 - phi))`` rounded: the third day of a burst is matched to the third days of past
        bursts, not to any burst day of its height. Steps that end the history are left out (their next step
        is not known)."""
        c = self.rest_
        w = int(min(7, max(1, round(1 / (1 - self.phi_))), len(c) - 1))
        windows = np.lib.stride_tricks.sliding_window_view(c[:-1], w)  # windows ending at steps w-1 .. n-2
        dist = ((windows - c[len(c) - w:]) ** 2).sum(axis=1)
        k = max(1, min(self.analogs, len(dist)))
        return np.argsort(dist, kind="stable")[:k] + (w - 1)

    def sample_deviations(self, h: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        """Deviations of sample paths from the point forecast, shape (n_paths, h) [GPU-h per step].

        Each path's rest starts the step after one of the ``analogs`` past steps most like today
        (:meth:`_analog_days`) and goes on by a stationary bootstrap (blocks of geometric length, mean
        ``1 / (1 - phi)``, circular over the history); the deviation is that rest less ``phi ** k`` times
        today's (which the point forecast holds), plus ``(t - t_mid) e`` for a slope error ``e ~ N(0, slope_se)``
        per path and the level's random walk.
        """
        c = self.rest_
        n = len(c)
        near = self._analog_days()
        block = 1.0 / (1.0 - self.phi_)
        jump = rng.random((n_paths, h)) < 1.0 / block
        jump[:, 0] = True
        start = rng.integers(0, n, size=(n_paths, h))
        start[:, 0] = rng.choice(near, size=n_paths) + 1  # the day after an analog of today
        steps = np.broadcast_to(np.arange(h), (n_paths, h))
        last_jump = np.maximum.accumulate(np.where(jump, steps, 0), axis=1)
        idx = (np.take_along_axis(start, last_jump, axis=1) + steps - last_jump) % n
        k = np.arange(1, h + 1)
        dev = c[idx] - self.phi_ ** k * self.last_
        dev += rng.standard_normal((n_paths, 1)) * self.slope_se_ * self._trend_at(k)[1]
        if self.level_var_ > 0:
            dev += np.sqrt(self.level_var_) * np.cumsum(rng.standard_normal((n_paths, h)), axis=1)
        return dev


#: most points the Theil-Sen slope is fitted on (it holds all n^2 / 2 pairs: 1,500 points is 9 MB and ~50 ms)
_THEIL_SEN_POINTS = 1500


def _lag1(x: np.ndarray, bound: float) -> float:
    """Lag-1 autocorrelation of ``x`` around its mean, clipped to ``[0, bound]`` (0 for a constant)."""
    c = x - float(np.mean(x))
    den = float(np.dot(c, c))
    return float(np.clip(np.dot(c[1:], c[:-1]) / den, 0.0, bound)) if den > 0 else 0.0


class SARIMAX(ForecastModel):
    """statsmodels ``SARIMAX`` (1,1,1)x(0,1,1,m) when the history holds three seasons, (1,1,1) otherwise."""

    name = "sarimax"

    def min_length(self, season_length: int) -> int:
        return 10

    def _fit(self, y, m):
        from statsmodels.tsa.statespace.sarimax import SARIMAX as _SARIMAX

        seasonal = (0, 1, 1, m) if (m > 1 and len(y) >= 3 * m + 2) else (0, 0, 0, 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.res_ = _SARIMAX(y, order=(1, 1, 1), seasonal_order=seasonal).fit(disp=False)

    def _predict(self, h):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = self.res_.get_forecast(h)
            mean = np.asarray(f.predicted_mean, dtype=float)
            var = np.asarray(f.var_pred_mean, dtype=float)
        return mean, np.sqrt(np.maximum(var, 0.0))


class _BelowWarning(logging.Filter):
    def filter(self, record):  # keep warnings and errors only
        return record.levelno >= logging.WARNING


def _quiet_prophet() -> None:
    """Silence cmdstanpy's and Prophet's INFO chatter (warnings and errors still show).

    cmdstanpy resets its logger's level on first use, so a filter (which survives that) is added instead of
    only setting the level.
    """
    for name in ("cmdstanpy", "prophet", "prophet.forecaster", "prophet.models"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        if not any(isinstance(f, _BelowWarning) for f in logger.filters):
            logger.addFilter(_BelowWarning())
    # "Importing plotly failed" is logged at ERROR by prophet.plot on import; the plots are not used here
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)


class Prophet(ForecastModel):
    """Prophet with a piecewise linear trend and a weekly season (daily steps) or a daily season (hourly steps).

    The model is fitted on a synthetic calendar (steps of ``step_hours`` from a Monday); only the period of the
    season matters to the forecast. Intervals come from Prophet's trend-change simulation
    (``uncertainty_samples``), so they widen with the horizon.

    Parameters
    ----------
    step_hours : int
        Length of one step of the series [h]: 24 for daily totals, 1 for hourly series.
    uncertainty_samples : int
        Prophet's number of simulated trends for the intervals.
    """

    name = "prophet"

    def __init__(self, step_hours: int = 24, uncertainty_samples: int = 200):
        self.step_hours = step_hours
        self.uncertainty_samples = uncertainty_samples

    def min_length(self, season_length: int) -> int:
        return 10

    def _fit(self, y, m):
        import pandas as pd

        _quiet_prophet()
        from prophet import Prophet as _Prophet

        _quiet_prophet()  # cmdstanpy sets its own handler and level on import

        step = pd.Timedelta(hours=self.step_hours)
        ds = pd.Timestamp("2001-01-01") + step * np.arange(len(y))
        model = _Prophet(interval_width=0.8, uncertainty_samples=self.uncertainty_samples,
                         yearly_seasonality=len(y) * self.step_hours >= 2 * 8760,
                         weekly_seasonality=len(y) * self.step_hours >= 2 * 168,
                         daily_seasonality=self.step_hours < 24 and len(y) * self.step_hours >= 48)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(pd.DataFrame({"ds": ds, "y": y}), seed=0)
        self.res_ = model
        self.ds_end_ = ds[-1]
        self.step_ = step

    def _predict(self, h):
        import pandas as pd

        future = pd.DataFrame({"ds": self.ds_end_ + self.step_ * np.arange(1, h + 1)})
        # Prophet draws its interval trends from numpy's global generator: fix it for this call only, so that
        # the widths (a property of the fitted model) are reproducible, and restore the caller's state
        state = np.random.get_state()
        try:
            np.random.seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = self.res_.predict(future)
        finally:
            np.random.set_state(state)
        mean = p["yhat"].to_numpy(float)
        sd = (p["yhat_upper"].to_numpy(float) - p["yhat_lower"].to_numpy(float)) / (2 * stats.norm.ppf(0.9))
        return mean, sd


#: single models by name (``auto`` is built by :func:`make_model`)
MODELS = {cls.name: cls for cls in (SeasonalNaive, Naive, ETS, Theta, SARIMAX, Prophet, Recovery, LevelBursts)}
#: candidates of ``models="auto"`` (Prophet and SARIMAX are left out for speed; list them to include them).
#: ``level_bursts`` wins where bursts revert (Philly: 18 of 30 seven-day windows, every 28-day one) and loses on
#: a steadily moving fleet (Alibaba DLRM: never chosen); docs/forecast.md "Levels and bursts"
AUTO_CANDIDATES = ("seasonal_naive", "ets", "theta", "level_bursts")


def make_model(name: str, **kwargs) -> ForecastModel:
    """Build a model by name; an unknown name lists the valid ones.

    Parameters
    ----------
    name : str
        One of :data:`MODELS` or ``"auto"``.
    **kwargs
        Passed to the model's constructor.
    """
    if name == "auto":
        return AutoSelect(**kwargs)
    if name not in MODELS:
        raise unknown_name("model", name, list(MODELS) + ["auto"])
    return MODELS[name](**kwargs)


def _scale(y: np.ndarray, m: int) -> float:
    """MASE scale: mean absolute seasonal difference of the training data [GPU-h per step]."""
    m = m if len(y) > m else 1
    d = np.abs(y[m:] - y[:-m])
    s = float(np.mean(d)) if len(d) else 0.0
    return s


@dataclass
class AutoSelect(ForecastModel):
    """Pick, per series, the candidate with the lowest mean MASE in a rolling-origin backtest on the series'
    own history, then refit it on the whole history.

    The widths of the chosen model's intervals are then calibrated on the same backtest. ``raw`` is the factor
    by which the model's error sd must be multiplied for its central 80% interval to cover 80% of the backtest
    errors; the sd is multiplied by ``raw ** calibration_weight`` (bounded to [0.5, 4]). The default weight 0.5
    takes the geometric mean of the model's own width and the backtest's: on short histories the backtest
    windows train on less data than the final fit and overstate its errors (measured on the Philly and DLRM
    traces, see docs/forecast.md). Candidates that need more history than the series has are skipped; when no
    candidate can be backtested the simplest one that fits is used, and ``selection_`` says so.

    Parameters
    ----------
    candidates : tuple of str
        Names from :data:`MODELS`.
    h : int
        Backtest horizon [steps].
    n_windows : int
        Backtest windows (cutoffs), ``step`` apart.
    step : int or None
        Steps between cutoffs; default ``max(1, h // 2)``.
    calibrate : bool
        Calibrate interval widths on the backtest errors.
    calibration_weight : float
        Weight in [0, 1] of the backtest's evidence in log space (0: model widths, 1: backtest widths).
    model_kwargs : dict
        Per-candidate constructor arguments, e.g. ``{"prophet": {"step_hours": 1}}``.
    """

    candidates: tuple = AUTO_CANDIDATES
    h: int = 7
    n_windows: int = 4
    step: int | None = None
    calibrate: bool = True
    calibration_weight: float = 0.5
    model_kwargs: dict = field(default_factory=dict)
    name: str = "auto"
    drift_uncertainty: bool = False  # the chosen model adds it

    def __post_init__(self):
        for c in self.candidates:
            if c not in MODELS:
                raise unknown_name("model", c, MODELS)
        if not self.candidates:
            raise ForecastError("AutoSelect needs at least one candidate model, e.g. candidates=('ets',).")

    def min_length(self, season_length: int) -> int:
        return min(MODELS[c]().min_length(season_length) for c in self.candidates)

    def _candidate(self, name):
        return MODELS[name](**self.model_kwargs.get(name, {}))

    def _fit(self, y, m):
        n = len(y)
        h = max(1, min(self.h, n // 3))
        step = self.step or max(1, h // 2)
        cutoffs = [n - h - k * step for k in range(self.n_windows)]
        eligible = [c for c in self.candidates if n >= self._candidate(c).min_length(m)]
        scores: dict[str, float] = {}
        z_err: dict[str, list] = {}
        for c in eligible:
            errs, zs = [], []
            for cut in cutoffs:
                train = y[:cut]
                mod = self._candidate(c)
                if cut < mod.min_length(m) or cut < 2:
                    continue
                scale = _scale(train, m)
                try:
                    mean, sd = mod.fit(train, m).predict(h)
                except Exception:  # a candidate that fails on a window is scored on the others
                    continue
                mean = np.maximum(mean, 0.0)
                a = y[cut:cut + h]
                e = a - mean
                errs.append(np.mean(np.abs(e)) / scale if scale > 0 else np.mean(np.abs(e)))
                ok = sd > 0
                zs.extend(np.abs(e[ok]) / sd[ok])
            if errs:
                scores[c] = float(np.mean(errs))
                z_err[c] = zs
        if scores:
            best = min(scores, key=lambda c: (scores[c], self.candidates.index(c)))
            note = f"selected by backtest ({len(cutoffs)} windows of {h} steps)"
        else:
            best = eligible[0] if eligible else "naive"
            note = f"history of {n} steps too short to backtest; used {best} without selection"
        z = z_err.get(best, [])
        factor = 1.0
        # a model that draws its paths from the history's own deviations (level_bursts) keeps their spread: a
        # Gaussian width factor would shrink or stretch the bursts' skewed distribution, not calibrate it
        own_paths = _own_paths(MODELS[best])
        if self.calibrate and len(z) >= 5 and not own_paths:
            raw = float(np.quantile(z, 0.8) / stats.norm.ppf(0.9))
            factor = raw ** float(self.calibration_weight)
            factor = float(np.clip(factor, 0.5, 4.0))
        if own_paths and self.calibrate:
            note += "; interval widths are its paths' own (no Gaussian calibration)"
        model = MODELS[best](**self.model_kwargs.get(best, {}))
        self.chosen_ = model.fit(y, m)
        self.interval_scale_ = factor
        self.selection_ = {"model": best, "scores": scores, "interval_scale": factor, "note": note,
                           "cv_windows": len(cutoffs) if scores else 0, "cv_h": int(h) if scores else 0}

    def _predict(self, h):
        mean, sd = self.chosen_.predict(h)
        return mean, sd * self.interval_scale_


class FixedSelection:
    """A model chosen by an earlier :class:`AutoSelect`, refit on new history with that selection's interval
    scale and no backtest (the cheap step between two selections, e.g. in a rolling backtest).

    Parameters
    ----------
    model : ForecastModel
        The chosen model (unfitted).
    interval_scale : float
        Factor on the model's error sd found by the earlier selection's calibration.
    """

    def __init__(self, model, interval_scale: float = 1.0):
        self.model = model
        self.interval_scale = float(interval_scale)
        self.name = model.name

    def min_length(self, season_length: int) -> int:
        return self.model.min_length(season_length)

    def fit(self, y, m):
        self.model.fit(y, m)
        return self

    def predict(self, h):
        mean, sd = self.model.predict(h)
        return mean, sd * self.interval_scale


# --------------------------------------------------------------------------------------------------------------
# quantiles and sample paths, shared by every model


def level_quantiles(level) -> list[float]:
    """Quantile probabilities of the central intervals ``level`` [%] plus the median, sorted."""
    qs = {0.5}
    for lv in level:
        if not 0 < lv < 100:
            raise ForecastError(f"Interval levels must be between 0 and 100 (exclusive), got {lv}.")
        qs.add(round(0.5 - lv / 200, 6))
        qs.add(round(0.5 + lv / 200, 6))
    return sorted(qs)


def sample_paths(mean, sd, n_paths: int, rng: np.random.Generator, *, clip: bool = True) -> np.ndarray:
    """Sample paths with the given per-step mean and sd and persistent errors.

    The standardized error of step ``t`` is ``W_t / sqrt(t)`` for a Gaussian random walk ``W``: each step is
    N(0, 1) and errors are correlated across steps (corr = sqrt(s / t)), as a level that is wrong stays wrong.
    Paths are clipped at zero GPU-hours when ``clip``.

    Parameters
    ----------
    mean, sd : ndarray of shape (h,)
        Per-step mean and error sd [GPU-h per step].
    n_paths : int
        Number of paths.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray of shape (n_paths, h) [GPU-h per step]
    """
    mean = np.asarray(mean, dtype=float)
    sd = np.asarray(sd, dtype=float)
    h = len(mean)
    w = np.cumsum(rng.standard_normal((n_paths, h)), axis=1) / np.sqrt(np.arange(1, h + 1))
    paths = mean + sd * w
    return np.maximum(paths, 0.0) if clip else paths


def _unwrap(model) -> tuple:
    """The fitted model behind a selection (:class:`AutoSelect`, :class:`FixedSelection`) and the selection's
    interval scale [-] (1 for a model on its own)."""
    if isinstance(model, AutoSelect):
        return model.chosen_, model.interval_scale_
    if isinstance(model, FixedSelection):
        return model.model, model.interval_scale
    return model, 1.0


def _own_paths(model) -> bool:
    """Whether a model (class, fitted model or selection) draws its own sample paths (``sample_deviations``)."""
    return hasattr(_unwrap(model)[0], "sample_deviations")


def draw_paths(model, mean, sd, n_paths: int, rng: np.random.Generator) -> np.ndarray:
    """Sample paths of a fitted model: its own (``sample_deviations``, e.g. :class:`LevelBursts`' bootstrap of
    its history, times the interval scale of an :class:`AutoSelect` or :class:`FixedSelection`) when it has
    them, else :func:`sample_paths` (a Gaussian random walk in the standardized error). Clipped at 0.

    Parameters
    ----------
    model : ForecastModel, AutoSelect, FixedSelection or None
        The fitted model that gave ``mean`` and ``sd`` (None: :func:`sample_paths`).
    mean, sd : ndarray of shape (h,)
        Its point forecast and error sd [GPU-h per step].
    n_paths : int
        Number of paths.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray of shape (n_paths, h) [GPU-h per step]
    """
    if not _own_paths(model):
        return sample_paths(mean, sd, n_paths, rng)
    model, scale = _unwrap(model)
    mean = np.asarray(mean, dtype=float)
    return np.maximum(mean + scale * model.sample_deviations(len(mean), n_paths, rng), 0.0)


@dataclass(frozen=True)
class ModelForecast:
    """One series' forecast from one model.

    Attributes
    ----------
    mean : ndarray (h,)
        Point forecast, clipped at 0 [GPU-h per step].
    sd : ndarray (h,)
        Forecast-error sd [GPU-h per step].
    quantiles : dict[float, ndarray]
        Quantile probability -> values (h,) [GPU-h per step], non-decreasing in the probability, >= 0.
    paths : ndarray (n_paths, h)
        Sample paths [GPU-h per step], >= 0.
    """

    mean: np.ndarray
    sd: np.ndarray
    quantiles: dict
    paths: np.ndarray


def model_forecast(model: ForecastModel, y, season_length: int, h: int, *, level=(80, 90, 95),
                   n_paths: int = 200, seed=0) -> ModelForecast:
    """Fit ``model`` on ``y`` and forecast ``h`` steps with quantiles and sample paths.

    Paths come from :func:`draw_paths` (the model's own, or :func:`sample_paths`); quantiles are those of the
    model's own paths when it has them, else Gaussian (``mean + z * sd``) clipped at zero.
    """
    h = _check_h(h)
    mean, sd = model.fit(y, season_length).predict(h)
    paths = draw_paths(model, mean, sd, n_paths, np.random.default_rng(seed))
    mean = np.maximum(mean, 0.0)
    if _own_paths(model):  # quantiles of the model's own (skewed) paths, not of a Gaussian
        qs = {q: np.quantile(paths, q, axis=0) for q in level_quantiles(level)}
    else:
        qs = {q: np.maximum(mean + stats.norm.ppf(q) * sd, 0.0) for q in level_quantiles(level)}
    return ModelForecast(mean=mean, sd=sd, quantiles=qs, paths=paths)
