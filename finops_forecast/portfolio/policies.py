"""Purchasing policies, all priced by the same billing engine: one decision for one holding window.

A policy answers: "given what I know now and what I already hold, how much of each instrument do I buy for the
window that starts now?" It returns a quantity per market instrument (instances or USD/h). The backtest
(:mod:`finops_forecast.evaluate`) calls :func:`decide` at every decision time and bills the realized demand
with :func:`finops_forecast.portfolio.billing.bill`.

=============  ===============================================================================================
policy         what it sees and does
=============  ===============================================================================================
``forecast``   forecast sample paths of the window: the optimizer's one-period model (compressed, with CVaR)
``hindsight``  the realized demand of the window: the same model on it, uncompressed: the physical limit; no
               policy bills less on that window (tested)
``lookback``   the clouds' own rule (AWS/Azure recommendations): the commitment that would have saved most over
               the last ``lookback_hours`` of history, no forecast
``stable``     GCP's "stable usage": per pool, the minimum hourly usage over the last ``stable_hours`` (30
               days) committed as resource commitments (or, where none is priced, the provider's spend plan)
``on_demand``  buys nothing
=============  ===============================================================================================
"""
from __future__ import annotations

import numpy as np

from finops_forecast.errors import PortfolioError, unknown_name
from finops_forecast.portfolio.billing import bill_chunks
from finops_forecast.portfolio.compress import compress, full
from finops_forecast.portfolio.config import PortfolioConfig
from finops_forecast.portfolio.instruments import Market
from finops_forecast.portfolio.model import CommitmentModel, UserConstraints

def _purchasable(market: Market, config: PortfolioConfig) -> np.ndarray:
    ins = market.instruments
    ok = ins["term_months"].isin([int(t) for t in config.terms_months]).to_numpy() & \
        ins["payment_option"].isin(config.payment_options).to_numpy()
    if config.families is not None:
        ok &= ins["family"].isin(config.families).to_numpy()
    return ok


def window_model(market: Market, paths: np.ndarray, held=None, config: PortfolioConfig | None = None, *,
                 exact: bool = False) -> CommitmentModel:
    """The one-period program for a holding window.

    Parameters
    ----------
    paths : ndarray (N, H, S)
        Demand paths of the window [GPU-h per hour] (N = 1 for realized demand).
    held : ndarray (I,), optional
        Quantities already held through the window.
    exact : bool
        Keep every hour (no compression).
    """
    config = config or PortfolioConfig()
    paths = np.asarray(paths, float)
    if paths.ndim == 2:
        paths = paths[None]
    X = market.chunks_major(np.transpose(paths, (2, 0, 1)))  # (chunks, paths, hours)
    H = X.shape[2]
    hours = np.array([float(H)])
    comp = full(lambda t: X, hours) if exact else compress(
        lambda t: X, market.chunk_value, hours, n_groups=config.scenario_groups, strata=config.strata,
        levels=config.levels)
    inv = np.zeros((1, market.n_instruments)) if held is None else np.asarray(held, float)[None, :]
    if exact:  # the exact program's structure depends on its shape only: compile once, re-solve with new data
        key = (id(market), comp.D.shape, repr(config))
        hit = _EXACT_PROGRAMS.get(key)
        if hit is not None and hit.market is market:
            return hit.update(comp, inv)
    user = UserConstraints(allow_on_demand=config.allow_on_demand, purchasable=_purchasable(market, config))
    if config.upfront_budget_usd is not None:
        user.budget = np.array(config.budget_vector(1), float)
    model = CommitmentModel(market, comp, np.ones(market.n_instruments, int), inv, user,
                            integer_pool=config.integer_ri, risk_lambda=config.risk_lambda, alpha=config.alpha)
    if exact:
        if len(_EXACT_PROGRAMS) >= _MAX_PROGRAMS:
            _EXACT_PROGRAMS.pop(next(iter(_EXACT_PROGRAMS)))
        _EXACT_PROGRAMS[key] = model
    return model


