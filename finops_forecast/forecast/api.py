"""The orchestrators of the forecasting stage: :func:`forecast` and :func:`cross_validate`.

Only this module touches DataFrames: it aggregates the usage table over teams into one series per
``SERIES_KEYS``, fills gaps, hands numpy arrays to :func:`finops_forecast.forecast.core.forecast_series` through
an engine, and assembles statsforecast-shaped outputs.
"""
from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from finops_forecast.constants import POOL_KEYS, SERIES_KEYS
from finops_forecast.errors import ForecastError, unknown_name
from finops_forecast.forecast.core import SeriesSpec, forecast_series
from finops_forecast.forecast.engines import ENGINES, run_tasks
from finops_forecast.forecast.metrics import score_windows
from finops_forecast.forecast.models import MODELS, level_quantiles
from finops_forecast.usage.demand import Demand, hourly_demand

#: the selection backtest of a forecast a commitment plan is bought on: ``auto`` compares its candidates over a
#: quarter ahead (4 windows a month apart), the span of the purchases made now, not over a week (where carrying
#: today's burst forward scores well and is then read as a level for years); ``forecast(..., **PLAN_SELECTION)``
PLAN_SELECTION = {"cv_h": 91, "cv_windows": 4, "cv_step": 30}

__all__ = ["forecast", "cross_validate", "ForecastResult", "Backtest", "ForecastWarning", "PLAN_SELECTION",
           "SERIES_KEYS", "POOL_KEYS", "planned_run_hours"]

FREQS = {"h": pd.Timedelta(hours=1), "D": pd.Timedelta(days=1)}
RESOLUTIONS = ("daily", "hourly")
COMPONENTS = ("hybrid", "split", "total")
GAPS = ("zero", "interpolate", "raise")


class ForecastWarning(UserWarning):
    """A documented fallback happened (a model swapped for a simpler one, gaps filled, ...)."""


# --------------------------------------------------------------------------------------------------------------
# validation and preparation


def _check_models(models) -> tuple:
    if isinstance(models, str):
        models = (models,)
    models = tuple(models)
    if not models:
        raise ForecastError("models is empty. Pass a model name such as 'ets', 'auto', or a list of candidates.")
    valid = list(MODELS) + ["auto"]
    for m in models:
        if m not in valid:
            raise unknown_name("model", m, valid)
    if len(models) > 1 and "auto" in models:
        raise ForecastError("'auto' cannot be combined with other names: pass 'auto' alone, or the list of "
                            "candidates to select from, e.g. ['ets', 'theta'].")
    return models


def _check_horizon(horizon) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)):
        raise ForecastError(f"horizon must be a whole number of steps (hours for freq='h', days for freq='D'), "
                            f"got {horizon!r}.")
    if horizon <= 0:
        raise ForecastError(f"horizon must be >= 1 step, got {horizon}. For the next quarter in hours pass "
                            "e.g. horizon=2208.")
    return int(horizon)


def _choice(kind, value, valid):
    if value not in valid:
        raise unknown_name(kind, value, valid)
    return value


@dataclass
class _Prepared:
    keys: pd.DataFrame
    series: list  # list of ndarray, aligned with keys
    end: pd.Timestamp  # last observed step (start of the last period)
    step: pd.Timedelta
    notes: list  # per-series notes about gaps


def _prepare(usage, freq: str, id_cols, time_col, target_col, gaps) -> _Prepared:
    """The series to forecast, one array per series on the ``freq`` grid, built through
    :func:`~finops_forecast.usage.demand.hourly_demand` (the one conversion of a usage table into demand).

    A series starts at its first row (a :class:`~finops_forecast.usage.demand.Demand`: its first hour with
    demand) and ends at the table's last period; periods without a row inside are gaps (``gaps``).
    """
    if isinstance(usage, Demand):
        return _prepare_demand(usage, freq, id_cols)
    rows, daily_rows = _checked_usage(usage, id_cols, time_col, target_col)
    demand = hourly_demand(rows, keys=list(id_cols))
    observed = hourly_demand(rows.assign(gpu_hours=1.0), keys=list(id_cols)).values > 0  # hours with a row
    return _series(demand, observed, freq, gaps, partial_days=not daily_rows)


def _prepare_demand(demand: Demand, freq: str, id_cols) -> _Prepared:
    """:func:`_prepare` of a Demand: every hour is known (no row means 0 GPU-h), so there are no gaps; a series
    starts at its first hour with demand (a series with none at all covers the whole Demand)."""
    if list(demand.keys.columns) != list(id_cols):
        raise ForecastError(f"The Demand's series keys are {list(demand.keys.columns)}; this forecast's id_cols "
                            f"are {list(id_cols)}. Build the Demand with hourly_demand(usage) from a usage table "
                            "with those columns.")
    if demand.values.size == 0:
        raise ForecastError("The Demand has no series or no hours; there is nothing to forecast.")
    if not np.isfinite(demand.values).all() or (demand.values < 0).any():
        raise ForecastError("The Demand has missing, infinite or negative GPU-hours; demand must be finite and "
                            ">= 0 [GPU-h per hour] (hourly_demand(usage) builds it from a checked usage table).")
    used = demand.values > 0
    first = np.where(used.any(axis=1), used.argmax(axis=1), 0)
    observed = np.arange(demand.values.shape[1])[None, :] >= first[:, None]
    return _series(demand, observed, freq, "zero", partial_days=True)


