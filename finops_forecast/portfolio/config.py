"""Settings of the portfolio optimizer (one frozen dataclass, validated once)."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from finops_forecast.errors import PortfolioError, unknown_name


@dataclass(frozen=True)
class PortfolioConfig:
    """What to optimize and under which constraints.

    Parameters
    ----------
    quarters : int
        Quarters planned (the ladder), 12 by default. Demand beyond the forecast's horizon repeats the last
        forecast quarter (said in ``Plan.notes``).
    ladder : bool
        Plan purchases in every quarter (True) or buy only now (False).
    monthly_first_quarter : bool
        Decide the first quarter's purchases month by month (True, so they can be staggered) or once at its start.
    split_at_expiry : bool
        Cut a quarter at each owned commitment's expiry date inside it (True), so its replacement is bought on
        that date; False: the owned commitment is held pro rata over the quarter and replaced at a quarter start.
    fees_after_horizon : str
        ``"count"`` (default): a purchase pays every fee of its term in the objective, also the fees that fall
        after the last planned quarter; demand after the horizon is not forecast, so no saving is counted for
        them (docs/portfolio.md, "Fees after the horizon"). ``"ignore"``: only the fees inside the horizon.
    terms_months : tuple of int
        Commitment terms to consider [months].
    payment_options : tuple of str
        Payment options to consider (no_upfront, partial_upfront, all_upfront).
    cost_of_capital : float
        Annual rate [1/year] at which the optimizer discounts upfront against monthly payments, default 0.08:
        each instrument's fee in the objective is its equivalent hourly rate
        (:func:`finops_forecast.pricing.payment.equivalent_hourly_rate`, the level monthly payment with the same
        present value), so all-upfront wins only when it is cheaper after the cost of the cash paid early.
        No-upfront fees are unchanged; the billed costs the plan reports stay nominal (amortized).
    families : tuple of str or None
        Commitment families to consider (None: all the catalog has).
    risk_lambda : float
        Weight of the risk term in the objective, >= 0 (0: expected cost only).
    risk_measure : str
        What the risk term weighs, the downside of stranded commitments or the cost
        (:mod:`~finops_forecast.portfolio.risk`): ``"expected_unused"`` (default: the expected unused commitment
        [USD]; raising ``risk_lambda`` never raises it), ``"unused"`` (the CVaR of unused commitment: raising
        ``risk_lambda`` never raises that CVaR, and almost always, not always, lowers the expected unused too) or
        ``"cost"`` (CVaR of total cost: its worst paths are the high-demand ones, so weighting it buys *more*).
    alpha : float
        CVaR level in (0, 1): CVaR is the mean of the worst ``1 - alpha`` of scenarios.
    min_utilization_p10 : float or None
        Every instrument bought must be used at least this share of its commitment in every quarter of the
        lowest-demand scenario groups holding the 10th percentile, in [0, 1].
    max_three_year_share : float or None
        Largest share of the commitment USD/h bought in a quarter that may have a term of 36 months or more.
    max_obligation_usd : float or None
        Largest total obligation of the planned purchases (USD/h x term hours, over every quarter) [USD].
    recourse : bool
        Two-stage program: from month 12 each scenario group (formed from its first year's demand, what is known
        then) re-decides its 12-month single-pool terms, so a 1-year term is valued with the option to renew it
        or not after a bad year (:class:`~finops_forecast.portfolio.model.Renewals`). This quarter's purchases
        stay one decision for every scenario; the ladder shows the expected renewals. Default False (one
        purchase schedule for every scenario); the report's ``recourse`` parameter and ``optimize --recourse``
        turn it on.
    price_outlook : str
        Future prices: ``"flat"`` (today's), ``"history"`` (scenarios fitted on the bundled price history),
        ``"history:hazard=0.05,cut=0.45"`` (that model with the user's monthly hazard and / or cut size) or
        the path of a CSV ``provider,instance_type,pricing_model,effective_from,multiplier``
        (:mod:`finops_forecast.pricing.outlook`). Commitments lock the price of the quarter they are bought in.
    migration : dict or None
        Share of each pool's demand that moves to a newer GPU generation per year, ``{instance_type: share}``
        (``"*"`` for every pool); flexible instruments follow it (:mod:`~finops_forecast.portfolio.migration`).
    upfront_budget_usd : float or tuple or None
        Largest upfront payment per quarter [USD] (one value for every quarter, or one per quarter).
    max_commitment_share, max_commitment_quantile : float or None, float
        Commitments held in a quarter, in GPU-equivalents per provider, stay below this share of the
        ``max_commitment_quantile`` quantile of that provider's hourly demand [GPU-h per hour].
    min_floor_coverage : float
        Commitments must be able to cover this share of the inference floor (the ``floor_quantile`` of each
        pool's hourly ``floor_classes`` demand) in every quarter, in [0, 1].
    spot_classes : tuple of str
        Workload classes allowed on spot (never inference by default).
    spot_cap : float
        Largest share of a pool's hourly demand spot may serve, in [0, 1].
    spot_job_nodes : dict or None
        Observed job sizes for spot rework, ``(provider, region, instance_type, workload_class) -> {nodes:
        GPU-hour share}`` (:func:`with_job_sizes` fills it from a usage read from job records); None: each
        class profile's size (docs/pricing.md, "Spot at the job's scale").
    allow_on_demand : bool
        False forbids on-demand usage: commitments and spot must serve all demand.
    integer_ri : bool
        Whole units (default): reserved instances and reservations in whole instances, GCP resource CUDs in whole
        GPUs and spend plans in whole USD/h, so every purchase line can be bought as written and is at least one
        unit. The LP relaxation is rounded and the gap proven (MILP fallback; see ``mip_rel_gap``). False gives
        fractional quantities, for exploration.
    scenario_groups, strata, levels : int
        Compression settings (:mod:`finops_forecast.portfolio.compress`).
    solver, fallback_solvers : str, tuple of str
        cvxpy solver and the ones tried, in order, when it fails numerically.
    allow_inaccurate : bool
        Return a plan from an ``optimal_inaccurate`` solve (marked in ``Plan.status`` and notes) instead of
        raising :class:`~finops_forecast.errors.NumericalSolverError`.
    frontier_lambdas : tuple of float
        Risk weights of the cost-risk frontier.
    curve_factors : tuple of float
        Multiples of this quarter's purchases of the savings-versus-commitment curve.
    time_limit_s : float
        Solver time limit [s].
    mip_rel_gap : float
        Relative optimality gap of the integer plan (``integer_ri``): the plan's objective is proven at most this
        share above the best integer plan's. The default, 0.5%, is far below the forecast's own error; on the
        30-pool benchmark rounding the LP plan proves 0.16% in seconds, while HiGHS branch and bound does not
        prove 0.1% within 2 minutes (the LP relaxation's bound is weak there: fractional instances).
    """

    quarters: int = 12
    ladder: bool = True
    monthly_first_quarter: bool = True
    split_at_expiry: bool = True
    fees_after_horizon: str = "count"
    terms_months: tuple = (12, 36)
    payment_options: tuple = ("no_upfront",)
    cost_of_capital: float = 0.08
    families: tuple | None = None
    risk_lambda: float = 0.0
    risk_measure: str = "expected_unused"
    alpha: float = 0.95
    min_utilization_p10: float | None = None
    max_three_year_share: float | None = None
    max_obligation_usd: float | None = None
    recourse: bool = False
    price_outlook: str = "flat"
    migration: dict | str | None = None
    upfront_budget_usd: float | tuple | None = None
    max_commitment_share: float | None = None
    max_commitment_quantile: float = 0.5
    min_floor_coverage: float = 0.0
    floor_quantile: float = 0.05
    floor_classes: tuple = ("inference",)
    spot_classes: tuple = ("training", "experimentation")
    spot_cap: float = 0.5
    spot_job_nodes: dict | None = None
    allow_on_demand: bool = True
    integer_ri: bool = True
    scenario_groups: int = 16
    strata: int = 1
    levels: int = 4
    solver: str = "HIGHS"
    fallback_solvers: tuple = ("CLARABEL", "SCIPY")
    allow_inaccurate: bool = False
    frontier_lambdas: tuple = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
    curve_factors: tuple = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)
    time_limit_s: float = 600.0
    mip_rel_gap: float = 5e-3

    def __post_init__(self):
        def bad(name, msg):
            raise PortfolioError(f"PortfolioConfig.{name}: {msg} (got {getattr(self, name)!r}).")
        for f in fields(self):
            v = getattr(self, f.name)
            vals = v if isinstance(v, (tuple, list)) else (v,)
            if any(isinstance(x, float) and not math.isfinite(x) for x in vals):
                bad(f.name, "must be a finite number, not nan or inf")
        if self.quarters < 1:
            bad("quarters", "must be >= 1")
        if self.fees_after_horizon not in ("count", "ignore"):
            bad("fees_after_horizon", 'must be "count" (every fee of the term is in the objective) or "ignore"')
        if self.risk_lambda < 0:
            bad("risk_lambda", "must be >= 0")
        if not 0 < self.alpha < 1:
            bad("alpha", "must be in (0, 1), e.g. 0.95")
        for n in ("spot_cap", "min_floor_coverage", "floor_quantile", "max_commitment_quantile"):
            if not 0 <= getattr(self, n) <= 1:
                bad(n, "must be in [0, 1]")
        for n in ("min_utilization_p10", "max_three_year_share"):
            if getattr(self, n) is not None and not 0 <= getattr(self, n) <= 1:
                bad(n, "must be in [0, 1] (a share) or None")
        if self.max_obligation_usd is not None and self.max_obligation_usd < 0:
            bad("max_obligation_usd", "must be >= 0 [USD] or None")
        from finops_forecast.portfolio.risk import RISK_MEASURES
        if self.risk_measure not in RISK_MEASURES:
            bad("risk_measure", "must be 'unused' (CVaR of unused commitment), 'expected_unused' (its expected "
                "value) or 'cost' (CVaR of total cost)")
        if self.max_commitment_share is not None and self.max_commitment_share < 0:
            bad("max_commitment_share", "must be >= 0")
        b = self.upfront_budget_usd
        if b is not None:
            vals = b if isinstance(b, (tuple, list)) else (b,)
            if any(v < 0 for v in vals):
                bad("upfront_budget_usd", "must be >= 0 [USD]")
            if isinstance(b, (tuple, list)) and len(b) != self.quarters:
                bad("upfront_budget_usd", f"needs one value per quarter ({self.quarters})")
        if not 0 <= self.cost_of_capital <= 1:
            bad("cost_of_capital", "is an annual rate in [0, 1], e.g. 0.08 for 8% a year")
        for n in ("scenario_groups", "strata", "levels"):
            if getattr(self, n) < 1:
                bad(n, "must be >= 1")
        for t in self.terms_months:
            if int(t) <= 0:
                bad("terms_months", "terms are > 0 months, e.g. (12, 36)")
        from finops_forecast.pricing.outlook import parse_outlook
        parse_outlook(self.price_outlook)  # a history: form's fault now, not after the forecast

    def budget_vector(self, T: int):
        b = self.upfront_budget_usd
        if b is None:
            return None
        return list(b)[:T] if isinstance(b, (tuple, list)) else [float(b)] * T

    def replace(self, **changes) -> PortfolioConfig:
        """Copy with some fields changed; unknown names raise with the valid ones."""
        names = [f.name for f in fields(self)]
        for k in changes:
            if k not in names:
                raise unknown_name("PortfolioConfig field", k, names)
        return replace(self, **changes)




def with_job_sizes(config: PortfolioConfig, usage, catalog, keys=None) -> tuple[PortfolioConfig, list[str]]:
    """``config`` with the job sizes of ``usage`` for spot rework (``spot_job_nodes``), and what was assumed.

    Parameters
    ----------
    config : PortfolioConfig
    usage : pandas.DataFrame
        The usage table the plan is made from; a table read from job records carries its job sizes
        (:func:`finops_forecast.usage.jobs.job_sizes_of`), others have none.
    catalog : pandas.DataFrame
        Pricing catalog (GPUs per instance of each pool).
    keys : pandas.DataFrame, optional
        Series priced, to name those left at the class profile's size.

    Returns
    -------
    config : PortfolioConfig
        Unchanged when the usage has no job sizes.
    notes : list of str
        Which series use the class profile's size.
    """
    from finops_forecast.pricing.spot import spot_job_nodes
    from finops_forecast.usage.jobs import job_sizes_of

    nodes, notes = spot_job_nodes(job_sizes_of(usage), catalog, keys)
    return (replace(config, spot_job_nodes=nodes) if nodes else config), list(notes)
