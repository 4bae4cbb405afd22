"""read_focus on the real FOCUS 1.0 sample and on the sample fleet rendered as FOCUS."""
from __future__ import annotations

import csv
from decimal import Decimal

import pandas as pd
import pytest

from finops_forecast.errors import UsageError
from finops_forecast.usage.readers import read_focus
from finops_forecast.usage.sample import usage_to_focus


def _decimal_sum(path, column):
    total = Decimal(0)
    for row in csv.DictReader(open(path)):
        value = row[column]
        if value not in ("", "NULL"):
            total += Decimal(value)
    return total


def test_real_sample_reconciles_to_the_cent(focus_sample):
    usage, rec = read_focus(focus_sample)
    # input totals computed independently of DuckDB, with exact decimals
    for focus_col, col in (("BilledCost", "billed_cost"), ("EffectiveCost", "effective_cost"),
                           ("ListCost", "list_cost")):
        expected = float(_decimal_sum(focus_sample, focus_col))
        assert rec.totals.loc["input", col] == pytest.approx(expected, abs=0.005)
        out = usage[col].sum()
        rejected = rec.rejected[col].sum()
        assert abs(expected - (out + rejected)) < 0.005
    assert rec.is_balanced()
    assert rec.totals.loc["input", "rows"] == 1000
    assert rec.totals.loc["output", "rows"] + rec.totals.loc["rejected", "rows"] == 1000
    assert rec.rejected["rows"].sum() == 990


def test_real_sample_gpu_rows(focus_sample):
    usage, rec = read_focus(focus_sample)
    rows = list(csv.DictReader(open(focus_sample)))
    gpu_rows = [r for r in rows if (" g5.4xlarge " in r["ChargeDescription"] or " g3.4xlarge " in r["ChargeDescription"])
                and r["ChargeCategory"] == "Usage"]
    assert len(gpu_rows) == 10  # the dataset's NOTES: g5.4xlarge (8) and g3.4xlarge (2)
    # g5.4xlarge has 1 A10G, g3.4xlarge 1 M60: GPU-hours equal the consumed instance-hours
    expected = sum(float(r["ConsumedQuantity"]) for r in gpu_rows)
    assert usage["gpu_hours"].sum() == pytest.approx(expected, rel=1e-12)
    assert set(usage["instance_type"]) == {"g5.4xlarge", "g3.4xlarge"}
    assert set(usage["team"]) == {"PeoriaData"}  # from the business_unit tag key
    assert usage["classified_by"].str.startswith("heuristic:").all()
    reasons = set(rec.rejected["reason"])
    assert "not a usage charge" in reasons and "instance type is not a GPU machine in the registry" in reasons


def test_tag_keys_are_configurable(focus_sample):
    usage, _ = read_focus(focus_sample, team_tag_keys=["application"])
    assert set(usage["team"]) == {"BrightPathMatrix"}


