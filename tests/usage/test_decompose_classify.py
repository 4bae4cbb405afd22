"""Baseline / burst decomposition and workload classification."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finops_forecast.errors import UsageError
from finops_forecast.usage.classify import Heuristic, classify, load_rules
from finops_forecast.usage.decompose import decompose
from finops_forecast.usage.schema import validate_usage


def frame(values, cls="training"):
    return validate_usage(pd.DataFrame({
        "ts": pd.date_range("2026-01-01", periods=len(values), freq="h", tz="UTC"), "provider": "aws",
        "region": "us-east-1", "instance_type": "p5.48xlarge", "workload_class": cls, "team": "t",
        "gpu_hours": values}))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 5000, allow_nan=False), min_size=1, max_size=400), st.integers(1, 200),
       st.floats(0, 0.99))
def test_parts_are_nonnegative_and_sum_to_demand(values, window, q):
    out = decompose(frame(values), window_hours=window, quantile=q)
    assert (out["baseline"] >= 0).all() and (out["burst"] >= 0).all()
    np.testing.assert_allclose(out["baseline"] + out["burst"], out["gpu_hours"], rtol=0, atol=1e-9)


def test_floor_of_a_steady_series_with_bursts():
    base = np.full(24 * 28, 64.0)
    base[300:340] += 512  # a burst
    out = decompose(frame(base))
    assert out["baseline"].iloc[200:].eq(64).all()
    assert out["burst"].sum() == pytest.approx(512 * 40)


def test_decomposition_is_causal():
    values = np.r_[np.full(400, 10.0), np.full(400, 100.0)]
    full = decompose(frame(values))
    head = decompose(frame(values[:500]))
    np.testing.assert_array_equal(full["baseline"].iloc[:500].to_numpy(), head["baseline"].to_numpy())


def test_bad_decompose_settings():
    with pytest.raises(UsageError, match="window_hours"):
        decompose(frame([1.0]), window_hours=0)
    with pytest.raises(UsageError, match="quantile"):
        decompose(frame([1.0]), quantile=1.5)


def test_classification_order_tag_rule_heuristic(tmp_path):
    runs = pd.DataFrame({"gpus": [64, 64, 1, 8, 1], "run_hours": [48, 48, 2, 24 * 30, 10],
                         "team": ["research", "serving-x", "a", "b", "c"],
                         "workload_tag": ["Train", None, None, None, "trainng"]})
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: serving\n    class: inference\n    match: {team: 'serving-.*'}\n")
    out = classify(runs, rules=rules)
    assert out["workload_class"].tolist() == ["training", "inference", "experimentation", "inference",
                                              "experimentation"]
    assert out["classified_by"].tolist() == ["tag", "rule:serving", "heuristic:short_session",
                                             "heuristic:always_on_service", "heuristic:single_gpu_session"]
    assert out["unknown_tag"].tolist() == [False, False, False, False, True]


def test_heuristic_thresholds_are_settings():
    runs = pd.DataFrame({"gpus": [1.0], "run_hours": [30.0]})
    assert classify(runs)["workload_class"].iloc[0] == "inference"
    assert classify(runs, heuristic=Heuristic(single_gpu_service_hours=48))["workload_class"].iloc[0] == \
        "experimentation"


@pytest.mark.parametrize("text, fragment", [
    ("rules:\n  - name: x\n    class: trainin\n", "Did you mean 'training'"),
    ("rules:\n  - name: x\n    class: training\n    mach: {team: a}\n", "unknown key 'mach'"),
    ("rules: 3\n", "'rules:' list"),
    ("rules:\n  - name: x\n    class: training\n    match: {team: '('}\n", "invalid regular expression"),
])
def test_bad_rules_files(tmp_path, text, fragment):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(")) as exc:
        load_rules(path)
    assert "rules.yaml" in str(exc.value)