def _checked_usage(usage, id_cols, time_col, target_col) -> tuple[pd.DataFrame, bool]:
    """The usage table's keys (as text), hours (UTC, floored) and GPU-hours [GPU-h], checked; and whether every
    row sits at midnight (daily rows)."""
    if not isinstance(usage, pd.DataFrame):
        raise ForecastError(f"usage must be a pandas DataFrame (a usage table) or a Demand, got "
                            f"{type(usage).__name__}.")
    need = list(id_cols) + [time_col, target_col]
    missing = [c for c in need if c not in usage.columns]
    if missing:
        raise ForecastError(f"The usage table lacks column(s) {missing}. Expected {need}, found "
                            f"{list(usage.columns)}.")
    if usage.empty:
        raise ForecastError("The usage table has no rows; there is nothing to forecast.")
    y = pd.to_numeric(usage[target_col], errors="coerce")
    bad = y.isna() | ~np.isfinite(y.to_numpy(float, na_value=np.nan))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise ForecastError(f"Column '{target_col}' has {int(bad.sum())} missing or non-numeric value(s), first at "
                            f"row {row}. Fill them (0 if nothing ran) or drop the rows.")
    if (y < 0).any():
        row = int(np.flatnonzero((y < 0).to_numpy())[0]) + 1
        raise ForecastError(f"Column '{target_col}' has negative GPU-hours (first at row {row}); usage must be "
                            ">= 0.")
    ts = pd.to_datetime(usage[time_col], utc=True, errors="coerce")
    if ts.isna().any():
        row = int(np.flatnonzero(ts.isna().to_numpy())[0]) + 1
        raise ForecastError(f"Column '{time_col}' has unparseable timestamps (first at row {row}).")
    hours = ts.dt.floor("h")
    rows = pd.DataFrame({c: usage[c].astype(str).to_numpy() for c in id_cols})
    rows["ts"] = hours.to_numpy()
    rows["gpu_hours"] = y.to_numpy(float)
    return rows, bool((hours == ts.dt.floor("D")).all())


def _series(demand: Demand, observed: np.ndarray, freq: str, gaps: str, partial_days: bool) -> _Prepared:
    """Cut each series of ``demand`` from its first observed period to the last period of the table, on the
    ``freq`` grid, and fill its unobserved periods as ``gaps`` says (with a note)."""
    values, periods = demand.values, demand.ts
    if freq == "D":
        values, observed, periods = _to_days(demand, observed, partial_days)
    n = np.flatnonzero(observed.any(axis=0))[-1] + 1  # the table ends at its last observed period
    values, observed, periods = values[:, :n], observed[:, :n], periods[:n]
    id_cols = list(demand.keys.columns)
    end = periods[-1]
    notes, series, key_rows = [], [], []
    for i, key in enumerate(demand.keys.itertuples(index=False)):
        seen = np.flatnonzero(observed[i])
        if not len(seen):
            continue  # only rows on a dropped partial day
        s = pd.Series(np.where(observed[i, seen[0]:], values[i, seen[0]:], np.nan), index=periods[seen[0]:])
        n_missing = int(s.isna().sum())
        note = ""
        if n_missing:
            inner = int(s.iloc[:seen[-1] - seen[0] + 1].isna().sum())
            if gaps == "raise":
                raise ForecastError(f"Series {dict(zip(id_cols, key))} misses {n_missing} period(s) between "
                                    f"{periods[seen[0]]} and {end}. Pass gaps='zero' (no row = nothing ran) or "
                                    "gaps='interpolate' (data outage).")
            if gaps == "interpolate":
                s = s.interpolate(limit_area="inside").fillna(0.0)
                note = f"{inner} missing period(s) inside the history interpolated"
            else:
                s = s.fillna(0.0)
                note = f"{n_missing} missing period(s) filled with 0 GPU-hours"
            if n_missing - inner:
                note += f"; series ends {n_missing - inner} period(s) before the table (zeros to the end)"
        series.append(s.to_numpy(float))
        key_rows.append(tuple(key))
        notes.append(note)
    keys = pd.DataFrame(key_rows, columns=id_cols)
    return _Prepared(keys=keys, series=series, end=end, step=FREQS[freq], notes=notes)


