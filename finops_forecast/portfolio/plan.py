"""The plan the optimizer returns, and its CSV / JSON export."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from finops_forecast._io import atomic_write_text

PURCHASE_COLUMNS = ["quarter", "quarter_start", "buy_date", "instrument", "family", "provider", "scope", "term_months",
                    "payment_option", "quantity", "unit", "gpu_capacity", "commitment_usd_per_hour", "upfront_usd",
                    "monthly_usd", "obligation_usd", "expected_utilization", "utilization_p10",
                    "break_even_utilization", "walk_away_month", "payback_month"]


@dataclass
class Plan:
    """What to buy now, what to buy later, and what it is expected to cost.

    Attributes
    ----------
    purchases : DataFrame
        One row per purchase (:data:`PURCHASE_COLUMNS`); ``quarter`` 0 is this quarter (buy now), later
        quarters are the planned ladder; ``buy_date`` is the day to buy (the first quarter is decided month by
        month, and a replacement of an owned commitment is bought on its expiry date). quantity is in ``unit`` (instance or USD/h); gpu_capacity [GPU] for
        instances; commitment_usd_per_hour [USD/h] effective (upfront amortized); upfront_usd [USD];
        monthly_usd [USD/month] recurring; obligation_usd [USD] every fee of the term, upfront included;
        expected_utilization and utilization_p10 over scenarios and the purchase's active quarters, in [0, 1];
        break_even_utilization: the utilization below which the line loses money against on demand at
        today's prices (its equivalent hourly rate at the cost of capital / what it displaces fully used);
        walk_away_month [months]: months of use at the expected utilization the line needs to pay for its
        whole term (NaN: never within the term); payback_month [months]: months until the savings repay an
        upfront payment (NaN when nothing is paid upfront). See docs/glossary.md.
    ladder : DataFrame
        Quarter x instrument: owned (inventory, expiring as dated) and planned quantities held, hour-weighted
        means over the quarter.
    quarters : DataFrame
        Per quarter (the sums of its periods): start, hours, expected cost and all-on-demand cost [USD], GPU-hours
        served by reserved (pool instruments), savings plans (spend instruments), spot and on demand [GPU-h] (the stacked view).
    expected_cost_usd, on_demand_cost_usd, savings_usd : float
        Over the planned horizon, billed by the billing engine on every scenario path [USD]; on_demand is the
        same demand all on demand.
    effective_savings_rate : float
        savings / on_demand cost.
    coverage, utilization : float
        Share of GPU-hours covered by commitments; used / committed [USD], in [0, 1] (this quarter).
    cvar_usd : float
        CVaR_alpha of the horizon cost over scenario paths [USD].
    expected_unused_commitment_usd, cvar_unused_commitment_usd : float
        Fees of commitments that covered nothing over the horizon: mean and CVaR_alpha over the paths [USD].
    model_cost_usd : float
        The program's expected cost on the compressed scenarios [USD] (equals the billing engine's bill of the
        compressed rows; differs from expected_cost_usd by the compression error).
    allocation : DataFrame
        Per workload class this quarter: GPU-hours on commitments, spot and on demand, and their shares.
    savings_curve : DataFrame
        factor (multiple of this quarter's purchases), commitment_usd_per_hour, expected_cost_usd, cvar_usd,
        objective_usd (expected + lambda x CVaR), savings_usd, savings_rate: the savings-versus-commitment curve
        on the compressed scenarios (factor 1, ``recommended``, is the plan; it minimizes objective_usd).
    frontier : DataFrame
        risk_lambda, expected_cost_usd, cvar_usd, commitment_usd_per_hour, expected_unused_usd, cvar_unused_usd,
        three_year_share_now: the cost-risk frontier (on the compressed scenarios).
    status, solver : str
        Solver status (always "optimal" unless the config allowed inaccurate plans) and solver used.
    notes : list of str
        Assumptions and solver events the reader must know.
    model_size : dict
        Sizes of the compressed program and of the full hourly program it stands for.
    settings : dict
        The PortfolioConfig used.
    """

    purchases: pd.DataFrame
    ladder: pd.DataFrame
    quarters: pd.DataFrame
    expected_cost_usd: float
    on_demand_cost_usd: float
    savings_usd: float
    effective_savings_rate: float
    coverage: float
    utilization: float
    cvar_usd: float
    alpha: float
    risk_lambda: float
    model_cost_usd: float
    allocation: pd.DataFrame
    savings_curve: pd.DataFrame
    frontier: pd.DataFrame
    status: str
    solver: str
    notes: list = field(default_factory=list)
    model_size: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    instruments: pd.DataFrame | None = None
    #: every fee still to pay over the terms of this quarter's purchases, upfront included [USD]
    obligation_usd: float = 0.0
    #: utilization below which this quarter's purchases together lose money against on demand (their lines'
    #: break-even utilizations, weighted by commitment [USD/h] harmonically)
    break_even_utilization: float = float("nan")
    #: fees of the planned purchases that fall after the planning horizon, counted at their full term [USD]
    #: (the plan's cost with every fee it signs is expected_cost_usd + fees_after_horizon_usd)
    fees_after_horizon_usd: float = 0.0
    #: the plan and the ``ladder`` policy (monthly rungs toward the plan) billed on the same forecast rows
    #: (:func:`finops_forecast.portfolio.ladder.compare_ladder`)
    ladder_comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: fees of commitments that cover nothing, expected over the paths and its CVaR_alpha [USD]
    expected_unused_commitment_usd: float = float("nan")
    cvar_unused_commitment_usd: float = float("nan")
    #: price outlook used: quarter_start, pool, scenario, on_demand, spot multipliers (None: today's prices)
    price_paths: pd.DataFrame | None = None
    #: the rows of ``quarters`` per period of the plan's grid (months of the first quarter, quarters cut at
    #: owned commitments' expiry dates), with ``period``
    periods: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def buy_now(self) -> pd.DataFrame:
        """The purchases of this quarter (quarter 0)."""
        return self.purchases[self.purchases["quarter"] == 0].reset_index(drop=True)

    def to_dict(self) -> dict:
        """JSON-ready dict of every field (tables as lists of records)."""
        def rec(df):
            if df is None:
                return []
            return json.loads(df.to_json(orient="records", date_format="iso"))
        scal = {k: _num(getattr(self, k)) for k in (
            "expected_cost_usd", "on_demand_cost_usd", "savings_usd", "effective_savings_rate", "coverage",
            "utilization", "cvar_usd", "alpha", "risk_lambda", "model_cost_usd", "obligation_usd",
            "break_even_utilization", "fees_after_horizon_usd", "expected_unused_commitment_usd",
            "cvar_unused_commitment_usd")}
        return {**scal, "status": self.status, "solver": self.solver, "notes": list(self.notes),
                "purchases": rec(self.purchases), "ladder": rec(self.ladder), "quarters": rec(self.quarters),
                "periods": rec(self.periods),
                "allocation": rec(self.allocation), "savings_curve": rec(self.savings_curve),
                "frontier": rec(self.frontier), "ladder_comparison": rec(self.ladder_comparison),
                "model_size": self.model_size, "settings": self.settings}

    def to_json(self, path=None, indent: int = 2, extra: dict | None = None) -> str:
        """Write (when ``path`` is given) and return the plan as JSON, with the keys of ``extra`` added (e.g. the
        ``term_reasons`` records the ``optimize`` command writes)."""
        text = json.dumps(self.to_dict() | dict(extra or {}), indent=indent, default=_num)
        if path is not None:
            atomic_write_text(path, text)
        return text

    def to_csv(self, path=None) -> str:
        """Write (when ``path`` is given) and return the purchase table as CSV."""
        text = self.purchases.to_csv(index=False)
        if path is not None:
            atomic_write_text(path, text)
        return text

    def summary(self) -> str:
        """A one-paragraph recommendation."""
        now = self.buy_now
        what = "; ".join(f"{r.quantity:,.0f} {r.unit} of {r.instrument}{_on(r)}" for r in now.itertuples()) \
            or "nothing"
        return (f"Buy now: {what}; obligation {self.obligation_usd:,.0f} USD over the terms. Expected cost {self.expected_cost_usd:,.0f} USD over the plan versus "
                f"{self.on_demand_cost_usd:,.0f} USD all on demand: savings {self.savings_usd:,.0f} USD "
                f"({self.effective_savings_rate:.1%}); coverage {self.coverage:.1%}, utilization "
                f"{self.utilization:.1%}; unused commitment {self.expected_unused_commitment_usd:,.0f} USD expected, "
                f"{self.cvar_unused_commitment_usd:,.0f} USD in the worst paths; "
                f"CVaR{int(round(self.alpha * 100))} {self.cvar_usd:,.0f} USD "
                f"(status {self.status}).")


def _on(r) -> str:
    """`` on YYYY-MM-DD`` for a purchase line with a buy date."""
    d = getattr(r, "buy_date", None)
    return f" on {pd.Timestamp(d):%Y-%m-%d}" if d is not None and not pd.isna(d) else ""


def _num(v):
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (pd.Timestamp,)):
        return v.isoformat()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v
