"""FOCUS versions and dialects: 1.0-preview (Oracle) and 1.3 names read like 1.0 (issue 18, point 1)."""
from __future__ import annotations

import pandas as pd
import pytest

from finops_forecast.usage.focus_commitments import commitment_inventory
from finops_forecast.usage.focus_dialects import detect_focus_version
from finops_forecast.usage.readers import read_focus
from tests.conftest import TEST_DATA

AZURE = TEST_DATA / "focus" / "azure_focuscost_1.0_sp_hourly.csv"
# FOCUS 1.0 name -> 1.0-preview name (FOCUS 1.0 changelog) / 1.3 name (FOCUS 1.3 ServiceProviderName)
PREVIEW = {"EffectiveCost": "AmortizedCost", "ChargeCategory": "ChargeType", "ConsumedQuantity": "UsageQuantity",
           "ConsumedUnit": "UsageUnit", "RegionId": "Region", "ProviderName": "Provider",
           "BillingCurrency": "BilledCurrency"}
V13 = {"ProviderName": "ServiceProviderName", "PublisherName": "HostProviderName"}


@pytest.mark.parametrize(("renames", "version"), [(PREVIEW, "1.0-preview"), (V13, "1.3"), ({}, "1.0")])
def test_versions_read_as_1_0(tmp_path, renames, version):
    df = pd.read_csv(AZURE, dtype=str, keep_default_na=False).rename(columns=renames)
    df["oci_CompartmentName"] = "ml"  # a provider extension column is kept and ignored
    path = tmp_path / "export.csv"
    df.to_csv(path, index=False)
    dialect = detect_focus_version(df.columns)
    assert dialect.version == version and "oci_CompartmentName" in dialect.extensions
    usage, rec = read_focus(path)
    assert usage["gpu_hours"].sum() == pytest.approx(48 * 0.75 * 8)  # 0.75 VM-h an hour x 8 GPUs x 48 h
    assert usage["effective_cost"].sum() == pytest.approx(48 * 7.5) and rec.is_balanced()
    inv = commitment_inventory(path)
    assert inv["hourly_amount"].iat[0] == pytest.approx(10.0) and inv["provider"].iat[0] == "azure"


def test_provider_dialect_from_extension_columns():
    assert detect_focus_version(pd.read_csv(AZURE, nrows=0).columns).provider == "azure"
    assert detect_focus_version(["ChargePeriodStart", "x_UsageType", "x_Operation"]).provider == "aws"


# provider files of tests/data/focus/make_dialect_files.py (values and hand totals stated there)
# file -> (version, provider, rows in, rows rejected, GPU-h, GPU rows' EffectiveCost, EffectiveCost in)
PROVIDER_FILES = {
    # 12 SP-covered + 4 on-demand p5.48xlarge instance-hours x 8 GPUs; 12 x 40 + 4 x 100; + 12 x 10 unused + 5 S3
    "aws_focus_1.0_sp_hourly.csv": ("1.0", "aws", 41, 25, (12 + 4) * 8, 12 * 40 + 4 * 100, 880 + 120 + 5),
    # 24 CUD-covered (EffectiveCost 0) + 4 on-demand a3-highgpu-8g VM-hours x 8 GPUs; + 24 fee rows of 55
    "gcp_focus_view_cud_hourly.csv": ("1.0", "gcp", 52, 24, (24 + 4) * 8, 4 * 88, 4 * 88 + 24 * 55),
    # the BM.GPU.H100.8 rows name no instance type the reader finds: all rejected, counted
    "oci_focus_gpu_hourly.csv": ("1.0-preview", "oci", 25, 25, 0, 0, 24 * 80 + 2),
}


@pytest.mark.parametrize("name", sorted(PROVIDER_FILES))
def test_provider_export_read_with_hand_totals(name):
    version, provider, n_in, n_rej, gpu_h, gpu_cost, cost_in = PROVIDER_FILES[name]
    path = TEST_DATA / "focus" / name
    dialect = detect_focus_version(pd.read_csv(path, nrows=0).columns)
    assert (dialect.version, dialect.provider) == (version, provider)
    usage, rec = read_focus(path)
    t = rec.totals  # input == output + rejected
    assert rec.is_balanced() and t.loc["input", "rows"] == n_in and t.loc["rejected", "rows"] == n_rej
    assert t.loc["input", "effective_cost"] == pytest.approx(cost_in)
    assert usage["gpu_hours"].sum() == pytest.approx(gpu_h)
    assert usage["effective_cost"].sum() == pytest.approx(gpu_cost)
    assert t.loc["output", "gpu_hours"] == pytest.approx(gpu_h) and t.loc["rejected", "gpu_hours"] == 0
    if provider == "oci":  # not dropped: the GPU node's 24 rows are counted with their reason
        no_type = rec.rejected[rec.rejected["reason"].str.startswith("no instance type")]
        assert int(no_type["rows"].sum()) == 25 and no_type["effective_cost"].sum() == pytest.approx(24 * 80 + 2)
    if provider == "aws":  # the instance type came from x_UsageType, the tags from Tags
        assert set(usage["instance_type"]) == {"p5.48xlarge"} and set(usage["team"]) == {"research"}
    if provider == "gcp":  # the instance type came from the machine_spec system label of Tags
        assert set(usage["instance_type"]) == {"a3-highgpu-8g"}
