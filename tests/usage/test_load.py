"""load_usage: the sample or a path, then filter; an empty result is an error naming the filters."""
from __future__ import annotations

import pytest

from finops_forecast.errors import FinopsError
from finops_forecast.usage.load import filter_usage, load_usage
from finops_forecast.usage.readers import read_any

GOOD = """ts,provider,region,instance_type,workload_class,team,gpu_hours
2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,training,research,16
2026-10-01 00:00:00,gcp,us-central1,a3-highgpu-8g,inference,serving,8
"""


def test_sample_is_the_bundled_fleet_without_reconciliation(sample_usage):
    usage, rec = load_usage("sample")
    assert rec is None
    assert usage.equals(sample_usage)
    with pytest.raises(FinopsError, match="do not apply"):
        load_usage("sample", rules="rules.yaml")


def test_path_goes_through_read_any_then_filters(tmp_path, focus_sample):
    path = tmp_path / "usage.csv"
    path.write_text(GOOD)
    usage, rec = load_usage(path)
    expected, _ = read_any(path)
    assert usage.equals(expected) and rec.kind == "usage"
    kept, _ = load_usage(path, providers="AWS, oracle", workload_classes=["training"])
    assert list(kept["provider"]) == ["aws"] and kept.index.tolist() == [0]
    usage, rec = load_usage(focus_sample, kind="focus")
    assert rec.kind == "focus" and len(usage)


def test_nothing_left_names_the_filters(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text(GOOD)
    with pytest.raises(FinopsError, match=r"no usage left after filtering providers='azure' and "
                                          r"workload_classes=None; loosen the filters\."):
        load_usage(path, providers="azure")
    usage, _ = load_usage(path)
    with pytest.raises(FinopsError, match="no usage left"):
        filter_usage(usage.iloc[:0])
    with pytest.raises(FinopsError, match="kind must be one of"):
        load_usage(path, kind="csv")
