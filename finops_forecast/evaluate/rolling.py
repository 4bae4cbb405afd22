"""Rolling backtest of purchasing policies against realized demand.

At each decision time ``t`` (every ``decision_every`` hours after a warm-up) every policy sees only the demand
before ``t`` (the hindsight policy, the physical limit, also sees the window after it), and buys commitments with
:func:`finops_forecast.portfolio.policies.decide`. Each purchase is held for ``term`` hours from ``t``: purchases
made at different times overlap and expire as their terms say. The realized demand is then billed hour by hour
with the shared billing engine :func:`finops_forecast.portfolio.billing.bill`, under the quantities each policy
held in that hour.

Simulation setting (not a product feature): the real traces are months long, shorter than any catalog term, so
``term`` may be set shorter than the catalog's (e.g. 7 days) while the rate stays the catalog's ``rate_term_months``
(12-month) rate. Commitments are then "1-year prices for a week".

Decision horizon: a policy decides for the hours its purchase will live through, ``[t, t + term)`` cut at the end
of the trace; purchases made earlier and still held count pro rata over that horizon. With ``term ==
decision_every`` (the default) every window is independent and the hindsight policy is the exact optimum of each
window (no policy can bill less, tested); with overlapping terms each decision is optimal for its own horizon but
the sequence is not a global optimum.

The forecast policy's rule (decision-focused selection): at each decision it replays its candidate rules
(``forecast_candidates``: the forecast's sample paths and the lookback rule by default) at the earlier daily
origins whose holding windows ended by the decision, bills each candidate's purchase on the realized demand of its
window with the same engine, and keeps ``select_default`` (the first candidate: the forecast, calibrated, since
issue 20; before it, the lookback rule) unless a candidate billed less in total and a one-sided paired t-test of the per-origin cost differences (sample size =
non-overlapping windows) rejects "not cheaper" at ``select_alpha``. Only demand before the decision is used
(tested). ``forecast_candidates=("forecast",)`` is the forecast alone.

Metrics per policy and window: cost, all-on-demand cost, savings = on-demand cost - cost, effective savings rate =
savings / on-demand cost, commitment utilization = used / committed [USD], coverage = covered / demand [GPU-h],
savings capture = savings / hindsight savings over the same windows. Where spot is allowed the savings include
spot's, which every policy gets (even ``on_demand``); ``commitment_savings_usd`` and ``commitment_capture`` count
only what commitments saved over running the same demand with no commitment.
"""
from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from finops_forecast.constants import POOL_KEYS, SERIES_KEYS
from finops_forecast.errors import FinopsError, unknown_name
from finops_forecast.portfolio.policies import POLICIES  # the registry's names, in report order

__all__ = [
    "POLICIES",
    "BacktestResult",
    "BacktestSettings",
    "EvaluateError",
    "backtest",
    "demand_matrix",
    "parse_hours",
]



class EvaluateError(FinopsError):
    """Bad input to a backtest (durations, policies, too little history, unpriced pools)."""


def parse_hours(value, name: str = "duration") -> int:
    """A duration as whole hours.

    Parameters
    ----------
    value : str, int or pandas.Timedelta
        ``"7D"``, ``"36h"``, ``"2W"`` or a number of hours.
    name : str
        Parameter name, for the error message.

    Returns
    -------
    int
        Hours [h], >= 1.
    """
    if isinstance(value, bool):
        raise EvaluateError(f"{name} must be a duration such as '7D' or '36h', got {value!r}.")
    if isinstance(value, (int, np.integer)):
        hours = float(value)
    else:
        try:
            td = pd.Timedelta(str(value).strip())
        except (ValueError, TypeError):
            raise EvaluateError(f"{name} must be a duration such as '7D', '36h' or '2W', got {value!r}.") from None
        hours = td / pd.Timedelta(hours=1)
    if not math.isfinite(hours) or hours < 1 or hours != int(hours):
        raise EvaluateError(f"{name} must be a whole number of hours >= 1 (e.g. '7D' or '36h'), got {value!r}.")
    return int(hours)