def _to_days(demand: Demand, observed: np.ndarray, partial_days: bool):
    """Daily sums of the hourly values [GPU-h per day], days with any observed hour, and the days (UTC); with
    hourly rows, a partial first or last day of the table is dropped."""
    first, last = demand.ts[0], demand.ts[-1]
    lead, trail = first.hour, 23 - last.hour
    n_days = (len(demand.ts) + lead + trail) // 24
    day = (np.arange(len(demand.ts)) + lead) // 24  # day of each hour
    # pandas' compensated group sum, hour by hour, as the daily sums of the usage rows have always been taken
    values = pd.DataFrame(demand.values.T).groupby(day).sum().to_numpy().T
    seen = np.pad(observed, ((0, 0), (lead, trail))).reshape(len(observed), n_days, 24).any(axis=2)
    days = pd.date_range(first.floor("D"), periods=n_days, freq="D")
    keep = np.ones(n_days, bool)
    if partial_days:  # hourly input summed to calendar days: drop a partial first or last day of the table
        keep[0] &= lead == 0
        keep[-1] &= trail == 0
    if not keep.any() or not seen[:, keep].any():
        raise ForecastError("The usage table covers less than one whole day; use freq='h'.")
    return values[:, keep], seen[:, keep], days[keep]


def _series_seed(seed: int, key: tuple, extra: int = 0) -> np.random.SeedSequence:
    """Seed of one series: from the run seed and a stable hash of the key (not of its position)."""
    h = zlib.crc32("\x1f".join(map(str, key)).encode())
    return np.random.SeedSequence([int(seed), h, int(extra)])


def _run_one(task):
    y, spec, seed = task
    return forecast_series(y, spec, seed)


# --------------------------------------------------------------------------------------------------------------
# planned runs


PLANNED_COLUMNS = ["start", "duration_hours", "gpus"]


def planned_run_hours(planned_runs: pd.DataFrame, keys: pd.DataFrame, ds: pd.DatetimeIndex,
                      id_cols=SERIES_KEYS) -> tuple[pd.DataFrame, np.ndarray]:
    """GPU-hours of planned runs on the forecast grid.

    Parameters
    ----------
    planned_runs : DataFrame
        One row per run: ``start`` (UTC timestamp), ``duration_hours`` [h], ``gpus`` [GPU] and the series
        keys (``provider, region, instance_type, workload_class``); other columns (team, name) are ignored.
    keys : DataFrame
        Series keys of the forecast.
    ds : DatetimeIndex
        The forecast grid (hours or days).

    Returns
    -------
    keys : DataFrame
        ``keys`` plus any series that only planned runs use, appended.
    extra : ndarray (n_series, len(ds))
        GPU-hours per step added by planned runs [GPU-h].
    """
    need = PLANNED_COLUMNS + list(id_cols)
    missing = [c for c in need if c not in planned_runs.columns]
    if missing:
        raise ForecastError(f"planned_runs lacks column(s) {missing}. Expected {need}, found "
                            f"{list(planned_runs.columns)}.")
    runs = planned_runs.copy()
    runs["start"] = pd.to_datetime(runs["start"], utc=True)
    for c in ("duration_hours", "gpus"):
        v = pd.to_numeric(runs[c], errors="coerce")
        if v.isna().any() or (v < 0).any():
            raise ForecastError(f"planned_runs column '{c}' must be numbers >= 0 (row "
                                f"{int(np.flatnonzero((v.isna() | (v < 0)).to_numpy())[0]) + 1}).")
        runs[c] = v
    keys = keys.copy()
    index = {tuple(r): i for i, r in enumerate(keys[list(id_cols)].astype(str).itertuples(index=False))}
    new = []
    for r in runs[list(id_cols)].astype(str).itertuples(index=False):
        if tuple(r) not in index:
            index[tuple(r)] = len(keys) + len(new)
            new.append(tuple(r))
    if new:
        keys = pd.concat([keys, pd.DataFrame(new, columns=list(id_cols))], ignore_index=True)
    # hourly grid covering ds, then summed to ds's steps
    step = ds[1] - ds[0] if len(ds) > 1 else pd.Timedelta(hours=1)
    hours = pd.date_range(ds[0], ds[-1] + step - pd.Timedelta(hours=1), freq="h")
    per_step = int(step / pd.Timedelta(hours=1))
    extra = np.zeros((len(keys), len(hours)))
    h0 = hours[0]
    for run in runs.itertuples(index=False):
        i = index[tuple(str(getattr(run, c)) for c in id_cols)]
        start_h = (run.start - h0) / pd.Timedelta(hours=1)
        end_h = start_h + float(run.duration_hours)
        lo, hi = int(np.floor(max(start_h, 0))), int(np.ceil(min(end_h, len(hours))))
        if hi <= lo:
            continue
        idx = np.arange(lo, hi)
        # fractional first/last hour
        overlap = np.minimum(idx + 1, end_h) - np.maximum(idx, start_h)
        extra[i, idx] += float(run.gpus) * np.clip(overlap, 0, 1)
    extra = extra.reshape(len(keys), len(ds), per_step).sum(axis=2)
    return keys, extra


# --------------------------------------------------------------------------------------------------------------
# results


def _level_columns(name: str, level) -> list[str]:
    cols = [name]
    for lv in sorted(level):
        cols += [f"{name}-lo-{lv:g}", f"{name}-hi-{lv:g}"]
    return cols + [f"{name}-median"]


