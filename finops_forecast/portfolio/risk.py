"""Risk of stranded commitments: the unused-commitment term and the user limits on what is bought.

What a FinOps lead fears before signing a 3-year GPU commitment is not a high bill in a high-demand future (that
is the cost of success, and CVaR of total cost buys *more* commitment against it) but paying for commitments that
go unused when demand falls, migrates to a newer GPU or the price of on demand is cut. This module adds to the
program of :mod:`finops_forecast.portfolio.model`:

* ``Z_m``, the **unused commitment** of scenario group ``m`` [USD]: commitment fees paid over the horizon minus
  the committed dollars that covered usage (pool instruments at their own rate per GPU-h, spend plans at the
  rates they covered)::

      Z_m = sum_t hours_t * fee_t - sum_{r in m} hours_r * (U_r . (price / gpu) + G_r . rate)

  where ``U[r, k]`` [GPU-h per hour] is the usage pool instrument ``k`` covers in row ``r`` (``U <= held x
  gpu``); the cover constraint then counts ``U`` instead of the held capacity. ``U`` is built only for
  ``min_utilization_p10``; otherwise the direct instruments' unused part is the idle capacity, the surplus of the
  cover constraint, valued at the pool's lowest rate per GPU-h (:func:`unused_from_surplus`, no new variable).
* :class:`StrandedCVaR`, the objective term ``lambda x CVaR_alpha(Z)`` (Rockafellar-Uryasev over scenario
  groups). Raising ``lambda`` never raises the term's value at the optimum (the standard argument comparing the
  optima of two weights), and since ``Z`` only grows with what is held, the plan holds less that goes unused in
  its worst scenarios; its *expected* unused commitment almost always falls too, but not always (a plan may
  trade a little more unused in the other scenarios for less in the worst ones).
* :class:`StrandedExpected`, ``lambda x E[Z]`` (``risk_measure="expected_unused"``): raising ``lambda`` never
  raises the expected unused commitment at the optimum.
* the limits: ``min_utilization_p10`` (in the lowest-demand scenario groups that hold the 10th percentile, every
  instrument bought must be used at least that share in every quarter), ``max_three_year_share`` (of the
  commitment USD/h bought in each quarter), ``max_obligation_usd`` (total committed spend of the planned
  purchases over their terms).
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from finops_forecast.constants import HOURS_PER_MONTH

#: measures the risk weight ``lambda`` can apply to
RISK_MEASURES = ("unused", "expected_unused", "cost")
#: the measures of unused commitment (:class:`StrandedCVaR`, :class:`StrandedExpected`)
UNUSED_MEASURES = ("unused", "expected_unused")
#: weight of the expected unused commitment (normalized by the all-on-demand cost) that breaks ties between
#: plans of equal cost: 1e-5 of the all-on-demand cost per unit of unused share, below any price difference
TIE_BREAK = 1e-5


class RiskWeight:
    """A CVaR term's weight ``lambda`` and level ``alpha`` as ``cp.Parameter``s (``lam`` and ``lam_tail =
    lambda / (1 - alpha)``) with the Rockafellar-Uryasev threshold ``eta``, so the frontier re-solves for another
    weight without recompiling. Shared by :class:`StrandedCVaR` and the model's CVaR of cost."""

    def __init__(self, lam: float = 0.0, alpha: float = 0.95):
        self.lam = cp.Parameter(nonneg=True, value=float(lam))
        self.lam_tail = cp.Parameter(nonneg=True, value=float(lam) / (1 - alpha))
        self.eta = cp.Variable()
        self.alpha = alpha

    def set(self, lam: float, alpha: float):
        """Change the weight and level (no recompilation)."""
        self.lam.value = float(lam)
        self.lam_tail.value = float(lam) / (1 - alpha)
        self.alpha = alpha


class StrandedCVaR(RiskWeight):
    """Objective term ``lambda x CVaR_alpha(Z)`` of the unused commitment ``Z`` [USD] (module docstring).

    Parameters
    ----------
    lam : float
        Risk weight, >= 0 (a ``cp.Parameter``: the frontier re-solves without recompiling).
    alpha : float
        CVaR level in (0, 1): the mean unused commitment of the worst ``1 - alpha`` of scenario groups.
    """

    def build(self, model):
        """The term's expression (normalized like the model's loss); adds the excess constraints."""
        self.xi = cp.Variable(model.M, nonneg=True)
        model.constraints["stranded_cvar"] = [self.xi >= model.unused_n - self.eta]
        # TIE_BREAK x E[Z]: among plans of equal objective (often at lambda = 0) the one with less unused
        return self.lam * self.eta + self.lam_tail * (model.prob_w @ self.xi) + TIE_BREAK * (
            model.prob_w @ model.unused_n)


