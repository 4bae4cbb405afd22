"""The usage-table validator: every kind of bad input gets an error naming the file, row or column and the fix."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import FinopsError, UsageError
from finops_forecast.usage.readers import read_usage
from finops_forecast.usage.schema import UNALLOCATED, USAGE_COLUMNS, aggregate_series, validate_usage

GOOD = """ts,provider,region,instance_type,workload_class,team,gpu_hours
2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,training,research,16
2026-10-01 01:00:00,AWS,us-east-1,p5.48xlarge,training,research,24
2026-10-01 00:00:00,gcp,us-central1,a3-highgpu-8g,inference,serving,8
2026-10-01 00:00:00,azure,eastus,Standard_ND96isr_H100_v5,experimentation,,8
"""


def write(tmp_path, text, name="usage.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def replace_line(text, line, new):
    lines = text.splitlines()
    lines[line] = new
    return "\n".join(lines) + "\n"


def test_good_table_is_normalized(tmp_path):
    usage, rec = read_usage(write(tmp_path, GOOD))
    assert list(usage.columns[:7]) == USAGE_COLUMNS
    assert str(usage["ts"].dtype) == "datetime64[ns, UTC]"
    assert set(usage["provider"]) == {"aws", "gcp", "azure"}
    assert (usage["team"] == UNALLOCATED).sum() == 1
    assert usage["gpu_hours"].sum() == 56
    assert rec.is_balanced() and rec.totals.loc["input", "rows"] == 4


def test_key_columns_hold_one_string_per_distinct_value(tmp_path):
    """Text keys are object columns holding one string object per distinct value, not one per row (~60 MB less
    for the sample's 200,000 rows), with the same values."""
    usage, _ = read_usage(write(tmp_path, GOOD + "2026-10-01 02:00:00, aws ,us-east-1,p5.48xlarge,Training,research,8\n"))
    for col in ("provider", "region", "instance_type", "workload_class", "team"):
        assert usage[col].dtype == object
        assert len({id(v) for v in usage[col]}) == usage[col].nunique(), col
    assert sorted(usage["provider"]) == ["aws", "aws", "aws", "azure", "gcp"]


def test_parquet_round_trip(tmp_path):
    usage, _ = read_usage(write(tmp_path, GOOD))
    usage.to_parquet(tmp_path / "u.parquet")
    again, _ = read_usage(tmp_path / "u.parquet")
    pd.testing.assert_frame_equal(usage, again)


@pytest.mark.parametrize("bad_header, column", [
    ("ts,provider,region,instance_typ,workload_class,team,gpu_hours", "instance_type"),
    ("ts,provider,region,instance_type,workload_class,team", "gpu_hours"),
])
def test_missing_or_misspelled_column(tmp_path, bad_header, column):
    text = replace_line(GOOD, 0, bad_header)
    with pytest.raises(UsageError) as exc:
        read_usage(write(tmp_path, text))
    msg = str(exc.value)
    assert "usage.csv" in msg and column in msg and exc.value.column == column
    if "instance_typ," in bad_header:
        assert "did you mean 'instance_typ'" in msg


@pytest.mark.parametrize("line, value, fragment, column", [
    (2, "2026-10-01 01:00:00,aws,us-east-1,p5.48xlarge,training,research,lots", "not a number", "gpu_hours"),
    (2, "2026-10-01 01:00:00,aws,us-east-1,p5.48xlarge,training,research,-3", "negative", "gpu_hours"),
    (2, "2026-10-01 01:00:00,aws,us-east-1,p5.48xlarge,training,research,NaN", "missing", "gpu_hours"),
    (2, "2026-10-01 01:30:00,aws,us-east-1,p5.48xlarge,training,research,8", "not on the hour", "ts"),
    (2, "2026-10-01 01:00:00+02:00,aws,us-east-1,p5.48xlarge,training,research,8", "mixed time zones", "ts"),
    (2, "yesterday,aws,us-east-1,p5.48xlarge,training,research,8", "cannot parse", "ts"),
    (2, "2026-10-01 01:00:00,aws,us-east-1,p5.48xlarge,trainig,research,8", "did you mean 'training'",
     "workload_class"),
    (2, "2026-10-01 01:00:00,aws,us-east-1,p5.48xlarg,training,research,8", "unknown instance type",
     "instance_type"),
    (2, "2026-10-01 01:00:00,aws,,p5.48xlarge,training,research,8", "empty", "region"),
])
def test_bad_values_name_row_and_column(tmp_path, line, value, fragment, column):
    with pytest.raises(UsageError) as exc:
        read_usage(write(tmp_path, replace_line(GOOD, line, value)))
    msg = str(exc.value)
    assert fragment.lower() in msg.lower()
    assert exc.value.row == line and exc.value.column == column
    assert f"row {line}" in msg and "usage.csv" in msg


def test_unknown_instance_type_suggests_and_can_be_registered(tmp_path):
    text = replace_line(GOOD, 2, "2026-10-01 01:00:00,aws,us-east-1,p5.48xlarg,training,research,8")
    with pytest.raises(UsageError, match="Did you mean 'p5.48xlarge'"):
        read_usage(write(tmp_path, text))
    neo = replace_line(GOOD, 2, "2026-10-01 01:00:00,coreweave,us-east-04,gd-8xh100ib-i128,training,research,8")
    reg = pd.DataFrame({"provider": ["coreweave"], "instance_type": ["gd-8xh100ib-i128"], "gpu_type": ["H100"],
                        "gpu_count": [8]})
    usage, _ = read_usage(write(tmp_path, neo), instance_types=reg)
    assert "coreweave" in set(usage["provider"])


def test_duplicates_name_both_rows(tmp_path):
    text = GOOD + "2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,training,research,16\n"
    with pytest.raises(UsageError, match=r"duplicate rows: rows 1 and 5"):
        read_usage(write(tmp_path, text))


def test_empty_file_and_header_only(tmp_path):
    with pytest.raises(UsageError, match="empty"):
        read_usage(write(tmp_path, ""))
    with pytest.raises(UsageError, match="no rows"):
        read_usage(write(tmp_path, GOOD.splitlines()[0] + "\n"))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        read_usage(tmp_path / "nope.csv")


def test_errors_are_value_errors():
    assert issubclass(UsageError, FinopsError) and issubclass(UsageError, ValueError)


def test_timezone_aware_input_is_converted_to_utc():
    df = pd.DataFrame({"ts": pd.date_range("2026-10-01 02:00", periods=3, freq="h", tz="Europe/Berlin"),
                       "provider": "aws", "region": "us-east-1", "instance_type": "p5.48xlarge",
                       "workload_class": "training", "team": "x", "gpu_hours": [8.0, 8.0, 16.0]})
    out = validate_usage(df)
    assert out["ts"].iloc[0] == pd.Timestamp("2026-10-01 00:00", tz="UTC")


def test_aggregate_series_fills_missing_hours_with_zero():
    df = pd.DataFrame({"ts": pd.to_datetime(["2026-10-01 00:00", "2026-10-01 03:00"], utc=True),
                       "provider": "aws", "region": "us-east-1", "instance_type": "p5.48xlarge",
                       "workload_class": "training", "team": ["a", "b"], "gpu_hours": [8.0, 16.0]})
    agg = aggregate_series(validate_usage(df))
    assert len(agg) == 4 and np.allclose(agg["gpu_hours"], [8, 0, 0, 16])


MODELS = """ts,provider,region,instance_type,workload_class,team,gpu_hours,model
2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,inference,serving,8,llama-70b
2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,inference,serving,4,bert
2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,inference,,2,mixtral
2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,inference,serving,1,
"""


def test_model_is_an_optional_key_column(tmp_path):
    usage, rec = read_usage(write(tmp_path, MODELS))
    assert rec.is_balanced() and usage["gpu_hours"].sum() == 15
    # one row per hour x pool x class x team x model; an empty team or model is __unallocated__, never mixed up
    assert sorted(zip(usage["team"], usage["model"])) == [
        (UNALLOCATED, "mixtral"), ("serving", UNALLOCATED), ("serving", "bert"), ("serving", "llama-70b")]
    assert list(usage.columns) == USAGE_COLUMNS + ["model"]
    with pytest.raises(UsageError, match=r"rows 1 and 2 have the same hour, pool, workload class, team and model"):
        read_usage(write(tmp_path, replace_line(MODELS, 2, MODELS.splitlines()[1])))
    without = read_usage(write(tmp_path, "\n".join(line.rsplit(",", 1)[0] for line in MODELS.splitlines()[:2])
                               + "\n"))[0]
    assert "model" not in without.columns
