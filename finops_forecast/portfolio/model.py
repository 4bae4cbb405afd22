"""The commitment program (cvxpy; HiGHS for LP and MILP).

First stage and ladder: ``x[t, i]`` units of instrument ``i`` bought at the start of period ``t`` (t = 0 is
"now"); a purchase holds ``cover[k, t, i]`` of each later period ``k`` (1 inside its term, the share of the period
its term ends in), so purchases in different periods expire at different times. Periods may be unequal (the
first quarter's months, quarters cut at owned commitments' expiry dates). Recourse, per representative row ``r`` (scenario group x period x hour-vector,
:mod:`~finops_forecast.portfolio.compress`): spend-instrument coverage ``G[r, j]`` of pool ``p_j`` by
instrument ``i_j`` [GPU-h per hour] and uncovered demand ``W[r, c]`` per chunk [GPU-h per hour], which runs on
spot (spot chunks) or on demand (firm chunks)::

    minimize    E[L] + lambda * CVaR_alpha(L) + tail           (Rockafellar-Uryasev, over scenario groups)
    L_m       = sum_t hours_t * (a_t . price + inventory fee_t) + sum_{r in m} hours_r * (W_r . value)
    a_t       = sum_q cover[t, q] x[q] + inventory[t]                                (the ladder)
    tail      = sum_{q, i} x[q, i] * price_i * tail_hours[q, i]      (fees after the horizon, when counted)
    W_r A + G_r B + (a_{t_r} Gpool) >= D_r A                  (each pool's demand is covered or left over)
    G_r rate <= a_{t_r}[spend]                                 (a spend commitment's hourly budget [USD/h])
    0 <= W_r <= D_r  (firm chunks 0 when on demand is forbidden)
    user constraints: upfront budget per quarter, max commitment share, min floor coverage

Objective terms are small objects (:class:`ExpectedCost`, :class:`CVaR`) added together; ``lambda`` and
``lambda / (1 - alpha)`` and the demand ``D`` are ``cp.Parameter``s created once, so re-solving for another
risk weight (the frontier) or another window of demand of the same shape (backtests) does not recompile (DPP).
Constraints are matrix expressions over all rows at once, never Python loops over hours.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from finops_forecast.errors import NumericalSolverError, PortfolioError, ProgramInfeasible
from finops_forecast.portfolio import risk
from finops_forecast.portfolio.compress import Compressed
from finops_forecast.portfolio.instruments import Market
from finops_forecast.portfolio.risk import RiskWeight


@dataclass
class Solution:
    """Result of one solve.

    Attributes
    ----------
    x, active : ndarray (T, I)
        Purchases and active quantities per period [instance] or [USD/h].
    objective_usd, expected_usd, cvar_usd : float
        Objective, expected cost and CVaR over the horizon [USD].
    status, solver : str
    notes : list of str
    """

    x: np.ndarray
    active: np.ndarray
    objective_usd: float
    expected_usd: float
    cvar_usd: float
    status: str
    solver: str
    notes: list = field(default_factory=list)
    group_cost_usd: np.ndarray | None = None
    #: integer plans: objective of the LP relaxation, a lower bound on every integer plan's [USD]
    lp_bound_usd: float | None = None
    #: unused commitment per scenario group on the compressed rows [USD] (:mod:`~finops_forecast.portfolio.risk`)
    unused_group_usd: np.ndarray | None = None
    #: two-stage recourse: each scenario group's renewals (M, periods of the second stage, K) [units]
    #: (:class:`Renewals`); ``x`` and ``active`` then hold the expected ladder
    renewals: np.ndarray | None = None
    #: two-stage recourse: what each scenario group holds (M, T, I) [units] (the plan is billed with it)
    active_by_group: np.ndarray | None = None

    def expected_unused_usd(self, prob: np.ndarray) -> float:
        """Expected unused commitment over the scenario groups of probability ``prob`` [USD]."""
        return float(np.asarray(prob) @ self.unused_group_usd) if self.unused_group_usd is not None else \
            float("nan")


class ExpectedCost:
    """Objective term: expected cost over scenario groups [USD]."""

    def build(self, model: CommitmentModel):
        return model.prob_w @ model.loss_n


class CVaR(RiskWeight):
    """Objective term: ``lambda x CVaR_alpha(loss)`` by Rockafellar-Uryasev, with lambda and alpha in
    parameters (``lam`` and ``lam_tail = lambda / (1 - alpha)``) so they change without recompiling."""

    def build(self, model: CommitmentModel):
        self.xi = cp.Variable(model.M, nonneg=True)
        model.constraints["cvar"] = [self.xi >= model.loss_n - self.eta]
        return self.lam * self.eta + self.lam_tail * (model.prob_w @ self.xi)

    def value(self, losses: np.ndarray, prob: np.ndarray) -> float:
        return cvar(losses, prob, self.alpha)


def cvar(losses: np.ndarray, prob: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of a discrete loss distribution (mean of the worst 1 - alpha probability mass) [USD]."""
    losses, prob = np.asarray(losses, float), np.asarray(prob, float)
    o = np.argsort(-losses)
    l, p = losses[o], prob[o] / prob.sum()
    tail = 1 - alpha
    cum = np.cumsum(p)
    take = np.clip(tail - (cum - p), 0, p)
    return float(take @ l / tail)


@dataclass
class UserConstraints:
    """Right-hand sides of the user constraints (None: not imposed).

    budget : (T,) [USD] upfront per period; max_commit : (T, K) [GPU] per provider group with ``commit_equiv``
    (I, K) GPU-equivalents per unit; floor : (T, P) [GPU-h per hour] with ``floor_share``.
    """

    budget: np.ndarray | None = None
    max_commit: np.ndarray | None = None
    commit_equiv: np.ndarray | None = None
    floor: np.ndarray | None = None
    floor_share: float = 0.0
    allow_on_demand: bool = True
    purchasable: np.ndarray | None = None
    ladder: bool = True
    #: limits against stranded commitments (:mod:`~finops_forecast.portfolio.risk`): share, share, [USD]
    min_util: float | None = None
    max_3y_share: float | None = None
    max_obligation: float | None = None
    #: (T,) quarter of each period (the budget is per quarter; ``ladder=False`` buys in quarter 0); None: a
    #: period is a quarter
    period_quarter: np.ndarray | None = None

    NAMES = {"budget": "upfront_budget_usd", "max_commit": "max_commitment_share",
             "floor": "min_floor_coverage", "allow_on_demand": "allow_on_demand",
             "min_util": "min_utilization_p10", "max_3y": "max_three_year_share",
             "max_obligation": "max_obligation_usd"}