@dataclass(frozen=True)
class BacktestSettings:
    """Settings of a rolling backtest (validated once).

    Parameters
    ----------
    policies : tuple of str
        Policies to simulate (``hindsight`` is always simulated: savings capture needs it).
    decision_every : int
        Hours between decisions [h] (the window length).
    term : int
        Hours a purchase is held [h] (simulation setting; the rate stays the ``rate_term_months`` rate).
    lookback : int
        History the ``lookback`` policy optimizes on [h].
    stable : int
        History of the ``stable`` policy's minimum-usage rule [h].
    warmup : int
        Hours of history before the first decision [h] (at least ``lookback``).
    rate_term_months : int
        Catalog term whose rates are used [months].
    payment_option : str
        Catalog payment option of the commitments.
    families : tuple of str or None
        Commitment families offered (None: all the catalog prices for the pools).
    spot_cap : float
        Largest share of a pool's hourly demand on spot, in [0, 1] (spot classes only).
    spot_classes : tuple of str
        Workload classes allowed on spot (never inference by default).
    risk_lambda : float
        CVaR weight of the forecast policy's model (>= 0).
    n_paths : int
        Forecast sample paths per series.
    models : str
        Forecast model(s) of the ``"forecast"`` candidate (``finops_forecast.forecast.forecast(models=...)``);
        default ``"recovery"``, the cluster model (docs/backtest.md, issue 20; the quarterly report's track
        record passes its own ``forecast_model``).
    seed : int
        Forecast seed (each window adds its index).
    forecast_candidates : tuple of str
        Decision rules the forecast policy chooses among at each decision time, by the cost each would have
        billed on the windows completed before it (decision-focused selection, see the module docstring):
        ``"forecast"`` (sample paths of ``models``), ``"lookback"`` (the lookback rule's exact model on the
        last ``lookback`` hours) or a forecast model name (``"ets"``, ``"seasonal_naive"``, ...).
        ``("forecast",)``: no selection, the forecast alone (the policy before the selection was added).
    select_default : str or None
        The candidate that decides until another one has proven lower costs (one of ``forecast_candidates``);
        None: the first candidate (``"forecast"`` by default: since issue 20 the calibrated forecast alone
        captures at least the lookback rule's savings on the real and trend traces, docs/backtest.md; pass
        ``"lookback"`` for the rule that needs no model until a model proves cheaper).
    select_alpha : float or None
        A challenger replaces ``select_default`` when its total cost over the scored origins is lower and a
        one-sided paired t-test of the per-origin cost differences rejects "not cheaper" at this level, with
        the sample size counted as the number of non-overlapping windows (origins x ``select_every`` /
        ``term``). None: the lowest total cost decides, with no test.
    select_every : int
        Hours between the earlier decision origins the candidates are scored on [h] (a day by default).
    select_min_history : int
        History an origin needs before it is scored [h] (one week: the forecast's weekly season).
    select_max_history : int or None
        Only origins within this many hours before the decision are scored [h] (90 days by default): bounds the
        work per decision on long histories (each origin costs a forecast and a solve) and lets the choice
        follow a fleet that changes. None: every origin since ``select_min_history``.
    max_windows : int or None
        Simulate only the first windows (for quick runs); None: every full window.
    reselect_every : int or None
        Hours between two per-series model selections of the forecast [h]. None (default): the ``"auto"``
        selection backtest runs at every decision. Else a decision less than this many hours after the last
        selection (made from the history before it, so there is no look-ahead) refits the models chosen then on
        its own history and reuses their interval scales: the paths' levels and widths still follow the new
        history, at about a thirteenth of the work (the quarterly report's track record selects once).
    calibration : {"spread", None}
        Decision calibration of the forecast candidates' paths (:class:`_Selector`, docs/backtest.md).
        ``"spread"`` (default): the paths' spread around their hourly median is scaled by the factor of
        ``calibration_grid`` that would have billed least over the earlier completed windows, with the same
        engine, chosen every ``term`` hours on the non-overlapping windows before (``_Selector.scale``). None:
        the paths as forecast.
    calibration_grid : tuple of float
        Spread scales tried (0: every path is the median path; 1: the paths as forecast) [-].
    calibration_penalty : float
        Smoothness of the calibration: moving the scale by 1 from the previous origin's scale must save more than
        this share of the previous scale's cost over the scored windows (>= 0) [-].
    price_outlook : str
        Prices over the backtest (:mod:`finops_forecast.pricing.outlook`, docs/backtest.md): ``"flat"``
        (default, the catalog's prices every hour), ``"history"`` (the expected path of the fitted price history,
        from the month of the first decision; ``"history:hazard=H,cut=C"`` with the user's monthly hazard and / or
        cut size, :func:`~finops_forecast.pricing.outlook.parse_outlook`) or the path of an outlook CSV (its deterministic path). Each window
        decides at its horizon's mean on-demand and spot prices with new commitments at the decision hour's
        price; the realized demand is billed at every hour's prices, each purchase paying the price it locked.
    """

    policies: tuple = POLICIES
    decision_every: int = 168
    term: int = 168
    lookback: int = 336
    stable: int = 720
    warmup: int = 336
    rate_term_months: int = 12
    payment_option: str = "no_upfront"
    families: tuple | None = None
    spot_cap: float = 0.5
    spot_classes: tuple = ("training", "experimentation")
    risk_lambda: float = 0.0
    n_paths: int = 100
    models: str = "recovery"
    seed: int = 0
    forecast_candidates: tuple = ("forecast", "lookback")
    select_default: str | None = None
    select_alpha: float | None = 0.05
    select_every: int = 24
    select_min_history: int = 168
    select_max_history: int | None = 2160
    max_windows: int | None = None
    reselect_every: int | None = None
    calibration: str | None = "spread"
    calibration_grid: tuple = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
    calibration_penalty: float = 0.002
    price_outlook: str = "flat"

    def __post_init__(self):
        pol = tuple(self.policies)
        if not pol:
            raise EvaluateError("policies is empty: pass e.g. 'forecast,lookback,hindsight'.")
        for p in pol:
            if p not in POLICIES:
                raise unknown_name("policy", p, POLICIES)
        object.__setattr__(self, "policies", pol)
        cands = (self.forecast_candidates,) if isinstance(self.forecast_candidates, str) else \
            tuple(self.forecast_candidates)
        if not cands:
            raise EvaluateError("forecast_candidates is empty: pass e.g. ('forecast', 'lookback'), or "
                                "('forecast',) for the forecast alone.")
        for c in cands:
            if c not in _candidate_names():
                raise unknown_name("forecast candidate", c, _candidate_names())
        object.__setattr__(self, "forecast_candidates", cands)
        if self.select_default is None:
            object.__setattr__(self, "select_default", cands[0])
        if len(cands) > 1 and self.select_default not in cands:
            raise EvaluateError(f"select_default must be one of forecast_candidates {list(cands)}, got "
                                f"{self.select_default!r}.")
        if self.select_alpha is not None and not 0.0 < float(self.select_alpha) < 1.0:
            raise EvaluateError(f"select_alpha must be in (0, 1) (a test level such as 0.05) or None, got "
                                f"{self.select_alpha!r}.")
        for n in ("decision_every", "term", "lookback", "stable", "warmup", "select_every",
                  "select_min_history"):
            object.__setattr__(self, n, parse_hours(getattr(self, n), n))
        if self.warmup < self.lookback:
            object.__setattr__(self, "warmup", self.lookback)
        if not 0.0 <= float(self.spot_cap) <= 1.0:
            raise EvaluateError(f"spot_cap must be in [0, 1] (a share of a pool's demand), got {self.spot_cap}.")
        if not (math.isfinite(float(self.risk_lambda)) and self.risk_lambda >= 0):
            raise EvaluateError(f"risk_lambda must be a finite number >= 0, got {self.risk_lambda}.")
        if int(self.n_paths) < 1:
            raise EvaluateError(f"n_paths must be >= 1, got {self.n_paths}.")
        if self.select_max_history is not None:
            object.__setattr__(self, "select_max_history", parse_hours(self.select_max_history,
                                                                       "select_max_history"))
            if self.select_max_history < self.term:
                raise EvaluateError(f"select_max_history must be at least the term ({self.term} h) so that one "
                                    f"window can be scored, got {self.select_max_history} h.")
        if self.reselect_every is not None:
            object.__setattr__(self, "reselect_every", parse_hours(self.reselect_every, "reselect_every"))
        if self.calibration not in (None, "spread"):
            raise unknown_name("calibration", self.calibration, ("spread",))
        grid = tuple(float(k) for k in self.calibration_grid)
        if not grid or any(not math.isfinite(k) or k < 0 for k in grid):
            raise EvaluateError(f"calibration_grid must hold spread scales >= 0 such as (0.5, 1.0), got "
                                f"{self.calibration_grid!r}.")
        object.__setattr__(self, "calibration_grid", tuple(sorted(set(grid))))
        if not self.calibration_penalty >= 0:
            raise EvaluateError(f"calibration_penalty must be >= 0 (0: no smoothing), got "
                                f"{self.calibration_penalty!r}.")
        from finops_forecast.pricing.outlook import check_outlook
        object.__setattr__(self, "price_outlook", check_outlook(self.price_outlook))
        if self.max_windows is not None and int(self.max_windows) < 1:
            raise EvaluateError(f"max_windows must be >= 1 or None (every window), got {self.max_windows}.")

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


