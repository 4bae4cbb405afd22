"""Importers on small real samples (tests/data/pricing, see its README) and on the full raw files."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finops_forecast.errors import PricingError
from finops_forecast.pricing import (
    load_pricing, price, pricing_template, read_cyclenerd_yml, read_ec2instances_json, read_price_csv,
    read_skypilot_csv, read_spot_advisor, spot_rows_from_advisor,
)
from finops_forecast.pricing.importers import TEMPLATE_COLUMNS


def test_cyclenerd_excerpt(sample_dir):
    cat = read_cyclenerd_yml(sample_dir / "cyclenerd_pricing_2026-07-30_excerpt.yml")
    assert set(cat.instance_type) == {"a2-highgpu-8g", "a3-highgpu-8g", "g2-standard-48"}
    assert set(cat.region) == {"asia-east1", "europe-west4", "us-central1"}
    assert (cat.effective_date == pd.Timestamp("2026-07-30")).all()  # from about.timestamp
    a3 = cat[(cat.instance_type == "a3-highgpu-8g") & (cat.region == "us-central1")]
    assert a3.gpu_type.unique().tolist() == ["H100"] and a3.gpu_count.unique().tolist() == [8.0]
    assert price(a3, "gcp", "us-central1", "a3-highgpu-8g", "on_demand") == 88.4899999025753
    assert price(a3, "gcp", "us-central1", "a3-highgpu-8g", "spot") == 50.6095408219178
    assert price(a3, "gcp", "us-central1", "a3-highgpu-8g", "cud", 12) == pytest.approx(44810.08066464 / 730)
    g2 = cat[cat.instance_type == "g2-standard-48"]
    assert g2.gpu_type.unique().tolist() == ["L4"] and g2.gpu_count.unique().tolist() == [4.0]


def test_cyclenerd_excerpt_agrees_with_bundled_catalog(sample_dir, catalog):
    sample = read_cyclenerd_yml(sample_dir / "cyclenerd_pricing_2026-07-30_excerpt.yml")
    for r in sample.itertuples():
        assert price(catalog, r.provider, r.region, r.instance_type, r.pricing_model, r.term_months) == \
            pytest.approx(r.usd_per_hour, rel=1e-12), (r.region, r.instance_type, r.pricing_model)


def test_cyclenerd_full_file_equals_bundled_catalog(raw, catalog):
    """The whole 4 MB pricing.yml, every GPU machine and region, equals the catalog's newest GCP rows."""
    full = read_cyclenerd_yml(raw / "gcp-cyclenerd" / "pricing_2026-07-30.yml")
    gcp = catalog[(catalog.provider == "gcp") & (catalog.pricing_model != "savings_plan")]
    m = full.merge(gcp, on=["region", "instance_type", "pricing_model", "term_months"], suffixes=("", "_cat"),
                   how="outer", indicator=True)
    # the catalog skips CUD "prices" equal to on-demand (the file's stand-in where no CUD is sold)
    only_file = m[m._merge == "left_only"]
    assert (only_file.pricing_model == "cud").all()
    assert len(m[m._merge == "right_only"]) == 0
    both = m[m._merge == "both"]
    assert len(both) > 900
    assert np.allclose(both.usd_per_hour, both.usd_per_hour_cat, rtol=1e-12)


def test_cyclenerd_rejects_other_yaml(tmp_path):
    p = tmp_path / "x.yml"
    p.write_text("about:\n  generated: today\nstorage:\n  x: 1\n")
    with pytest.raises(PricingError, match="not a Cyclenerd pricing.yml"):
        read_cyclenerd_yml(p)


