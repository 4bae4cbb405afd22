"""Decision calibration on its lattice (issue 20): the spread scale is chosen at ``select_min_history + j * term``
from the non-overlapping windows that ended by then, and only those origins are decided on every grid value."""
from __future__ import annotations

import numpy as np
import pytest

from finops_forecast.evaluate.rolling import BacktestSettings, _Selector, demand_matrix

from .conftest import FAST


def _selector(usage, catalog, **kw):
    from finops_forecast.portfolio.billing import bill
    from finops_forecast.portfolio.config import PortfolioConfig
    from finops_forecast.portfolio.instruments import SpotSettings, build_market
    from finops_forecast.portfolio.policies import decide

    s = BacktestSettings(**dict(FAST, calibration="spread", calibration_grid=(0.0, 0.5, 1.0), **kw))
    keys, ts, D = demand_matrix(usage)
    market = build_market(catalog, keys, terms_months=(12,), payment_options=("no_upfront",),
                          spot=SpotSettings(classes=s.spot_classes, cap=s.spot_cap))
    cfg = PortfolioConfig(quarters=1, ladder=False, terms_months=(12,), payment_options=("no_upfront",),
                          spot_cap=s.spot_cap, spot_classes=tuple(s.spot_classes), integer_ri=False)
    names = [tuple(k) for k in keys.itertuples(index=False)]
    return _Selector(usage, D, ts, names, market, cfg, s, decide, bill), s


def test_scale_is_chosen_on_the_lattice_from_completed_windows(usage, catalog):
    sel, s = _selector(usage, catalog, forecast_candidates=("forecast", "lookback"), select_alpha=None)
    t = s.select_min_history + 4 * s.term + 30  # between two lattice points
    sel.choose(t)
    k = sel.scale("forecast", t)
    assert k in s.calibration_grid
    c = s.select_min_history + 4 * s.term
    assert sel.scale("forecast", c) == k and sel.scale("forecast", c + s.term - 1) == k
    assert sel.scale("forecast", s.select_min_history - 1) == 1.0  # before any window: the paths as forecast
    # every origin decided on the whole grid is a lattice point whose window ended by the last lattice point
    grid_origins = sorted(o for (cand, o) in sel.grid_costs)
    assert grid_origins, "the calibration decided no origin on its grid"
    for o in grid_origins:
        assert (o - s.select_min_history) % s.term == 0 and o + s.term <= c
    # the daily origins the selection scored are decided once, at their own scale: far fewer grid solves
    assert len(grid_origins) < len(sel.origins(t)) / 2
    for o in sel.origins(t):
        cost = sel.score("forecast", o)
        if ("forecast", o) in sel.grid_costs:
            assert cost == sel.grid_costs[("forecast", o)][sel.scale("forecast", o)]


def test_scale_picks_the_cheapest_past_spread(usage, catalog):
    """With no smoothing, the lattice point's scale is the grid value with the least summed past cost."""
    sel, s = _selector(usage, catalog, forecast_candidates=("forecast",), calibration_penalty=0.0)
    c = s.select_min_history + 3 * s.term
    k = sel.scale("forecast", c)
    origins = range(c - s.term, s.select_min_history - 1, -s.term)
    total = {g: sum(sel.grid_costs[("forecast", o)][g] for o in origins) for g in s.calibration_grid}
    assert total[k] == pytest.approx(min(total.values()), rel=1e-12)
    assert np.isfinite(list(total.values())).all()
