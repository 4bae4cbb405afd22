"""The risk of stranded commitments: unused commitment, its CVaR as the risk term, and the user limits."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from finops_forecast.errors import ProgramInfeasible
from finops_forecast.portfolio import PortfolioConfig, Scenarios, optimize
from finops_forecast.portfolio.api import _solve, make_plan, prepare
from finops_forecast.portfolio.model import cvar
from tests.portfolio.pf_helpers import P4, P5, catalog_rows, hourly_paths, keys, make_catalog

ONE_Q = dict(quarters=1, ladder=False, terms_months=(12,), frontier_lambdas=(0.0,), curve_factors=(1.0,))


def scen(paths, ks, start="2027-01-01"):
    ds = pd.date_range(start, periods=paths.shape[2], freq="h", tz="UTC")
    return Scenarios(keys=ks, ds=ds, paths=paths)


def test_unused_commitment_known_answer():
    # one pool of 8-GPU instances, RI at 2.0 USD/GPU-h; 2 instances held (16 GPU), demand 10 GPU every hour:
    # 6 GPU idle x 2.0 USD/GPU-h = 12 USD/h unused, over the 2160 hours of 2027Q1
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.0}))
    d = np.full((1, 3, 2160), 10.0)
    prep = prepare(scen(d, keys(P5 + ("inference",))), cat, config=PortfolioConfig(**ONE_Q))
    sol = _solve(prep)
    sol.x[:] = 2.0
    sol.active[:] = 2.0
    plan = make_plan(prep, sol, frontier=False, curve=False)
    assert plan.expected_unused_commitment_usd == pytest.approx(12.0 * 2160, rel=1e-9)
    assert plan.cvar_unused_commitment_usd == pytest.approx(12.0 * 2160, rel=1e-9)
    assert plan.to_dict()["expected_unused_commitment_usd"] == pytest.approx(12.0 * 2160, rel=1e-9)


def _case(seed, sigma, trend, n_pools):
    rng = np.random.default_rng(seed)
    pools = [catalog_rows(P5, 8, 4.0, ri={12: 2.6, 36: 1.8}, sp={12: 2.8, 36: 2.0}, spot=2.0),
             catalog_rows(P4, 8, 2.5, ri={12: 1.6, 36: 1.1}, sp={12: 1.75, 36: 1.25})][:n_pools]
    ks = keys(*[p + (c,) for p in (P5, P4)[:n_pools] for c in ("training", "inference")])
    d = hourly_paths(16, 24 * 45, tuple(rng.uniform(20, 120, len(ks))), tuple(rng.uniform(1, 10, len(ks))), rng,
                     trend=trend, common=sigma)
    return scen(d, ks), make_catalog(*pools)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@example(seed=1602, sigma=0.42269193561717083, trend=-0.5012595951222163, n_pools=2,
         lams=[5.000008677632747, 3.3972767580723557, 0.28720004714231, 5.288928314105484])
@example(seed=2925, sigma=0.12661794285984485, trend=-0.5534040086020537, n_pools=2,
         lams=[1.0937650160820647e-255, 1.1125369292536007e-308, 7.921921416012987, 6.960492107721068])
@given(seed=st.integers(0, 10_000), sigma=st.floats(0.05, 0.8), trend=st.floats(-0.6, 0.3),
       n_pools=st.integers(1, 2), lams=st.lists(st.floats(0.0, 8.0), min_size=2, max_size=4))
def test_raising_lambda_never_raises_expected_unused_commitment(seed, sigma, trend, n_pools, lams):
    """With the default risk measure (``expected_unused``, the weighted term is the expected unused commitment
    itself), at the optimum. Whole units solved to the default 0.5% gap may stop at any plan within it, and a plan at a
    higher lambda can then hold more unused (found by hypothesis: seed 1602, sigma 0.42, trend -0.50, two pools,
    lambda 5.0 -> 5.29: 1,770 -> 2,170 USD at the default gap, 994 -> 994 solved exactly), so the property is
    checked on whole-unit plans solved to a 1e-9 gap. Each is a fresh solve, as the report's and `optimize`'s
    plan: where plans of equal cost differ in their unused commitment, a solve warm-started from the previous
    one may return another of them (found by hypothesis: seed 2925, two weights below 1e-250, 684,889 and
    685,298 USD warm-started, equal fresh)."""
    s, cat = _case(seed, sigma, trend, n_pools)
    cfg = PortfolioConfig(quarters=4, scenario_groups=8, alpha=0.9, mip_rel_gap=1e-9)
    assert cfg.risk_measure == "expected_unused"
    prep = prepare(s, cat, config=cfg)
    unused = []
    for lam in sorted(lams):
        sol = _solve(prep, lam, warm_start=False)
        unused.append(sol.expected_unused_usd(prep.comp.prob))
    scale = max(prep.model.scale, 1.0)
    assert all(b <= a + 1e-5 * scale for a, b in zip(unused, unused[1:])), unused


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@example(seed=3435, sigma=0.5702444066752935, trend=-2.220446049250313e-16, n_pools=2,
         lams=[6.079417056227145e-74, 0.027081547488664988])
@given(seed=st.integers(0, 10_000), sigma=st.floats(0.05, 0.8), trend=st.floats(-0.6, 0.3),
       n_pools=st.integers(1, 2), lams=st.lists(st.floats(0.0, 8.0), min_size=2, max_size=4))
def test_raising_the_cvar_weight_never_raises_the_cvar_of_unused_commitment(seed, sigma, trend, n_pools, lams):
    """``risk_measure="unused"`` weighs the CVaR of unused commitment: raising its weight never raises that CVaR
    at the optimum (whole units to a 1e-9 gap, fresh solves)."""
    s, cat = _case(seed, sigma, trend, n_pools)
    prep = prepare(s, cat, config=PortfolioConfig(quarters=4, scenario_groups=8, alpha=0.9, mip_rel_gap=1e-9,
                                                  risk_measure="unused"))
    tail = []
    for lam in sorted(lams):
        sol = _solve(prep, lam, warm_start=False)
        tail.append(cvar(sol.unused_group_usd, prep.comp.prob, 0.9))
    scale = max(prep.model.scale, 1.0)
    assert all(b <= a + 1e-5 * scale for a, b in zip(tail, tail[1:])), tail


def test_the_cvar_weight_may_raise_the_expected_unused_commitment():
    """Why the default measure is the expected unused commitment: hypothesis found a case (two pools, 16 paths)
    where weighting the *CVaR* of unused commitment (lambda ~0 -> 0.027) lowers that CVaR by 35,354 USD and
    raises the expected unused commitment by 3,732 USD (one p4d RI fewer now, more held later); weighting the
    expected unused commitment lowers it on the same case."""
    s, cat = _case(3435, 0.5702444066752935, -2.220446049250313e-16, 2)
    out = {}
    for measure in ("unused", "expected_unused"):
        prep = prepare(s, cat, config=PortfolioConfig(quarters=4, scenario_groups=8, alpha=0.9, mip_rel_gap=1e-9,
                                                      risk_measure=measure))
        sols = [_solve(prep, lam, warm_start=False) for lam in (0.0, 0.027081547488664988)]
        out[measure] = [(s.expected_unused_usd(prep.comp.prob), cvar(s.unused_group_usd, prep.comp.prob, 0.9))
                        for s in sols]
    (e0, c0), (e1, c1) = out["unused"]
    assert c1 < c0 - 10_000 and e1 > e0 + 1_000
    (e0, _), (e1, _) = out["expected_unused"]
    assert e1 < e0


def test_cost_cvar_buys_more_unused_cvar_buys_less(rng):
    # the point: weighting CVaR of cost raises commitment, weighting CVaR of unused commitment lowers it
    d = hourly_paths(40, 2160, (80.0,), (4.0,), rng, common=0.5)
    s, cat = scen(d, keys(P5 + ("inference",))), make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.4}))
    base = dict(**ONE_Q, scenario_groups=20, alpha=0.9)
    held = {}
    for measure in ("cost", "unused"):
        prep = prepare(s, cat, config=PortfolioConfig(**base, risk_measure=measure))
        held[measure] = [float(_solve(prep, lam).active[0].sum()) for lam in (0.0, 4.0)]
    assert held["cost"][1] > held["cost"][0] + 0.05
    assert held["unused"][1] < held["unused"][0] - 0.05


def test_max_three_year_share_limits_long_terms(rng):
    d = hourly_paths(12, 2160, (100.0,), (3.0,), rng, common=0.05)
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.6, 36: 1.8}))
    free = optimize(scen(d, keys(P5 + ("inference",))), cat, config=PortfolioConfig(quarters=2, frontier_lambdas=(0.0,)))
    assert (free.buy_now["term_months"] == 36).all()  # cheaper and demand is steady: only 3-year terms
    cap = optimize(scen(d, keys(P5 + ("inference",))), cat,
                   config=PortfolioConfig(quarters=2, frontier_lambdas=(0.0,), max_three_year_share=0.25))
    now = cap.buy_now
    usd = now.groupby("term_months")["commitment_usd_per_hour"].sum()
    assert usd.get(36, 0.0) <= 0.25 * usd.sum() + 1e-6 and usd.get(12, 0.0) > 0


def test_min_utilization_limit_buys_less(rng):
    d = hourly_paths(40, 2160, (80.0,), (6.0,), rng, common=0.4)
    s, cat = scen(d, keys(P5 + ("inference",))), make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 1.6}))
    free = optimize(s, cat, config=PortfolioConfig(**ONE_Q, scenario_groups=20))
    lim = optimize(s, cat, config=PortfolioConfig(**ONE_Q, scenario_groups=20, min_utilization_p10=0.95))
    assert lim.buy_now["quantity"].sum() < free.buy_now["quantity"].sum()
    assert lim.buy_now["utilization_p10"].min() > free.buy_now["utilization_p10"].min()


@pytest.mark.parametrize("limit,value,name", [("max_obligation_usd", 1000.0, "max_obligation_usd"),
                                              ("max_three_year_share", 0.0, "max_three_year_share"),
                                              ("min_utilization_p10", 1.0, "min_utilization_p10")])
def test_infeasible_limit_is_named(rng, limit, value, name):
    # the floor must be covered by commitments (only 36-month terms offered); the limit forbids it
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={36: 2.0}))
    d = hourly_paths(8, 2160, (100.0,), (20.0,), rng, common=0.3)
    cfg = PortfolioConfig(**{**ONE_Q, "terms_months": (36,)}, min_floor_coverage=1.0, **{limit: value})
    with pytest.raises(ProgramInfeasible) as e:
        optimize(scen(d, keys(P5 + ("inference",))), cat, config=cfg)
    assert name in e.value.constraints and name in str(e.value)