@dataclass(frozen=True)
class BacktestResult:
    """What a backtest returns.

    Attributes
    ----------
    summary : DataFrame
        One row per policy: cost_usd, on_demand_cost_usd, savings_usd [USD], effective_savings_rate,
        utilization, coverage, savings_capture, committed_usd (fees) [USD], commitment_savings_usd (cost with
        no commitments, spot still used, minus cost) [USD], commitment_capture (that / hindsight's), windows,
        seconds (decision time [s]).
    windows : DataFrame
        One row per policy x window: policy, window, start, end, hours and the same metrics.
    purchases : DataFrame
        One row per policy x decision x instrument bought: policy, window, start, expires, instrument, quantity,
        unit, usd_per_hour [USD/h].
    settings : dict
        The settings, the pools and the catalog rates used.
    notes : tuple of str
    """

    summary: pd.DataFrame
    windows: pd.DataFrame
    purchases: pd.DataFrame
    settings: dict
    notes: tuple = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """JSON-ready dict: ``{"policies": {NAME: {...}}, "windows": [...], "purchases": [...], "settings": {...}}``."""
        def clean(v):
            if isinstance(v, (float, np.floating)):
                return None if not np.isfinite(v) else float(v)
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, pd.Timestamp):
                return v.isoformat()
            return v
        pol = {r["policy"]: {k: clean(v) for k, v in r.items() if k != "policy"}
               for r in self.summary.to_dict("records")}
        win = [{k: clean(v) for k, v in r.items()} for r in self.windows.to_dict("records")]
        pur = [{k: clean(v) for k, v in r.items()} for r in self.purchases.to_dict("records")]
        return {"policies": pol, "windows": win, "purchases": pur, "settings": self.settings,
                "notes": list(self.notes)}

    def to_json(self, path) -> Path:
        """Write :meth:`to_dict` as JSON; returns the path."""
        from finops_forecast._io import atomic_write_text

        return atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1, default=str))


def demand_matrix(usage: pd.DataFrame) -> tuple[pd.DataFrame, pd.DatetimeIndex, np.ndarray]:
    """Dense hourly demand per series, hours first (the backtest slices windows of hours).

    Parameters
    ----------
    usage : DataFrame
        Usage table (summed over teams and any other column).

    Returns
    -------
    keys : DataFrame
        SERIES_KEYS, one row per series.
    ts : DatetimeIndex
        Every hour from the first to the last (UTC); hours missing from the table are 0 demand.
    demand : ndarray (T, S)
        [GPU-h per hour]: :func:`finops_forecast.usage.demand.hourly_demand`, transposed.
    """
    from finops_forecast.usage.demand import hourly_demand

    d = hourly_demand(usage)
    return d.keys, d.ts, d.hours_major()


def _metrics(b, weights) -> dict:
    w = weights
    cost = float(w @ b.cost)
    od = float(w @ b.list_cost)
    sav = od - cost
    return dict(cost_usd=cost, on_demand_cost_usd=od, savings_usd=sav,
                effective_savings_rate=sav / od if od > 0 else float("nan"),
                utilization=b.total_utilization(w), coverage=b.coverage(w),
                committed_usd=float(w @ b.fee))