@dataclass(frozen=True)
class Renewals:
    """Second-stage purchases per scenario group: the two-stage recourse (``PortfolioConfig.recourse``,
    docs/portfolio.md "Two-stage recourse").

    start : first period of the second stage (the scenario groups must be formed from the demand before it);
    cols : (K,) instruments that each group may buy from ``start`` on (single-pool instruments whose term ends
    before the horizon does, e.g. 12-month reserved instances).
    """

    start: int
    cols: np.ndarray


class CommitmentModel:
    """The program of the module docstring, built once for a market, compressed demand and settings.

    Parameters
    ----------
    market : Market
    comp : Compressed
    term_periods : ndarray (I,) or (T, T, I)
        Term of each instrument in whole periods (4 or 12 for quarters; 1 for a one-period decision), or the term
        cover of unequal periods: ``cover[k, t, i]`` the share of period k held by a unit of i bought at the
        start of period t (:func:`finops_forecast.portfolio.api.term_cover`).
    inventory : ndarray (T, I)
        Quantities already owned and active in each period.
    user : UserConstraints
    integer_pool : bool
        Every instrument in whole units (instances, GPUs, USD/h).
    risk_lambda, alpha : float
    risk_measure : str
        What ``risk_lambda`` weighs: ``"cost"`` (CVaR of total cost), ``"unused"`` (CVaR of unused
        commitment) or ``"expected_unused"`` (expected unused commitment, :mod:`~finops_forecast.portfolio.risk`).
    value_mult : ndarray (R, C), optional
        Price outlook: multiplier of each chunk's value (on-demand or spot rate) in each row; None: today's.
    commit_mult : ndarray (T, I), optional
        Price outlook: multiplier of the price of a unit bought in each period (commitments lock it); None: 1.
        A unit bought in period t pays ``fee_price x commit_mult[t]`` for its term.
    fee_price : ndarray (I,), optional
        Fee per unit in the objective [USD/h per unit]: the equivalent hourly rate at the cost of capital
        (payment options compared by present value); default the amortized ``market.price``.
    tail_hours : ndarray (T, I), optional
        Hours of the term of a unit bought in each period that fall after the horizon [h]: their fees are added
        to the objective (``fees_after_horizon="count"``); None: not counted.
    """

    def __init__(self, market: Market, comp: Compressed, term_periods, inventory=None,
                 user: UserConstraints | None = None, integer_pool: bool = False, risk_lambda: float = 0.0,
                 alpha: float = 0.95, risk_measure: str = "cost", value_mult=None, commit_mult=None,
                 fee_price=None, tail_hours=None, tail_inventory=None, renewals: Renewals | None = None):
        I = market.n_instruments
        if not I:
            raise PortfolioError("The market has no commitment instrument to buy for these pools: check the "
                                 "catalog's reserved / cud / savings_plan rows and the config's terms_months, "
                                 "payment_options and families.")
        self.market, self.comp0, self.T0 = market, comp, len(comp.hours)
        self.user = user or UserConstraints()
        self.renewals = renewals if renewals is not None and len(renewals.cols) else None
        if self.renewals is not None and (self.user.min_util or 0) > 0:
            raise PortfolioError("recourse (second-stage renewals) and min_utilization_p10 cannot be combined; "
                                 "set recourse=False or min_utilization_p10=None.")
        self.cover0 = as_cover(term_periods, self.T0, I)
        self.inventory0 = np.zeros((self.T0, I)) if inventory is None else np.asarray(inventory, float)
        self.tail_hours, self.tail_inventory = None, tail_inventory
        if tail_hours is not None and np.any(np.asarray(tail_hours) > 0):
            self.tail_hours = np.asarray(tail_hours, float)
        self.value_mult0, self.commit_mult0 = value_mult, commit_mult
        comp, self.cover, self.inventory, value_mult, commit_mult = with_tail(
            comp, self.cover0, self.inventory0, self.tail_hours, tail_inventory, value_mult, commit_mult)
        self.comp = comp
        T, P, C = len(comp.hours), market.n_pools, market.n_chunks
        R, M = comp.n_rows, comp.n_groups
        self.T, self.I, self.P, self.C, self.R, self.M = T, I, P, C, R, M
        self.integer_pool = integer_pool
        self.risk_measure, self.value_mult, self.commit_mult = risk_measure, value_mult, commit_mult
        self.prob_w = comp.prob
        self.fee_price = market.price if fee_price is None else np.asarray(fee_price, float)
        # scale: expected all-on-demand cost, so the objective is O(1)
        pd_rows = comp.D @ market.chunk_pool_matrix() @ market.od_rate
        self.scale = max(float(comp.prob @ (sp.csr_matrix((comp.row_hours(), (comp.group, np.arange(R))),
                                                           shape=(M, R)) @ pd_rows)), 1.0)
        self._Sel = sp.csr_matrix((np.ones(R), (np.arange(R), comp.period)), shape=(R, T))
        self.constraints: dict[str, list] = {}
        paid = self._first_stage()
        self._second_stage()
        self._recourse()
        self._loss(paid)
        self._user_limits()
        self._risk_terms(paid, risk_lambda, alpha)

    def _first_stage(self):
        """Purchases ``x`` (T, I), the ladder of held quantities ``active`` = purchases x term cover + inventory;
        returns what the held units cost under a price outlook (None when flat)."""
        T, I, market = self.T, self.I, self.market
        n_pool = int(market.is_pool.sum())
        parts = []
        if n_pool:
            self.xp = cp.Variable((T, n_pool), nonneg=True, name="x_pool")  # integers: see _integer_plan
            parts.append(self.xp)
        if I - n_pool:
            self.xs = cp.Variable((T, I - n_pool), nonneg=True, name="x_spend")
            parts.append(self.xs)
        x = cp.hstack(parts) if len(parts) > 1 else parts[0]
        self.x = x
        ladder, paid = term_ladder(self.cover, x, self.commit_mult)
        # held quantities as their own variable, so every recourse row refers to one entry, not to the ladder
        # sum (keeps the constraint matrix sparse: no dense columns for the interior point method)
        self.active = cp.Variable((T, I), nonneg=True, name="held")
        # the inventory is a Parameter like the demand: a program re-solved for another window (backtests) with
        # other commitments held is not recompiled (DPP, :meth:`update`)
        self.held = cp.Parameter((T, I), nonneg=True, name="inventory")
        self.held.value = np.maximum(self.inventory, 0.0)
        cons = [self.active == ladder + self.held]
        if not self.user.ladder and T > 1:
            cons.append(x[self._later_periods(), :] == 0)
        if self.user.purchasable is not None and not np.all(self.user.purchasable):
            cons.append(x @ sp.diags((~np.asarray(self.user.purchasable, bool)).astype(float)) == 0)
        self.constraints["structure"] = cons
        return paid

    def _second_stage(self):
        """Renewals ``y`` (M x T2, K): units of instrument ``cols[k]`` bought by scenario group ``g`` at the start
        of second-stage period ``start + t`` (terms that end inside the horizon); ``held_y`` (M x T, K) what each
        group holds (its own term cover), ``paid_y`` what it pays under a price outlook (None when flat).
        Nothing without renewals."""
        self.y = self.held_y = self.paid_y = None
        rn = self.renewals
        if rn is None:
            return
        T, M, T0 = self.T, self.M, self.T0
        cols = np.asarray(rn.cols, int)
        self.y = cp.Variable((M * (T0 - rn.start), len(cols)), nonneg=True, name="renewals")
        cm = None if self.commit_mult is None else \
            np.tile(np.asarray(self.commit_mult, float)[rn.start:T0][:, cols], (M, 1))
        # each group's own ladder: the term cover of the second stage's purchase periods, once per group
        self.held_y, self.paid_y = term_ladder(self.cover[:, rn.start:T0][:, :, cols], self.y, cm,
                                               lift=lambda Mt: sp.kron(sp.identity(M), Mt, format="csr"))
        if T > T0:  # no renewal whose term runs past the horizon: the tail period holds pro-rata averages, which
            # a group-specific purchase could stretch over the whole tail (a 9-month remainder standing for 33)
            late = (self.cover[T - 1, rn.start:T0][:, cols] > 0).astype(float)
            if late.any():
                self.constraints["renewal_horizon"] = [cp.multiply(np.tile(late, (M, 1)), self.y) == 0]

    def _later_periods(self) -> np.ndarray:
        """Periods after the first quarter (``ladder=False`` buys in the first quarter only)."""
        pq = self.user.period_quarter
        return np.arange(1, self.T) if pq is None else np.flatnonzero(np.asarray(pq)[: self.T] > 0)

    def _recourse(self):
        """Uncovered demand ``W``, spend-plan cover ``G`` and the cover constraints. W exists for spot chunks
        (bounded by their size: spot is cheaper, so they are filled first) and for firm chunks when on demand is
        allowed (no upper bound needed: the remainder after cheaper chunks is at most the firm chunk)."""
        market, R, C, P, I = self.market, self.R, self.C, self.P, self.I
        Sel, Apc = self._Sel, sp.csr_matrix(market.chunk_pool_matrix())
        self.D = cp.Parameter((R, C), nonneg=True, name="demand")
        self.D.value = self.comp.D
        firm = market.chunk_series < 0
        wcols = np.flatnonzero(~firm | bool(self.user.allow_on_demand))
        self.wcols = wcols
        spotc = np.flatnonzero(~firm[wcols])
        self.W = cp.Variable((R, len(wcols)), nonneg=True, name="uncovered") if len(wcols) else None
        direct, Gdirect = direct_cover(market)
        spend = np.flatnonzero(~direct)
        pairs = [(i, p) for i in spend for p in range(P) if np.isfinite(market.rate[i, p])]
        self._Gpool = sp.csr_matrix(Gdirect)
        # instruments covering one pool directly (pool instruments, single-pool GCP resource CUDs): their pool and
        # GPU-h per hour per unit
        dir_idx = np.flatnonzero(direct)
        dir_pool = Gdirect[dir_idx].argmax(axis=1) if len(dir_idx) else np.zeros(0, int)
        dir_gpu = Gdirect[dir_idx, dir_pool] if len(dir_idx) else np.zeros(0)
        self._direct = (direct, dir_idx, dir_pool, dir_gpu)
        self.U = None
        if (self.user.min_util or 0) > 0:
            # the minimum utilization needs each instrument's usage: U of the direct instruments is a variable
            # (<= held capacity). Without it the unused commitment is priced from the cover surplus (below).
            n_dir = len(dir_idx)
            self.U = risk.pool_usage(self, Sel, dir_idx, dir_gpu) if n_dir else None
            Bp = sp.csr_matrix((np.ones(n_dir), (np.arange(n_dir), dir_pool)), shape=(n_dir, P))
            cover = self.U @ Bp if n_dir else 0
        else:
            cover = Sel @ (self.active @ self._Gpool)
            if self.held_y is not None:  # each row's own group's renewals
                comp = self.comp
                S2 = sp.csr_matrix((np.ones(R), (np.arange(R), comp.group * self.T + comp.period)),
                                   shape=(R, self.M * self.T))
                cover = cover + S2 @ (self.held_y @ self._Gpool[np.asarray(self.renewals.cols, int)])
        if self.W is not None:
            cover = cover + self.W @ Apc[wcols]
        self._B = self._Rm = None
        self._spend = spend
        self.G = None
        if pairs:
            self.G = cp.Variable((R, len(pairs)), nonneg=True, name="spend_cover")
            ji = np.array([a for a, _ in pairs]); jp = np.array([b for _, b in pairs])
            J = len(pairs)
            self._B = sp.csr_matrix((np.ones(J), (np.arange(J), jp)), shape=(J, P))
            self._Rm = sp.csr_matrix((market.rate[ji, jp], (np.arange(J), np.searchsorted(spend, ji))),
                                     shape=(J, len(spend)))
            Es = sp.csr_matrix((np.ones(len(spend)), (spend, np.arange(len(spend)))), shape=(I, len(spend)))
            cover = cover + self.G @ self._B
            self.constraints["spend_budget"] = [self.G @ self._Rm <= Sel @ (self.active @ Es)]
        self._cover_constraints(cover, Apc, wcols, spotc)

    def _cover_constraints(self, cover, Apc, wcols, spotc):
        """Each pool's demand is covered or left over; the surplus of the direct instruments (idle GPU-h)."""
        self.surplus = None
        if self.U is not None:
            # usage variables: commitments use exactly the demand they cover, at most the demand (so "used" in the
            # unused-commitment measure is real usage). Equality (every term has only an upper bound, so any
            # covering plan can be cut down to it) instead of cover >= demand and use <= demand: one block of
            # rows instead of two
            self.constraints["cover"] = [cover == self.D @ Apc]
        else:
            self.constraints["cover"] = [cover >= self.D @ Apc]
            # idle GPU-h of the direct instruments per row and pool (risk.unused_normalized)
            self.surplus = cover - self.D @ Apc
            if self.risk_measure in risk.UNUSED_MEASURES and self.G is not None:
                # spend plans use at most the demand (so their "used" in the unused commitment is real usage)
                self.constraints["use_le_demand"] = [self.G @ self._B <= self.D @ Apc]
        if len(spotc):
            self.constraints["uncovered_bounds"] = [self.W[:, spotc] <= self.D[:, wcols[spotc]]]
        if not self.user.allow_on_demand:
            self.constraints["allow_on_demand"] = []  # marker: firm chunks have no uncovered variable

    def _loss(self, paid):
        """Loss per scenario group, normalized by the expected all-on-demand cost ``scale`` [USD] so every
        coefficient is O(1). Recourse cost per group x period is its own variable (sparse rows), measured per
        hour relative to the mean all-on-demand cost per hour ``c0`` [USD/h]. ``loss_n`` (the objective's) runs
        to the end of the tail period when there is one; ``loss`` [USD] is the horizon's."""
        comp, T, M, R, price = self.comp, self.T, self.M, self.R, self.fee_price
        fees = self.active @ price if paid is None else (paid + self.held) @ price  # (T,) [USD/h]
        self.fee_total = comp.hours @ fees  # [USD]
        total_h = float(comp.hours.sum())
        c0 = self.scale / total_h
        gt = comp.group * T + comp.period
        K = sp.csr_matrix((comp.weight / c0, (gt, np.arange(R))), shape=(M * T, R))
        hw = np.tile(comp.hours / total_h, M)
        rows, cols = np.repeat(np.arange(M), T), np.arange(M * T)
        Sum = sp.csr_matrix((hw, (rows, cols)), shape=(M, M * T))
        v, wcols = self.market.chunk_value, self.wcols
        if self.W is not None:
            self.q = cp.Variable(M * T, name="recourse_cost")
            if self.value_mult is None:
                self.constraints["recourse_cost"] = [self.q == K @ (self.W @ v[wcols])]
            else:  # price outlook: each row's chunk values at its scenario and period's prices
                vm = np.asarray(self.value_mult, float)[:, wcols] * v[wcols][None, :]
                self.constraints["recourse_cost"] = [self.q == K @ cp.sum(cp.multiply(self.W, vm), axis=1)]
            self.loss_n = Sum @ self.q + self.fee_total / self.scale
        else:
            self.loss_n = self.fee_total / self.scale + np.zeros(M)
        fee_y_h = 0.0
        if self.held_y is not None:  # each group pays its own renewals [USD]
            py = (self.held_y if self.paid_y is None else self.paid_y) @ price[np.asarray(self.renewals.cols, int)]
            Hm = sp.csr_matrix((np.tile(comp.hours, M), (rows, cols)), shape=(M, M * T))
            self.loss_n = self.loss_n + (Hm @ py) / self.scale
            Hm_h = sp.csr_matrix((np.tile(comp.hours * (np.arange(T) < self.T0), M), (rows, cols)),
                                 shape=(M, M * T))
            fee_y_h = Hm_h @ py
        self.loss = self.loss_n * self.scale  # [USD]
        if T > self.T0:  # the horizon's loss, without the tail period
            inside = np.tile(np.arange(T) < self.T0, M)
            Sum_h = sp.csr_matrix((hw * inside, (rows, cols)), shape=(M, M * T))
            fee_h = comp.hours[: self.T0] @ fees[: self.T0]
            self.loss = (Sum_h @ self.q * self.scale if self.W is not None else np.zeros(M)) + fee_h + fee_y_h

    def _user_limits(self):
        """Upfront budget per quarter, commitment cap, floor coverage (none of them in the tail period)."""
        u, x, T, T0, Sel = self.user, self.x, self.T, self.T0, self._Sel
        if u.budget is not None:
            upfront = self.market.instruments["upfront"].to_numpy(float)
            pq = np.arange(T0) if u.period_quarter is None else np.asarray(u.period_quarter, int)[:T0]
            nq = int(pq.max()) + 1
            Q = sp.csr_matrix((np.ones(T0), (pq, np.arange(T0))), shape=(nq, T))  # periods -> quarters
            self.constraints["budget"] = [Q @ (x @ upfront) <= np.asarray(u.budget, float)[:nq]]
        if u.max_commit is not None:
            self.constraints["max_commit"] = [self.active[:T0] @ u.commit_equiv <= u.max_commit]
        if u.floor is not None and u.floor_share > 0:
            fl = np.zeros((T, self.P))
            fl[:T0] = u.floor_share * np.asarray(u.floor, float)
            cov = Sel @ (self.active @ self._Gpool)
            if self._B is not None:
                cov = cov + self.G @ self._B
            self.constraints["floor"] = [cov >= Sel @ fl]

    def _risk_terms(self, paid, risk_lambda: float, alpha: float):
        """Unused commitment, the stranded-commitment limits and the objective (expected cost + risk term)."""
        T, I, price = self.T, self.I, self.fee_price
        direct, dir_idx, dir_pool, dir_gpu = self._direct
        self.used = None
        cm = np.ones((T, I)) if self.commit_mult is None else np.asarray(self.commit_mult, float)
        dir_rate = price[dir_idx] / np.maximum(dir_gpu, 1e-12)  # [USD per GPU-h]
        if self.U is not None or self.G is not None:
            self.used = risk.used_usd(self, self.U, dir_idx, dir_rate, self._Rm, self._spend, price)
        if self.U is not None:
            self.unused_n = risk.unused_normalized(self, self.used, self.fee_total)
        else:
            # fees of the other instruments minus their used dollars, plus the direct instruments' idle GPU-h
            fees_nd = price * (~direct)
            fee_nd = self.comp.hours @ (self.active @ fees_nd if paid is None else (paid + self.held) @ fees_nd)
            self.unused_n = risk.unused_from_surplus(self, self.used, fee_nd, self.surplus,
                                                     risk.idle_rates(T, self.P, dir_idx, dir_pool, dir_rate, cm))
        T0 = self.T0  # the tail period's purchases are not the plan's (with_tail)
        self.constraints.update(risk.limit_constraints(self, self.used, self.x[:T0], price,
                                                       self.market.instruments["term_months"].to_numpy(float),
                                                       cm[:T0], list_price=self.market.price))
        self.expected_term = ExpectedCost()
        term = {"unused": risk.StrandedCVaR, "expected_unused": risk.StrandedExpected}.get(self.risk_measure, CVaR)
        self.risk_term = term(risk_lambda, alpha)
        obj = self.expected_term.build(self) + self.risk_term.build(self)
        self.problem = cp.Problem(cp.Minimize(obj),
                                  [c for cs in self.constraints.values() for c in cs])

    def update(self, comp: Compressed, inventory=None) -> CommitmentModel:
        """Re-point the compiled program at new demand and inventory of the same shape (no recompilation).

        Parameters
        ----------
        comp : Compressed
            Demand rows with the same structure as the program's (rows, periods, groups, weights, hours):
            only ``comp.D`` may differ.
        inventory : ndarray (T, I), optional
            Quantities already held [instance] or [USD/h]; None: nothing.

        Returns
        -------
        self
        """
        c0 = self.comp0
        if comp.D.shape != c0.D.shape or not (np.array_equal(comp.period, c0.period)
                                              and np.array_equal(comp.group, c0.group)
                                              and np.array_equal(comp.weight, c0.weight)
                                              and np.array_equal(comp.hours, c0.hours)):
            raise PortfolioError("update() needs demand rows of the program's structure; build a new "
                                 "CommitmentModel for another shape.")
        self.inventory0 = np.zeros((self.T0, self.I)) if inventory is None else np.asarray(inventory, float)
        self.comp0 = comp
        self.comp, _, self.inventory, _, _ = with_tail(comp, self.cover0, self.inventory0, self.tail_hours,
                                                       self.tail_inventory)
        self.D.value = self.comp.D
        self.held.value = np.maximum(self.inventory, 0.0)
        return self

    # ---- sizes
    def size(self) -> dict:
        """Variables, constraints (scalar rows) and nonzeros of the compiled program."""
        n_var = int(sum(v.size for v in self.problem.variables()))
        n_con = int(sum(c.size for c in self.problem.constraints))
        return {"variables": n_var, "constraints": n_con, "rows": self.R, "groups": self.M,
                "periods": self.T, "instruments": self.I, "chunks": self.C}

    # ---- solve
    def solve(self, risk_lambda: float | None = None, alpha: float | None = None, *, solver: str = "HIGHS",
              fallback_solvers=("CLARABEL", "SCIPY"), allow_inaccurate: bool = False,
              time_limit_s: float = 600.0, diagnose: bool = True, mip_rel_gap: float = 5e-3,
              relax: bool = False, warm_start: bool = True) -> Solution:
        """Solve (re-using the compiled program) and map statuses to typed errors.

        With ``integer_pool``, the plan is in whole units (:meth:`_integer_plan`) unless ``relax``: then the LP
        relaxation is returned, fractional (a lower bound on every whole-unit plan's objective).

        ``warm_start`` starts HiGHS from the previous solve's solution (the frontier's re-solves: about 2x faster on
        the sample). Where several plans have the same cost, a warm start may return another of them than a fresh
        solve does; ``warm_start=False`` returns the fresh solve's plan, the one the report and ``optimize`` give.

        Raises
        ------
        ProgramInfeasible
            Naming the user constraint(s) whose relaxation makes the program feasible.
        NumericalSolverError
            When every solver tried failed or was not optimal (and ``allow_inaccurate`` is False).
        """
        if risk_lambda is not None or alpha is not None:
            self.risk_term.set(self.risk_term.lam.value if risk_lambda is None else risk_lambda,
                               self.risk_term.alpha if alpha is None else alpha)
        notes, tried = [], []
        self._diagnose = diagnose
        self._warm_start = warm_start
        solvers = [solver] + [s for s in fallback_solvers if s != solver]
        status, s = self._run(self.problem, solvers, tried, time_limit_s, allow_inaccurate)
        if status != cp.OPTIMAL:
            if status == cp.OPTIMAL_INACCURATE and allow_inaccurate:
                notes.append("solution is optimal_inaccurate (allow_inaccurate=True): " + "; ".join(tried))
            else:
                raise NumericalSolverError(
                    "No solver returned an optimal commitment plan. Tried: " + "; ".join(tried) + ". Reduce "
                    "the problem (fewer scenario_groups/levels), relax integer_ri, or set allow_inaccurate=True "
                    "to accept an inaccurate plan (it is marked as such).")
        if tried:
            notes.append(f"{solvers[0]} failed ({'; '.join(tried)}); solved with {s}.")
        if self.integer_pool and not relax:
            return self._integer_plan(s, status, notes, time_limit_s, mip_rel_gap, allow_inaccurate)
        return self._solution(self._values(), str(status), s, notes)

    def _run(self, problem: cp.Problem, solvers, tried: list, time_limit_s: float, allow_inaccurate: bool,
             integer: bool = False, mip_rel_gap: float = 1e-3, strict: bool = True):
        """Solve ``problem`` with the first solver that returns optimal; raise on infeasible / unbounded
        (``strict``) or record it in ``tried`` and return the status (a rounded integer plan may be
        infeasible)."""
        installed = set(cp.installed_solvers())
        if "HIGHS" in solvers:
            _quiet_highs()
        status, s = None, None
        for s in solvers:
            if s not in installed:
                tried.append(f"{s}: not installed")
                continue
            if integer and s == "CLARABEL":
                continue  # not a MILP solver
            try:
                problem.solve(solver=s, warm_start=getattr(self, "_warm_start", True),
                              **_solver_opts(s, time_limit_s, integer, mip_rel_gap))
            except cp.error.SolverError as e:
                tried.append(f"{s}: {str(e).splitlines()[0][:200]}")
                continue
            status = problem.status
            if status == cp.OPTIMAL:
                break
            if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
                if not strict:
                    tried.append(f"{s}: {status}")
                    break
                if getattr(self, "_diagnose", True):
                    raise self._infeasible()
                raise ProgramInfeasible("The commitment program is infeasible.")
            if status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE):
                raise PortfolioError("The commitment program is unbounded: a commitment priced at or below 0 "
                                     "or a negative demand; check the catalog's commitment rates.")
            tried.append(f"{s}: status {status}")
            if status == cp.OPTIMAL_INACCURATE and allow_inaccurate and s == solvers[-1]:
                break
        return status, s

    def _values(self) -> dict:
        """The current variable values (after a solve), as arrays. With renewals, ``x`` and ``active`` add the
        groups' renewals weighted by the groups' probabilities (``x_renew``: the solution adds them, the expected
        ladder), ``active_groups`` (M, T, I) what each group holds and ``renewals`` the renewals per group
        (M, T0 - start, K) [units]."""
        v = {"x": np.maximum(np.asarray(self.x.value, float), 0.0),
             "active": np.maximum(np.asarray(self.active.value, float), 0.0),
             "loss": np.asarray(self.loss.value, float).ravel(),
             "unused": np.asarray(getattr(self.unused_n, "value", self.unused_n), float).ravel() * self.scale,
             "objective": float(self.problem.value) if self.problem.value is not None else float("nan")}
        if self.y is not None:
            rn, M, T = self.renewals, self.M, self.T
            cols = np.asarray(rn.cols, int)
            y = np.maximum(np.asarray(self.y.value, float), 0.0).reshape(M, -1, len(cols))
            held = np.maximum(np.asarray(self.held_y.value, float), 0.0).reshape(M, T, len(cols))
            v["renewals"] = y
            v["x_renew"] = np.zeros_like(v["x"])
            v["x_renew"][rn.start:rn.start + y.shape[1], cols] = np.tensordot(self.prob_w, y, axes=1)
            v["active_groups"] = np.repeat(v["active"][None], M, axis=0)
            v["active_groups"][:, :, cols] += held
        return v

    def _solution(self, v: dict, status: str, solver: str, notes: list) -> Solution:
        xv = v["x"][: self.T0].copy()
        active = v["active"][: self.T0]
        if "x_renew" in v:  # the expected ladder: the plan's purchases and the groups' expected renewals
            xv = xv + v["x_renew"][: self.T0]
            active = np.tensordot(self.prob_w, v["active_groups"][:, : self.T0], axes=1)
        xv[np.abs(xv) < 1e-9] = 0.0
        exp = float(self.prob_w @ v["loss"])
        return Solution(x=xv, active=active, objective_usd=v["objective"] * self.scale,
                        expected_usd=exp,
                        cvar_usd=cvar(v["loss"], self.prob_w, self.risk_term.alpha), status=status,
                        solver=solver, notes=notes, group_cost_usd=v["loss"],
                        unused_group_usd=v.get("unused"), renewals=v.get("renewals"),
                        active_by_group=None if "active_groups" not in v else v["active_groups"][:, : self.T0])

    def _integer_plan(self, solver: str, status, notes: list, time_limit_s: float, mip_rel_gap: float,
                      allow_inaccurate: bool) -> Solution:
        """Whole units for every instrument, with a proven optimality gap: instances (reserved instances,
        reservations), GPUs (GCP resource CUDs) and whole USD/h (spend plans), so no purchase line is below one unit.

        1. The LP relaxation (just solved) gives a lower bound ``LB`` on every integer plan's objective.
        2. Its pool purchases are rounded to whole instances (cumulatively over the ladder) and fixed; the rest of
           the program (spend plans, recourse) is re-solved as an LP: an integer-feasible plan with objective
           ``UB``. If that is not within the gap, a dive fixes one period at a time and re-solves the LP for
           the later periods after each rounding.
        3. If ``(UB - LB) / UB <= mip_rel_gap`` the plan is optimal within the gap (what a MILP solver stopping at
           that gap returns). Otherwise HiGHS branch and bound solves the MILP in the time left; its plan is kept
           if it is better. A plan whose gap is not proven raises unless ``allow_inaccurate``.

        The tail period's purchases (:func:`with_tail`) stand for commitments bought after the horizon, not the
        plan's: they stay continuous (a pro-rata average over the tail, like the held quantities there).
        """
        import time

        t0 = time.perf_counter()
        lb = self._values()["objective"]
        x_lp = np.maximum(np.asarray(self.x.value, float), 0.0)
        tried: list = []
        best, how_best = None, None

        def gap(v):
            return (v["objective"] - lb) / max(abs(v["objective"]), 1e-12)

        def good():
            return best is not None and gap(best) <= mip_rel_gap

        for v, how in self._rounded_plans(x_lp, solver, tried, time_limit_s, good):
            if v is not None and (best is None or v["objective"] < best["objective"]):
                best, how_best = v, how
        proven = best is not None and gap(best) <= mip_rel_gap
        by_bnb = False
        if not proven:
            v = self._branch_and_bound(solver, tried, time_limit_s - (time.perf_counter() - t0), mip_rel_gap)
            if v is not None:
                # branch and bound proved its plan within mip_rel_gap of the best integer plan; a rounded
                # plan at least as good is within it too
                if best is None or v["objective"] <= best["objective"]:
                    best, how_best = v, "by branch and bound (HiGHS MILP)"
                proven = by_bnb = True
        if best is None:
            raise NumericalSolverError(
                "No integer plan found for integer_ri=True (rounded LP plans and the MILP failed: "
                + "; ".join(tried) + "). Set integer_ri=False, or raise time_limit_s.")
        best["x"][: self.T0] = np.round(best["x"][: self.T0])
        st = _integer_notes(notes, how_best, gap(best), proven, by_bnb, mip_rel_gap, tried, allow_inaccurate,
                            str(status))
        sol = self._solution(best, st, solver, notes)
        sol.lp_bound_usd = lb * self.scale
        return sol

    #: what :meth:`solve` compiles beside the program to find a whole-unit plan (the LP with the rounded purchases
    #: fixed, the MILP of branch and bound): built on the first whole-unit solve, reused by later ones (the
    #: backtests' weekly re-solves), rebuilt when dropped
    ROUNDING_PROGRAMS = ("_fixed_problem", "_mask", "_fix", "_mip_problem", "_xint")

    def drop_rounding_programs(self) -> None:
        """Release the whole-unit rounding's compiled programs (:data:`ROUNDING_PROGRAMS`; ~80 MB on the sample
        report) when no whole-unit solve follows, e.g. before the frontier's LP re-solves."""
        for name in self.ROUNDING_PROGRAMS:
            self.__dict__.pop(name, None)

    def _fixed_solve(self, mask: np.ndarray, xr: np.ndarray, solver: str, tried: list, time_limit_s: float):
        """Re-solve the LP with ``x`` fixed to ``xr`` where ``mask``; the variable values, or None."""
        xq = self.x
        if not hasattr(self, "_fix"):
            # x fixed where mask is 1 (fix holds mask * value: a product of two parameters is not DPP)
            self._mask = cp.Parameter(xq.shape, nonneg=True, name="fixed_mask")
            self._fix = cp.Parameter(xq.shape, nonneg=True, name="fixed_units")
            self._fixed_problem = cp.Problem(self.problem.objective, self.problem.constraints
                                             + [cp.multiply(self._mask, xq) == self._fix])
        mask = mask.copy()
        mask[self.T0:] = False  # the tail period's purchases stay free
        self._mask.value = mask.astype(float)
        self._fix.value = np.maximum(mask * xr, 0.0)
        st, _ = self._run(self._fixed_problem, [solver], tried, time_limit_s, False, strict=False)
        if st != cp.OPTIMAL:
            return None
        v = self._values()
        v["objective"] = float(self._fixed_problem.value)
        v["xp"] = np.maximum(np.asarray(xq.value, float), 0.0)
        return v

    def _rounded_plans(self, x_lp: np.ndarray, solver: str, tried: list, time_limit_s: float, good):
        """Integer plans from the LP's: (values or None, how) for (a) the rounded cumulative purchases and, when
        ``good()`` is still False, (b) a dive."""
        shape = self.x.shape
        # (a) round the cumulative purchases, not each period's: a ladder buying 0.4 instances a quarter becomes
        # one instance every two or three quarters instead of none at all
        yield (self._fixed_solve(np.ones(shape, bool), np.diff(np.round(np.cumsum(x_lp, axis=0)), axis=0,
                                                                 prepend=0.0), solver, tried, time_limit_s),
               "rounded to the nearest instance (cumulative over the ladder)")
        if good() or self.T0 <= 1:
            return
        # (b) a dive: fix period by period, re-solving the LP for the later periods after each rounding
        mask, xr = np.zeros(shape, bool), np.zeros(shape)
        cur, cum_int, v = x_lp, np.zeros(shape[1]), None
        for t in range(self.T0):
            target = np.round(cum_int + cur[t])
            xr[t] = np.maximum(target - cum_int, 0.0)
            cum_int = cum_int + xr[t]
            mask[t] = True
            v = self._fixed_solve(mask, xr, solver, tried, time_limit_s)
            if v is None:
                break
            cur = v["xp"]
        yield v, "fixed period by period, the LP re-solved for the later periods after each rounding"

    def _branch_and_bound(self, solver: str, tried: list, left_s: float, mip_rel_gap: float):
        """HiGHS branch and bound on the plan's purchases in the time left; the values, or None."""
        if not hasattr(self, "_mip_problem"):
            self._xint = cp.Variable((self.T0, self.I), nonneg=True, integer=True, name="x_units_int")
            self._mip_problem = cp.Problem(self.problem.objective,
                                           self.problem.constraints + [self.x[: self.T0] == self._xint])
        st, _ = self._run(self._mip_problem, [solver], tried, max(left_s, 1.0), False, integer=True,
                          mip_rel_gap=mip_rel_gap, strict=False)
        if st != cp.OPTIMAL:
            return None
        v = self._values()
        v["objective"] = float(self._mip_problem.value)
        return v

    def _infeasible(self) -> ProgramInfeasible:
        """Find which user constraints, dropped one at a time (then all), make the program feasible."""
        import dataclasses

        u = self.user
        drop = {"budget": dict(budget=None), "max_commit": dict(max_commit=None),
                "floor": dict(floor=None, floor_share=0.0), "allow_on_demand": dict(allow_on_demand=True),
                "min_util": dict(min_util=None), "max_3y": dict(max_3y_share=None),
                "max_obligation": dict(max_obligation=None)}
        attr = {"max_3y": "max_3y_share"}
        active = [k for k in drop if (k == "allow_on_demand" and not u.allow_on_demand)
                  or (k != "allow_on_demand" and getattr(u, attr.get(k, k)) is not None
                      and (k != "floor" or u.floor_share > 0))]
        if not active:
            return ProgramInfeasible("The commitment program is infeasible with no user constraint set; this is "
                                     "a bug in the model, please report it.")

        def feasible(changes):
            m = CommitmentModel(self.market, self.comp0, self.cover0, self.inventory0,
                                dataclasses.replace(u, **changes), integer_pool=False,
                                risk_measure=self.risk_measure, value_mult=self.value_mult0,
                                commit_mult=self.commit_mult0, fee_price=self.fee_price,
                                tail_hours=self.tail_hours, tail_inventory=self.tail_inventory)
            p = cp.Problem(cp.Minimize(0), m.problem.constraints)
            p.solve(solver="HIGHS")
            return p.status == cp.OPTIMAL

        culprits = [UserConstraints.NAMES[k] for k in active if feasible(drop[k])]
        how = "relax " + ("one of: " if len(culprits) > 1 else "")
        if not culprits:
            culprits = [UserConstraints.NAMES[k] for k in active]
            how = "relax these together: "
        msg = "The commitment program is infeasible: " + how + ", ".join(culprits) + "."
        if "allow_on_demand" in culprits:
            msg += (" With on demand forbidden, commitments and spot must serve every GPU-hour; raise spot_cap "
                    "or allow spot for more workload classes, or allow on demand.")
        if "upfront_budget_usd" in culprits:
            msg += " The upfront budget cannot buy enough commitments; raise it or choose no_upfront options."
        if "max_commitment_share" in culprits:
            msg += " The commitment cap is below what must be committed; raise max_commitment_share."
        for k, fix in (("min_utilization_p10", "lower min_utilization_p10 (commitments must be used that much "
                        "in the low-demand scenarios, so fewer can be bought)"),
                       ("max_three_year_share", "raise max_three_year_share"),
                       ("max_obligation_usd", "raise max_obligation_usd [USD]")):
            if k in culprits:
                msg += f" {fix}."
        return ProgramInfeasible(msg, culprits)


