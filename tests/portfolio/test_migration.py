"""Generation turnover: demand leaves an old pool; savings plans follow it, standard RIs do not."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import PortfolioError
from finops_forecast.portfolio import PortfolioConfig, Scenarios, optimize
from finops_forecast.portfolio.migration import apply_migration, parse_migration, rule_shares
from tests.portfolio.pf_helpers import P5, catalog_rows, keys, make_catalog


def scen(paths, ks, start="2027-01-01"):
    ds = pd.date_range(start, periods=paths.shape[2], freq="h", tz="UTC")
    return Scenarios(keys=ks, ds=ds, paths=paths)


CAT = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.6, 36: 1.8}, sp={12: 2.8, 36: 2.0}))


def test_demand_moves_linearly_and_is_conserved():
    ks = keys(P5 + ("training",))
    d = np.full((1, 2, 8760 * 2), 80.0)
    ds = pd.date_range("2027-01-01", periods=d.shape[2], freq="h", tz="UTC")
    k2, p2, cat2, notes = apply_migration(ks, d, ds, CAT, {"p5.48xlarge": 0.5})
    assert list(k2["instance_type"]) == ["p5.48xlarge", "p5.48xlarge+next"]
    np.testing.assert_allclose(p2.sum(axis=0), d[0])  # nothing lost
    # half a year in: a quarter moved (0.5/year x 0.5 year); after 2 years all of it
    assert p2[1, 0, 4380] == pytest.approx(80.0 * 0.25)
    assert p2[0, 0, -1] == pytest.approx(80.0 * (1 - min(1.0, 0.5 * (len(ds) - 1) / 8760)))
    fam = set(cat2.loc[cat2["instance_type"] == "p5.48xlarge+next", "commitment_family"].fillna(""))
    assert fam == {"", "aws_compute_sp"}  # on demand follows, the Compute SP follows, the standard RI does not
    assert notes and "p5.48xlarge 50%/year" in notes[0]


def test_full_migration_in_year_one_no_3_year_ri_but_a_compute_sp():
    # steady 80 GPU of training on p5; with migration 1.0/year all of it is on the successor from year 2 on
    d = np.full((1, 4, 24 * 1096), 80.0)  # three years of hours (migration acts on the forecast's hours)
    s = scen(d, keys(P5 + ("training",)))
    base = dict(quarters=12, frontier_lambdas=(0.0,), curve_factors=(1.0,))
    stay = optimize(s, CAT, config=PortfolioConfig(**base))
    ri36 = stay.buy_now[(stay.buy_now["family"] == "aws_standard_ri") & (stay.buy_now["term_months"] == 36)]
    assert ri36["quantity"].sum() > 0  # without migration the 3-year RI is the cheapest cover
    moved = optimize(s, CAT, config=PortfolioConfig(**base, migration={"p5.48xlarge": 1.0}))
    now = moved.buy_now
    assert now.loc[(now["family"] == "aws_standard_ri") & (now["term_months"] == 36), "quantity"].sum() == 0
    assert now.loc[(now["family"] == "aws_compute_sp") & (now["term_months"] == 36), "quantity"].sum() > 0


def test_rule_and_parsing():
    two = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.6}),
                       catalog_rows(("aws", "us-east-1", "p6-b200.48xlarge"), 8, 6.0, ri={12: 4.0}))
    two.loc[two["instance_type"] == "p5.48xlarge", "gpu_type"] = "H100"
    two.loc[two["instance_type"] == "p6-b200.48xlarge", "gpu_type"] = "B200"
    ks = keys(P5 + ("training",), ("aws", "us-east-1", "p6-b200.48xlarge", "training"))
    assert rule_shares(two, ks) == {"p5.48xlarge": 0.3}
    assert parse_migration("p5.48xlarge:0.3, *=0.1") == {"p5.48xlarge": 0.3, "*": 0.1}
    assert parse_migration("") is None and parse_migration("rule") == "rule"
    with pytest.raises(PortfolioError, match="instance_type:share"):
        parse_migration("p5.48xlarge-0.3")


def test_convertible_ri_is_offered_and_follows_the_demand():
    # a convertible RI (as ec2instances.info's importer gives it) at 2.2 USD/GPU-h for 3 years, the only flexible
    # instrument: with all demand moved to the successor within year 1 it is bought, the 3-year standard RI not
    rows = catalog_rows(P5, 8, 4.0, ri={12: 2.6, 36: 1.8})
    conv = [dict(r, commitment_family="aws_convertible_ri") for r in catalog_rows(P5, 8, 4.0, ri={36: 2.2})
            if r["pricing_model"] == "reserved"]
    cat = make_catalog(rows + conv)
    d = np.full((1, 4, 24 * 1096), 80.0)
    s = scen(d, keys(P5 + ("training",)))
    plan = optimize(s, cat, config=PortfolioConfig(quarters=12, frontier_lambdas=(0.0,), curve_factors=(1.0,),
                                                   migration={"p5.48xlarge": 1.0}))
    ins = plan.instruments.set_index("id")
    conv_id = "aws_convertible_ri:aws:us-east-1:convertible:36m:no_upfront"
    assert ins.loc[conv_id, "kind"] == "spend" and ins.loc[conv_id, "scope"] == "aws us-east-1 convertible"
    now = plan.buy_now
    assert now.loc[now["instrument"] == conv_id, "quantity"].sum() > 0
    assert now.loc[(now["family"] == "aws_standard_ri") & (now["term_months"] == 36), "quantity"].sum() == 0
