"""The bundled catalog: completeness for the sample fleet, spot checks against the raw sources, as_of, errors."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import FinopsError, PricingError, UnknownNameError
from finops_forecast.pricing import load_pricing, price, pricing_names
from finops_forecast.pricing import assumptions as A
from finops_forecast.pricing.catalog import check_pools, pool_options
from finops_forecast.pricing.schema import CATALOG_COLUMNS, PRICE_KEYS

from .conftest import SAMPLE_FLEET_POOLS

# every option the optimizer may choose, per provider: (pricing_model, family, term, payment)
OPTIONS = {
    "aws": [("on_demand", None, 0, "no_upfront"), ("spot", None, 0, "no_upfront")]
    + [(m, f, t, p) for m, f in (("reserved", "aws_standard_ri"), ("savings_plan", "aws_compute_sp"),
                                 ("savings_plan", "aws_ec2_instance_sp"))
       for t in (12, 36) for p in ("no_upfront", "partial_upfront", "all_upfront")],
    "gcp": [("on_demand", None, 0, "no_upfront"), ("spot", None, 0, "no_upfront")]
    + [(m, f, t, "no_upfront") for m, f in (("cud", "gcp_resource_cud"), ("savings_plan", "gcp_flex_cud"))
       for t in (12, 36)],
    "azure": [("on_demand", None, 0, "no_upfront"), ("spot", None, 0, "no_upfront")]
    + [(m, f, t, p) for m, f in (("reserved", "azure_reservation"), ("savings_plan", "azure_sp"))
       for t in (12, 36) for p in ("no_upfront", "all_upfront")],
}

#: the source shows spot at the on-demand price: no spot row (issue 17)
NOT_SPOT_ELIGIBLE = {("azure", "eastus", "Standard_ND96isr_H100_v5")}


@pytest.mark.parametrize("pool", SAMPLE_FLEET_POOLS, ids=lambda p: "-".join(p))
def test_every_option_of_every_sample_fleet_pool_is_priced(catalog, pool):
    provider, region, itype = pool
    on_demand = price(catalog, provider, region, itype, "on_demand")
    for model, fam, term, pay in OPTIONS[provider]:
        if model == "spot" and pool in NOT_SPOT_ELIGIBLE:
            continue
        rate = price(catalog, provider, region, itype, model, term, pay, commitment_family=fam)
        gpu_rate = price(catalog, provider, region, itype, model, term, pay, commitment_family=fam, per="gpu")
        assert np.isfinite(rate) and rate > 0, (pool, model, term, pay)
        row = catalog[(catalog.provider == provider) & (catalog.region == region)
                      & (catalog.instance_type == itype)].iloc[0]
        assert gpu_rate == pytest.approx(rate / row.gpu_count)
        if model != "on_demand":
            assert rate < on_demand, f"{pool} {model} {term} {pay} is not cheaper than on-demand"
    check_pools(catalog, [pool], pricing_models=("on_demand",) + (() if pool in NOT_SPOT_ELIGIBLE else ("spot",)))


def test_sample_fleet_gpu_counts(catalog):
    counts = {p: catalog[(catalog.provider == p[0]) & (catalog.region == p[1])
                         & (catalog.instance_type == p[2])].gpu_count.unique().tolist() for p in SAMPLE_FLEET_POOLS}
    assert counts[("azure", "eastus", "Standard_ND96isr_H100_v5")] == [8.0]  # the source says 12
    assert counts[("aws", "us-east-1", "p5.48xlarge")] == [8.0]
    assert counts[("gcp", "us-central1", "g2-standard-48")] == [4.0]


def test_every_row_is_dated_sourced_and_positive(history):
    assert list(history.columns[: len(CATALOG_COLUMNS)]) == CATALOG_COLUMNS
    assert history["effective_date"].notna().all()
    assert (history["source"].str.len() > 10).all()
    assert (history["usd_per_hour"] > 0).all() and np.isfinite(history["usd_per_hour"]).all()
    # an assumption says so in its source, a published price does not
    assert history.loc[history.is_assumption, "source"].str.startswith("ASSUMPTION").all()
    assert not history.loc[~history.is_assumption, "source"].str.contains("ASSUMPTION").any()
    # effective rate = recurring + upfront / term hours
    c = history[history.term_months > 0]
    assert np.allclose(c.recurring_usd_per_hour + c.upfront_usd / (c.term_months * 730), c.usd_per_hour)
    # one row per item and date
    assert not history.duplicated(PRICE_KEYS + ["effective_date"]).any()


def test_latest_catalog_has_one_row_per_item(catalog):
    assert not catalog.duplicated(PRICE_KEYS).any()
    assert set(catalog.provider) == {"aws", "azure", "gcp"}


# ------------------------------------------------------------------------------------------ as_of

@pytest.mark.parametrize("as_of, p5, p4d", [
    ("2025-06-01", 98.32, 32.7726),
    ("2025-06-22", 98.32, 32.7726),
    ("2025-06-23", 55.04, 21.957642),
    ("2026-07-30", 55.04, 21.957642),
    (None, 55.04, 21.957642),
])
def test_as_of_p5_and_p4d_price_cut(as_of, p5, p4d):
    cat = load_pricing(name="aws", as_of=as_of)
    assert price(cat, "aws", "us-east-1", "p5.48xlarge", "on_demand") == pytest.approx(p5)
    assert price(cat, "aws", "us-east-1", "p4d.24xlarge", "on_demand") == pytest.approx(p4d)


def test_as_of_matches_the_raw_karpenter_history(raw):
    """For every us-east-1 instance type, the as_of price is the last karpenter value on or before the day."""
    kar = pd.read_csv(raw / "aws-ondemand-karpenter" / "aws_gpu_ondemand_price_history.csv")
    kar = kar[kar.region == "us-east-1"]
    day = "2024-09-30"
    cat = load_pricing(name="aws", as_of=day, strict=True)
    expect = kar[kar.commit_date <= day].sort_values("commit_date").groupby("instance_type").tail(1)
    checked = 0
    for r in expect.itertuples():
        sel = cat[(cat.region == "us-east-1") & (cat.instance_type == r.instance_type)
                  & (cat.pricing_model == "on_demand")]
        if sel.empty:  # not a GPU type of the registry
            continue
        assert sel.usd_per_hour.iloc[0] == pytest.approx(r.ondemand_usd_per_hour), r.instance_type
        checked += 1
    assert checked >= 30


def test_as_of_strict_drops_items_first_seen_later():
    loose = load_pricing(name="aws", as_of="2024-01-01")
    strict = load_pricing(name="aws", as_of="2024-01-01", strict=True)
    assert len(strict) < len(loose)
    assert (strict.effective_date <= pd.Timestamp("2024-01-01")).all()
    # us-west-2 only has the 2026-01-21 snapshot: kept, visibly dated after as_of, when not strict
    w = loose[(loose.region == "us-west-2") & (loose.instance_type == "g5.12xlarge")
              & (loose.pricing_model == "on_demand")]
    assert w.effective_date.iloc[0] == pd.Timestamp("2026-01-21")


def test_gcp_as_of_uses_the_monthly_history(raw):
    h = pd.read_csv(raw / "gcp-cyclenerd" / "gcp_gpu_machine_prices_monthly_history.csv")
    sel = h[(h.machine_type == "a3-highgpu-8g") & (h.region == "us-central1")]
    for snap in ("2024-12-28", "2025-09-26"):
        snap = sel[sel.snapshot_date <= snap].snapshot_date.max()
        row = sel[sel.snapshot_date == snap].iloc[0]
        cat = load_pricing(name="gcp", as_of=snap)
        assert price(cat, "gcp", "us-central1", "a3-highgpu-8g", "spot") == pytest.approx(row.hour_spot)
        assert price(cat, "gcp", "us-central1", "a3-highgpu-8g", "on_demand") == pytest.approx(row.hour)


# ------------------------------------------------------------------------------------------ spot checks

def _yml_cost(path, machine, region):
    """Read hour / hour_spot / month_1y / month_3y of one machine and region straight from pricing.yml text."""
    lines = path.read_text().splitlines()
    i = lines.index(f"    {machine}:")
    j = next(k for k in range(i + 1, len(lines)) if lines[k] == f"        {region}:")
    out = {}
    for ln in lines[j + 1:]:
        m = re.match(r"^ {10}(\w+): ([\d.]+)$", ln)
        if not m:
            break
        out[m.group(1)] = float(m.group(2))
    return out


@pytest.mark.parametrize("machine, region", [("a3-highgpu-8g", "us-central1"), ("a2-highgpu-8g", "us-central1"),
                                             ("g2-standard-48", "us-central1"), ("a2-ultragpu-1g", "europe-west4")])
def test_gcp_rates_equal_the_raw_pricing_yml(catalog, raw, machine, region):
    cost = _yml_cost(raw / "gcp-cyclenerd" / "pricing_2026-07-30.yml", machine, region)
    assert price(catalog, "gcp", region, machine, "on_demand") == pytest.approx(cost["hour"], rel=1e-12)
    assert price(catalog, "gcp", region, machine, "spot") == pytest.approx(cost["hour_spot"], rel=1e-12)
    for term, key in ((12, "month_1y"), (36, "month_3y")):
        if key in cost:
            assert price(catalog, "gcp", region, machine, "cud", term) == pytest.approx(cost[key] / 730, rel=1e-12)
        else:  # europe-west4 sells no A2 ultra CUD: an error, never a silent 0
            with pytest.raises(PricingError, match="has no 'cud' price"):
                price(catalog, "gcp", region, machine, "cud", term)
    flex = price(catalog, "gcp", region, machine, "savings_plan", 36)
    assert flex == pytest.approx(cost["hour"] * (1 - 0.46))


@pytest.mark.parametrize("itype, region", [("p4d.24xlarge", "us-east-1"), ("g5.12xlarge", "us-west-2"),
                                           ("g6.12xlarge", "us-east-1"), ("p5.48xlarge", "us-west-2")])
def test_aws_rates_equal_the_raw_vantage_snapshot(catalog, raw, itype, region):
    van = pd.read_csv(raw / "aws-vantage-2026-01" / "aws_gpu_instances_2026-01-21.csv")
    r = van[(van.instance_type == itype) & (van.region == region)].iloc[0]
    assert price(catalog, "aws", region, itype, "on_demand") == r.on_demand_usd_per_hour
    ri = price(catalog, "aws", region, itype, "reserved", 12, "no_upfront")
    row = catalog[(catalog.instance_type == itype) & (catalog.region == region)
                  & (catalog.pricing_model == "reserved") & (catalog.term_months == 12)
                  & (catalog.payment_option == "no_upfront")].iloc[0]
    if pd.notna(r.reserved_usd_per_hour):
        assert ri == r.reserved_usd_per_hour and not row.is_assumption
    else:  # p5: no published RI -> flagged assumption from the documented ratio
        assert row.is_assumption and ri == pytest.approx(r.on_demand_usd_per_hour * A.AWS_RI1Y_TO_OD_2026)


@pytest.mark.parametrize("itype, region", [("p5.48xlarge", "us-east-1"), ("p4d.24xlarge", "us-east-1"),
                                           ("g5.12xlarge", "us-west-2"), ("g6.12xlarge", "us-east-1")])
def test_aws_spot_is_the_advisor_saving_on_the_then_current_on_demand(catalog, raw, itype, region):
    adv = pd.read_csv(raw / "aws-spot-advisor-2025-06" / "aws_spot_advisor_gpu_2025-06-28.csv")
    a = adv[(adv.instance_type == itype) & (adv.region == region)].iloc[0]
    od_then = price(load_pricing(name="aws", as_of="2025-06-28"), "aws", region, itype, "on_demand")
    row = catalog[(catalog.instance_type == itype) & (catalog.region == region)
                  & (catalog.pricing_model == "spot")].iloc[0]
    assert row.usd_per_hour == pytest.approx(od_then * (1 - a.savings_pct / 100), rel=1e-12)
    assert row.interruption_label == a.interruption_label
    assert row.interruption_max_pct == a.interruption_max_pct


@pytest.mark.parametrize("itype", ["Standard_NC24ads_A100_v4", "Standard_NC12s_v3", "Standard_ND96isr_H100_v5"])
def test_azure_rates_equal_the_raw_skypilot_file(catalog, raw, itype):
    az = pd.read_csv(raw / "azure-skypilot" / "azure_gpu_vms_skypilot_v6.csv")
    r = az[(az.InstanceType == itype) & (az.Region == "eastus")].iloc[0]
    assert price(catalog, "azure", "eastus", itype, "on_demand") == r.Price
    spot = catalog[(catalog.instance_type == itype) & (catalog.region == "eastus")
                   & (catalog.pricing_model == "spot")]
    if r.SpotPrice < r.Price:
        assert spot.usd_per_hour.iloc[0] == r.SpotPrice and not spot.is_assumption.iloc[0]
    else:  # the source shows no spot discount (SpotPrice == Price, the H100 sizes): not spot-eligible
        assert spot.empty


def test_no_spot_row_without_a_discount_in_its_source_nor_from_another_gpus_ratio(catalog, raw):
    """Issue 17: no spot rate where the source shows spot at (or above) on-demand, none borrowed from a ratio."""
    spot = catalog[catalog.pricing_model == "spot"]
    assert not spot.is_assumption.any()
    assert not spot.source.str.contains("ASSUMPTION").any()
    az = pd.read_csv(raw / "azure-skypilot" / "azure_gpu_vms_skypilot_v6.csv")
    flat = az[az.SpotPrice >= az.Price]
    assert len(flat) == 11  # the H100 sizes
    keys = set(zip(spot.provider, spot.region, spot.instance_type))
    assert not any(("azure", r.Region, r.InstanceType) in keys for r in flat.itertuples())
    adv = pd.read_csv(raw / "aws-spot-advisor-2025-06" / "aws_spot_advisor_gpu_2025-06-28.csv")
    none = adv[adv.savings_pct <= 0]
    assert len(none) == 4  # p5.48xlarge ca-central-1 at -62 %, three p2 pools
    assert not any(("aws", r.region, r.instance_type) in keys for r in none.itertuples())
    od = catalog[catalog.pricing_model == "on_demand"].set_index(["provider", "region", "instance_type"])
    joined = spot.join(od["usd_per_hour"].rename("od"), on=["provider", "region", "instance_type"])
    assert (joined.usd_per_hour < joined.od).all()


# ------------------------------------------------------------------------------------------ errors

def test_unknown_instance_type_is_an_error_naming_the_valid_ones(catalog):
    with pytest.raises(UnknownNameError, match=r"Invalid instance type .*'p5.48xlage'.*Did you mean 'p5.48xlarge'"):
        price(catalog, "aws", "us-east-1", "p5.48xlage", "on_demand")
    with pytest.raises(UnknownNameError, match=r"region .*'us-central-1'.*Did you mean 'us-central1'"):
        price(catalog, "gcp", "us-central-1", "a3-highgpu-8g", "on_demand")
    with pytest.raises(UnknownNameError, match=r"pricing model 'ondemand'.*Did you mean 'on_demand'"):
        price(catalog, "aws", "us-east-1", "p5.48xlarge", "ondemand")
    with pytest.raises(UnknownNameError, match=r"provider 'coreweave'.*Provide one of: aws, azure, gcp"):
        price(catalog, "coreweave", "us-east-04", "gd-8xh100ib-i128", "on_demand")
    # and they are ValueErrors (house rule) and KeyErrors
    with pytest.raises(ValueError):
        price(catalog, "aws", "us-east-1", "p9.96xlarge", "on_demand")
    with pytest.raises(KeyError):
        price(catalog, "aws", "us-east-1", "p9.96xlarge", "on_demand")


def test_missing_option_lists_what_the_pool_has(catalog):
    with pytest.raises(PricingError, match=r"no 'reserved' price for term_months=24.*It has: reserved\[aws_standard_ri\] "
                                           r"12m all_upfront"):
        price(catalog, "aws", "us-east-1", "p5.48xlarge", "reserved", 24)
    with pytest.raises(PricingError, match=r"several commitment families \['aws_compute_sp', 'aws_ec2_instance_sp'\]"):
        price(catalog, "aws", "us-east-1", "p5.48xlarge", "savings_plan", 12)
    with pytest.raises(PricingError, match=r"no 'reserved' price"):
        price(catalog, "gcp", "us-central1", "a3-highgpu-8g", "reserved", 12)


def test_unknown_catalog_name_lists_the_names():
    assert pricing_names() == ["aws", "azure", "gcp"]
    with pytest.raises(UnknownNameError, match=r"Invalid pricing catalog name 'awz'.*Did you mean 'aws'.*aws, azure, gcp"):
        load_pricing(name="awz")


def test_check_pools_lists_every_gap(catalog):
    with pytest.raises(PricingError, match=r"3 pool price\(s\) missing: aws us-east-1 p9.1xlarge: on_demand; "
                                           r"aws us-east-1 p9.1xlarge: spot; gcp europe-west4 g2-standard-48: spot"):
        check_pools(catalog.query("not (provider == 'gcp' and region == 'europe-west4' and pricing_model == 'spot')"),
                    [("aws", "us-east-1", "p9.1xlarge"), ("gcp", "europe-west4", "g2-standard-48")],
                    pricing_models=("on_demand", "spot"))


def test_history_must_be_resolved_before_price(history):
    with pytest.raises(PricingError, match="as_of"):
        price(history, "aws", "us-east-1", "p5.48xlarge", "on_demand")


def test_pool_options_sorted_cheapest_first(catalog):
    opts = pool_options(catalog, "aws", "us-east-1", "p5.48xlarge")
    assert len(opts) == 20 and opts.usd_per_hour.is_monotonic_increasing
    assert opts.iloc[-1].pricing_model == "on_demand"


# ------------------------------------------------------------------------------------------ overrides

def test_user_file_overrides_and_extends(sample_dir, catalog):
    cat = load_pricing(path=sample_dir / "user_rates_example.csv")
    # override: the negotiated on-demand rate replaces the list price, although it is dated earlier
    assert price(cat, "aws", "us-east-1", "p5.48xlarge", "on_demand") == 49.536
    row = cat[(cat.instance_type == "p5.48xlarge") & (cat.region == "us-east-1") & (cat.pricing_model == "on_demand")]
    assert row.source.iloc[0].startswith("example enterprise discount")
    # an upfront quote is amortized over the term
    assert price(cat, "aws", "us-east-1", "p5.48xlarge", "reserved", 36, "all_upfront") == pytest.approx(
        700000 / (36 * 730))
    # everything else is untouched
    assert price(cat, "aws", "us-east-1", "p5.48xlarge", "reserved", 12) == price(
        catalog, "aws", "us-east-1", "p5.48xlarge", "reserved", 12)
    assert len(cat) == len(catalog) + 3  # 3 new items (coreweave, lambda x 2), 2 replaced
    # extend: neoclouds
    assert price(cat, "coreweave", "us-east-04", "gd-8xh100ib-i128", "on_demand", per="gpu") == pytest.approx(6.155)
    assert price(cat, "lambda", "us-east-1", "gpu_8x_h100_sxm5", "reserved", 12) == 19.12
    assert cat.loc[cat.provider == "lambda", "commitment_family"].tolist() == ["", "reserved"]


def test_later_user_files_win(tmp_path, sample_dir):
    second = tmp_path / "second.csv"
    second.write_text("provider,region,instance_type,pricing_model,usd_per_hour,effective_date,source\n"
                      "aws,us-east-1,p5.48xlarge,on_demand,45.0,2026-02-01,second quote\n")
    cat = load_pricing(name="aws", path=[sample_dir / "user_rates_example.csv", second])
    assert price(cat, "aws", "us-east-1", "p5.48xlarge", "on_demand") == 45.0
    only = load_pricing(path=second, bundled=False)
    assert len(only) == 1 and only.gpu_type.iloc[0] == "H100" and only.gpu_count.iloc[0] == 8


def test_user_file_as_of(sample_dir):
    before = load_pricing(name="aws", path=sample_dir / "user_rates_example.csv", as_of="2025-06-01", strict=True)
    assert price(before, "aws", "us-east-1", "p5.48xlarge", "on_demand") == 98.32  # the discount starts 2025-12


def test_bad_user_file_names_row_and_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("provider,region,instance_type,pricing_model,usd_per_hour,effective_date\n"
                   "aws,us-east-1,p5.48xlarge,on_demand,55,2026-01-01\n"
                   "aws,us-east-1,p5.48xlarge,reserverd,30,2026-01-01\n")
    with pytest.raises(PricingError, match=r"bad.csv, row 2, column 'pricing_model': invalid pricing_model "
                                           r"'reserverd'. Did you mean 'reserved'"):
        load_pricing(path=bad)
    bad.write_text("provider,region,instance_type,pricing_model,usd_per_hour,effective_date\n"
                   "aws,us-east-1,p5.48xlarge,on_demand,0,2026-01-01\n")
    with pytest.raises(PricingError, match=r"row 1, column 'usd_per_hour': usd_per_hour must be > 0"):
        load_pricing(path=bad)
    bad.write_text("provider,region,instance_type,pricing_model,usd_per_hour,effective_date\n"
                   "nebius,eu-north1,gpu-h100-sxm,on_demand,23.6,2026-01-01\n")
    with pytest.raises(PricingError, match=r"gpu_type and gpu_count are empty.*fill both"):
        load_pricing(path=bad)
    bad.write_text("provider,region,instance_type,usd_per_hour\naws,us-east-1,p5.48xlarge,55\n")
    with pytest.raises(FinopsError, match=r"missing column\(s\) \['pricing_model', 'effective_date'\]"):
        load_pricing(path=bad)
    with pytest.raises(PricingError, match="price file not found"):
        load_pricing(path=tmp_path / "nope.csv")