def test_skypilot_excerpt_and_its_known_faults(sample_dir):
    cat = read_skypilot_csv(sample_dir / "skypilot_azure_vms_v6_excerpt.csv", "azure", effective_date="2024-06-01")
    nd = cat[cat.instance_type == "Standard_ND96isr_H100_v5"]
    assert nd.gpu_count.unique().tolist() == [8.0]  # corrected from 12 by the registry
    assert nd.source.str.contains("source says 12").all()
    assert set(nd.pricing_model) == {"on_demand"}  # SpotPrice == Price: dropped
    assert ("eastus", "Standard_ND96isr_H100_v5") in cat.attrs["dropped_spot"]
    a100 = cat[(cat.instance_type == "Standard_NC24ads_A100_v4") & (cat.region == "eastus")]
    assert price(a100, "azure", "eastus", "Standard_NC24ads_A100_v4", "spot") == 0.444433
    assert price(a100, "azure", "eastus", "Standard_NC24ads_A100_v4", "on_demand") == 3.673
    promo = cat[cat.instance_type == "Standard_NC6_Promo"]
    assert set(promo.pricing_model) == {"on_demand"}  # no SpotPrice
    assert "Standard_NV8as_v4" not in set(cat.instance_type)  # no price at all
    kept = read_skypilot_csv(sample_dir / "skypilot_azure_vms_v6_excerpt.csv", "azure", effective_date="2024-06-01",
                             spot_equal_to_price="keep")
    assert len(kept) == len(cat) + len(cat.attrs["dropped_spot"])


def test_skypilot_zones_are_aggregated_per_region(tmp_path):
    p = tmp_path / "vms.csv"
    p.write_text("InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GPUInfo,Region,AvailabilityZone,"
                 "Price,SpotPrice\n"
                 "p5.48xlarge,H100,8,192,2048,H100,us-east-1,us-east-1a,55.04,20.0\n"
                 "p5.48xlarge,H100,8,192,2048,H100,us-east-1,us-east-1b,55.04,30.0\n"
                 "p5.48xlarge,H100,8,192,2048,H100,us-east-1,us-east-1c,55.04,40.0\n")
    cat = read_skypilot_csv(p, "aws", effective_date="2026-01-01")
    assert len(cat) == 2
    assert price(cat, "aws", "us-east-1", "p5.48xlarge", "spot") == 30.0


def test_ec2instances_json_excerpt(sample_dir, raw):
    cat = read_ec2instances_json(sample_dir / "ec2instances_info_2017-11-12_excerpt.json", effective_date="2017-11-12")
    ri = pd.read_csv(raw / "aws-ri-2017" / "aws_gpu_ondemand_and_ri_rates_2017-11-12.csv")
    r = ri[(ri.instance_type == "p3.2xlarge") & (ri.region == "us-east-1") & (ri.os == "linux")].iloc[0]
    assert price(cat, "aws", "us-east-1", "p3.2xlarge", "on_demand") == r.ondemand_usd_per_hour
    for term, pay, col in [(12, "no_upfront", "yrTerm1Standard.noUpfront"),
                           (36, "partial_upfront", "yrTerm3Standard.partialUpfront"),
                           (36, "all_upfront", "yrTerm3Standard.allUpfront")]:
        assert price(cat, "aws", "us-east-1", "p3.2xlarge", "reserved", term, pay) == \
            r[col + "_effective_usd_per_hour"]
    assert set(cat.commitment_family) == {"", "aws_standard_ri"}
    allup = cat[(cat.payment_option == "all_upfront")]
    assert (allup.recurring_usd_per_hour == 0).all()
    assert np.allclose(allup.upfront_usd, allup.usd_per_hour * allup.term_months * 730)
    conv = read_ec2instances_json(sample_dir / "ec2instances_info_2017-11-12_excerpt.json",
                                  effective_date="2017-11-12", include_convertible=True, os="mswin",
                                  regions=["us-west-2"])
    assert set(conv.region) == {"us-west-2"}
    assert price(conv, "aws", "us-west-2", "g3.4xlarge", "reserved", 12,
                 commitment_family="aws_convertible_ri") > price(conv, "aws", "us-west-2", "g3.4xlarge",
                                                                 "reserved", 12, commitment_family="aws_standard_ri")


def test_spot_advisor_json_equals_its_csv_derivative(sample_dir, raw):
    js = read_spot_advisor(sample_dir / "spot_advisor_data_excerpt.json")
    csv = read_spot_advisor(raw / "aws-spot-advisor-2025-06" / "aws_spot_advisor_gpu_2025-06-28.csv",
                            instance_types=set(js.instance_type))
    csv = csv[csv.region.isin(set(js.region))].reset_index(drop=True)
    pd.testing.assert_frame_equal(js, csv, check_dtype=False)
    p5 = js[(js.region == "us-east-1") & (js.instance_type == "p5.48xlarge")].iloc[0]
    assert (p5.savings_pct, p5.interruption_label, p5.interruption_max_pct) == (52, ">20%", 100)