class StrandedExpected(RiskWeight):
    """Objective term ``lambda x E[Z]``: the expected unused commitment ``Z`` [USD], each unused dollar weighing
    ``1 + lambda`` dollars (``risk_measure="expected_unused"``).

    Raising ``lambda`` never raises ``E[Z]`` at the optimum (comparing the optima of two weights: the weighted
    term is ``E[Z]`` itself), which :class:`StrandedCVaR` guarantees only for the CVaR of ``Z``: a plan may lower
    its worst unused commitment at the price of a little more in the other scenarios (docs/portfolio.md "Risk of
    stranded commitments"). ``alpha`` is unused (kept for the frontier's common interface).
    """

    def build(self, model):
        """The term's expression (normalized like the model's loss); ``E[Z]`` is its own variable so that the
        weight (a parameter) multiplies a parameter-free expression (DPP: the frontier re-solves without
        recompiling)."""
        self.mean = cp.Variable(name="expected_unused")
        expected = model.prob_w @ model.unused_n
        model.constraints["stranded_expected"] = [self.mean == expected]
        return self.lam * self.mean + TIE_BREAK * expected


def pool_usage(model, Sel, pool_idx: np.ndarray, gpu: np.ndarray):
    """Usage variable of the pool instruments and its capacity constraint.

    Parameters
    ----------
    model : CommitmentModel
        Being built (``R``, ``active``).
    Sel : sparse (R, T)
        Row -> period selector.
    pool_idx : ndarray (K,)
        Indices of the pool instruments.
    gpu : ndarray (K,)
        GPUs per unit of each [GPU].

    Returns
    -------
    cp.Variable (R, K)
        ``U`` [GPU-h per hour], with ``U <= held x gpu`` added to ``model.constraints["pool_usage"]``.
    """
    U = cp.Variable((model.R, len(pool_idx)), nonneg=True, name="pool_usage")
    cap = Sel @ (model.active[:, pool_idx] @ sp.diags(gpu))
    model.constraints["pool_usage"] = [U <= cap]
    return U


def used_usd(model, U, dir_idx, dir_rate, Rm, spend, price):
    """Committed dollars used per row and instrument, ``(R, I)`` [USD/h], in the market's instrument order.

    ``U`` (R, K) is the usage of the instruments ``dir_idx`` that cover one pool directly (pool instruments and
    single-pool GCP resource CUDs, :func:`~finops_forecast.portfolio.model.direct_cover`) [GPU-h per hour] and
    ``dir_rate`` (K,) their price per GPU-h [USD/GPU-h]; ``Rm`` (J, S) the rate matrix of the other instruments
    ``spend`` (S,) (units of commitment per GPU-h; None without them), whose used units are valued at ``price``
    (I,) [USD/h per unit]."""
    I = model.I
    parts = []
    if U is not None and len(dir_idx):
        E = sp.csr_matrix((np.asarray(dir_rate, float), (np.arange(len(dir_idx)), dir_idx)),
                          shape=(len(dir_idx), I))
        parts.append(U @ E)
    if model.G is not None and Rm is not None:
        E = sp.csr_matrix((np.asarray(price, float)[spend], (np.arange(len(spend)), spend)), shape=(len(spend), I))
        parts.append(model.G @ (Rm @ E))
    return parts[0] if len(parts) == 1 else parts[0] + parts[1]


def unused_normalized(model, used, fee_total):
    """``Z_m / scale`` per scenario group (M,): fees over the horizon minus the used dollars of the group.

    With a price outlook the used dollars are valued at the price of the row's period (``commit_mult``): what a
    unit bought then costs, a lower bound on what the held units cost when prices fall, so ``Z >= 0``."""
    comp = model.comp
    if model.commit_mult is not None:
        used = cp.multiply(used, np.asarray(model.commit_mult, float)[comp.period])
    Kg = sp.csr_matrix((comp.row_hours(), (comp.group, np.arange(model.R))), shape=(model.M, model.R))
    return (fee_total - Kg @ cp.sum(used, axis=1)) / model.scale


def idle_rates(T: int, P: int, dir_idx, dir_pool, dir_rate, commit_mult) -> np.ndarray:
    """(T, P) value of an idle GPU-h of the direct instruments of each pool in each period [USD/GPU-h]: the lowest
    rate per GPU-h among the pool's direct instruments (at the purchase price of the period), i.e. the one left
    idle when the usage goes to the dearest first, as the exact usage program chooses; 0 for pools with none."""
    rho = np.full((T, P), np.inf)
    for k, (i, p) in enumerate(zip(dir_idx, dir_pool)):
        rho[:, p] = np.minimum(rho[:, p], dir_rate[k] * np.asarray(commit_mult, float)[:, i])
    return np.where(np.isfinite(rho), rho, 0.0)