#: compiled exact window programs by (market, demand shape, settings): the lookback and hindsight policies
#: decide every window of a backtest on the same shape, so each re-solve only sets the Parameters (DPP)
_EXACT_PROGRAMS: dict = {}
_MAX_PROGRAMS = 4


def _solve(model: CommitmentModel, config: PortfolioConfig) -> np.ndarray:
    s = model.solve(config.risk_lambda, config.alpha, solver=config.solver,
                    fallback_solvers=config.fallback_solvers, allow_inaccurate=config.allow_inaccurate,
                    time_limit_s=config.time_limit_s, mip_rel_gap=config.mip_rel_gap)
    return s.x[0]


class Policy:
    """A purchasing rule: what to buy now, for the window that starts now, from what it may see.

    Subclasses set ``name`` and ``sees`` (the inputs the rule may look at: ``"history"``, the realized demand
    before the decision; ``"scenarios"``, forecast paths of the window; ``"future"``, the realized demand of the
    window, which only the hindsight limit sees) and implement :meth:`decide`. A backtest hands each policy only
    the inputs it ``sees``, so no rule can look ahead by mistake.
    """

    name: str = "policy"
    sees: tuple = ()

    def decide(self, market: Market, *, held=None, config: PortfolioConfig | None = None, **seen) -> np.ndarray:
        """Quantities to buy per market instrument [instance] or [USD/h], shape (I,)."""
        raise NotImplementedError

    def _need(self, seen: dict, what: str) -> np.ndarray:
        value = seen.get(what)
        if value is None or len(value) == 0:
            meaning = {"history": "realized demand before the decision", "future": "the realized demand of the "
                       "window", "scenarios": "forecast paths of the window"}[what]
            raise PortfolioError(f"policy '{self.name}' needs {what}= ({meaning}).")
        return np.asarray(value, float)


class OnDemand(Policy):
    """Buys nothing."""

    name = "on_demand"

    def decide(self, market, *, held=None, config=None, **seen):
        return np.zeros(market.n_instruments)


class Hindsight(Policy):
    """The realized demand of the window, uncompressed: the physical limit (no policy bills less there)."""

    name, sees = "hindsight", ("future",)

    def decide(self, market, *, held=None, config=None, **seen):
        config = config or PortfolioConfig()
        return _solve(window_model(market, self._need(seen, "future"), held, config, exact=True), config)


class ForecastPaths(Policy):
    """The optimizer's one-period model on forecast sample paths of the window (compressed, with CVaR)."""

    name, sees = "forecast", ("scenarios",)

    def decide(self, market, *, held=None, config=None, **seen):
        config = config or PortfolioConfig()
        return _solve(window_model(market, self._need(seen, "scenarios"), held, config), config)


class Lookback(Policy):
    """The clouds' own rule: the commitment that would have saved most over the last ``lookback_hours`` of
    history (all of it when None), no forecast."""

    name, sees = "lookback", ("history",)

    def __init__(self, lookback_hours: int | None = None):
        self.lookback_hours = lookback_hours

    def decide(self, market, *, held=None, config=None, **seen):
        config = config or PortfolioConfig()
        h = self._need(seen, "history")
        h = h if self.lookback_hours is None else h[-int(self.lookback_hours):]
        return _solve(window_model(market, h, held, config, exact=True), config)


class Stable(Policy):
    """GCP's "stable usage": per pool, the minimum hourly usage over the last ``stable_hours`` committed as
    resource commitments (or, where none is priced, the provider's cheapest spend plan), less what is held."""

    name, sees = "stable", ("history",)

    def __init__(self, stable_hours: int = 720):
        self.stable_hours = stable_hours

    def decide(self, market, *, held=None, config=None, **seen):
        config = config or PortfolioConfig()
        h = self._need(seen, "history")[-int(self.stable_hours):]
        floor = market.pool_demand(market.chunks(h)).min(axis=0)  # (P,)
        return _stable_buy(market, floor, held, config)


