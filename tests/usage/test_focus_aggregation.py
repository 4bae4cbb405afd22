"""read_focus sums rows with the same key in one pass: the sums are exact, row numbers in errors and in
``rejected_rows`` follow the file, and classification does not depend on scan order."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import UsageError
from finops_forecast.usage.readers import read_focus
from finops_forecast.usage.sample import usage_to_focus

KEY = ["ts", "provider", "region", "instance_type", "workload_class", "team"]
PRICES = {("aws", "us-east-1", "p5.48xlarge"): 55.04, ("gcp", "us-central1", "a3-highgpu-8g"): 88.25,
          ("azure", "eastus", "Standard_ND96isr_H100_v5"): 98.3217}


@pytest.fixture(scope="module")
def export(sample_usage):
    """Two days of the sample fleet as FOCUS rows, with prices (so costs are not all zero)."""
    return usage_to_focus(sample_usage[sample_usage["ts"] < "2025-05-03"], prices=PRICES).reset_index(drop=True)


def test_duplicated_and_shuffled_rows_sum_exactly(tmp_path, export):
    once, twice = tmp_path / "once.parquet", tmp_path / "twice.parquet"
    export.to_parquet(once)
    pd.concat([export, export]).sample(frac=1.0, random_state=3).to_parquet(twice, row_group_size=300)
    u1, _ = read_focus(once)
    u2, r2 = read_focus(twice)
    assert r2.totals.loc["input", "rows"] == 2 * len(export) and r2.is_balanced()
    merged = u1.merge(u2, on=KEY, suffixes=("", "_2"), validate="one_to_one")
    assert len(merged) == len(u1) == len(u2)
    for col in ("gpu_hours", "billed_cost", "effective_cost", "list_cost", "committed_gpu_hours"):
        np.testing.assert_allclose(merged[col + "_2"], 2 * merged[col], rtol=1e-12, atol=1e-9)
    assert r2.totals.loc["input", "billed_cost"] == pytest.approx(2 * export["BilledCost"].sum(), abs=0.005)


def test_rejected_row_numbers_follow_the_file(tmp_path, export):
    df = export.copy()
    bad = [5, len(df) // 2, len(df) - 3]
    df.loc[bad[0], "ConsumedQuantity"] = -1.0
    df.loc[bad[1], "ChargePeriodStart"] = "not a time"
    df.loc[bad[2], "ConsumedUnit"] = "GB-Months"
    path = tmp_path / "export.parquet"
    df.to_parquet(path, row_group_size=100)
    for _ in range(3):  # row numbers must not depend on how threads split the scan
        _, rec = read_focus(path)
        assert rec.rejected_rows["row"].tolist() == [i + 1 for i in bad]
        assert set(rec.rejected_rows["file"]) == {str(path)}


def test_bad_cost_in_parquet_names_the_row(tmp_path, export):
    df = export.copy()
    df["EffectiveCost"] = df["EffectiveCost"].map(repr)
    df.loc[len(df) - 20, "EffectiveCost"] = "1,5"
    path = tmp_path / "export.parquet"
    df.to_parquet(path, row_group_size=100)
    with pytest.raises(UsageError) as exc:
        read_focus(path)
    assert exc.value.row == len(df) - 19 and exc.value.column == "EffectiveCost" and str(path) in str(exc.value)


def test_bad_cost_in_the_second_file_names_file_and_row(tmp_path, export):
    folder = tmp_path / "exports"
    folder.mkdir()
    half = len(export) // 2
    export.iloc[:half].to_csv(folder / "a.csv", index=False)
    second = export.iloc[half:].astype(object).reset_index(drop=True)
    second.loc[10, "BilledCost"] = "twelve"
    second.to_csv(folder / "b.csv", index=False)
    with pytest.raises(UsageError) as exc:
        read_focus(folder)
    assert exc.value.row == 11 and exc.value.column == "BilledCost" and "b.csv" in str(exc.value)


def test_untagged_run_with_mixed_accounts_is_classified_the_same_every_time(tmp_path, export):
    df = export[export["x_InstanceType"] == "p5.48xlarge"].copy()
    df["Tags"] = None
    df["SubAccountId"] = np.where(np.arange(len(df)) % 2 == 0, "acct-b", "acct-a")
    path = tmp_path / "export.parquet"
    df.sample(frac=1.0, random_state=1).to_parquet(path, row_group_size=40)
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: acct-a\n    class: inference\n    match: {sub_account: 'acct-a'}\n")
    for _ in range(3):
        usage, _ = read_focus(path, rules=rules)
        # a run's rows disagree on the account: the rules see the smallest value, acct-a
        assert (usage["classified_by"] == "rule:acct-a").all()


def test_commitments_and_daily_rows(tmp_path, export):
    from finops_forecast.usage.instances import instance_registry

    reg = instance_registry()
    gpus = dict(zip(zip(reg["provider"], reg["instance_type"]), reg["gpu_count"]))
    df = export.copy()
    df["CommitmentDiscountId"] = np.where(np.arange(len(df)) % 3 == 0, "ri-1", None)
    daily = df.iloc[[0]].assign(ChargePeriodStart="2025-05-05T00:00:00Z", ChargePeriodEnd="2025-05-06T00:00:00Z",
                                CommitmentDiscountId="ri-2")
    df = pd.concat([df, daily], ignore_index=True)
    path = tmp_path / "export.parquet"
    df.to_parquet(path)
    usage, rec = read_focus(path)
    provider = df["ProviderName"].map({"AWS": "aws", "Google Cloud": "gcp", "Microsoft": "azure"})
    per_row = df["ConsumedQuantity"] * [gpus[(p, i)] for p, i in zip(provider, df["x_InstanceType"])]
    assert usage["committed_gpu_hours"].sum() == pytest.approx(per_row[df["CommitmentDiscountId"].notna()].sum(),
                                                                rel=1e-12)
    assert usage["gpu_hours"].sum() == pytest.approx(per_row.sum(), rel=1e-12)
    day = usage[(usage["ts"] >= "2025-05-05") & (usage["ts"] < "2025-05-06")]
    assert len(day) == 24 and day["gpu_hours"].sum() == pytest.approx(per_row.iloc[-1], rel=1e-12)
    assert rec.is_balanced() and any("more than one hour" in n for n in rec.notes)


@pytest.mark.parametrize("tz", ["Asia/Kolkata", "America/New_York"])
def test_machine_time_zone_does_not_shift_hours(tmp_path, focus_sample, tz):
    import os
    import subprocess
    import sys

    out = tmp_path / "usage.parquet"
    code = ("import sys; from finops_forecast.usage.readers import read_focus; "
            "read_focus(sys.argv[1])[0].to_parquet(sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, str(focus_sample), str(out)], check=True,
                   env={**os.environ, "TZ": tz})
    expected, _ = read_focus(focus_sample)
    # FOCUS times are UTC: naive '2024-09-12 01:00:00' is 01:00 UTC on any machine
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected, check_dtype=False)


def test_untagged_resources_in_one_pool_are_classified_each_by_its_own_run(tmp_path):
    hours = pd.date_range("2025-05-01", periods=20 * 24, freq="h", tz="UTC")
    long = pd.DataFrame({"ChargePeriodStart": hours, "ResourceId": "i-long"})
    short = pd.DataFrame({"ChargePeriodStart": hours[5:7], "ResourceId": "i-short"})
    df = pd.concat([long, short, short.assign(ResourceId="i-short-2")], ignore_index=True)
    df["ChargePeriodEnd"] = (df["ChargePeriodStart"] + pd.Timedelta(hours=1)).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    df["ChargePeriodStart"] = df["ChargePeriodStart"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    df = df.assign(ProviderName="AWS", RegionId="us-east-1", ChargeCategory="Usage", ConsumedQuantity=1.0,
                   ConsumedUnit="Hours", BilledCost=4.6, EffectiveCost=4.6, ListCost=4.6,
                   x_InstanceType="g6.12xlarge", Tags=None)
    path = tmp_path / "export.parquet"
    df.sample(frac=1.0, random_state=2).to_parquet(path, row_group_size=64)
    usage, rec = read_focus(path)
    by_class = usage.groupby("workload_class")["gpu_hours"].sum()
    # g6.12xlarge has 4 GPUs: the 20-day instance is a service, the two 2-hour ones are sessions
    assert by_class.to_dict() == {"inference": 20 * 24 * 4.0, "experimentation": 2 * 2 * 4.0}
    assert set(usage["classified_by"]) == {"heuristic:always_on_service", "heuristic:short_session"}
    assert rec.is_balanced() and rec.totals.loc["input", "rows"] == len(df)


def _agg_rows(path) -> tuple[int, pd.DataFrame]:
    """The rows of the reader's summed table ``agg`` for an export, and its GPU usage by hour (the reader's
    DuckDB pass run on a connection the test keeps)."""
    import duckdb

    from finops_forecast.usage.bounds import DEFAULT_BOUNDS
    from finops_forecast.usage.focus import (DEFAULT_INSTANCE_COLUMNS, DEFAULT_TEAM_TAG_KEYS,
                                             DEFAULT_WORKLOAD_TAG_KEYS, _Options, _read_export)

    opts = _Options(DEFAULT_WORKLOAD_TAG_KEYS, DEFAULT_TEAM_TAG_KEYS, DEFAULT_INSTANCE_COLUMNS, None, None, None,
                    100, DEFAULT_BOUNDS)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    run = _read_export(con, [str(path)], str(path), (), opts)
    n = con.execute("SELECT count(*) FROM agg").fetchall()[0][0]
    con.close()
    return n, run.hourly.sort_values(KEY).reset_index(drop=True)


def test_resources_and_unused_tags_do_not_multiply_the_summed_rows(tmp_path, export):
    # a realistic bill splits each pool-hour over many resources, each with its own ResourceName, and tags the
    # reader does not use (project): rows are still summed per pool, hour, class and team
    split = export.loc[export.index.repeat(6)].reset_index(drop=True)
    copy = np.tile(np.arange(6), len(export))
    for col in ("ConsumedQuantity", "BilledCost", "EffectiveCost", "ListCost"):
        split[col] = split[col] / 6
    split["ResourceId"] = split["ResourceId"] + "-" + copy.astype(str)
    split["ResourceName"] = "vm " + split["ResourceId"]
    split["Tags"] = [t[:-1] + f', "project": "p{c % 3}"}}' for t, c in zip(split["Tags"], copy)]
    plain, split_path = tmp_path / "plain.parquet", tmp_path / "split.parquet"
    export.to_parquet(plain)
    split.to_parquet(split_path)
    n_plain, hourly_plain = _agg_rows(plain)
    n_split, hourly_split = _agg_rows(split_path)
    assert n_split == n_plain  # not 6x: neither the resource names nor the project tag are keys
    pd.testing.assert_frame_equal(hourly_split[KEY], hourly_plain[KEY])
    for col in ("gpu_hours", "billed_cost", "effective_cost", "list_cost"):
        np.testing.assert_allclose(hourly_split[col], hourly_plain[col], rtol=1e-9)


def test_instance_type_from_the_resource_name_when_no_column_has_it(tmp_path, export):
    # the gate only drops a descriptive column as a key where an earlier source names the instance type
    df = export.copy()
    df["ResourceName"] = df["x_InstanceType"] + " node"
    df["x_InstanceType"] = None
    df["ChargeDescription"] = "GPU compute"
    path = tmp_path / "export.parquet"
    df.to_parquet(path)
    usage, rec = read_focus(path)
    expected, _ = read_focus(_write(tmp_path / "plain.parquet", export))
    pd.testing.assert_frame_equal(usage.sort_values(KEY).reset_index(drop=True)[KEY + ["gpu_hours"]],
                                  expected.sort_values(KEY).reset_index(drop=True)[KEY + ["gpu_hours"]])
    assert rec.is_balanced()


def _write(path, frame):
    frame.to_parquet(path)
    return path


def test_rejected_row_numbers_follow_each_parquet_file(tmp_path, export):
    folder = tmp_path / "exports"
    folder.mkdir()
    half = len(export) // 2
    first, second = export.iloc[:half].copy(), export.iloc[half:].reset_index(drop=True)
    first.loc[7, "ConsumedQuantity"] = -1.0
    second.loc[[3, 40], "ConsumedUnit"] = "GB-Months"
    first.to_parquet(folder / "a.parquet", row_group_size=50)
    second.to_parquet(folder / "b.parquet", row_group_size=50)
    _, rec = read_focus(folder)
    got = list(zip(rec.rejected_rows["file"].map(lambda f: f.rsplit("/", 1)[-1]), rec.rejected_rows["row"]))
    assert got == [("a.parquet", 8), ("b.parquet", 4), ("b.parquet", 41)]


@pytest.mark.parametrize("stamp", ["inf", "-infinity"])
def test_infinite_charge_period_is_an_unparsable_period(tmp_path, stamp):
    # DuckDB reads 'inf' as an infinite timestamp, which it cannot subtract: the row is rejected, not a crash
    row = {"ProviderName": "AWS", "RegionId": "us-east-1", "ChargeCategory": "Usage",
           "ChargePeriodStart": "2024-09-01 00:00:00", "ChargePeriodEnd": stamp, "ConsumedQuantity": "2",
           "ConsumedUnit": "Hours", "BilledCost": "1", "EffectiveCost": "1", "ListCost": "1",
           "x_InstanceType": "p5.48xlarge", "Tags": None}
    path = tmp_path / "export.csv"
    pd.DataFrame([row, {**row, "ChargePeriodEnd": "2024-09-01 01:00:00"}]).to_csv(path, index=False)
    usage, rec = read_focus(path)
    assert usage["gpu_hours"].sum() == 16.0 and rec.is_balanced()
    assert rec.rejected["reason"].tolist() == ["GPU instance row with an unparsable ChargePeriodStart/End"]
    assert rec.rejected_rows["row"].tolist() == [1]
