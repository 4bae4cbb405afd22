"""What the plan's solve and bill keep in memory: the rounding programs are released after the plan's solve, and
billing in blocks of paths gives the bill of all paths at once (docs/performance.md)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.portfolio import PortfolioConfig, Scenarios, api
from finops_forecast.portfolio.api import _bill_periods, _solve, prepare, solve_plan
from finops_forecast.portfolio.model import CommitmentModel
from tests.portfolio.pf_helpers import P4, P5, catalog_rows, hourly_paths, keys, make_catalog

ONE_Q = {"quarters": 1, "ladder": False, "terms_months": (12,), "frontier_lambdas": (0.0,), "curve_factors": (1.0,)}


@pytest.fixture
def case(rng):
    d = hourly_paths(12, 2160, [37.0, 21.0], [3.0, 2.0], rng, trend=0.2)
    ks = keys(P5 + ("inference",), P4 + ("training",))
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.4}, sp={12: 2.8}), catalog_rows(P4, 8, 3.0, ri={12: 1.9}))
    scen = Scenarios(keys=ks, ds=pd.date_range("2027-01-01", periods=2160, freq="h", tz="UTC"), paths=d)
    return scen, cat


def test_solve_plan_releases_the_rounding_programs_and_a_later_solve_rebuilds_them(case):
    scen, cat = case
    config = PortfolioConfig(**ONE_Q, integer_ri=True)
    kept = prepare(scen, cat, None, config)
    ref = _solve(kept)
    assert hasattr(kept.model, "_fixed_problem")  # the names released are the ones the whole-unit solve builds
    prep = prepare(scen, cat, None, config)
    sol = solve_plan(prep)
    assert not any(hasattr(prep.model, n) for n in CommitmentModel.ROUNDING_PROGRAMS)
    np.testing.assert_allclose(sol.x, ref.x)
    again = _solve(prep)  # recompiled when missing: the model still solves whole-unit plans
    np.testing.assert_allclose(again.x, sol.x)
    assert np.allclose(again.x, np.round(again.x))


def test_billing_in_blocks_of_paths_gives_the_bill_of_all_paths_at_once(case, monkeypatch):
    scen, cat = case
    prep = prepare(scen, cat, None, PortfolioConfig(**ONE_Q))
    sol = _solve(prep)
    monkeypatch.setattr(api, "_BILL_ROWS", 10**9)
    whole = _bill_periods(prep, sol.active, None)
    monkeypatch.setattr(api, "_BILL_ROWS", 1000)  # a block of one path (of 2160 hours)
    blocks = _bill_periods(prep, sol.active, None)
    for k in ("path_cost", "path_od", "unused_path", "used", "committed"):
        np.testing.assert_array_equal(blocks[k], whole[k])  # per path: the same sums
    for k in ("displaced", "used_mean", "uncovered", "covered", "demand", "used_sum", "committed_sum"):
        np.testing.assert_allclose(blocks[k], whole[k], rtol=1e-12)  # summed over paths: float noise only
    pd.testing.assert_frame_equal(blocks["rows"], whole["rows"], rtol=1e-12)