def with_tail(comp: Compressed, cover: np.ndarray, inventory: np.ndarray, tail_hours, tail_inventory=None,
              value_mult=None, commit_mult=None):
    """Append the tail period: the hours after the horizon in which the planned purchases are still held.

    The tail lasts ``H = max tail_hours`` hours and repeats the last period's demand rows (demand after the
    horizon is assumed to stay at the last planned period's); a unit bought in period t is held there for
    ``tail_hours[t, i] / H`` of it (pro rata, as an owned commitment expiring inside a period), so it pays every
    fee of its term and is credited with the on-demand cost it displaces in that demand. Owned commitments hold
    ``tail_inventory`` (I,), their mean quantity over the tail. The tail period's own purchases (``x[T]``, held
    for the tail only and paid for its hours) stand for the commitments that would be bought after the horizon:
    a unit bought in the horizon is credited at most what a new commitment would cost in the tail, so its tail
    is worth buying only when the tail's demand uses it. They are not part of the plan (the solution drops
    them), and the limits on purchases (obligation, 3-year share) do not count them.

    Returns
    -------
    (comp, cover, inventory, value_mult, commit_mult) with T + 1 periods; unchanged when ``tail_hours`` is None.
    """
    if tail_hours is None:
        return comp, cover, inventory, value_mult, commit_mult
    T, I = inventory.shape
    tail = np.asarray(tail_hours, float)
    H = float(tail.max())
    last = np.flatnonzero(comp.period == T - 1)
    tc = Compressed(D=np.vstack([comp.D, comp.D[last]]), period=np.r_[comp.period, np.full(len(last), T)],
                    group=np.r_[comp.group, comp.group[last]], weight=np.r_[comp.weight, comp.weight[last]],
                    hours=np.r_[comp.hours, H], prob=comp.prob, group_of_path=comp.group_of_path)
    cov = np.zeros((T + 1, T + 1, I))
    cov[:T, :T] = cover
    cov[T, :T] = tail / H
    cov[T, T] = 1.0  # the tail's own purchases: held over the whole tail, paid for its hours only
    inv_tail = np.zeros(I) if tail_inventory is None else np.asarray(tail_inventory, float)
    inv = np.vstack([inventory, inv_tail[None, :]])
    vm = None if value_mult is None else np.vstack([value_mult, np.asarray(value_mult)[last]])
    # commitments bought after the horizon at the last period's price (an outlook's, else today's)
    cm = None if commit_mult is None else np.vstack([commit_mult, np.asarray(commit_mult)[-1:]])
    return tc, cov, inv, vm, cm