class _Stack:
    """Stack the per-series sample paths into one (series, paths, steps) array as each series' result arrives
    (``run_tasks(..., collect=stack)``), freeing the series' own array at once: the paths of 17 hourly series
    over three years are ~190 MB in float32, and the results held together beside their stack doubled that.
    Paths stay float32, the precision they are computed in (7 significant digits of GPU-h); others float64."""

    ATTRS = ("paths", "baseline_paths")

    def __init__(self, n_series: int):
        self.n = n_series
        self.out: dict = {}

    def __call__(self, i: int, result):
        for attr in self.ATTRS:
            a = getattr(result, attr)
            if a is None:
                continue
            if attr not in self.out:
                dtype = np.float32 if a.dtype == np.float32 else float
                self.out[attr] = np.empty((self.n,) + a.shape, dtype=dtype)
            self.out[attr][i] = a
            setattr(result, attr, None)
        return result


def _quantiles(paths: np.ndarray, probs) -> np.ndarray:
    """Quantiles over the path axis, one series at a time (bounded temporary memory): (Q, S, H)."""
    q = np.empty((len(probs), paths.shape[0], paths.shape[2]))
    for i in range(paths.shape[0]):
        q[:, i, :] = np.quantile(paths[i], probs, axis=0)
    return q


def _forecast_frame(keys, ds, mean, paths, name, level) -> pd.DataFrame:
    S, P, H = paths.shape
    out = keys.loc[keys.index.repeat(H)].reset_index(drop=True)
    out["ds"] = np.tile(ds.to_numpy(), S)
    out[name] = mean.reshape(-1)
    probs = level_quantiles(level)
    q = _quantiles(paths, probs)  # (Q, S, H)
    qd = dict(zip(probs, q))
    for lv in sorted(level):
        lo, hi = round(0.5 - lv / 200, 6), round(0.5 + lv / 200, 6)
        out[f"{name}-lo-{lv:g}"] = qd[lo].reshape(-1)
        out[f"{name}-hi-{lv:g}"] = qd[hi].reshape(-1)
    out[f"{name}-median"] = qd[0.5].reshape(-1)
    return out


@dataclass(frozen=True)
class ForecastResult:
    """Output of :func:`forecast`.

    Attributes
    ----------
    keys : DataFrame
        One row per series (``SERIES_KEYS``), aligned with the first axis of ``paths``.
    ds : DatetimeIndex
        The forecast steps (UTC), aligned with the last axis of ``paths``.
    paths : ndarray (n_series, n_paths, n_steps)
        Sample paths of demand [GPU-h per step], >= 0, planned runs included.
    forecasts : DataFrame
        statsforecast-shaped: keys + ``ds`` + ``<model>`` (point forecast) + ``<model>-lo-<level>`` /
        ``<model>-hi-<level>`` + ``<model>-median`` [GPU-h per step]; quantiles are taken from ``paths``.
    selection : DataFrame
        One row per series x component: the model used, the backtest MASE of each candidate (``mase_<name>``),
        the selection backtest run (``cv_windows`` windows of ``cv_h`` model steps; 0 when no model was selected
        by backtest), ``interval_scale``, ``fallback`` and a ``note`` explaining any fallback.
    model : str
        Name of the model column in ``forecasts``.
    level : tuple
        Interval levels [%].
    freq : str
        "h" or "D".
    mean : ndarray (n_series, n_steps)
        Point forecasts [GPU-h per step].
    baseline_paths, baseline_mean : ndarray or None
        The baseline (persistent floor, what a commitment can cover fully) forecast, <= ``paths`` path by path
        [GPU-h per step]; None with ``components="total"``. Planned runs are burst and are not in it.
    """

    keys: pd.DataFrame
    ds: pd.DatetimeIndex
    paths: np.ndarray
    selection: pd.DataFrame
    model: str
    level: tuple
    freq: str
    mean: np.ndarray = field(repr=False, default=None)
    baseline_paths: np.ndarray | None = field(repr=False, default=None)
    baseline_mean: np.ndarray | None = field(repr=False, default=None)
    _frame: list = field(repr=False, default_factory=list, compare=False)

    @property
    def forecasts(self) -> pd.DataFrame:
        """The statsforecast-shaped frame (see the class docstring), computed from the paths on first access
        and kept: the quantiles of every path and step cost more than the forecast itself on long horizons,
        and the optimizer and charts read the paths."""
        if not self._frame:
            self._frame.append(_forecast_frame(self.keys, self.ds, self.mean, self.paths, self.model, self.level))
        return self._frame[0]

    def pools(self, pool_cols=POOL_KEYS) -> "ForecastResult":
        """Bottom-up reconciliation: pool totals as sums of their classes' paths and point forecasts.

        Every pool path is the sum of its classes' paths, so classes never exceed the pool, path by path and
        for every quantile.
        """
        grp = self.keys.groupby(list(pool_cols), sort=True).indices
        pkeys = pd.DataFrame(list(grp.keys()), columns=list(pool_cols))
        paths = np.stack([self.paths[idx].sum(axis=0) for idx in grp.values()])
        mean = np.stack([self.mean[idx].sum(axis=0) for idx in grp.values()])
        bp = bm = None
        if self.baseline_paths is not None:
            bp = np.stack([self.baseline_paths[idx].sum(axis=0) for idx in grp.values()])
            bm = np.stack([self.baseline_mean[idx].sum(axis=0) for idx in grp.values()])
        sel = pd.DataFrame({c: pkeys[c] for c in pool_cols})
        sel["model"] = "bottom_up"
        return ForecastResult(keys=pkeys, ds=self.ds, paths=paths, selection=sel,
                              model=self.model, level=self.level, freq=self.freq, mean=mean, baseline_paths=bp,
                              baseline_mean=bm)


