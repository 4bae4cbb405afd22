"""The notebook's parameter validator rejects unknown names and bad values."""
from __future__ import annotations

import pytest

from finops_forecast.errors import PricingError, UnknownNameError
from finops_forecast.evaluate import BacktestParams, EvaluateError, validate_params


def test_defaults_and_lists():
    p = validate_params({})
    assert p == BacktestParams()
    assert p.trace_list == ["philly", "alibaba-dlrm"]
    assert p.policy_list == ["forecast", "hindsight", "lookback", "stable", "on_demand"]
    q = validate_params({"traces": "alibaba-dlrm", "n_paths": 20, "max_windows": 1, "decision_every": "3D"})
    assert q.trace_list == ["alibaba-dlrm"] and q.n_paths == 20
    assert p.price_outlook == "flat" and validate_params({"price_outlook": "history"}).price_outlook == "history"


@pytest.mark.parametrize("values, err, match", [
    ({"n_path": 20}, UnknownNameError, "Did you mean 'n_paths'"),
    ({"traces": "philli"}, UnknownNameError, "Did you mean 'philly'"),
    ({"traces": ""}, EvaluateError, "traces is empty"),
    ({"policies": "forecast,hinsight"}, UnknownNameError, "hindsight"),
    ({"term": "7 parsecs"}, EvaluateError, "term"),
    ({"n_paths": 0}, EvaluateError, "n_paths"),
    ({"n_paths": 2.5}, EvaluateError, "whole number"),
    ({"max_windows": -1}, EvaluateError, "max_windows"),
    ({"price_outlook": "histroy"}, PricingError, "is not an outlook: give 'flat', 'history'"),
    ({"price_outlook": ""}, PricingError, "price_outlook must be"),
])
def test_rejects(values, err, match):
    with pytest.raises(err, match=match):
        validate_params(values)
