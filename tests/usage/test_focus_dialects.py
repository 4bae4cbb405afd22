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