def _selection_frame(keys, results, gap_notes) -> pd.DataFrame:
    rows = []
    for i, res in enumerate(results):
        for rec in res.selection:
            row = {c: keys.iloc[i][c] for c in keys.columns}
            row.update(component=rec["component"], model=rec["model"], interval_scale=rec["interval_scale"],
                       fallback=bool(rec["fallback"]), cv_windows=int(rec.get("cv_windows", 0)),
                       cv_h=int(rec.get("cv_h", 0)),
                       note="; ".join(n for n in (rec["note"], gap_notes[i]) if n))
            for cand, score in rec["scores"].items():
                row[f"mase_{cand}"] = score
            rows.append(row)
    return pd.DataFrame(rows)


def _fixed_models(selection: pd.DataFrame | None, id_cols: list) -> dict:
    """Series key (as str) -> ``((component, model, interval_scale), ...)`` from a forecast's selection frame."""
    if selection is None or len(selection) == 0:
        return {}
    need = id_cols + ["component", "model", "interval_scale"]
    missing = [c for c in need if c not in selection.columns]
    if missing:
        raise ForecastError(f"reuse_selection lacks column(s) {missing}: pass the .selection of an earlier "
                            f"forecast() of the same series (expected {need}).")
    out: dict = {}
    for r in selection[need].itertuples(index=False):
        key = tuple(str(getattr(r, c)) for c in id_cols)
        out.setdefault(key, ())
        out[key] += ((str(r.component), str(r.model), float(r.interval_scale)),)
    return out


def _warn_fallbacks(selection: pd.DataFrame, id_cols) -> None:
    fb = selection[selection["fallback"]]
    if len(fb):
        first = fb.iloc[0]
        warnings.warn(
            f"{len(fb)} series component(s) used a simpler model than asked, e.g. "
            f"{dict((c, first[c]) for c in id_cols)} {first['component']}: {first['note']}. "
            "See ForecastResult.selection.", ForecastWarning, stacklevel=3)


def _spec(horizon, freq, models, resolution, components, n_paths, window_hours, quantile, analog_weeks,
          cv_h, cv_windows, calibrate, model_kwargs, cv_step=1) -> SeriesSpec:
    return SeriesSpec(models=models, horizon=horizon, freq=freq, resolution=resolution, components=components,
                      n_paths=int(n_paths), window_hours=int(window_hours), quantile=float(quantile),
                      analog_weeks=int(analog_weeks), cv_h=int(cv_h), cv_windows=int(cv_windows), cv_step=int(cv_step),
                      calibrate=bool(calibrate), model_kwargs=dict(model_kwargs or {}))


#: the Parameters section of :func:`forecast`'s docstring (numpydoc; :func:`cross_validate` takes the same), kept
#: beside the function so that its body reads as its steps
_FORECAST_PARAMETERS = """\
    usage : DataFrame or Demand
        Usage table (``ts``, series keys, ``team``, ``gpu_hours`` [GPU-h]); summed over teams and any other
        column through :func:`~finops_forecast.usage.demand.hourly_demand`. Hourly or daily rows. Or that
        :class:`~finops_forecast.usage.demand.Demand` itself: every hour of it is known (no gaps), and a series
        starts at its first hour with demand.
    horizon : int
        Steps to forecast: hours for ``freq="h"`` (2208 = a 92-day quarter; 26280 = 36 months), days for
        ``freq="D"``.
    freq : {"h", "D"}
        Output grid. ``"D"`` sums the input to calendar days (a partial first or last day is dropped).
    models : str or list of str
        A model name (``seasonal_naive, naive, ets, theta, sarimax, prophet, recovery, level_bursts``),
        ``"auto"`` (per-series backtest selection among ``seasonal_naive, ets, theta, level_bursts``), or a list
        of candidates to select from.
    level : tuple of float
        Central interval levels [%]; 90 gives the 5% and 95% quantiles, 80 the 10% and 90%.
    n_paths : int
        Sample paths per series. Quantiles in ``forecasts`` are computed from these paths.
    seed : int
        Seed; each series' randomness derives from it and the series key, so results are the same on every
        engine and whatever other series are in the table.
    engine : {"local", "dask"}
        Where the per-series work runs.
    address : str, dask.distributed.Client or None
        Dask scheduler; None starts a LocalCluster of ``n_workers`` processes for the call.
    planned_runs : DataFrame or None
        Known future runs (``start``, ``duration_hours`` [h], ``gpus`` [GPU] + series keys); their GPU-hours
        are added to every path (unplanned bursts stay stochastic). A run on a series with no history adds that
        series.
    components : {"hybrid", "split", "total"}
        "hybrid" (default): forecast the total and the baseline (persistent floor) separately, burst = total -
        baseline; "split": forecast baseline and burst separately and add them; "total": the total only.
        ``.baseline_paths`` holds the baseline for "hybrid" and "split".
    resolution : {"daily", "hourly"}
        For ``freq="h"``: model daily totals and give them an hourly shape from analog days (default, fast), or
        model the hours directly.
    gaps : {"zero", "interpolate", "raise"}
        Missing periods in a series: 0 GPU-hours (no row means nothing ran; default), linear interpolation
        inside the history (a data outage), or an error.
    window_hours, quantile :
        Baseline/burst decomposition: trailing window [h] and floor quantile.
    analog_weeks : int
        Weeks of history the hourly shapes are drawn from.
    cv_h, cv_windows, cv_step, calibrate :
        Per-series selection backtest: horizon [model steps: days unless resolution="hourly"], windows, steps
        between windows, and interval calibration on its errors. For a forecast of months or years, compare
        the models over the span that matters (a commitment plan: :data:`PLAN_SELECTION`, 91 days 30 apart):
        over a week, a model that carries today's burst forward scores well and then reads it as a level for
        years.
    model_kwargs : dict or None
        Constructor arguments per model name.
    progress : bool or None
        Rich progress bar; None shows it for 50 series or more.
    reuse_selection : DataFrame, optional
        The ``selection`` of an earlier forecast of the same series: each series component is fit with the model
        chosen there (its parameters refit on this history, its interval scale reused) instead of running the
        selection backtest again, about 13 times less work per series with ``models="auto"``. Series or
        components it does not name are fit as ``models`` says. Used by rolling backtests, which select once and
        refit at later origins.
"""


