"""read_jobs: exact apportioning of job records to clock hours."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finops_forecast.errors import UsageError
from finops_forecast.usage.readers import apportion_to_hours, read_jobs


def test_issue_example_10_30_to_12_15_on_8_gpus(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text("start,end,gpus,provider,region,instance_type,team\n"
                    "2026-10-01 10:30,2026-10-01 12:15,8,aws,us-east-1,p5.48xlarge,research\n")
    usage, rec = read_jobs(path)
    assert usage["ts"].dt.hour.tolist() == [10, 11, 12]
    assert usage["gpu_hours"].tolist() == pytest.approx([4.0, 8.0, 2.0])
    assert rec.is_balanced() and rec.totals.loc["input", "gpu_hours"] == pytest.approx(14.0)
    assert usage["classified_by"].iloc[0] == "heuristic:short_session"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10 * 24 * 3600), st.integers(0, 5 * 24 * 3600),
                          st.integers(1, 512)), min_size=1, max_size=40))
def test_apportioning_is_exact(jobs):
    base = np.datetime64("2026-01-01T00:00:00", "ns")
    start = np.array([base + np.timedelta64(s, "s") for s, _, _ in jobs])
    end = np.array([base + np.timedelta64(s + d, "s") for s, d, _ in jobs])
    gpus = np.array([g for _, _, g in jobs], dtype=float)
    idx, hour, amount = apportion_to_hours(start, end, gpus)
    expected = sum(d / 3600 * g for _, d, g in jobs)
    assert amount.sum() == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert (amount >= 0).all() and (amount <= gpus[idx] + 1e-9).all()
    # every amount lands in an hour the job overlaps, and per job the pieces add up
    per_job = np.bincount(idx, weights=amount, minlength=len(jobs))
    assert per_job == pytest.approx([d / 3600 * g for _, d, g in jobs], abs=1e-9)
    assert (hour.astype("datetime64[ns]").astype(np.int64) % 3_600_000_000_000 == 0).all()


def test_trace_defaults_and_classes(tmp_path):
    jobs = pd.DataFrame({
        "start_time": ["2026-10-01 00:00", "2026-10-01 00:00", "2026-10-01 09:00", "2026-10-01 00:00"],
        "end_time": ["2026-10-03 00:00", "2026-10-01 02:00", "2026-10-01 19:00", "2026-10-20 00:00"],
        "gpu_count": [64, 1, 1, 4],
        "workload_class": [None, None, None, "serving"],
    })
    path = tmp_path / "trace.parquet"
    jobs.to_parquet(path)
    usage, rec = read_jobs(path, provider="aws", region="us-east-1", instance_type="p4d.24xlarge")
    by = usage.groupby("classified_by")["gpu_hours"].sum()
    assert by["heuristic:multi_gpu_run"] == pytest.approx(64 * 48)
    assert by["heuristic:short_session"] == pytest.approx(2)
    assert by["heuristic:single_gpu_session"] == pytest.approx(10)
    assert by["tag"] == pytest.approx(4 * 19 * 24)
    assert rec.is_balanced()


def test_gpu_type_mapping(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text("start,end,gpus,gpu_type\n2026-10-01 00:00,2026-10-01 01:00,8,A100\n")
    usage, _ = read_jobs(path, gpu_type_pools={"A100": ("aws", "us-east-1", "p4d.24xlarge")})
    assert usage["instance_type"].tolist() == ["p4d.24xlarge"]
    with pytest.raises(UsageError, match="names no pool"):
        read_jobs(path)


@pytest.mark.parametrize("row, fragment, column", [
    ("2026-10-01 05:00,2026-10-01 01:00,8", "ends before it starts", "end"),
    ("2026-10-01 00:00,,8", "no end time", "end"),
    ("2026-10-01 00:00,2026-10-01 01:00,-8", "negative", "gpus"),
    ("2026-10-01 00:00,2026-10-01 01:00,eight", "not a number", "gpus"),
])
def test_bad_jobs(tmp_path, row, fragment, column):
    path = tmp_path / "jobs.csv"
    path.write_text("start,end,gpus\n2026-10-01 00:00,2026-10-01 01:00,8\n" + row + "\n")
    with pytest.raises(UsageError) as exc:
        read_jobs(path, provider="aws", region="us-east-1", instance_type="p5.48xlarge")
    assert fragment in str(exc.value) and exc.value.row == 2 and exc.value.column == column


def test_missing_job_columns_list_aliases(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text("begin_at,end,gpus\n2026-10-01 00:00,2026-10-01 01:00,8\n")
    with pytest.raises(UsageError, match="start_time"):
        read_jobs(path, provider="aws", region="us-east-1", instance_type="p5.48xlarge")