def test_spot_rows_from_advisor(sample_dir):
    adv = read_spot_advisor(sample_dir / "spot_advisor_data_excerpt.json")
    od = load_pricing(name="aws", as_of="2025-06-28")
    spot = spot_rows_from_advisor(adv, od, effective_date="2025-06-28", source="test:")
    p5 = spot[(spot.region == "us-east-1") & (spot.instance_type == "p5.48xlarge")].iloc[0]
    assert p5.usd_per_hour == pytest.approx(55.04 * 0.48)
    assert "savings 52% x on-demand 55.04" in p5.source
    assert len(spot) == len(adv)


def test_spot_advisor_rejects_other_json(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"prices": []}))
    with pytest.raises(PricingError, match="not a Spot Advisor feed"):
        read_spot_advisor(p)


def test_price_csv_template_round_trip(tmp_path, sample_dir):
    assert list(pricing_template().columns) == TEMPLATE_COLUMNS
    cat = read_price_csv(sample_dir / "user_rates_example.csv")
    assert len(cat) == 5
    p = tmp_path / "again.csv"
    cat[TEMPLATE_COLUMNS].assign(effective_date=cat.effective_date.dt.strftime("%Y-%m-%d")).to_csv(p, index=False)
    again = read_price_csv(p)
    pd.testing.assert_frame_equal(cat, again)


def test_price_csv_upfront_only_commitment(tmp_path):
    p = tmp_path / "quote.csv"
    p.write_text("provider,region,instance_type,pricing_model,term_months,payment_option,upfront_usd,"
                 "recurring_usd_per_hour,effective_date\n"
                 "aws,us-east-1,p4d.24xlarge,reserved,12,partial_upfront,50000,10,2026-01-01\n")
    cat = read_price_csv(p)
    assert cat.usd_per_hour.iloc[0] == pytest.approx(10 + 50000 / 8760)
    assert cat.commitment_family.iloc[0] == "aws_standard_ri"
    p.write_text("provider,region,instance_type,pricing_model,term_months,usd_per_hour,effective_date\n"
                 "aws,us-east-1,p4d.24xlarge,savings_plan,12,12.5,2026-01-01\n")
    with pytest.raises(PricingError, match=r"must name one of \['aws_compute_sp', 'aws_ec2_instance_sp'\]"):
        read_price_csv(p)
    p.write_text("provider,region,instance_type,pricing_model,term_months,usd_per_hour,upfront_usd,"
                 "recurring_usd_per_hour,payment_option,effective_date\n"
                 "aws,us-east-1,p4d.24xlarge,reserved,12,99,50000,10,partial_upfront,2026-01-01\n")
    with pytest.raises(PricingError, match="usd_per_hour must equal recurring_usd_per_hour"):
        read_price_csv(p)


models = st.sampled_from(["on_demand", "spot", "reserved", "cud", "savings_plan"])


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.tuples(models, st.sampled_from([12, 36]), st.sampled_from(
    ["no_upfront", "partial_upfront", "all_upfront"]), st.floats(0.01, 500.0), st.integers(1, 16)),
    min_size=1, max_size=12))
def test_price_csv_reader_property(rows):
    """Any valid template rows read back with the same effective rates, per-GPU rates and split invariants."""
    recs = []
    for i, (model, term, pay, rate, gpus) in enumerate(rows):
        commit = model in ("reserved", "cud", "savings_plan")
        recs.append(dict(provider="neo", region="r1", instance_type=f"n{i}", gpu_type="H100", gpu_count=gpus,
                         pricing_model=model, term_months=term if commit else 0,
                         payment_option=pay if commit else "no_upfront", usd_per_hour=rate,
                         effective_date="2026-01-01"))
    cat = read_price_csv(pd.DataFrame(recs))
    assert np.allclose(cat.usd_per_hour, [r["usd_per_hour"] for r in recs])
    assert np.allclose(cat.usd_per_gpu_hour * cat.gpu_count, cat.usd_per_hour)
    c = cat[cat.term_months > 0]
    assert np.allclose(c.recurring_usd_per_hour + c.upfront_usd / (c.term_months * 730), c.usd_per_hour)
    assert (cat.upfront_usd >= 0).all() and (cat.recurring_usd_per_hour >= 0).all()
    assert (cat.loc[cat.payment_option == "all_upfront", "recurring_usd_per_hour"] == 0).all()