def _doc(parameters: str):
    """Put ``parameters`` (numpydoc text, indented) where the docstring has the line ``%(parameters)s``."""
    def decorate(fn):
        fn.__doc__ = fn.__doc__.replace("    %(parameters)s\n", parameters)
        return fn
    return decorate


@_doc(_FORECAST_PARAMETERS)
def forecast(usage: pd.DataFrame | Demand, horizon: int, *, freq: str = "h", models="auto", level=(80, 90, 95),
             n_paths: int = 200, seed: int = 0, engine: str = "local", address=None, n_workers: int = 2,
             planned_runs: pd.DataFrame | None = None, components: str = "hybrid", resolution: str = "daily",
             gaps: str = "zero", window_hours: int = 168, quantile: float = 0.05, analog_weeks: int = 8,
             cv_h: int = 7, cv_windows: int = 4, cv_step: int = 1, calibrate: bool = True,
             model_kwargs: dict | None = None, progress: bool | None = None, id_cols=SERIES_KEYS, time_col: str = "ts",
             target_col: str = "gpu_hours", reuse_selection: pd.DataFrame | None = None) -> ForecastResult:
    """Forecast GPU demand per series (pool x workload class) with sample paths.

    Parameters
    ----------
    %(parameters)s

    Returns
    -------
    ForecastResult

    Raises
    ------
    ForecastError
        Bad horizon, unknown model/engine/option (listing valid ones), missing columns, negative or missing
        GPU-hours.

    Warns
    -----
    ForecastWarning
        When a series was too short (or constant) for the requested model and a simpler one was used; the
        choice and reason are in ``.selection``.
    """
    horizon, freq, models, level = _check_options(horizon, freq, models, level, engine, resolution, components,
                                                  gaps, n_paths)
    prep = _prepare(usage, freq, id_cols, time_col, target_col, gaps)
    spec = _spec(horizon, freq, models, resolution, components, n_paths, window_hours, quantile, analog_weeks,
                 cv_h, cv_windows, calibrate, model_kwargs, cv_step)
    fixed = _fixed_models(reuse_selection, list(id_cols))
    tasks = [(y, replace(spec, fixed=fixed.get(tuple(map(str, k)), ())) if fixed else spec,
              _series_seed(seed, tuple(k)))
             for y, k in zip(prep.series, prep.keys.itertuples(index=False))]
    stack = _Stack(len(tasks))
    results = run_tasks(_run_one, tasks, engine=engine, address=address, n_workers=n_workers,
                        progress=progress, description=f"forecast {len(tasks)} series", collect=stack)
    ds = pd.date_range(prep.end + prep.step, periods=horizon, freq=prep.step)
    arrays = _stack_results(results, stack)
    keys = prep.keys
    selection = _selection_frame(keys, results, prep.notes)
    if planned_runs is not None and len(planned_runs):
        keys, selection, arrays = _add_planned_runs(planned_runs, keys, selection, arrays, ds, id_cols)
    paths, mean, base_paths, base_mean = arrays
    name = models[0] if len(models) == 1 else "auto"
    _warn_fallbacks(selection, list(id_cols))
    return ForecastResult(keys=keys, ds=ds, paths=paths, selection=selection, model=name,
                          level=level, freq=freq, mean=mean, baseline_paths=base_paths, baseline_mean=base_mean)