def test_rules_file_classifies_untagged_rows(focus_sample, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: g5-serving\n    class: inference\n    match: {instance_type: 'g5\\..*'}\n")
    usage, _ = read_focus(focus_sample, rules=rules)
    g5 = usage[usage["instance_type"] == "g5.4xlarge"]
    assert (g5["workload_class"] == "inference").all() and (g5["classified_by"] == "rule:g5-serving").all()
    g3 = usage[usage["instance_type"] == "g3.4xlarge"]
    assert g3["classified_by"].str.startswith("heuristic:").all()


def test_sample_fleet_round_trips_through_focus(tmp_path, sample_usage):
    part = sample_usage[sample_usage["ts"] < "2025-06-01"]
    prices = {("aws", "us-east-1", "p5.48xlarge"): 55.04}
    path = tmp_path / "export.parquet"
    usage_to_focus(part, prices=prices).to_parquet(path)
    back, rec = read_focus(path)
    key = ["ts", "provider", "region", "instance_type", "workload_class", "team"]
    merged = part.merge(back, on=key, how="outer", indicator=True, suffixes=("", "_back"))
    assert (merged["_merge"] == "both").all()
    assert (merged["gpu_hours"] - merged["gpu_hours_back"]).abs().max() < 1e-9
    assert (back["classified_by"] == "tag").all() and rec.is_balanced()
    p5 = back[back["instance_type"] == "p5.48xlarge"]
    assert p5["billed_cost"].sum() == pytest.approx(p5["gpu_hours"].sum() / 8 * 55.04)


def test_folder_and_csv_gz_are_read(tmp_path, sample_usage):
    part = sample_usage[sample_usage["ts"] < "2025-05-03"]
    folder = tmp_path / "exports"
    folder.mkdir()
    focus = usage_to_focus(part)
    focus.iloc[: len(focus) // 2].to_csv(folder / "a.csv.gz", index=False)
    focus.iloc[len(focus) // 2:].to_csv(folder / "b.csv.gz", index=False)
    back, rec = read_focus(folder)
    assert back["gpu_hours"].sum() == pytest.approx(part["gpu_hours"].sum())
    assert rec.totals.loc["input", "rows"] == len(focus)


def test_daily_rows_are_spread_over_their_hours(tmp_path):
    text = ("ProviderName,RegionId,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ConsumedQuantity,ConsumedUnit,"
            "BilledCost,EffectiveCost,ListCost,ChargeDescription,Tags\n"
            "Microsoft,eastus,Usage,2024-09-01T00:00:00Z,2024-09-02T00:00:00Z,24,Hours,2400,2000,2400,"
            "Standard_ND96isr_H100_v5 VM,\"{\"\"workload\"\": \"\"serving\"\"}\"\n")
    path = tmp_path / "azure.csv"
    path.write_text(text)
    usage, rec = read_focus(path)
    assert len(usage) == 24 and usage["gpu_hours"].sum() == pytest.approx(24 * 8)
    assert usage["gpu_hours"].iloc[0] == pytest.approx(8.0)
    assert usage["billed_cost"].sum() == pytest.approx(2400) and (usage["workload_class"] == "inference").all()
    assert any("more than one hour" in n for n in rec.notes)


def test_non_focus_csv_is_rejected_with_the_missing_columns(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("ts,provider,region,instance_type,workload_class,team,gpu_hours\n"
                    "2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,training,r,8\n")
    with pytest.raises(UsageError) as exc:
        read_focus(path)
    msg = str(exc.value)
    assert "not a FOCUS billing export" in msg and "ChargePeriodStart" in msg and "read_usage" in msg
    assert "usage.csv" in msg


def test_empty_focus_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(UsageError, match="empty"):
        read_focus(path)


def test_bad_cost_value_names_the_row(tmp_path, focus_sample):
    df = pd.read_csv(focus_sample, dtype=str, keep_default_na=False)
    df.loc[41, "BilledCost"] = "twelve"
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    with pytest.raises(UsageError) as exc:
        read_focus(path)
    assert exc.value.row == 42 and exc.value.column == "BilledCost"


def test_detect_kind_and_read_any(tmp_path, focus_sample, sample_usage):
    from finops_forecast.usage.readers import detect_kind, read_any

    usage_file = tmp_path / "usage.parquet"
    sample_usage.head(50).to_parquet(usage_file)
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("start,end,gpus,provider,region,instance_type\n"
                    "2026-10-01 00:00,2026-10-01 02:00,8,aws,us-east-1,p5.48xlarge\n")
    assert [detect_kind(p) for p in (focus_sample, usage_file, jobs)] == ["focus", "usage", "jobs"]
    assert read_any(usage_file)[0]["gpu_hours"].sum() == pytest.approx(sample_usage.head(50)["gpu_hours"].sum())
    assert read_any(jobs)[0]["gpu_hours"].sum() == pytest.approx(16)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UsageError, match="empty"):
        detect_kind(empty)
