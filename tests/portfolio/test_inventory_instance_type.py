"""A reserved instance or resource CUD read from a FOCUS bill needs its instance type: found in the columns and
texts real exports carry it in, or an error whose fix a report, CLI or Python user can make (issue 18's reader
behind the report's ``commitments`` parameter and ``optimize --inventory``)."""
from __future__ import annotations

import pandas as pd
import pytest

from finops_forecast.errors import PortfolioError
from finops_forecast.portfolio.inventory import inventory_from_focus
from finops_forecast.report.analysis import load_inventory

RI = "aws_reserved_instance_partial_upfront_100pct.csv"


@pytest.fixture()
def ri_rows(datasets):
    """The FOCUS standard's own worked example of an AWS reserved instance (partial upfront, 100% used)."""
    return pd.read_csv(datasets / "billing" / "focus-spec-scenarios" / RI, dtype=str, keep_default_na=False)


def test_the_instance_type_comes_from_an_x_instance_type_column(ri_rows, tmp_path):
    path = tmp_path / "bill.csv"
    ri_rows.assign(x_InstanceType="p5.48xlarge").to_csv(path, index=False)
    inv = load_inventory(str(path))
    assert inv[["family", "provider", "region", "instance_type"]].values.tolist() == [
        ["aws_standard_ri", "aws", "us-east-1", "p5.48xlarge"]]
    assert pd.Timestamp(inv["expires"].iat[0]) > pd.Timestamp("2026-01-01", tz="UTC")  # the purchase row's term


def test_the_instance_type_is_read_from_a_charge_description_with_a_note(ri_rows):
    used = ri_rows["CommitmentDiscountStatus"] == "Used"
    rows = ri_rows.assign(ChargeDescription=ri_rows["ChargeDescription"].where(
        ~used, "Reserved instance usage: p4d.24xlarge Linux/UNIX (us-east-1)"))
    inv = inventory_from_focus(rows)
    assert inv["instance_type"].tolist() == ["p4d.24xlarge"]
    assert any("instance type p4d.24xlarge read from its ChargeDescription" in n for n in inv.attrs["notes"])


def test_without_an_instance_type_the_error_says_what_a_report_user_can_do(datasets):
    path = datasets / "billing" / "focus-spec-scenarios" / RI
    with pytest.raises(PortfolioError) as e:
        load_inventory(str(path))
    msg = str(e.value)
    assert msg.startswith(f"parameter 'commitments' '{path}': FOCUS commitment 'arn:aws:ec2:")
    assert "add an x_InstanceType column to its rows, or list it in an inventory CSV (commitment_id, family" in msg
    # the Python argument is named too, for engineers, but not as the only way out
    assert "instance_type_column=" in msg.split("instead")[1]


def test_a_savings_plan_without_its_term_end_points_to_the_inventory_csv(datasets):
    path = datasets / "billing" / "focus-spec-scenarios" / "aws_savings_plan_no_upfront_100pct.csv"
    with pytest.raises(PortfolioError, match=r"list it in an inventory CSV \(commitment_id, .*\) with its expires "
                                             r"date and give that file instead \(in Python: expires="):
        load_inventory(str(path))
    inv = inventory_from_focus(path, assume_term_months=36)
    assert inv["family"].tolist() == ["aws_compute_sp"] and inv["quantity"].iat[0] > 0


def test_a_gcp_resource_cud_billed_in_instance_hours_is_held_in_gpus(datasets):
    """The FOCUS standard's GCP resource CUD example commits one instance-hour per hour; on a2-highgpu-8g that is
    8 A100 GPUs, the unit the plan holds GCP resource CUDs in (an inventory of 1 would have left 7 GPUs of an
    owned commitment out of the plan, which would then buy them again)."""
    path = datasets / "billing" / "focus-spec-scenarios" / "gcp_resource_cud_no_upfront_100pct.csv"
    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    inv = inventory_from_focus(rows.assign(x_InstanceType="a2-highgpu-8g"), assume_term_months=36)
    assert inv[["family", "instance_type", "quantity"]].values.tolist() == [["gcp_resource_cud", "a2-highgpu-8g", 8.0]]
    assert any("1 instance(s) of a2-highgpu-8g in the bill = 8 GPUs" in n for n in inv.attrs["notes"])
    inv = inventory_from_focus(rows.assign(x_InstanceType="a2-highgpu-2g"), assume_term_months=36)
    assert inv["quantity"].tolist() == [2.0]
    with pytest.raises(PortfolioError, match="whose GPU count the instance registry does not know: list it in an "
                                             "inventory CSV"):
        inventory_from_focus(rows.assign(x_InstanceType="z9-unknowngpu-8g"), assume_term_months=36)