def _check_options(horizon, freq, models, level, engine, resolution, components, gaps, n_paths):
    """The horizon, freq, models and levels of :func:`forecast`, checked; an unknown option lists the valid ones."""
    horizon = _check_horizon(horizon)
    freq = _choice("freq", freq, FREQS)
    models = _check_models(models)
    _choice("engine", engine, ENGINES)
    _choice("resolution", resolution, RESOLUTIONS)
    _choice("components", components, COMPONENTS)
    _choice("gaps", gaps, GAPS)
    if int(n_paths) < 1:
        raise ForecastError(f"n_paths must be >= 1, got {n_paths}.")
    level = tuple(level)
    level_quantiles(level)
    return horizon, freq, models, level


def _stack_results(results, stack: _Stack) -> tuple:
    """``(paths, mean, baseline_paths, baseline_mean)`` of the per-series results, stacked (series first; the
    paths by ``stack`` as they came); the baseline ones are None when the forecast has no baseline component."""
    mean = np.stack([r.mean for r in results])
    has_base = results[0].baseline_mean is not None
    base_mean = np.stack([r.baseline_mean for r in results]) if has_base else None
    return stack.out["paths"], mean, stack.out.get("baseline_paths"), base_mean


def _add_planned_runs(planned_runs, keys, selection, arrays, ds, id_cols) -> tuple:
    """Add the planned runs' GPU-hours to every path and to the mean; a run on a series without history adds that
    series (zero forecast, selection model ``planned_runs``). Returns the keys, selection and arrays."""
    paths, mean, base_paths, base_mean = arrays
    horizon = len(ds)
    keys, extra = planned_run_hours(planned_runs, keys, ds, id_cols)
    n_new = len(keys) - len(paths)
    if n_new:
        paths = np.concatenate([paths, np.zeros((n_new,) + paths.shape[1:], dtype=paths.dtype)])
        mean = np.concatenate([mean, np.zeros((n_new, horizon))])
        if base_paths is not None:
            base_paths = np.concatenate([base_paths, np.zeros((n_new,) + base_paths.shape[1:],
                                                              dtype=base_paths.dtype)])
            base_mean = np.concatenate([base_mean, np.zeros((n_new, horizon))])
        new_sel = keys.iloc[len(keys) - n_new:].copy()
        new_sel["component"], new_sel["model"], new_sel["fallback"] = "planned", "planned_runs", False
        new_sel["note"] = "no history: planned runs only"
        selection = pd.concat([selection, new_sel], ignore_index=True)
    paths += extra[:, None, :]  # in place: the paths are this call's own array (no second copy)
    mean = mean + extra
    return keys, selection, (paths, mean, base_paths, base_mean)


# --------------------------------------------------------------------------------------------------------------
# backtests


@dataclass(frozen=True)
class Backtest:
    """Output of :func:`cross_validate`.

    Attributes
    ----------
    cv : DataFrame
        statsforecast-shaped: keys + ``ds`` + ``cutoff`` + ``y`` + per model ``<model>``, ``<model>-lo-<level>``,
        ``<model>-hi-<level>`` [GPU-h per step].
    scores : DataFrame
        One row per series x model: ``mase`` (MAE over the in-sample seasonal-naive MAE of each window's
        training data, averaged over windows), ``rel_mae`` (MAE relative to seasonal naive on the same windows,
        when seasonal naive is among the models), ``smape`` [%], ``pinball`` (mean over the quantiles of
        ``level`` and the median [GPU-h per step]), ``coverage_<level>`` (share of actuals inside the interval).
    selection : DataFrame
        Models chosen by ``auto`` (or a list of candidates) at each cutoff.
    """

    cv: pd.DataFrame
    scores: pd.DataFrame
    selection: pd.DataFrame


def _run_cv(task):
    y, cut, spec, seed, m = task
    res = forecast_series(y[:cut], spec, seed)
    return res


