"""Two-stage recourse (``PortfolioConfig(recourse=True)``): a 1-year term is worth its option to renew or not.

Known answer on one pool (on demand 4.0, 12-month RI 2.4, 36-month RI 1.8 USD/GPU-h, 8 GPUs an instance) over
three years. Half the paths keep 80 GPUs after the first year (they run 88 in it), half stop (they run 72 in it):
the first year's demand tells them apart, as it would tell a FinOps lead at renewal time.

* One schedule for every scenario (no recourse): a 36-month unit costs 3 x 1.8 = 5.4 and displaces 4.0 in year 1
  plus 2 x 4.0 x 0.5 = 4.0 after (net +2.6 per GPU-year); a 12-month unit now nets 4.0 - 2.4 = +1.6 and a
  scenario-blind renewal 0.5 x 8.0 - 4.8 < 0: the plan buys 9 instances for 36 months.
* With recourse the scenarios that keep their demand renew: 12 months now nets 1.6 + 0.5 x (8.0 - 4.8) = +3.2 >
  2.6: the plan buys 9 instances for 12 months, and only the group that kept its demand renews them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.portfolio import PortfolioConfig, Scenarios, optimize
from finops_forecast.portfolio.api import _solve, prepare
from tests.portfolio.pf_helpers import P5, catalog_rows, keys, make_catalog

CAT = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.4, 36: 1.8}))
CFG = PortfolioConfig(quarters=12, terms_months=(12, 36), scenario_groups=2, frontier_lambdas=(0.0,),
                      curve_factors=(1.0,), integer_ri=False)


def _scenarios() -> Scenarios:
    ds = pd.date_range("2027-01-01", "2030-01-01", freq="h", tz="UTC", inclusive="left")
    year1 = ds < pd.Timestamp("2028-01-01", tz="UTC")
    d = np.zeros((1, 8, len(ds)))
    d[0, :4] = np.where(year1, 88.0, 80.0)  # keep their demand
    d[0, 4:] = np.where(year1, 72.0, 0.0)  # stop after the first year
    return Scenarios(keys=keys(P5 + ("inference",)), ds=ds, paths=d)


def _now(plan) -> dict:
    b = plan.buy_now
    return {int(t): float(q) for t, q in zip(b["term_months"], b["quantity"]) if q > 1e-6}


def test_one_schedule_buys_36_months_and_recourse_buys_12_months_renewed_where_demand_stays():
    static = optimize(_scenarios(), CAT, config=CFG)
    assert _now(static) == pytest.approx({36: 10.0}, abs=1e-4)
    two = optimize(_scenarios(), CAT, config=CFG.replace(recourse=True))
    assert _now(two) == pytest.approx({12: 9.0}, abs=1e-4)
    assert any("recourse" in n for n in two.notes)


def test_renewals_follow_each_groups_first_year_and_recourse_never_costs_more():
    prep = prepare(_scenarios(), CAT, config=CFG.replace(recourse=True))
    sol = _solve(prep)
    rn = prep.model.renewals
    # groups are formed from the first year: group 0 (lower first-year demand) stops, group 1 keeps its demand
    assert prep.periods.start[rn.start] == pd.Timestamp("2028-01-01", tz="UTC")
    bought = sol.renewals.sum(axis=(1, 2))  # instances renewed per group over the second stage
    assert bought[0] == pytest.approx(0.0, abs=1e-6) and bought[1] == pytest.approx(20.0, abs=1e-3)  # 10 x 2 years
    # the one-schedule plan is feasible in the two-stage program, so recourse never raises the objective
    static = _solve(prepare(_scenarios(), CAT, config=CFG))
    assert sol.objective_usd <= static.objective_usd * (1 + 1e-7)
    assert sol.objective_usd < 0.99 * static.objective_usd


def test_the_plan_is_billed_with_each_groups_renewals():
    # every path billed under what its scenario group holds: the plan's cost is the program's, to the cent, and
    # the savings curve's recommended point too (a bill of the expected ladder would charge the renewals to the
    # paths that stopped)
    cfg = CFG.replace(recourse=True)
    plan = optimize(_scenarios(), CAT, config=cfg)
    sol = _solve(prepare(_scenarios(), CAT, config=cfg))
    assert plan.expected_cost_usd == pytest.approx(sol.expected_usd, rel=1e-9)
    rec = plan.savings_curve[plan.savings_curve["recommended"]]
    assert float(rec["expected_cost_usd"].iloc[0]) == pytest.approx(sol.expected_usd, rel=1e-9)
    # known answer: year 1 on 9 RIs for 12 months + on demand above; then the group that kept its demand holds
    # 10 RIs, the other nothing
    h1, h2 = 8760, 26304 - 8760
    keep = 9 * 8 * 2.4 * h1 + 16 * 4.0 * h1 + 10 * 8 * 2.4 * h2
    stop = 9 * 8 * 2.4 * h1
    assert sol.expected_usd == pytest.approx(0.5 * keep + 0.5 * stop, rel=1e-6)


@pytest.mark.slow
def test_on_the_philly_trace_recourse_buys_12_month_terms_and_saves(monkeypatch):
    """Real trace (Philly, p4d.24xlarge, 2017-10 .. 2017-12) at the bundled prices and the fitted price outlook,
    forecast by the random-walk candidates (seasonal naive, ETS, theta: ``auto`` before ``level_bursts``) with
    their fans unbounded by the history's changes (``spread_bounded=False``, as before 2026-11-30 session 7: the
    recourse's value shows on a wide fan), whose
    3-year fan is wide (mean of year 3: p10 0, p90 ~26,000 GPUs): one schedule buys only 36-month terms now; the
    two-stage plan buys mostly 12-month terms and costs less on the same paths, with less unused commitment
    (measured 2026-11-30, 60 paths: 223.9 -> 209.8 M USD, unused 10.7 -> 9.7 M USD). Forecast by ``level_bursts``
    (year 3 p10 / p90 ~1,150 / 1,790 GPUs) demand is known well enough that the option to re-decide is worth
    almost nothing: both plans buy 36 months and cost the same within 0.5%."""
    from finops_forecast.evaluate.traces import trace_usage
    from finops_forecast.forecast import forecast
    from finops_forecast.pricing import load_pricing

    from finops_forecast.forecast.models import ForecastModel

    usage = trace_usage("philly")
    cfg = PortfolioConfig(quarters=12, frontier_lambdas=(0.0,), curve_factors=(1.0,), price_outlook="history")
    with monkeypatch.context() as m:
        m.setattr(ForecastModel, "spread_bounded", False)
        fc = forecast(usage, 3 * 365 * 24, n_paths=60, seed=0, models=("seasonal_naive", "ets", "theta"))
    plans = {r: optimize(fc, load_pricing(), config=cfg.replace(recourse=r)) for r in (False, True)}
    usd = {r: p.buy_now.groupby("term_months")["commitment_usd_per_hour"].sum() for r, p in plans.items()}
    assert set(usd[False].index) == {36}
    assert usd[True].get(12, 0.0) > usd[True].get(36, 0.0)
    assert plans[True].expected_cost_usd < 0.97 * plans[False].expected_cost_usd
    assert plans[True].expected_unused_commitment_usd < plans[False].expected_unused_commitment_usd
    tight = forecast(usage, 3 * 365 * 24, n_paths=60, seed=0, models="level_bursts")
    plans = {r: optimize(tight, load_pricing(), config=cfg.replace(recourse=r)) for r in (False, True)}
    assert all(set(p.buy_now["term_months"]) == {36} for p in plans.values())
    assert plans[True].expected_cost_usd > 0.995 * plans[False].expected_cost_usd


def test_recourse_with_a_minimum_p10_utilization_is_refused_with_the_fix():
    from finops_forecast.errors import PortfolioError

    with pytest.raises(PortfolioError, match="min_utilization_p10") as e:
        optimize(_scenarios(), CAT, config=CFG.replace(recourse=True, min_utilization_p10=0.3))
    assert isinstance(e.value, ValueError) and "recourse=False" in str(e.value)
