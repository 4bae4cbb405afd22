"""Readers under bad deliveries: duplicate files and rows, implausible values, errors at the input's row."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import UsageError
from finops_forecast.usage.readers import detect_kind, read_any, read_focus, read_jobs, read_usage

COSTS = ["billed_cost", "effective_cost", "list_cost"]
JOBS = ("start,end,gpus,provider,region,instance_type,team\n"
        "2026-10-01 10:30,2026-10-01 12:15,8,aws,us-east-1,p5.48xlarge,research\n"
        "2026-10-01 00:00,2026-10-01 05:00,16,aws,us-east-1,p5.48xlarge,research\n")


def _sample_rows(focus_sample) -> pd.DataFrame:
    return pd.read_csv(focus_sample, dtype=str, keep_default_na=False)


def _gpu_row_positions(df: pd.DataFrame) -> list[int]:
    gpu = df["ChargeDescription"].str.contains(" g5.4xlarge ") & (df["ChargeCategory"] == "Usage")
    return list(df.index[gpu])


# ----------------------------------------------------------------------------------- counted twice: FOCUS
def test_a_byte_identical_copy_is_read_once(tmp_path, focus_sample):
    once, _ = read_focus(focus_sample)
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(focus_sample, folder / "export.csv")
    shutil.copy(focus_sample, folder / "export (1).csv")
    usage, rec = read_focus(folder)
    assert usage["gpu_hours"].sum() == pytest.approx(once["gpu_hours"].sum(), rel=1e-12)
    for col in COSTS:
        assert usage[col].sum() == pytest.approx(once[col].sum(), abs=1e-9)
    assert rec.is_balanced()
    assert rec.totals.loc["input", "rows"] == 1000
    assert any("identical" in n and "export (1).csv" in n and "export.csv" in n for n in rec.notes)


def test_overlapping_deliveries_are_deduplicated_and_reconciled(tmp_path, focus_sample):
    once, _ = read_focus(focus_sample)
    df = _sample_rows(focus_sample)
    gpu = _gpu_row_positions(df)
    # the first delivery has one GPU row twice (a bill can legitimately repeat a row): both are kept; the
    # second delivery overlaps the first on rows 300..699 (and that GPU row once more): those are dropped
    first = pd.concat([df.iloc[:700], df.iloc[[gpu[0]]]])
    second = df.iloc[300:]
    assert gpu[0] < 700
    folder = tmp_path / "exports"
    folder.mkdir()
    first.to_csv(folder / "2024-09-a.csv", index=False)
    second.to_csv(folder / "2024-09-b.csv", index=False)
    usage, rec = read_focus(folder)
    extra = float(df.loc[gpu[0], "ConsumedQuantity"])  # g5.4xlarge: 1 GPU per instance
    assert usage["gpu_hours"].sum() == pytest.approx(once["gpu_hours"].sum() + extra, rel=1e-12)
    assert usage["billed_cost"].sum() == pytest.approx(once["billed_cost"].sum() + float(df.loc[gpu[0], "BilledCost"]))
    dup = rec.rejected[rec.rejected["reason"] == "duplicate delivery"]
    assert int(dup["rows"].sum()) == 400
    overlap = df.iloc[300:700]
    billed = pd.to_numeric(overlap["BilledCost"], errors="coerce").sum()
    assert dup["billed_cost"].sum() == pytest.approx(billed, abs=1e-6)
    assert rec.is_balanced() and rec.totals.loc["input", "rows"] == 1401
    note = next(n for n in rec.notes if "duplicate deliver" in n)
    assert "400 rows" in note and "2024-09-b.csv" in note and "2024-09-a.csv" in note


# ----------------------------------------------------------------------------------- counted twice: jobs
def test_repeated_job_records_are_counted_once(tmp_path):
    once = tmp_path / "once.csv"
    once.write_text(JOBS)
    four = tmp_path / "four.csv"
    lines = JOBS.splitlines()
    four.write_text("\n".join([lines[0]] + lines[1:] * 4) + "\n")
    u1, _ = read_jobs(once)
    u4, rec = read_jobs(four)
    assert u4["gpu_hours"].sum() == pytest.approx(u1["gpu_hours"].sum()) == pytest.approx(14 + 80)
    dup = rec.rejected[rec.rejected["reason"] == "duplicate job record"]
    assert int(dup["rows"].sum()) == 6 and dup["gpu_hours"].sum() == pytest.approx(3 * 94)
    assert rec.totals.loc["input", "rows"] == 8 and rec.totals.loc["input", "gpu_hours"] == pytest.approx(4 * 94)
    assert rec.is_balanced()


def test_job_id_duplicates_with_a_different_export_column(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text("job_id,start,end,gpus,exported_at\n"
                    "j1,2026-10-01 00:00,2026-10-01 02:00,8,2026-10-02\n"
                    "j1,2026-10-01 00:00,2026-10-01 02:00,8,2026-10-03\n"
                    "j2,2026-10-01 00:00,2026-10-01 02:00,8,2026-10-03\n")
    usage, rec = read_jobs(path, provider="aws", region="us-east-1", instance_type="p5.48xlarge")
    assert usage["gpu_hours"].sum() == pytest.approx(32) and rec.is_balanced()
    assert int(rec.rejected.loc[rec.rejected["reason"] == "duplicate job record", "rows"].sum()) == 1


# ----------------------------------------------------------------------------------- implausible values
def _one_job(tmp_path, start, end, gpus):
    path = tmp_path / "jobs.csv"
    path.write_text(f"start,end,gpus\n2026-10-01 00:00,2026-10-01 01:00,8\n{start},{end},{gpus}\n")
    return path


@pytest.mark.parametrize("start, end, gpus, column, fragment", [
    ("1970-01-01 00:00", "1970-01-01 02:00", 8, "start", "2000-01-01"),
    ("2026-01-01 00:00", "2226-01-01 00:00", 8, "end", "plausible window"),
    ("2024-01-01 00:00", "2026-01-01 00:00", 8, "end", "366"),
    ("2026-10-01 00:00", "2026-10-01 02:00", "1e308", "gpus", "1e+06"),
    ("2026-10-01 00:00", "2026-10-01 02:00", "2e6", "gpus", "1e+06"),
])
def test_implausible_jobs_are_errors_at_the_input_row(tmp_path, start, end, gpus, column, fragment):
    with pytest.raises(UsageError) as exc:
        read_jobs(_one_job(tmp_path, start, end, gpus), provider="aws", region="us-east-1",
                  instance_type="p5.48xlarge")
    assert exc.value.row == 2 and exc.value.column == column
    assert fragment in str(exc.value) and "bounds=" in str(exc.value) and "jobs.csv" in str(exc.value)


def test_a_limit_can_be_raised(tmp_path):
    from finops_forecast.usage.bounds import Bounds

    path = _one_job(tmp_path, "2024-01-01 00:00", "2026-01-01 00:00", 8)
    usage, rec = read_jobs(path, provider="aws", region="us-east-1", instance_type="p5.48xlarge",
                           bounds=Bounds(max_span_days=800))
    assert rec.is_balanced() and usage["gpu_hours"].sum() == pytest.approx(8 + 8 * 731 * 24)


@pytest.mark.parametrize("ts, gpu_hours, column", [
    ("1970-01-01 00:00:00", 8, "ts"),
    ("2200-01-01 00:00:00", 8, "ts"),
    ("2026-10-01 01:00:00", 1e9, "gpu_hours"),
    ("2026-10-01 01:00:00", 1e308, "gpu_hours"),
])
def test_implausible_usage_rows(tmp_path, ts, gpu_hours, column):
    path = tmp_path / "usage.csv"
    path.write_text("ts,provider,region,instance_type,workload_class,team,gpu_hours\n"
                    "2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,training,r,8\n"
                    f"{ts},aws,us-east-1,p5.48xlarge,training,r,{gpu_hours}\n")
    with pytest.raises(UsageError) as exc:
        read_usage(path)
    assert exc.value.row == 2 and exc.value.column == column and "bounds=" in str(exc.value)


@pytest.mark.parametrize("column, value, fragment", [
    ("ChargePeriodStart", "1970-01-01 00:00:00", "2000-01-01"),
    ("ChargePeriodEnd", "2262-04-01 00:00:00", "plausible window"),
    ("ChargePeriodEnd", "2026-01-01 00:00:00", "366"),
    ("ConsumedQuantity", "1e9", "1e+06"),
    ("ConsumedQuantity", "1e308", "1e+06"),
])
def test_implausible_focus_gpu_rows(tmp_path, focus_sample, column, value, fragment):
    df = _sample_rows(focus_sample)
    row = _gpu_row_positions(df)[1]
    df.loc[row, column] = value
    path = tmp_path / "export.csv"
    df.to_csv(path, index=False)
    with pytest.raises(UsageError) as exc:
        read_focus(path)
    assert exc.value.row == row + 1 and exc.value.column == column
    assert fragment in str(exc.value) and "bounds=" in str(exc.value) and "export.csv" in str(exc.value)


# ----------------------------------------------------------------------------------- errors at the right place
def test_unknown_instance_type_in_a_job_file_names_the_input_row(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(JOBS + "2026-10-01 03:00,2026-10-01 04:00,8,aws,us-east-1,p9.48xlarge,research\n")
    with pytest.raises(UsageError) as exc:
        read_jobs(path)
    assert exc.value.row == 3 and exc.value.column == "instance_type" and "p9.48xlarge" in str(exc.value)


@pytest.mark.parametrize("value", ["NaN", "NULL", ""])
def test_missing_cost_of_a_gpu_row_names_the_input_row_and_column(tmp_path, focus_sample, value):
    df = _sample_rows(focus_sample)
    row = _gpu_row_positions(df)[2]
    df.loc[row, "EffectiveCost"] = value
    path = tmp_path / "export.csv"
    df.to_csv(path, index=False)
    with pytest.raises(UsageError) as exc:
        read_focus(path)
    assert exc.value.row == row + 1 and exc.value.column == "EffectiveCost" and "export.csv" in str(exc.value)


def test_missing_cost_in_parquet_names_the_input_row(tmp_path, focus_sample):
    df = _sample_rows(focus_sample)
    row = _gpu_row_positions(df)[2]
    df["BilledCost"] = pd.to_numeric(df["BilledCost"].replace("NULL", None))
    df.loc[row, "BilledCost"] = float("nan")
    path = tmp_path / "export.parquet"
    df.to_parquet(path)
    with pytest.raises(UsageError) as exc:
        read_focus(path)
    assert exc.value.row == row + 1 and exc.value.column == "BilledCost"


@pytest.mark.parametrize("drop", [["ChargePeriodStart"], ["ChargePeriodStart", "ChargePeriodEnd"]])
def test_focus_export_missing_a_column_is_called_focus(tmp_path, focus_sample, drop):
    path = tmp_path / "export.csv"
    _sample_rows(focus_sample).drop(columns=drop).to_csv(path, index=False)
    assert detect_kind(path) == "focus"
    with pytest.raises(UsageError) as exc:
        read_any(path)
    msg = str(exc.value)
    assert "FOCUS" in msg and drop[0] in msg and "job file" not in msg


def test_usage_table_missing_a_column_is_called_a_usage_table(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("ts,provider,region,instance_type,workload_class,team,gpu_hour\n"
                    "2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,training,r,8\n")
    assert detect_kind(path) == "usage"
    with pytest.raises(UsageError) as exc:
        read_any(path)
    assert "usage table" in str(exc.value) and "gpu_hours" in str(exc.value) and "job file" not in str(exc.value)


# ----------------------------------------------------------------------------------- found by the property tests
@pytest.mark.parametrize("column, value", [("end", "2300-01-01 00:00:00"), ("end", "9999-12-31T00:00:00Z")])
def test_timestamps_beyond_2262_are_errors_not_overflows(tmp_path, column, value):
    path = tmp_path / "jobs.csv"
    start = "2026-01-01T00:00:00Z" if value.endswith("Z") else "2026-01-01 00:00:00"
    path.write_text(f"start,end,gpus\n{start},{value},8\n")
    with pytest.raises(UsageError) as exc:
        read_any(path, provider="aws", region="us-east-1", instance_type="p5.48xlarge")
    assert exc.value.row == 1 and exc.value.column == column and "plausible window" in str(exc.value)
    usage = tmp_path / "usage.csv"
    usage.write_text(f"ts,provider,region,instance_type,workload_class,team,gpu_hours\n"
                     f"{value},aws,us-east-1,p5.48xlarge,training,r,8\n")
    with pytest.raises(UsageError, match="plausible window"):
        read_usage(usage)


@pytest.mark.parametrize("quantity", ["inf", "1e400"])
def test_an_infinite_quantity_outside_gpu_usage_keeps_the_balance(tmp_path, focus_sample, quantity):
    df = _sample_rows(focus_sample)
    row = _gpu_row_positions(df)[0]
    df.loc[row, "ChargeCategory"] = "Purchase"  # a GPU instance row that is not usage: rejected, yet counted
    df.loc[row, "ConsumedQuantity"] = quantity
    path = tmp_path / "export.csv"
    df.to_csv(path, index=False)
    _, rec = read_focus(path)
    assert rec.is_balanced() and np.isfinite(rec.totals.to_numpy(float)).all()


@pytest.mark.parametrize("encoding, words", [("latin-1", "latin-1"), ("utf-16", "UTF-16")])
def test_a_csv_that_is_not_utf8_says_so(tmp_path, focus_sample, encoding, words):
    path = tmp_path / "export.csv"
    df = _sample_rows(focus_sample)
    df.loc[0, "SubAccountName"] = "Zürich"
    path.write_bytes(df.to_csv(index=False).encode(encoding))
    for reader in (read_focus, read_jobs, read_usage, read_any):
        with pytest.raises(UsageError) as exc:
            reader(path)
        assert words in str(exc.value) and "UTF-8" in str(exc.value) and "export.csv" in str(exc.value)
