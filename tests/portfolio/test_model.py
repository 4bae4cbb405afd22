"""Known-answer cases of the optimizer, compression error, promised = billed, errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import NumericalSolverError, ProgramInfeasible
from finops_forecast.portfolio import PortfolioConfig, Scenarios, newsvendor_commitment, optimize
from finops_forecast.portfolio.api import _solve, bill_compressed, make_plan, prepare
from tests.portfolio.pf_helpers import P4, P5, catalog_rows, hourly_paths, keys, make_catalog

ONE_Q = dict(quarters=1, ladder=False, terms_months=(12,), frontier_lambdas=(0.0,), curve_factors=(1.0,))


def scen(paths, ks, start="2027-01-01"):
    ds = pd.date_range(start, periods=paths.shape[2], freq="h", tz="UTC")
    return Scenarios(keys=ks, ds=ds, paths=paths)


def test_newsvendor_quantile_one_pool_one_sp(rng):
    od, sp = 4.0, 2.6
    cat = make_catalog(catalog_rows(P5, 8, od, sp={12: sp}))
    d = np.clip(rng.normal(300, 60, (20, 2160)), 0, None)[None]  # stationary, 1 series
    plan = optimize(scen(d, keys(P5 + ("inference",))), cat,
                    config=PortfolioConfig(**ONE_Q, scenario_groups=1, strata=1, levels=200))
    nv = newsvendor_commitment(d, od, sp)
    got = plan.buy_now["quantity"].sum()  # USD/h of the SP
    assert plan.status == "optimal"
    assert got == pytest.approx(nv.usd_per_hour, rel=0.01)
    # and the default compression is close on cost, the quantity that matters
    dflt = optimize(scen(d, keys(P5 + ("inference",))), cat, config=PortfolioConfig(**ONE_Q))
    assert dflt.expected_cost_usd == pytest.approx(plan.expected_cost_usd, rel=0.005)


def test_newsvendor_reserved_instances(rng):
    od, ri = 4.0, 2.2
    cat = make_catalog(catalog_rows(P5, 8, od, ri={12: ri}))
    d = np.clip(rng.gamma(9, 30, (16, 2160)), 0, None)[None]
    plan = optimize(scen(d, keys(P5 + ("inference",))), cat,
                    config=PortfolioConfig(**ONE_Q, scenario_groups=1, strata=1, levels=200))
    nv = newsvendor_commitment(d, od, ri)
    assert plan.buy_now["gpu_capacity"].sum() == pytest.approx(nv.gpus, rel=0.01)


def test_spot_cheaper_than_commitments_puts_training_on_spot_up_to_cap(rng):
    # spot effective (1.0 x (1 + rework)) well below the RI and SP rates
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.6}, sp={12: 2.8}, spot=1.0))
    d = np.stack([np.clip(rng.normal(200, 20, (8, 2160)), 0, None),   # training
                  np.clip(rng.normal(100, 10, (8, 2160)), 0, None)])  # inference
    ks = keys(P5 + ("training",), P5 + ("inference",))
    cap = 0.4
    plan = optimize(scen(d, ks), cat, config=PortfolioConfig(**ONE_Q, spot_cap=cap))
    a = plan.allocation.set_index("workload_class")
    total = a["demand_gpu_hours"].sum()
    # spot serves up to the cap of the pool's demand, all of it training, none inference; it falls short of
    # the cap only in hours where an idle (already paid) commitment covers spot-eligible work
    share = a.loc["training", "spot_gpu_hours"] / total
    assert 0.9 * cap <= share <= cap + 1e-9
    assert a.loc["inference", "spot_gpu_hours"] == 0
    # the commitment is sized to the firm part (demand beyond the cap), not to all demand
    firm = d.sum(0) - np.minimum(d[0], cap * d.sum(0))
    ri = 2.6
    assert plan.buy_now["gpu_capacity"].sum() < newsvendor_commitment(d.sum(0), 4.0, ri).gpus * 0.8
    assert plan.buy_now["gpu_capacity"].sum() >= newsvendor_commitment(firm, 4.0, ri).gpus * 0.99
    # spot capped at 0 puts nothing on spot
    plan0 = optimize(scen(d, ks), cat, config=PortfolioConfig(**ONE_Q, spot_cap=0.0))
    assert plan0.allocation["spot_gpu_hours"].sum() == 0
    assert plan0.expected_cost_usd > plan.expected_cost_usd


def test_spot_dearer_than_commitments_is_not_used_beyond_overflow(rng):
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 1.2}, spot=3.2))
    d = np.full((1, 4, 2160), 160.0)  # flat training demand: commit it all
    plan = optimize(scen(d, keys(P5 + ("training",))), cat, config=PortfolioConfig(**ONE_Q))
    assert plan.buy_now["gpu_capacity"].sum() == pytest.approx(160.0, rel=1e-6)
    assert plan.allocation["spot_gpu_hours"].sum() == pytest.approx(0.0, abs=1e-6)


def test_expiring_inventory_is_replaced_on_time(rng):
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.0}))
    H = 24 * 365 * 2
    d = (80.0 + np.abs(rng.normal(0, 1, (4, H))))[None]   # always above 80 GPU = 10 instances
    ks = keys(P5 + ("inference",))
    inv = pd.DataFrame([dict(commitment_id="ri-old", family="aws_standard_ri", provider="aws", region="us-east-1",
                             instance_type="p5.48xlarge", term_months=12, payment_option="no_upfront",
                             quantity=10, expires="2027-07-01")])
    plan = optimize(scen(d, ks), cat, inventory=inv,
                    config=PortfolioConfig(quarters=6, terms_months=(12,), frontier_lambdas=(0.0,),
                                           curve_factors=(1.0,), integer_ri=True))
    buys = plan.purchases.groupby("quarter")["quantity"].sum()
    # owned covers Q1, Q2 (expires 2027-07-01); the replacement is bought in Q3, not before
    assert buys.get(0, 0) == pytest.approx(0, abs=1e-6) and buys.get(1, 0) == pytest.approx(0, abs=1e-6)
    assert buys.get(2, 0) == pytest.approx(10, rel=1e-6)
    held = plan.ladder.groupby("quarter")["held"].sum()
    assert all(held[q] == pytest.approx(10, rel=1e-6) for q in range(6))
    owned = plan.ladder.groupby("quarter")["owned"].sum()
    assert owned.get(2, 0) == 0 and owned[1] == pytest.approx(10)


def _two_pool_case(rng, n=10, hours=2160):
    d = hourly_paths(n, hours, levels=(200, 120, 60), noise=(25, 10, 8), rng=rng)
    ks = keys(P5 + ("training",), P5 + ("inference",), P4 + ("inference",))
    return d, ks


def test_compressed_within_half_percent_of_full_hourly_model(rng, two_pool_catalog):
    d, ks = _two_pool_case(rng, n=8, hours=720)
    cfg = PortfolioConfig(**ONE_Q)
    comp = prepare(scen(d, ks), two_pool_catalog, config=cfg)
    ref = prepare(scen(d, ks), two_pool_catalog, config=cfg, compression="full")
    s_c, s_f = _solve(comp), _solve(ref)
    # rows of the horizon (the program adds the tail period's: a copy of the last period's rows)
    assert ref.comp.n_rows == d.shape[1] * d.shape[2] and comp.comp.n_rows <= ref.comp.n_rows / 40
    # the optimum's value, and the compressed plan billed on every hour, both within 0.5% of the full optimum
    assert s_c.expected_usd == pytest.approx(s_f.expected_usd, rel=0.005)
    billed_c, _, _ = bill_compressed(ref, s_c.active)
    assert s_f.expected_usd <= billed_c + 1e-6 * billed_c
    assert billed_c == pytest.approx(s_f.expected_usd, rel=0.005)


def test_promised_cost_equals_billed_cost(rng, two_pool_catalog):
    d, ks = _two_pool_case(rng, n=12, hours=24 * 200)
    prep = prepare(scen(d, ks), two_pool_catalog, config=PortfolioConfig(quarters=4))
    sol = _solve(prep)
    billed, groups, _ = bill_compressed(prep, sol.active)
    assert billed == pytest.approx(sol.expected_usd, rel=1e-6)
    np.testing.assert_allclose(groups, sol.group_cost_usd, rtol=1e-6)
    plan = make_plan(prep, sol, frontier=False)
    assert plan.model_cost_usd == pytest.approx(sol.expected_usd, rel=1e-6)


def test_cvar_weight_moves_along_the_frontier(rng, two_pool_catalog):
    d, ks = _two_pool_case(rng, n=40, hours=2160)
    plan = optimize(scen(d, ks), two_pool_catalog,
                    config=PortfolioConfig(**{**ONE_Q, "frontier_lambdas": (0.0, 1.0, 10.0)}, alpha=0.9,
                                           scenario_groups=20, risk_measure="cost"))
    f = plan.frontier
    assert f["expected_cost_usd"].is_monotonic_increasing or np.allclose(f["expected_cost_usd"].diff()[1:], 0,
                                                                          atol=1e-3)
    assert f["cvar_usd"].iloc[-1] <= f["cvar_usd"].iloc[0] + 1e-6
    assert (f["cvar_usd"] >= f["expected_cost_usd"] - 1e-6).all()


def test_integer_ri_counts(rng, two_pool_catalog):
    d, ks = _two_pool_case(rng)
    plan = optimize(scen(d, ks), two_pool_catalog,
                    config=PortfolioConfig(**ONE_Q, integer_ri=True, families=("aws_standard_ri",)))
    q = plan.buy_now["quantity"]
    assert len(q) and np.allclose(q, np.round(q))


@pytest.mark.parametrize("ri_rate, best", [(0.6, 1), (0.4, 2)])
def test_integer_ri_known_answer_where_rounding_is_wrong(ri_rate, best):
    """Flat 12 GPU on 8-GPU instances: the LP holds 1.5 instances; one instance costs 8 r + 4 od per hour
    (4 GPU on demand), two cost 16 r. With r = 0.6 one is best (8.8 < 9.6 USD/h), with r = 0.4 two (6.4 < 7.2).
    Rounding 1.5 gives 2 either way, so the r = 0.6 case needs the branch and bound fallback."""
    cat = make_catalog(catalog_rows(P5, 8, 1.0, ri={12: ri_rate}))
    d = np.full((1, 2, 2160), 12.0)
    plan = optimize(scen(d, keys(P5 + ("inference",))), cat,
                    config=PortfolioConfig(**ONE_Q, integer_ri=True, mip_rel_gap=1e-4,
                                           fees_after_horizon="ignore"))  # the quarter's known answer
    assert plan.status == "optimal"
    assert plan.buy_now["quantity"].sum() == pytest.approx(best)
    hourly = min(8 * ri_rate + 4.0, 16 * ri_rate)
    assert plan.expected_cost_usd == pytest.approx(hourly * 2160, rel=1e-6)
    assert any("integer reserved-instance counts" in n for n in plan.notes)


def test_integer_plan_gap_is_proven_and_reported(rng):
    """A ladder of fractional purchases: the integer plan is never better than the LP bound and is proven within
    mip_rel_gap of it (or by branch and bound)."""
    d = hourly_paths(8, 2190 * 4, [37.0, 21.0], [3.0, 2.0], rng, trend=0.3)
    ks = keys(P5 + ("inference",), P4 + ("inference",))
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.4}), catalog_rows(P4, 8, 3.0, ri={12: 1.9}))
    cfg = PortfolioConfig(quarters=4, terms_months=(12,), frontier_lambdas=(0.0,), curve_factors=(1.0,))
    lp = _solve(prepare(scen(d, ks), cat, config=cfg))
    prep = prepare(scen(d, ks), cat, config=cfg.replace(integer_ri=True))
    sol = _solve(prep)
    pool = prep.market.is_pool
    assert np.allclose(sol.x[:, pool], np.round(sol.x[:, pool]))
    assert sol.objective_usd >= lp.objective_usd * (1 - 1e-9)
    assert sol.status == "optimal"
    assert sol.objective_usd <= lp.objective_usd * (1 + 5e-3) or "branch and bound" in " ".join(sol.notes)


def test_budget_too_small_for_floor_coverage_names_the_constraints(rng):
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.0}, payment="all_upfront", upfront_share=1.0))
    d = np.clip(rng.normal(100, 10, (4, 2160)), 0, None)[None]
    cfg = PortfolioConfig(**ONE_Q, payment_options=("all_upfront",), min_floor_coverage=1.0,
                          upfront_budget_usd=1000.0)
    with pytest.raises(ProgramInfeasible) as e:
        optimize(scen(d, keys(P5 + ("inference",))), cat, config=cfg)
    assert set(e.value.constraints) == {"upfront_budget_usd", "min_floor_coverage"}
    assert "upfront_budget_usd" in str(e.value) and "min_floor_coverage" in str(e.value)
    assert isinstance(e.value, ValueError)


def test_no_on_demand_and_no_spot_names_the_constraints(rng):
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.0}, spot=1.0))
    d = np.clip(rng.normal(100, 10, (4, 2160)), 0, None)[None]
    cfg = PortfolioConfig(**ONE_Q, spot_cap=0.0, allow_on_demand=False, max_commitment_share=1.0)
    with pytest.raises(ProgramInfeasible, match="allow_on_demand") as e:
        optimize(scen(d, keys(P5 + ("training",))), cat, config=cfg)
    assert "max_commitment_share" in e.value.constraints and "spot_cap" in str(e.value)


def test_failed_solve_retries_with_another_solver_and_says_so(rng, two_pool_catalog):
    d, ks = _two_pool_case(rng, n=4, hours=500)
    cfg = PortfolioConfig(**ONE_Q, time_limit_s=0.0, fallback_solvers=("CLARABEL",))
    plan = optimize(scen(d, ks), two_pool_catalog, config=cfg)  # HiGHS stops at its 0 s limit
    assert plan.solver == "CLARABEL" and plan.status == "optimal"
    assert any("HIGHS failed" in n and "CLARABEL" in n for n in plan.notes)
    ok = optimize(scen(d, ks), two_pool_catalog, config=PortfolioConfig(**ONE_Q))
    assert plan.expected_cost_usd == pytest.approx(ok.expected_cost_usd, rel=1e-4)


def test_every_solver_failing_raises(rng, two_pool_catalog):
    d, ks = _two_pool_case(rng, n=4, hours=500)
    cfg = PortfolioConfig(**ONE_Q, time_limit_s=0.0, fallback_solvers=("SCIPY",))
    with pytest.raises(NumericalSolverError, match="HIGHS: status user_limit"):
        optimize(scen(d, ks), two_pool_catalog, config=cfg)


def test_streamed_scenarios_give_the_same_plan(rng, two_pool_catalog, monkeypatch):
    """Large inputs are chunked one group / batch of paths at a time from a generator: same plan as in memory."""
    from finops_forecast.portfolio import api
    d, ks = _two_pool_case(rng, n=12, hours=24 * 200)
    cfg = PortfolioConfig(quarters=4, frontier_lambdas=(0.0,), curve_factors=(1.0,))
    mem = optimize(scen(d, ks), two_pool_catalog, config=cfg)
    ds = pd.date_range("2027-01-01", periods=d.shape[2], freq="h", tz="UTC")
    monkeypatch.setattr(api, "_CACHE_ELEMENTS", 0)  # force the streaming path
    streamed = optimize(Scenarios(keys=ks, ds=ds, generator=lambda a, b: d[:, :, a:b], n_paths=d.shape[1]),
                        two_pool_catalog, config=cfg)
    pd.testing.assert_frame_equal(mem.purchases, streamed.purchases, rtol=1e-6)
    assert streamed.expected_cost_usd == pytest.approx(mem.expected_cost_usd, rel=1e-9)
    pd.testing.assert_frame_equal(mem.allocation, streamed.allocation, rtol=1e-9)
