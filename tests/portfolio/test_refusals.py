"""What the optimizer's settings and the inventory reader refuse: non-finite numbers, implausible quantities, empty
or unreadable files; each message names the setting, file or row and the fix."""
from __future__ import annotations

import pandas as pd
import pytest

from finops_forecast.errors import PortfolioError
from finops_forecast.portfolio.config import PortfolioConfig

INVENTORY = ("commitment_id,family,provider,region,instance_type,term_months,payment_option,quantity,expires\n"
             "ri-1,aws_standard_ri,aws,us-east-1,p5.48xlarge,12,no_upfront,{q},2027-06-30\n")


@pytest.mark.parametrize("field, value", [("risk_lambda", float("nan")), ("risk_lambda", float("inf")),
                                          ("upfront_budget_usd", float("nan")),
                                          ("upfront_budget_usd", float("inf")), ("alpha", float("nan")),
                                          ("spot_cap", float("nan")), ("max_commitment_share", float("inf"))])
def test_non_finite_settings_are_refused(field, value):
    with pytest.raises(PortfolioError, match=rf"PortfolioConfig.{field}: must be a finite number"):
        PortfolioConfig(**{field: value})


def test_a_billion_instances_is_refused_naming_the_row():
    from finops_forecast.portfolio.inventory import validate_inventory

    frame = pd.read_csv(__import__("io").StringIO(INVENTORY.format(q="1e9")))
    with pytest.raises(PortfolioError, match=r"inventory row 1, column 'quantity': 1000000000.0 must be a number "
                                             r"in \[0, 100,000\]"):
        validate_inventory(frame)
    ok = validate_inventory(pd.read_csv(__import__("io").StringIO(INVENTORY.format(q="12"))))
    assert ok["quantity"].iat[0] == 12


@pytest.mark.parametrize("content, fragment", [(b"", "is empty (0 bytes)"), (None, "is a folder, not a file"),
                                               (b"\xff\xfe\x00binary\x00", "is not a readable CSV file")])
def test_inventory_file_problems_name_the_option(tmp_path, content, fragment):
    from finops_forecast.portfolio.inventory import read_inventory

    path = tmp_path / "owned"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(PortfolioError) as exc:
        read_inventory(path, "--inventory")
    assert str(exc.value).startswith(f"--inventory: '{path}'") and fragment in str(exc.value)


def test_read_inventory_names_the_file_of_a_bad_row(tmp_path):
    from finops_forecast.portfolio.inventory import read_inventory

    path = tmp_path / "owned.csv"
    path.write_text(INVENTORY.format(q="-3"))
    with pytest.raises(PortfolioError, match=r"--inventory '.*owned.csv': inventory row 1, column 'quantity'"):
        read_inventory(path, "--inventory")
    path.write_text(INVENTORY.format(q="3"))
    assert len(read_inventory(path, "--inventory")) == 1
