"""The bundled sample fleet: size, coverage, determinism, and its calibration on the real traces."""
from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from finops_forecast.usage.decompose import decompose
from finops_forecast.usage.sample import CALIBRATION, load_sample, sample_planned_runs
from finops_forecast.usage.schema import WORKLOAD_CLASSES, validate_usage
from tests.conftest import REPO


def test_sample_covers_what_the_issue_asks(sample_usage):
    span = sample_usage["ts"].max() - sample_usage["ts"].min()
    assert span >= pd.Timedelta(days=18 * 30)
    assert set(sample_usage["provider"]) == {"aws", "gcp", "azure"}
    assert set(sample_usage["workload_class"]) == set(WORKLOAD_CLASSES)
    assert sample_usage["team"].nunique() >= 4
    gpu = {"p5.48xlarge": "H100", "a3-highgpu-8g": "H100", "p4d.24xlarge": "A100", "g5.12xlarge": "A10G",
           "g6.12xlarge": "L4", "g2-standard-48": "L4"}
    assert set(gpu) <= set(sample_usage["instance_type"])
    validate_usage(sample_usage)  # it is a valid usage table, instance types known


def test_sample_is_deterministic(sample_usage):
    again = load_sample()
    pd.testing.assert_frame_equal(sample_usage, again)
    again.loc[0, "gpu_hours"] = -1  # a copy: callers cannot corrupt the cached sample
    assert load_sample().loc[0, "gpu_hours"] >= 0


def test_whole_instances_and_growth(sample_usage):
    from finops_forecast.usage.instances import instance_registry
    reg = instance_registry().set_index(["provider", "instance_type"])["gpu_count"]
    per = sample_usage.join(reg, on=["provider", "instance_type"])
    assert np.allclose(per["gpu_hours"] / per["gpu_count"], np.rint(per["gpu_hours"] / per["gpu_count"]))
    monthly = sample_usage.set_index("ts")["gpu_hours"].resample("MS").sum()
    assert monthly.iloc[-2] > 1.3 * monthly.iloc[1]  # the company grows


def test_training_has_bursts_and_inference_a_floor(sample_usage):
    parts = decompose(sample_usage).groupby("workload_class")[["gpu_hours", "baseline", "burst"]].sum()
    share = parts["burst"] / parts["gpu_hours"]
    assert share["inference"] < 0.15 < share["training"]


def test_planned_runs_are_after_the_history(sample_usage):
    runs = sample_planned_runs()
    assert (runs["start"] > sample_usage["ts"].max()).all() and (runs["gpus"] > 0).all()


@pytest.mark.slow
def test_calibration_constants_match_the_real_traces(datasets):
    spec = importlib.util.spec_from_file_location("calibrate", REPO / "tools" / "calibrate_sample.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    measured = mod.measure(datasets)
    for key, value in CALIBRATION.items():
        assert np.allclose(value, measured[key], atol=0.01), key


@pytest.mark.slow
def test_generated_shapes_follow_the_traces(sample_usage, datasets):
    """Detrended CV and lag-1 autocorrelation of the generated series are near the traces' values."""
    hourly = sample_usage.groupby(["instance_type", "workload_class", "team", "ts"])["gpu_hours"].sum()

    def stats(series):
        s = series.reset_index(drop=True)
        trend = s.rolling(24 * 7, center=True, min_periods=24).mean()
        resid = (s / trend).dropna()
        return resid.std(), s.autocorr(1)

    cv, acf = stats(hourly.loc[("g6.12xlarge", "inference", "recsys-serving")])  # DLRM-like, no diurnal swing
    assert cv == pytest.approx(CALIBRATION["dlrm_cv"], abs=0.03)  # + instance rounding noise
    assert acf > 0.8
    cv, acf = stats(hourly.loc[("p4d.24xlarge", "training", "applied-ml")])  # Philly-like, no big runs
    assert cv == pytest.approx(CALIBRATION["philly_cv"], rel=0.35)
    assert acf == pytest.approx(CALIBRATION["philly_acf1"], abs=0.05)