def term_ladder(cover: np.ndarray, x, commit_mult=None, lift=None):
    """What purchases ``x`` hold and pay per period: ``(held, paid)`` cvxpy expressions, ``paid`` None without a
    price outlook.

    ``cover`` (T, Tb, K): share of period ``k`` held by a unit of instrument column ``j`` bought in purchase
    period ``t`` (:func:`~finops_forecast.portfolio.api.term_cover`); ``x`` (Tb, K) purchases, or stacked blocks
    of them with ``lift`` mapping each (T, Tb) cover matrix to the stack's (e.g. one block per scenario group);
    ``commit_mult`` (like ``x``) the price multiplier of each purchase. One matrix per distinct cover pattern
    (per term on a calendar grid), applied column by column.
    """
    T, Tb, K = cover.shape
    held = paid = None
    pats, inv_idx = np.unique(cover.reshape(T * Tb, K).T, axis=0, return_inverse=True)
    for g in range(len(pats)):
        Mt = sp.csr_matrix(pats[g].reshape(T, Tb))
        Mt = Mt if lift is None else lift(Mt)
        Dg = sp.diags((np.ravel(inv_idx) == g).astype(float))
        h = Mt @ x @ Dg
        held = h if held is None else held + h
        if commit_mult is not None:  # what the held units cost: each purchase at its period's price
            pe = Mt @ cp.multiply(x, commit_mult) @ Dg
            paid = pe if paid is None else paid + pe
    return held, paid