def short_trace_fix(hours: int, s: BacktestSettings) -> str:
    """The settings that fit a trace of ``hours`` hours: two windows after a warm-up that is at least the lookback.

    Returns
    -------
    str
        A sentence with the durations, as keywords and as CLI options, or why no backtest fits.
    """
    if hours < 3:
        return "A backtest needs at least 3 hours of usage: give a longer usage table."
    d = max(1, min(s.decision_every, hours // 4))
    warmup = hours - 2 * d
    lookback = min(s.lookback, warmup)
    return (f"For {hours} hours, pass shorter durations: warmup='{warmup}h', lookback='{lookback}h', "
            f"decision_every='{d}h' (two windows; CLI: --warmup {warmup}h --lookback {lookback}h "
            f"--decision-every {d}h).")


def backtest(usage: pd.DataFrame, catalog: pd.DataFrame, policies=POLICIES, *, decision_every="7D", term="7D",
             lookback="14D", stable="30D", warmup=None, settings: BacktestSettings | None = None,
             progress=None, **kwargs) -> BacktestResult:
    """Rolling backtest of purchasing policies on a usage table (see the module docstring for the method).

    Parameters
    ----------
    usage : DataFrame
        Usage table (docs/CONTRACTS.md) [GPU-h]; every pool must be priced on demand in ``catalog``.
    catalog : DataFrame
        Pricing catalog (:func:`finops_forecast.pricing.load_pricing`).
    policies : str or sequence of str
        Policies to compare (comma-separated string or list): forecast, lookback, stable, hindsight, on_demand.
    decision_every, term, lookback, stable, warmup : str or int
        Durations (``"7D"``, ``"36h"`` or hours): between decisions, a purchase's holding time, the lookback
        policy's history, the stable policy's history, history before the first decision (default: the
        lookback, at least 14 days so the forecast has two weeks).
    settings : BacktestSettings, optional
        All settings at once (the keyword durations are then ignored).
    progress : callable, optional
        Called with a one-line message after each window.
    **kwargs
        Other :class:`BacktestSettings` fields (spot_cap, n_paths, models, seed, max_windows, price_outlook, ...).

    Returns
    -------
    BacktestResult

    Raises
    ------
    EvaluateError
        Bad settings, or too little history for one window.
    PricingError
        A pool of the usage table is not priced on demand by the catalog, or a bad price outlook file.
    """
    from finops_forecast.pricing import check_pools
    from finops_forecast.pricing.spot import spot_job_nodes
    from finops_forecast.usage.jobs import job_sizes_of
    from finops_forecast.usage.schema import validate_usage

    s = _settings(policies, decision_every, term, lookback, stable, warmup, settings, kwargs)
    usage = validate_usage(usage, source="backtest usage")
    if len(usage) == 0:
        raise EvaluateError("the usage table has no rows: nothing to backtest.")
    check_pools(catalog, usage[POOL_KEYS].drop_duplicates())
    keys, ts, D = demand_matrix(usage)
    starts = _window_starts(len(ts), s)
    end = starts[-1] + s.decision_every
    job_nodes, spot_notes = spot_job_nodes(job_sizes_of(usage), catalog, keys)
    market, cfg = _market(catalog, keys, s, job_nodes)
    run = list(s.policies) + ([] if "hindsight" in s.policies else ["hindsight"])
    prices = _Prices.build(s, catalog, market, ts, starts[0])
    notes = list(market.notes) + spot_notes + _term_notes(s) + ([] if prices is None else list(prices.pp.notes))
    sim = _simulate(usage, D, ts, keys, market, cfg, s, run, starts, prices, progress)
    bills, base = _bill_policies(D, market, sim, run, slice(starts[0], end), prices)
    win = _window_table(bills, base, run, starts, ts, s.decision_every)
    summary = _summary(bills, base, run, len(starts), sim["seconds"])
    info = s.to_dict()
    info.update(
        first_decision=ts[starts[0]].isoformat(), end=(ts[end - 1] + pd.Timedelta(hours=1)).isoformat(),
        hours_evaluated=int(end - starts[0]), trace_hours=len(ts), windows=len(starts),
        pools=market.pools[POOL_KEYS + ["gpu_count", "od_rate"]].to_dict("records"),
        series=keys.to_dict("records"),
        instruments=[dict(id=r.id, unit=r.unit, usd_per_hour_per_unit=float(r.price), discount=float(r.discount))
                     for r in market.instruments.itertuples()],
        spot_rate_usd_per_gpu_hour=[None if not np.isfinite(v) else float(v)
                                    for v in market.series["spot_rate"].to_numpy(float)],
        forecast_selection=sim["choices"])
    if "forecast" in run and len(s.forecast_candidates) > 1:
        used = pd.Series([c["chosen"] for c in sim["choices"]]).value_counts().to_dict()
        notes.append("the forecast policy chose its rule per decision among "
                     f"{', '.join(s.forecast_candidates)} by the cost each would have billed on the earlier windows "
                     f"completed before the decision (settings.forecast_selection); chosen: {used}.")
    pur = pd.DataFrame(sim["purchases"], columns=["policy", "window", "start", "expires", "instrument", "quantity",
                                                  "unit", "usd_per_hour"])
    return BacktestResult(summary=summary, windows=win, purchases=pur, settings=info, notes=tuple(notes))


def _settings(policies, decision_every, term, lookback, stable, warmup, settings, kwargs) -> BacktestSettings:
    """The backtest's settings from :func:`backtest`'s arguments (either ``settings`` or keywords)."""
    from dataclasses import fields as _fields

    valid = [f.name for f in _fields(BacktestSettings)]
    for k in kwargs:
        if k not in valid:
            raise unknown_name("backtest setting", k, valid)
    if settings is not None:
        if kwargs:
            raise EvaluateError(f"pass either settings= or keyword settings, not both (got {sorted(kwargs)}).")
        return settings
    if isinstance(policies, str):
        policies = tuple(p.strip() for p in policies.split(",") if p.strip())
    lb = parse_hours(lookback, "lookback")
    wu = parse_hours(warmup, "warmup") if warmup is not None else max(lb, 336)
    return BacktestSettings(policies=tuple(policies), decision_every=decision_every, term=term, lookback=lb,
                            stable=stable, warmup=wu, **kwargs)


def _window_starts(T: int, s: BacktestSettings) -> list:
    """Hours of the decisions: every ``decision_every`` hours after the warm-up, full windows only."""
    starts = list(range(s.warmup, T - s.decision_every + 1, s.decision_every))
    if s.max_windows is not None:
        starts = starts[: int(s.max_windows)]
    if not starts:
        raise EvaluateError(f"the usage spans {T} hours; a backtest needs warmup ({s.warmup} h) + one window "
                            f"(decision_every = {s.decision_every} h). {short_trace_fix(T, s)}")
    return starts


def _market(catalog: pd.DataFrame, keys: pd.DataFrame, s: BacktestSettings, job_nodes: dict | None = None):
    """The market of the series' pools at the catalog's ``rate_term_months`` rates (spot rework at the usage's
    job sizes ``job_nodes`` where known, :func:`~finops_forecast.pricing.spot.spot_job_nodes`), and the window
    programs' settings."""
    from finops_forecast.portfolio.config import PortfolioConfig
    from finops_forecast.portfolio.instruments import SpotSettings, build_market

    spot = SpotSettings(classes=tuple(s.spot_classes), cap=float(s.spot_cap), job_nodes=dict(job_nodes or {}))
    market = build_market(catalog, keys, terms_months=(int(s.rate_term_months),),
                          payment_options=(s.payment_option,), families=s.families, spot=spot)
    if market.n_instruments == 0:
        raise EvaluateError(
            f"the catalog prices no {s.rate_term_months}-month {s.payment_option} commitment for the pools "
            f"{keys[POOL_KEYS].drop_duplicates().to_dict('records')}: pass another rate_term_months / "
            "payment_option, or add commitment rows to the catalog.")
    cfg = PortfolioConfig(quarters=1, ladder=False, terms_months=(int(s.rate_term_months),),
                          payment_options=(s.payment_option,), families=s.families, risk_lambda=s.risk_lambda,
                          spot_cap=float(s.spot_cap), spot_classes=tuple(s.spot_classes),
                          integer_ri=False)  # a simulation of decision quality: fractional quantities
    return market, cfg


def _term_notes(s: BacktestSettings) -> list:
    """What the term and window settings mean for the results."""
    notes = []
    if s.term > s.decision_every:
        notes.append(f"term ({s.term} h) > decision_every ({s.decision_every} h): purchases overlap; each decision "
                     "is optimal for its own horizon, the sequence is not a global optimum, and fees of the last "
                     "purchases after the last window are not billed.")
    elif s.term < s.decision_every:
        notes.append(f"term ({s.term} h) < decision_every ({s.decision_every} h): the last hours of each window "
                     "run uncommitted.")
    notes.append(f"commitments held {s.term} h at the catalog's {s.rate_term_months}-month {s.payment_option} "
                 "rate (simulation setting for traces shorter than a term).")
    return notes


class _Prices:
    """The price outlook over a backtest's hours (None for ``flat``): the market each window decides at and the
    markets the realized demand is billed at (one per run of hours with the same prices)."""

    def __init__(self, pp, market):
        from finops_forecast.portfolio import priced

        self.pp, self.market, self._markets = pp, market, {}
        self.commit = priced.commit_multipliers(pp, market)  # (hours, I): one scenario (K = 1)

    @classmethod
    def build(cls, s: BacktestSettings, catalog, market, ts, first: int):
        from finops_forecast.portfolio import priced

        pp = priced.hourly_outlook(s.price_outlook, catalog, market, ts, first, seed=int(s.seed))
        return None if pp is None else cls(pp, market)

    def _scaled(self, od, spot, commit=None):
        from finops_forecast.portfolio import priced

        key = (od.tobytes(), spot.tobytes(), None if commit is None else commit.tobytes())
        if key not in self._markets:  # windows at the same prices share a market: compiled programs are reused
            self._markets[key] = priced.scaled_market(self.market, od, spot, commit)
        return self._markets[key]

    def decision_market(self, t: int, H: int):
        """The market a decision at hour ``t`` for ``H`` hours sees: mean on-demand and spot multipliers over its
        horizon, new commitments at the price of hour ``t``."""
        return self._scaled(self.pp.od[0, t:t + H].mean(axis=0), self.pp.spot[0, t:t + H].mean(axis=0),
                            self.commit[t])

    def bill(self, D, held, paid, span: slice):
        """:func:`~finops_forecast.portfolio.billing.bill` of the hours ``span`` at each hour's prices; fees at
        the price locked by each purchase (``paid`` (T, I) [USD/h]), used commitment valued at that price."""
        from finops_forecast.portfolio import priced
        from finops_forecast.portfolio.billing import Bill, bill

        od, spot = self.pp.od[0], self.pp.spot[0]
        hours = np.arange(span.start, span.stop)
        change = np.flatnonzero(np.any(od[hours[1:]] != od[hours[:-1]], axis=1)
                                | np.any(spot[hours[1:]] != spot[hours[:-1]], axis=1)) + 1
        parts = []
        for seg in np.split(hours, change):
            a, b = int(seg[0]), int(seg[-1]) + 1
            parts.append(bill(D[a:b], self._scaled(od[a], spot[a]), held[a:b]))
        b = Bill(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in Bill.__dataclass_fields__})
        return priced.with_paid_fees(b, paid[span])


def _simulate(usage, D, ts, keys, market, cfg, s: BacktestSettings, run: list, starts: list, prices, progress):
    """Every policy's decision at every window start, in time order.

    Returns
    -------
    dict
        ``held`` {policy: (T, I)} quantities held per hour, ``paid`` {policy: (T, I)} their fees at the locked
        prices [USD/h] (None without a price outlook), ``purchases`` (rows), ``seconds`` {policy: decision time
        [s]}, ``choices`` (the forecast policy's rule per decision).
    """
    from finops_forecast.portfolio.billing import bill
    from finops_forecast.portfolio.policies import decide, get_policy

    T, I = D.shape[0], market.n_instruments
    held = {p: np.zeros((T, I)) for p in run}
    paid = None if prices is None else {p: np.zeros((T, I)) for p in run}
    purchases, seconds, choices = [], {p: 0.0 for p in run}, []
    selector = _Selector(usage, D, ts, [tuple(k) for k in keys.itertuples(index=False)], market, cfg, s, decide,
                         bill)
    rules = {p: get_policy(p, lookback_hours=s.lookback, stable_hours=s.stable) for p in run if p != "forecast"}
    for w, t in enumerate(starts):
        H = min(s.term, T - t)
        mk = market if prices is None else prices.decision_market(t, H)
        for p in run:
            t0 = time.perf_counter()
            h_now = held[p][t:t + H].mean(axis=0)  # earlier purchases, pro rata over the horizon
            if p == "forecast":
                q = _forecast_decision(selector, mk, choices, s, w, t, H, h_now, ts)
            else:  # each rule is handed only what it may see: the history, or (hindsight) the window itself
                view = {"history": D[:t], "future": D[t:t + H]}
                q = rules[p].decide(mk, held=h_now, config=cfg, **{k: view[k] for k in rules[p].sees})
            q = np.maximum(np.asarray(q, float), 0.0)
            q[q < 1e-9] = 0.0
            held[p][t:t + s.term] += q  # numpy slicing cuts at the end of the trace
            if paid is not None:
                paid[p][t:t + s.term] += q * mk.price
            seconds[p] += time.perf_counter() - t0
            for i in np.flatnonzero(q > 0):
                purchases.append(dict(policy=p, window=w, start=ts[t], expires=ts[t] + pd.Timedelta(hours=s.term),
                                      instrument=market.instruments["id"].iat[i], quantity=float(q[i]),
                                      unit=market.instruments["unit"].iat[i],
                                      usd_per_hour=float(q[i] * mk.price[i])))
        if progress is not None:
            progress(f"window {w + 1}/{len(starts)} ({ts[t]:%Y-%m-%d %H:%M}) decided")
    return dict(held=held, paid=paid, purchases=purchases, seconds=seconds, choices=choices)


def _forecast_decision(selector, mk, choices: list, s: BacktestSettings, w: int, t: int, H: int, h_now, ts):
    """The forecast policy's purchase at hour ``t``: its rule chosen on the earlier windows (scored at the
    market's base prices), then decided at the window's prices ``mk``; the choice is appended to ``choices``."""
    chosen, rec = selector.choose(t)
    if s.calibration is not None and chosen != "lookback":
        rec = dict(rec, spread_scale=selector.scale(chosen, t))
    choices.append(dict(window=w, start=ts[t].isoformat(), chosen=chosen, **rec))
    base, selector.market = selector.market, mk
    try:
        return selector.decide(chosen, t, H, held=h_now, seed=int(s.seed) + w)
    finally:
        selector.market = base


def _bill_policies(D, market, sim: dict, run: list, span: slice, prices):
    """Bill the realized demand of the evaluated hours under what each policy held, and with no commitment at
    all (spot still used where allowed: separates commitment savings from spot savings)."""
    from finops_forecast.portfolio.billing import bill

    I = market.n_instruments
    if prices is None:
        bills = {p: bill(D[span], market, sim["held"][p][span]) for p in run}
        return bills, bill(D[span], market, np.zeros(I))
    bills = {p: prices.bill(D, sim["held"][p], sim["paid"][p], span) for p in run}
    zero = np.zeros((D.shape[0], I))
    return bills, prices.bill(D, zero, zero, span)


def _window_table(bills: dict, base, run: list, starts: list, ts, D_win: int) -> pd.DataFrame:
    """One row per policy x window: the metrics of :func:`_metrics`, savings capture and commitment savings."""
    n = starts[-1] + D_win - starts[0]
    rows = []
    for p in run:
        for w, t in enumerate(starts):
            wt = np.zeros(n)
            wt[t - starts[0]: t - starts[0] + D_win] = 1.0
            rows.append(dict(policy=p, window=w, start=ts[t], end=ts[t] + pd.Timedelta(hours=D_win),
                             hours=D_win, **_metrics(bills[p], wt)))
    win = pd.DataFrame(rows)
    hs = win[win["policy"] == "hindsight"].set_index("window")["savings_usd"]
    win["savings_capture"] = [r.savings_usd / hs[r.window] if hs[r.window] > 0 else float("nan")
                              for r in win.itertuples()]
    base_w = {w: float(base.cost[t - starts[0]: t - starts[0] + D_win].sum()) for w, t in enumerate(starts)}
    win["commitment_savings_usd"] = [base_w[r.window] - r.cost_usd for r in win.itertuples()]
    order = [p for p in POLICIES if p in run]
    return win[win["policy"].isin(order)].reset_index(drop=True)


def _summary(bills: dict, base, run: list, n_windows: int, seconds: dict) -> pd.DataFrame:
    """One row per policy (report order): totals over the evaluated hours."""
    ones = np.ones(len(base.cost))
    hs_total = _metrics(bills["hindsight"], ones)["savings_usd"]
    base_total = float(base.cost.sum())
    hs_commit = base_total - float(bills["hindsight"].cost.sum())
    summ = []
    for p in run:
        m = _metrics(bills[p], ones)
        m["savings_capture"] = m["savings_usd"] / hs_total if hs_total > 0 else float("nan")
        m["commitment_savings_usd"] = base_total - m["cost_usd"]
        m["commitment_capture"] = m["commitment_savings_usd"] / hs_commit if hs_commit > 0 else float("nan")
        summ.append(dict(policy=p, **m, windows=n_windows, seconds=seconds[p]))
    order = [p for p in POLICIES if p in run]
    return pd.DataFrame(summ).set_index("policy").loc[order].reset_index()


def _candidate_names() -> tuple:
    """Valid names of ``forecast_candidates``: the two rules and every forecast model."""
    from finops_forecast.forecast.models import MODELS
    return ("forecast", "lookback", "auto") + tuple(MODELS)


class _Selector:
    """The forecast policy's decision-focused choice of its rule (no look-ahead).

    At decision time ``t`` every candidate rule of ``settings.forecast_candidates`` is replayed at the earlier
    origins ``o = t - term, t - term - select_every, ...`` (down to ``select_min_history`` hours of history): it
    decides at ``o`` from the history before ``o`` only, with nothing held, and the purchase is billed by the shared
    engine on the realized demand of ``[o, o + term)``, which ends at or before ``t``. ``select_default`` decides
    unless a challenger billed less in total and the paired test says so (``select_alpha``). Each origin's
    decision and bill are computed once and reused by later decisions.
    """

    def __init__(self, usage, D, ts, series_names, market, cfg, s, decide, bill):
        self.usage, self.D, self.ts, self.market, self.cfg, self.s = usage, D, ts, market, cfg, s
        self.series_names = series_names  # the columns of D
        self._decide, self._bill = decide, bill
        self.cost = {}  # (candidate, origin) -> USD billed on [origin, origin + term)
        self.selections = {}  # models -> (hour of the selection, its selection frame)
        self.grid_costs = {}  # (candidate, origin) -> {spread scale: USD billed on [origin, origin + term)}
        self.scales = {}  # (candidate, hour) -> spread scale applied to paths forecast at that hour

    def origins(self, t: int) -> list:
        s = self.s
        low = s.select_min_history if s.select_max_history is None else max(s.select_min_history,
                                                                            t - s.select_max_history)
        return list(range(t - s.term, low - 1, -s.select_every))

    def decide(self, cand: str, t: int, H: int, held=None, seed: int = 0) -> np.ndarray:
        """Quantities rule ``cand`` buys at hour ``t`` for ``H`` hours, from the demand before ``t`` only."""
        s = self.s
        if cand == "lookback":
            return self._decide("lookback", self.market, history=self.D[:t], lookback_hours=s.lookback, held=held,
                                config=self.cfg)
        paths = self.paths(cand, t, H, seed)
        if s.calibration is not None:
            paths = spread_paths(paths, self.scale(cand, t))
        return self._decide("forecast", self.market, scenarios=paths, held=held, config=self.cfg)

    def paths(self, cand: str, t: int, H: int, seed: int) -> np.ndarray:
        """Forecast paths (N, H, S) of candidate ``cand`` from the usage before hour ``t``."""
        s = self.s
        models = s.models if cand == "forecast" else cand
        reuse = None
        if s.reselect_every is not None and models in self.selections:
            t_sel, sel = self.selections[models]
            if 0 <= t - t_sel < s.reselect_every:  # chosen from the history before t_sel <= t: no look-ahead
                reuse = sel
        paths, sel = _forecast_paths(self.usage, self.ts[t], H, self.series_names, s, seed, models, reuse)
        if reuse is None:
            self.selections[models] = (t, sel)
        return paths

    def _bill_window(self, q, o: int) -> float:
        """Cost of holding ``q`` through ``[o, o + term)`` on the realized demand [USD]."""
        H = self.s.term
        q = np.maximum(np.asarray(q, float), 0.0)
        q[q < 1e-9] = 0.0
        return float(self._bill(self.D[o:o + H], self.market, np.broadcast_to(q, (H, len(q)))).cost.sum())

    def grid_cost(self, cand: str, o: int) -> dict:
        """Cost billed on ``[o, o + term)`` by the purchase decided at ``o`` from the paths with each spread
        scale of ``calibration_grid`` [USD] (computed once per origin)."""
        key = (cand, o)
        if key not in self.grid_costs:
            paths = self.paths(cand, o, self.s.term, int(self.s.seed) + o)
            self.grid_costs[key] = {k: self._bill_window(self._decide(
                "forecast", self.market, scenarios=spread_paths(paths, k), config=self.cfg), o)
                for k in self.s.calibration_grid}
        return self.grid_costs[key]

    def scale(self, cand: str, t: int) -> float:
        """The spread scale applied at hour ``t`` (decision calibration, from windows that ended by ``t``).

        The scale is chosen on the calibration lattice ``c_j = select_min_history + j * term`` and applies from
        ``c_j`` until ``c_{j+1}``. At each lattice point the scale is the grid value with the least cost summed
        over the earlier lattice origins (``c_j - term, c_j - 2 term, ...``: non-overlapping windows that ended
        by ``c_j``, within ``select_max_history``) plus ``calibration_penalty`` x the previous point's cost x the
        move from the previous point's scale; before the first scored window the scale is 1 (the paths as
        forecast). Only the lattice origins are decided on every grid value: about ``len(grid) / (term /
        select_every)`` solves per daily origin instead of ``len(grid)``.
        """
        s = self.s
        step, first = s.term, s.select_min_history
        one = min(s.calibration_grid, key=lambda k: abs(k - 1.0))
        if t < first:
            return one
        c = first + ((t - first) // step) * step
        if (cand, c) not in self.scales:
            prev = one
            for u in range(first, c + 1, step):
                if (cand, u) not in self.scales:
                    low = first if s.select_max_history is None else max(first, u - s.select_max_history)
                    self.scales[(cand, u)] = choose_scale(
                        [self.grid_cost(cand, o) for o in range(u - step, low - 1, -step)], prev,
                        s.calibration_penalty)
                prev = self.scales[(cand, u)]
        return self.scales[(cand, c)]

    def score(self, cand: str, o: int) -> float:
        key = (cand, o)
        if key not in self.cost:
            if key in self.grid_costs:  # a calibration origin: decided on every scale already
                self.cost[key] = self.grid_costs[key][self.scale(cand, o)]
            else:
                self.cost[key] = self._bill_window(self.decide(cand, o, self.s.term, seed=int(self.s.seed) + o), o)
        return self.cost[key]

    def choose(self, t: int) -> tuple[str, dict]:
        """The rule that decides at ``t``, and a record: each candidate's cost on the scored origins [USD] and
        each challenger's p-value."""
        s = self.s
        cands = s.forecast_candidates
        if len(cands) == 1:
            return cands[0], {}
        origins = self.origins(t)
        rec = {"origins_scored": len(origins)}
        if not origins:
            return s.select_default, rec
        costs = {c: np.array([self.score(c, o) for o in origins]) for c in cands}
        rec.update({f"cost_usd_{c}": float(v.sum()) for c, v in costs.items()})
        base = costs[s.select_default]
        n_eff = min(len(origins), len(origins) * s.select_every / s.term)
        chosen = s.select_default
        for c in sorted((c for c in cands if c != s.select_default), key=lambda c: costs[c].sum()):
            p = cheaper_p_value(costs[c] - base, n_eff)
            rec[f"p_value_{c}"] = p
            if costs[c].sum() < base.sum() and (s.select_alpha is None or p < s.select_alpha):
                chosen = c
                break
        return chosen, rec


def spread_paths(paths: np.ndarray, scale: float) -> np.ndarray:
    """Paths with their spread around the hourly median scaled, clipped at 0.

    Parameters
    ----------
    paths : ndarray (N, H, S)
        Sample paths [GPU-h per hour].
    scale : float
        Factor on each path's distance to the median of the paths in the same hour and series (0: all paths
        are the median path; 1: unchanged) [-].

    Returns
    -------
    ndarray (N, H, S) [GPU-h per hour]
    """
    if scale == 1.0:
        return paths
    med = np.median(paths, axis=0, keepdims=True)
    return np.maximum(med + scale * (paths - med), 0.0)


def choose_scale(grid_costs: list, prev: float, penalty: float) -> float:
    """The spread scale with the least past billed cost, moving smoothly from ``prev``.

    Parameters
    ----------
    grid_costs : list of dict
        Per scored origin, ``{scale: USD billed}`` of every scale of the grid.
    prev : float
        Scale applied at the previous origin [-].
    penalty : float
        Cost of a move, as a share of ``prev``'s total cost per unit of scale [-].

    Returns
    -------
    float
        ``prev`` when there is no scored origin, else the grid scale minimizing ``total(k) + penalty *
        total(prev) * |k - prev|`` (``total(prev)``: the nearest grid scale's total when ``prev`` is off the grid).
    """
    if not grid_costs:
        return prev
    grid = sorted(grid_costs[0])
    total = {k: float(sum(c[k] for c in grid_costs)) for k in grid}
    ref = total[min(grid, key=lambda k: abs(k - prev))]
    return min(grid, key=lambda k: (total[k] + penalty * ref * abs(k - prev), abs(k - prev)))


def cheaper_p_value(diff, n_eff: float | None = None) -> float:
    """One-sided p-value of "the mean of ``diff`` is not below 0" (a paired t-test of cost differences).

    Parameters
    ----------
    diff : array_like
        Challenger cost - default cost, per scored origin [USD].
    n_eff : float, optional
        Effective sample size (overlapping windows carry less evidence than their count); default ``len(diff)``.

    Returns
    -------
    float
        In [0, 1]; 1 when there is too little evidence (fewer than 2 effective windows).
    """
    d = np.asarray(diff, float)
    n = len(d) if n_eff is None else float(n_eff)
    if len(d) < 2 or n < 2:
        return 1.0
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        return 0.0 if d.mean() < 0 else 1.0
    from scipy import stats
    return float(stats.t.cdf(d.mean() / (sd / math.sqrt(n)), df=n - 1))


def _forecast_paths(usage: pd.DataFrame, t: pd.Timestamp, H: int, series_names: list, s: BacktestSettings,
                    seed: int, models=None, reuse_selection=None) -> tuple[np.ndarray, pd.DataFrame]:
    """Forecast sample paths (N, H, S) of the H hours from ``t``, from the usage strictly before ``t``, and the
    forecast's model selection.

    Only the total demand is forecast (``components="total"``): the policies consume total paths, and the
    total's paths do not depend on whether the baseline is forecast beside them.
    """
    from finops_forecast.forecast import forecast

    hist = usage[usage["ts"] < t]
    last = hist["ts"].max()
    gap = int((t - last) / pd.Timedelta(hours=1)) - 1  # hours missing at the end of the history
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = forecast(hist, H + gap, n_paths=int(s.n_paths), seed=int(seed), models=s.models if models is None
                      else models, components="total", reuse_selection=reuse_selection)
    idx = {tuple(k): i for i, k in enumerate(fc.keys[SERIES_KEYS].astype(str).itertuples(index=False))}
    N = fc.paths.shape[1]
    out = np.zeros((N, H, len(series_names)))
    for j, name in enumerate(series_names):
        i = idx.get(tuple(str(x) for x in name))
        if i is not None:  # a series with no history before t is forecast at 0
            out[:, :, j] = fc.paths[i, :, gap:gap + H]
    return out, fc.selection