def unused_from_surplus(model, used, fee_other, surplus, rho):
    """``Z_m / scale`` per scenario group (M,) without usage variables for the direct instruments (pool
    instruments, single-pool resource CUDs): the other instruments' fees ``fee_other`` [USD] minus their used
    dollars ``used`` (R, I) [USD/h], plus the direct instruments' idle GPU-h, the surplus of the cover constraint
    ``surplus`` (R, P) [GPU-h per hour], valued at ``rho`` (T, P) (:func:`idle_rates`). Exact with one direct
    instrument per pool; with several, a lower bound on the exact measure (idle GPU-h beyond the cheapest
    instrument's capacity are valued at its rate). Adds no variable nor constraint to the program."""
    comp = model.comp
    M, T, R = model.M, model.T, model.R
    row = cp.sum(cp.multiply(surplus, rho[comp.period]), axis=1)
    if used is not None:
        if model.commit_mult is not None:
            used = cp.multiply(used, np.asarray(model.commit_mult, float)[comp.period])
        row = row - cp.sum(used, axis=1)
    # per group x period its own variable (sparse rows, as the recourse cost), normalized by ``scale``
    Kgt = sp.csr_matrix((comp.row_hours() / model.scale, (comp.group * T + comp.period, np.arange(R))),
                        shape=(M * T, R))
    model.zq = cp.Variable(M * T, name="unused_group_period")
    model.constraints["unused_group_period"] = [model.zq == Kgt @ row]
    Sum = sp.csr_matrix((np.ones(M * T), (np.repeat(np.arange(M), T), np.arange(M * T))), shape=(M, M * T))
    return fee_other / model.scale + Sum @ model.zq


def low_groups(prob: np.ndarray, share: float = 0.10) -> np.ndarray:
    """Indices of the lowest-demand scenario groups (groups are sorted by demand) holding the ``share``
    quantile: the groups whose cumulative probability reaches ``share``, at least one."""
    cum = np.cumsum(prob)
    k = int(np.searchsorted(cum, share - 1e-12)) + 1
    return np.arange(min(max(k, 1), len(prob)))


def limit_constraints(model, used, x, price, term_months, commit_mult, list_price=None) -> dict:
    """The user limits of :class:`~finops_forecast.portfolio.model.UserConstraints` as cvxpy constraints.

    Parameters
    ----------
    model : CommitmentModel
    used : cvxpy expression (R, I)
        Committed dollars used per row [USD/h] (:func:`used_usd`).
    x : cvxpy expression (T, I)
        Purchases per period [instance] or [USD/h].
    price : ndarray (I,)
        Fee per unit in the program [USD/h] (what ``used`` is valued at; the minimum utilization compares them).
    list_price : ndarray (I,), optional
        Amortized price per unit [USD/h] of the 3-year share and the obligation (default ``price``).
    term_months : ndarray (I,)
        Term of each instrument [months].
    commit_mult : ndarray (T, I)
        Price multiplier of a purchase in each period (price outlook; ones when flat).

    Returns
    -------
    dict
        Constraint lists keyed ``min_util``, ``max_3y``, ``max_obligation`` (only the limits set).
    """
    u, out = model.user, {}
    comp, T = model.comp, model.T
    if u.min_util is not None and u.min_util > 0 and used is not None:
        lo = low_groups(comp.prob, 0.10)
        rows = np.flatnonzero(np.isin(comp.group, lo))
        gt = np.searchsorted(lo, comp.group[rows]) * T + comp.period[rows]
        Agg = sp.csr_matrix((comp.weight[rows], (gt, rows)), shape=(len(lo) * T, model.R))
        Rep = sp.csr_matrix((np.ones(len(lo) * T), (np.arange(len(lo) * T), np.tile(np.arange(T), len(lo)))),
                            shape=(len(lo) * T, T))
        bought = (model.active - model.held) @ sp.diags(price)  # [USD/h] held beyond the inventory
        buy = np.asarray(u.purchasable if u.purchasable is not None else np.ones(model.I, bool), bool)
        cols = np.flatnonzero(buy)
        out["min_util"] = [(Agg @ used)[:, cols] >= float(u.min_util) * (Rep @ bought)[:, cols]]
    usd = x @ sp.diags(price if list_price is None else list_price)  # [USD/h] bought per period and instrument
    if u.max_3y_share is not None:
        long = (np.asarray(term_months) >= 36).astype(float)
        out["max_3y"] = [usd @ long <= float(u.max_3y_share) * cp.sum(usd, axis=1)]
    if u.max_obligation is not None:
        ob = cp.multiply(usd, commit_mult) @ (np.asarray(term_months, float) * HOURS_PER_MONTH)
        out["max_obligation"] = [cp.sum(ob) <= float(u.max_obligation)]
    return out