def as_cover(term_periods, T: int, I: int) -> np.ndarray:
    """The (T, T, I) term cover of the program: given as such (:func:`finops_forecast.portfolio.api.term_cover`),
    or from each instrument's term in whole periods (I,): a unit bought in period t is held in periods
    t .. t + term - 1."""
    a = np.asarray(term_periods)
    if a.ndim == 3:
        if a.shape != (T, T, I):
            raise PortfolioError(f"term cover must be (periods, periods, instruments) = {(T, T, I)}; "
                                 f"got {a.shape}.")
        return a.astype(float)
    term = a.astype(int)
    k, t = np.arange(T)[:, None], np.arange(T)[None, :]
    return ((k >= t)[:, :, None] & ((k - t)[:, :, None] < term[None, None, :])).astype(float)


def direct_cover(market: Market) -> tuple[np.ndarray, np.ndarray]:
    """Instruments that cover one pool directly, and the GPU-h per hour one unit gives it.

    Pool instruments (reserved instances, reservations) do, and so does a ``gpu`` instrument (a GCP resource CUD
    in GPUs) whose GPU type has a single machine type in the market's pools: one GPU of commitment then covers one
    GPU-h of that pool, exactly as a pool instrument of one GPU per unit. Those get a column of held quantities in
    the coverage constraint instead of per-row allocation variables (the program is the same, and several times
    faster to solve); instruments that can cover several pools keep the allocation variables.

    Returns
    -------
    direct : ndarray (I,) of bool
    per_unit : ndarray (I, P)
        GPU-h per hour one unit of a direct instrument gives each pool [GPU-h per hour per unit]; 0 elsewhere.
    """
    per_unit = market.pool_gpu_matrix()
    direct = market.is_pool.copy()
    kind = market.instruments["kind"].to_numpy()
    for i in np.flatnonzero(kind == "gpu"):
        pools = np.flatnonzero(np.isfinite(market.rate[i]))
        if len(pools) == 1 and market.rate[i, pools[0]] > 0:
            direct[i] = True
            per_unit[i, pools[0]] = 1.0 / float(market.rate[i, pools[0]])
    return direct, per_unit