def cross_validate(usage: pd.DataFrame | Demand, horizon: int, *, freq: str = "D",
                   models=("seasonal_naive", "ets", "theta", "auto"), n_windows: int = 8, step: int = 1,
                   level=(80, 95), n_paths: int = 1000, seed: int = 0, engine: str = "local", address=None,
                   n_workers: int = 2, components: str = "total", resolution: str = "daily", gaps: str = "zero",
                   cv_h: int = 7, cv_windows: int = 4, cv_step: int = 1, calibrate: bool = True,
                   model_kwargs: dict | None = None, progress: bool | None = None, id_cols=SERIES_KEYS, time_col: str = "ts",
                   target_col: str = "gpu_hours") -> Backtest:
    """Rolling-origin backtest of each model, scored against seasonal naive.

    The last ``n_windows`` cutoffs, ``step`` steps apart, each forecast ``horizon`` steps from the history up to
    the cutoff only. ``"auto"`` runs its own selection backtest inside each window's training data, so the score
    of the selected model is out-of-sample (nested).

    Parameters are those of :func:`forecast`; ``models`` is a list of model names, each scored separately
    (``"auto"`` is one entry). Defaults backtest daily totals at ``components="total"``.

    Returns
    -------
    Backtest
    """
    horizon = _check_horizon(horizon)
    freq = _choice("freq", freq, FREQS)
    if isinstance(models, str):
        models = (models,)
    for mname in models:
        _check_models(mname)
    _choice("engine", engine, ENGINES)
    if n_windows < 1 or step < 1:
        raise ForecastError(f"n_windows and step must be >= 1, got {n_windows} and {step}.")
    level = tuple(level)
    prep = _prepare(usage, freq, id_cols, time_col, target_col, gaps)
    m = 7 if freq == "D" else 168

    def spec(mname):
        return _spec(horizon, freq, (mname,), resolution, components, n_paths, 168, 0.05, 8, cv_h, cv_windows,
                     calibrate, model_kwargs, cv_step)

    tasks, meta = _cv_tasks(prep, horizon, n_windows, step, models, spec, seed, m, id_cols)
    results = run_tasks(_run_cv, tasks, engine=engine, address=address, n_workers=n_workers,
                        progress=progress, description=f"backtest {len(tasks)} fits")
    frames, sel_rows, win_rows = _cv_windows(prep, meta, results, horizon, level, m, id_cols)
    cv = pd.concat([pd.DataFrame(f) for f in frames.values()], ignore_index=True)
    scores = _cv_scores(pd.DataFrame(win_rows), prep.keys, models, level)
    return Backtest(cv=cv, scores=scores, selection=pd.DataFrame(sel_rows))


def _cv_tasks(prep: _Prepared, horizon: int, n_windows: int, step: int, models, spec, seed: int, m: int,
              id_cols) -> tuple[list, list]:
    """One fit per series x cutoff x model (the last ``n_windows`` cutoffs, ``step`` apart), and its
    ``(series, cutoff, model)``; a series too short for the windows is an error."""
    tasks, meta = [], []
    for i, (y, k) in enumerate(zip(prep.series, prep.keys.itertuples(index=False))):
        n = len(y)
        cuts = [n - horizon - w * step for w in range(n_windows)][::-1]
        if cuts[0] < 2:
            raise ForecastError(f"Series {dict(zip(id_cols, k))} has {n} steps: too short for {n_windows} windows "
                                f"of {horizon} steps {step} apart. Use fewer windows or a shorter horizon.")
        for cut in cuts:
            for mname in models:
                tasks.append((y, cut, spec(mname), _series_seed(seed, tuple(k), cut), m))
                meta.append((i, cut, mname))
    return tasks, meta


def _cv_windows(prep: _Prepared, meta, results, horizon: int, level, m: int, id_cols) -> tuple[dict, list, list]:
    """Per series x cutoff, the statsforecast-shaped columns (actuals, each model's mean and interval); the
    models selected in each window; and each window's scores."""
    probs = level_quantiles(level)
    frames, sel_rows, win_rows = {}, [], []
    for (i, cut, mname), res in zip(meta, results):
        y = prep.series[i]
        actual = y[cut:cut + horizon]
        q = np.quantile(res.paths, probs, axis=0)
        key = (i, cut)
        if key not in frames:
            start = prep.end - (len(y) - 1 - cut) * prep.step
            fr = {c: prep.keys.iloc[i][c] for c in id_cols}
            frames[key] = dict(fr, ds=pd.date_range(start, periods=horizon, freq=prep.step),
                               cutoff=start - prep.step, y=actual)
        f = frames[key]
        f[mname] = res.mean
        for lv in sorted(level):
            f[f"{mname}-lo-{lv:g}"] = q[probs.index(round(0.5 - lv / 200, 6))]
            f[f"{mname}-hi-{lv:g}"] = q[probs.index(round(0.5 + lv / 200, 6))]
        win = score_windows(actual, res.mean, dict(zip(probs, q)), y[:cut], m, level)
        win_rows.append(dict(series=i, cutoff=cut, model=mname, **win))
        for rec in res.selection:
            sel_rows.append({**{c: prep.keys.iloc[i][c] for c in id_cols}, "cutoff": f["cutoff"],
                             "model_asked": mname, "component": rec["component"], "model": rec["model"],
                             "interval_scale": rec["interval_scale"], "fallback": rec["fallback"],
                             "note": rec["note"]})
    return frames, sel_rows, win_rows


def _cv_scores(wins: pd.DataFrame, keys: pd.DataFrame, models, level) -> pd.DataFrame:
    """Window scores averaged per series x model, with ``rel_mae`` against seasonal naive when it was run."""
    agg = {"mase": "mean", "smape": "mean", "pinball": "mean", "mae": "mean"}
    agg.update({f"coverage_{lv:g}": "mean" for lv in level})
    scores = wins.groupby(["series", "model"], sort=False).agg(agg).reset_index()
    if "seasonal_naive" in models:
        ref = wins[wins["model"] == "seasonal_naive"].groupby("series")["mae"].mean()
        scores["rel_mae"] = scores["mae"] / scores["series"].map(ref).replace(0, np.nan)
    keys = keys.reset_index(drop=True)
    return pd.concat([keys.loc[scores["series"]].reset_index(drop=True), scores.drop(columns="series")], axis=1)
