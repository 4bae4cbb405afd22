"""The report section "How your commitments performed" (issue 18, point 4)."""
from __future__ import annotations

import pytest

from finops_forecast.report.analysis import load_inventory
from finops_forecast.report.commitments_section import commitments_section
from tests.conftest import TEST_DATA


def test_commitment_below_threshold_is_flagged_with_advice(datasets):
    path = datasets / "billing" / "focus-spec-scenarios" / "aws_underutilized_50pct.csv"
    text, table = commitments_section(str(path), threshold=0.9)
    assert "50.0%" in text and "below 90%" in text and "949.32 USD unused" in text  # 12 x 79.11
    assert "move eligible workloads" in text
    assert table["utilization"].iat[0] == pytest.approx(0.5)
    text_ok, _ = commitments_section(str(path), threshold=0.4)  # 50% is above a 40% threshold
    assert "below 40%" not in text_ok


def test_ids_are_escaped_and_no_focus_file_says_so(tmp_path, datasets):
    src = (datasets / "billing" / "focus-spec-scenarios" / "aws_zero_utilization.csv").read_text()
    evil = tmp_path / "bill.csv"
    evil.write_text(src.replace("sp-abc123def456", "sp-<script>x</script>"))
    text, table = commitments_section(str(evil))
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "<script>" not in " ".join(table["commitment"])
    none_text, none_table = commitments_section("")
    assert none_table is None and "No FOCUS export" in none_text


def test_plan_inventory_needs_a_term_end_the_bill_does_not_give():
    from finops_forecast.errors import PortfolioError

    # no upfront purchase row spanning the term: the error names the commitment and the fix
    with pytest.raises(PortfolioError, match="sp-gpu-10usd.*expires="):
        load_inventory(str(TEST_DATA / "focus" / "azure_focuscost_1.0_sp_daily.csv"))


def test_plan_inventory_from_a_bill_with_its_term(datasets):
    inv = load_inventory(str(datasets / "billing" / "focus-spec-scenarios" /
                             "azure_savings_plan_all_upfront_100pct.csv"))
    assert inv["family"].tolist() == ["azure_sp"] and inv["quantity"].iat[0] == pytest.approx(52.74)
    assert str(inv["expires"].iat[0].date()) == "2027-02-01" and inv["payment_option"].iat[0] == "all_upfront"
