"""Policies: hindsight is the physical limit; lookback, stable and on_demand are what they say."""
from __future__ import annotations

import numpy as np
import pytest

from finops_forecast.errors import PortfolioError, UnknownNameError
from finops_forecast.portfolio import PortfolioConfig, bill, build_market, decide
from tests.portfolio.pf_helpers import P4, P5, catalog_rows, hourly_paths, keys, make_catalog

# policies in backtests decide fractional quantities (a simulation of decision quality, as evaluate/rolling.py)
CFG = PortfolioConfig(terms_months=(12,), scenario_groups=4, levels=8, integer_ri=False)


@pytest.fixture(scope="module")
def market():
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.6}, sp={12: 2.8}, spot=2.0),
                       catalog_rows(P4, 8, 2.5, ri={12: 1.6}, sp={12: 1.75}))
    return build_market(cat, keys(P5 + ("training",), P5 + ("inference",), P4 + ("inference",)),
                        terms_months=(12,))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_hindsight_is_never_beaten(market, seed):
    rng = np.random.default_rng(seed)
    # history then a window with a level change the history does not show
    hist = hourly_paths(1, 24 * 28, (200, 120, 60), (30, 10, 8), rng)[:, 0].T
    fut = hourly_paths(1, 24 * 14, tuple(rng.uniform(0.6, 1.4, 3) * (200, 120, 60)), (30, 10, 8), rng)[:, 0].T
    scen = hourly_paths(20, 24 * 14, (200, 120, 60), (30, 10, 8), rng).transpose(1, 2, 0)
    held = np.zeros(market.n_instruments)
    costs = {}
    for pol in ("hindsight", "forecast", "lookback", "stable", "on_demand"):
        q = decide(pol, market, history=hist, future=fut, scenarios=scen, held=held, config=CFG)
        assert q.shape == (market.n_instruments,) and np.all(q >= 0)
        costs[pol] = bill(fut, market, held + q).cost.sum()
    for pol, c in costs.items():
        assert costs["hindsight"] <= c * (1 + 1e-7), (pol, costs)
    # and commitments beat on demand on this demand
    assert costs["hindsight"] < costs["on_demand"]


def test_on_demand_buys_nothing_and_stable_buys_the_minimum(market):
    rng = np.random.default_rng(5)
    hist = np.column_stack([rng.uniform(100, 300, 800), np.full(800, 64.0), rng.uniform(16, 40, 800)])
    assert not decide("on_demand", market, history=hist).any()
    q = decide("stable", market, history=hist, config=CFG, stable_hours=720)
    gpus = q @ market.pool_gpu_matrix()
    d = market.pool_demand(market.chunks(hist[-720:]))
    np.testing.assert_allclose(gpus, d.min(axis=0), rtol=1e-9)


@pytest.mark.parametrize("share", [1.0, 0.5])
def test_stable_counts_held_spend_plans(market, share):
    """A savings plan already held covers part (or all) of the floors: stable buys only the rest, so the held
    plan and the new purchases together cover each pool's floor exactly once, the plan fully used."""
    from finops_forecast.portfolio import bill_chunks

    rng = np.random.default_rng(6)
    hist = np.column_stack([rng.uniform(100, 300, 800), np.full(800, 64.0), rng.uniform(40, 60, 800)])
    floor = market.pool_demand(market.chunks(hist[-720:])).min(axis=0)  # per pool [GPU]
    sp = np.flatnonzero(~market.is_pool)
    assert len(sp) == 1
    held = np.zeros(market.n_instruments)
    held[sp[0]] = share * float(floor @ market.rate[sp[0]])  # [USD/h]
    q = decide("stable", market, history=hist, config=CFG, held=held)
    if share == 1.0:
        assert not q.any()
    else:
        assert q.sum() > 0
    fl = np.zeros(market.n_chunks)
    firm = np.flatnonzero(market.chunk_series < 0)
    fl[firm] = floor[market.chunk_pool[firm]]
    b = bill_chunks(fl[None], market, held + q)
    np.testing.assert_allclose(b.covered[0], floor, rtol=1e-9)
    assert b.utilization()[sp[0]] == pytest.approx(1.0)
    assert b.total_utilization() == pytest.approx(1.0)


def test_lookback_is_hindsight_on_the_past(market):
    rng = np.random.default_rng(7)
    hist = hourly_paths(1, 24 * 21, (200, 120, 60), (30, 10, 8), rng)[:, 0].T
    a = decide("lookback", market, history=hist, config=CFG, lookback_hours=24 * 14)
    b = decide("hindsight", market, future=hist[-24 * 14:], config=CFG)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_policy_errors(market):
    with pytest.raises(UnknownNameError, match="lookbak.*Did you mean 'lookback'"):
        decide("lookbak", market)
    with pytest.raises(PortfolioError, match="future="):
        decide("hindsight", market)


def test_exact_programs_are_compiled_once_and_resolved_like_new_ones(market):
    """The lookback and hindsight programs of a shape are re-solved with new Parameter values (DPP): the same
    purchases as a program built from scratch, for other demand and other holdings."""
    from finops_forecast.portfolio import policies
    from finops_forecast.portfolio.compress import full
    from finops_forecast.portfolio.model import CommitmentModel

    rng = np.random.default_rng(11)
    policies._EXACT_PROGRAMS.clear()
    for k in range(3):
        fut = hourly_paths(1, 24 * 7, tuple(rng.uniform(0.5, 1.5, 3) * (200, 120, 60)), (30, 10, 8), rng)[:, 0].T
        held = np.zeros(market.n_instruments)
        held[0] = k  # other commitments held each time
        q = decide("hindsight", market, future=fut, held=held, config=CFG)
        assert len(policies._EXACT_PROGRAMS) == 1  # compiled once
        X = market.chunks_major(np.transpose(fut[None], (2, 0, 1)))
        comp = full(lambda t: X, np.array([float(X.shape[2])]))
        new = CommitmentModel(market, comp, np.ones(market.n_instruments, int), held[None, :],
                              policies.UserConstraints(purchasable=policies._purchasable(market, CFG)))
        q_new = new.solve(0.0).x[0]
        assert bill(fut, market, held + q).cost.sum() == pytest.approx(bill(fut, market, held + q_new).cost.sum(),
                                                                        rel=1e-9)


def test_update_refuses_another_shape(market):
    from finops_forecast.portfolio import policies

    rng = np.random.default_rng(2)
    fut = hourly_paths(1, 48, (200, 120, 60), (30, 10, 8), rng)[:, 0].T
    model = policies.window_model(market, fut, None, CFG, exact=True)
    other = policies.window_model(market, fut[:24], None, CFG, exact=True)
    with pytest.raises(PortfolioError, match="structure"):
        model.update(other.comp)