#: the registry: every policy by name (the backtest, the report and :func:`decide` look them up here)
REGISTRY: dict[str, type[Policy]] = {c.name: c for c in (ForecastPaths, Hindsight, Lookback, Stable, OnDemand)}
POLICIES = tuple(REGISTRY)


def get_policy(name: str, *, lookback_hours: int | None = None, stable_hours: int = 720) -> Policy:
    """The policy called ``name`` with its settings; an unknown name lists the valid ones."""
    if name not in REGISTRY:
        raise unknown_name("policy", name, POLICIES)
    if name == "lookback":
        return Lookback(lookback_hours)
    if name == "stable":
        return Stable(stable_hours)
    return REGISTRY[name]()


def decide(policy: str, market: Market, *, history=None, future=None, scenarios=None, held=None,
           config: PortfolioConfig | None = None, lookback_hours: int | None = None,
           stable_hours: int = 720) -> np.ndarray:
    """Quantities each policy buys now, for the window that starts now (:func:`get_policy` and its
    :meth:`Policy.decide`, with only the inputs the policy sees).

    Parameters
    ----------
    policy : str
        One of :data:`POLICIES`.
    market : Market
    history : ndarray (H_hist, S), optional
        Realized demand before the decision [GPU-h per hour] (lookback, stable).
    future : ndarray (H, S), optional
        Realized demand of the window (hindsight only: it is the future).
    scenarios : ndarray (N, H, S), optional
        Forecast sample paths of the window (forecast).
    held : ndarray (I,), optional
        Quantities already held through the window (inventory, earlier purchases).
    config : PortfolioConfig, optional
        Risk, terms, payment options, compression, solver settings.
    lookback_hours : int, optional
        Lookback window (default: all history given).
    stable_hours : int
        Window of the stable-usage rule [h] (30 days).

    Returns
    -------
    ndarray (I,)
        Quantity to buy per market instrument [instance] or [USD/h].
    """
    pol = get_policy(policy, lookback_hours=lookback_hours, stable_hours=stable_hours)
    given = {"history": history, "future": future, "scenarios": scenarios}
    return pol.decide(market, held=held, config=config, **{k: given[k] for k in pol.sees})


def _stable_buy(market: Market, floor: np.ndarray, held, config: PortfolioConfig) -> np.ndarray:
    """Buy each pool's floor [GPU-h per hour] less what ``held`` covers of it, on its cheapest instrument."""
    I = market.n_instruments
    buy = np.zeros(I)
    ok = _purchasable(market, config)
    ins = market.instruments
    # what is already held (reserved instances and spend plans) covers part of the floor: bill the floor hour
    # under it with the billing engine, so a spend plan counts at the rates it really gets
    have = np.zeros(market.n_pools)
    if held is not None and np.any(np.asarray(held, float) > 0):
        firm = np.flatnonzero(market.chunk_series < 0)
        fl = np.zeros(market.n_chunks)
        fl[firm] = floor[market.chunk_pool[firm]]
        have = bill_chunks(fl[None, :], market, np.asarray(held, float)).covered[0]
    for p in range(market.n_pools):
        need = max(floor[p] - have[p], 0.0)
        if need <= 0:
            continue
        cand = [i for i in np.flatnonzero(ok & market.is_pool) if int(ins["pool"].iat[i]) == p]
        if cand:
            i = min(cand, key=lambda i: ins["price"].iat[i] / ins["gpu_per_unit"].iat[i])
            q = need / float(ins["gpu_per_unit"].iat[i])
            buy[i] += np.floor(q) if config.integer_ri else q
        else:
            cand = [i for i in np.flatnonzero(ok & ~market.is_pool) if np.isfinite(market.rate[i, p])]
            if cand:
                # cheapest per GPU-h [USD/GPU-h]: rate x unit price (spend plans: price 1; GPU CUDs: rate 1)
                i = min(cand, key=lambda i: market.rate[i, p] * ins["price"].iat[i])
                buy[i] += need * market.rate[i, p]
    return buy