def _integer_notes(notes: list, how: str, g: float, proven: bool, by_bnb: bool, mip_rel_gap: float, tried: list,
                   allow_inaccurate: bool, status: str) -> str:
    """Say how the integer plan was found and how close to optimal it is proven (``g``: its objective above the
    LP relaxation, relative); return its status. Raises when the gap is not proven and not ``allow_inaccurate``."""
    if proven and by_bnb:
        notes.append(f"{_WHOLE} {how}: proven by HiGHS branch and bound within "
                     f"{mip_rel_gap:.2%} of the best integer plan ({max(g, 0.0):.3%} above the LP relaxation).")
    elif proven:
        notes.append(f"{_WHOLE} {how}: proven within {max(g, 0.0):.3%} of the best "
                     f"integer plan (its objective is {max(g, 0.0):.3%} above the LP relaxation, a lower bound "
                     f"on every integer plan; target mip_rel_gap {mip_rel_gap:.2%}).")
    if proven:
        return status
    notes.append(f"{_WHOLE} {how}: {max(g, 0.0):.3%} above the LP relaxation "
                 f"(not proven within mip_rel_gap={mip_rel_gap:.2%}).")
    if not allow_inaccurate:
        raise NumericalSolverError(
            f"The integer plan is only proven within {g:.2%} of optimal (target mip_rel_gap="
            f"{mip_rel_gap:.2%}; {'; '.join(tried) or 'no MILP improvement'}). Raise time_limit_s or "
            "mip_rel_gap, set integer_ri=False, or allow_inaccurate=True to accept it (marked as such).")
    return cp.OPTIMAL_INACCURATE


_HIGHS_QUIET = False
#: how the notes name the integer plan
_WHOLE = "whole units (integer reserved-instance counts, GPUs, USD/h)"


def _quiet_highs() -> None:
    """highspy prints a banner on the process's C-level stdout when its first ``Highs`` object is made (once
    per process, whatever the options). Make that first object here with file descriptor 1 pointed at
    /dev/null, so CLI output (which may be JSON) and notebook cells stay clean."""
    global _HIGHS_QUIET
    if _HIGHS_QUIET:
        return
    _HIGHS_QUIET = True
    try:
        import os
        import sys

        import highspy
    except ImportError:
        return
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


#: HiGHS method for the LP ("ipm", "simplex", "choose"); a MILP always uses branch and bound
HIGHS_LP_METHOD = "simplex"
#: HiGHS presolve for the LP ("off" / "on"): off, measured (:func:`_solver_opts`)
HIGHS_LP_PRESOLVE = "off"


def _solver_opts(s: str, time_limit_s: float, integer: bool = False, mip_rel_gap: float = 1e-3) -> dict:
    if s == "HIGHS":
        # output_flag off: no HiGHS banner on stdout (it would land in CLI output and papermill cells)
        if integer:
            return {"time_limit": float(time_limit_s),
                    "highs_options": {"mip_rel_gap": float(mip_rel_gap), "output_flag": False}}
        # dual simplex: measured faster than IPX (interior point + crossover) on this block-angular LP.
        # presolve off: on the optimizer benchmark's LP (82k rows) HiGHS's presolved problem solved in 5.7 s but
        # its postsolved basis was not optimal for the original, and primal simplex then took 16 s more (22.3 s);
        # without presolve 4.1 s, same objective (docs/performance.md "Optimizer benchmark regression")
        return {"time_limit": float(time_limit_s),
                "highs_options": {"solver": HIGHS_LP_METHOD, "presolve": HIGHS_LP_PRESOLVE, "output_flag": False}}
    if s == "SCIPY":
        return {"scipy_options": {"time_limit": float(time_limit_s)}}
    return {}
