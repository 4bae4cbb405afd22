"""Issue 17, part 3: spot rework at the job sizes the usage history shows (read_jobs -> job_sizes -> market)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import PricingError
from finops_forecast.portfolio.instruments import SpotSettings, build_market
from finops_forecast.pricing.spot import (
    expected_rework,
    interruption_rate,
    rework_at_scale,
    spot_effective_cost,
    spot_job_nodes,
    with_profile,
)
from finops_forecast.usage.jobs import job_sizes_of
from finops_forecast.usage.readers import read_jobs

from ..portfolio.pf_helpers import P5, catalog_rows, keys, make_catalog

LAM = float(interruption_rate(">20%"))


def _r(n):
    return float(expected_rework(LAM, with_profile("training", nodes=n)))


def test_a_job_size_mix_is_the_gpu_hour_weighted_rework():
    mix = {1: 3.0, 16: 1.0}  # GPU-hours 3:1, shares need not sum to 1
    assert float(rework_at_scale(LAM, "training", mix)) == pytest.approx(0.75 * _r(1) + 0.25 * _r(16))
    assert float(spot_effective_cost(2.0, ">20%", "training", nodes=mix)) == pytest.approx(
        2.0 * (1 + 0.75 * _r(1) + 0.25 * _r(16)))
    # the weighted mean is not the rework of the weighted-mean size: rework is convex in the size
    assert float(rework_at_scale(LAM, "training", mix)) > _r(round(0.75 * 1 + 0.25 * 16))
    with pytest.raises(PricingError, match="shares >= 0 with a positive sum"):
        rework_at_scale(LAM, "training", {8: 0.0})


def _jobs_file(tmp_path):
    # 30 h of an 8-GPU job (240 GPU-h, 1 node) and 2 h of a 1,024-GPU job (2,048 GPU-h, 128 nodes), and an
    # experimentation job of 1 GPU for 1 h
    path = tmp_path / "jobs.csv"
    path.write_text("job_id,start,end,gpus,workload_class\n"
                    "a,2026-10-01 00:00,2026-10-02 06:00,8,training\n"
                    "b,2026-10-03 00:00,2026-10-03 02:00,1024,training\n"
                    "c,2026-10-03 00:00,2026-10-03 01:00,1,experimentation\n")
    return path


def test_read_jobs_exposes_job_sizes_and_the_market_prices_spot_at_them(tmp_path):
    usage, _ = read_jobs(_jobs_file(tmp_path), provider=P5[0], region=P5[1], instance_type=P5[2])
    sizes = job_sizes_of(usage)
    got = sizes.set_index(["workload_class", "gpus"])["gpu_hours"]
    assert got.to_dict() == pytest.approx({("experimentation", 1.0): 1.0, ("training", 8.0): 240.0,
                                           ("training", 1024.0): 2048.0})
    assert sizes["gpu_hours"].sum() == pytest.approx(usage["gpu_hours"].sum())
    # they survive filtering and a Parquet round trip (pandas keeps attrs in the file's metadata)
    usage[usage["gpu_hours"] > 0].to_parquet(tmp_path / "u.parquet")
    pd.testing.assert_frame_equal(job_sizes_of(pd.read_parquet(tmp_path / "u.parquet")), sizes)
    cat = make_catalog(catalog_rows(P5, 8, 6.88, ri={12: 4.5}, spot=2.0, spot_label=">20%"))
    k = keys(P5 + ("training",), P5 + ("experimentation",))
    nodes, notes = spot_job_nodes(sizes, cat, k)
    assert nodes[P5 + ("training",)] == pytest.approx({1: 240 / 2288, 128: 2048 / 2288})
    assert nodes[P5 + ("experimentation",)] == {1: 1.0}
    assert notes == []
    # mostly 128-node GPU-hours: rework eats the discount, spot is not offered for training (NaN); the 1-GPU
    # experimentation is priced at 1 node, not at the class default
    mk = build_market(cat, k, spot=SpotSettings(job_nodes=nodes)).series.set_index("workload_class")
    assert np.isnan(mk.loc["training", "spot_rate"])
    r1 = float(expected_rework(LAM, with_profile("experimentation", nodes=1)))
    assert mk.loc["experimentation", "spot_rate"] == pytest.approx(2.0 * (1 + r1))
    # without the big job the training series goes on spot at its own 1-node size, cheaper than the default 8
    small, _ = spot_job_nodes(sizes[sizes["gpus"] < 1000], cat, k)
    rate = build_market(cat, k, spot=SpotSettings(job_nodes=small)).series["spot_rate"].iat[0]
    default = build_market(cat, k).series["spot_rate"].iat[0]
    assert rate == pytest.approx(2.0 * (1 + _r(1))) and rate < default


def test_without_job_sizes_the_default_is_used_and_said(tmp_path):
    cat = make_catalog(catalog_rows(P5, 8, 6.88, ri={12: 4.5}, spot=2.0, spot_label=">20%"))
    k = keys(P5 + ("training",), P5 + ("inference",))
    assert job_sizes_of(pd.DataFrame({"gpu_hours": [1.0]})) is None  # a usage not read from job records
    nodes, notes = spot_job_nodes(None, cat, k)
    assert nodes == {} and len(notes) == 1 and "training 8" in notes[0] and "every series" in notes[0]
    # job sizes for another series only: the training series is named as left at the default; inference
    # (stateless replicas) is never named
    other = pd.DataFrame([dict(provider="aws", region="us-east-1", instance_type="p5.48xlarge",
                               workload_class="experimentation", gpus=1.0, gpu_hours=5.0)])
    nodes, notes = spot_job_nodes(other, cat, k)
    assert list(nodes) == [P5 + ("experimentation",)]
    assert len(notes) == 1 and "aws us-east-1 p5.48xlarge training" in notes[0] and "inference" not in notes[0]
    with pytest.raises(PricingError, match=r"lacks \['gpu_hours'\]"):
        spot_job_nodes(other.drop(columns="gpu_hours"), cat, k)


def _shared() -> Path:
    return Path(os.environ.get("FINOPS_SHARED_DATASETS", Path(__file__).resolve().parents[3] / "shared" /
                               "datasets"))


@pytest.mark.skipif(not (_shared() / "demand/alibaba-dlrm/disaggregated_DLRM_trace.csv").exists(),
                    reason="shared datasets not present")
def test_job_sizes_of_the_real_alibaba_dlrm_trace(tmp_path):
    """The one job-level trace at hand: Alibaba DLRM GPU instances (gpu_request 0/1), start/end from the trace's
    creation/deletion seconds (NaN: before the start / after the end), on AWS g6.xlarge (1 x L4)."""
    raw = pd.read_csv(_shared() / "demand/alibaba-dlrm/disaggregated_DLRM_trace.csv")
    end = float(np.nanmax(raw[["creation_time", "deletion_time"]].to_numpy()))
    hn = raw[(raw["role"] == "HN") & (raw["gpu_request"] > 0)].head(600)
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    jobs = pd.DataFrame({"job_id": hn["instance_sn"], "gpus": hn["gpu_request"], "team": hn["app_name"],
                         "start": t0 + pd.to_timedelta(hn["creation_time"].fillna(0.0), unit="s"),
                         "end": t0 + pd.to_timedelta(hn["deletion_time"].fillna(end), unit="s"),
                         "workload_class": "experimentation"})  # a class that may run on spot, for the check
    jobs.to_csv(tmp_path / "dlrm_jobs.csv", index=False)
    usage, _ = read_jobs(tmp_path / "dlrm_jobs.csv", provider="aws", region="us-east-1",
                           instance_type="g6.xlarge")
    sizes = job_sizes_of(usage)
    expected = float((hn["gpu_request"] * ((jobs["end"] - jobs["start"]).dt.total_seconds() / 3600)).sum())
    assert sizes["gpu_hours"].sum() == pytest.approx(expected) == pytest.approx(usage["gpu_hours"].sum())
    assert set(sizes["gpus"]) == {1.0}  # one GPU per serving instance, as the trace's README says
    cat = make_catalog(catalog_rows(("aws", "us-east-1", "g6.xlarge"), 1, 0.805, spot=0.3, spot_label=">20%"))
    nodes, notes = spot_job_nodes(sizes, cat, usage[["provider", "region", "instance_type",
                                                     "workload_class"]].drop_duplicates())
    assert nodes == {("aws", "us-east-1", "g6.xlarge", "experimentation"): {1: 1.0}} and notes == []


def test_spot_rows_without_a_bucket_scale_the_assumed_rework_with_the_job_size():
    """GCP / Azure spot rows carry no interruption bucket: the market's assumed rework (training 0.10) is the
    8-node profile's; a 1-node job gets 0.10 x r(1) / r(8), a 128-node job 0.10 x r(128) / r(8)."""
    from finops_forecast.pricing.spot import assumed_rework_at_scale

    a3 = ("gcp", "us-central1", "a3-highgpu-8g")
    cat = make_catalog(catalog_rows(a3, 8, 11.06, ri={12: 7.0}, spot=6.33)).assign(interruption_label="")
    k = keys(a3 + ("training",))
    assert assumed_rework_at_scale(0.10, "training", None) == 0.10
    assert assumed_rework_at_scale(0.10, "training", 8) == pytest.approx(0.10)
    default = build_market(cat, k).series["spot_rate"].iat[0]
    assert default == pytest.approx(6.33 * 1.10)  # no job sizes: as before
    one = build_market(cat, k, spot=SpotSettings(job_nodes={a3 + ("training",): 1})).series["spot_rate"].iat[0]
    assert one == pytest.approx(6.33 * (1 + 0.10 * _r(1) / _r(8)))
    mix = {a3 + ("training",): {1: 0.5, 16: 0.5}}
    both = build_market(cat, k, spot=SpotSettings(job_nodes=mix)).series["spot_rate"].iat[0]
    assert both == pytest.approx(6.33 * (1 + 0.10 * (0.5 * _r(1) + 0.5 * _r(16)) / _r(8)))
    big = build_market(cat, k, spot=SpotSettings(job_nodes={a3 + ("training",): 128})).series["spot_rate"]
    assert np.isnan(big.iat[0])  # 0.10 x 983 = 98 x the spot rate: never
    # the capacity decision of a planned run prices the same way at the run's own size (16 GPUs = 2 nodes)
    from finops_forecast.portfolio.capacity import decide_capacity
    from finops_forecast.pricing.capacity import load_capacity

    run = pd.DataFrame([dict(start=pd.Timestamp("2027-01-11", tz="UTC"), duration_hours=72, gpus=16,
                             provider=a3[0], region=a3[1], instance_type=a3[2], workload_class="training")])
    opts = decide_capacity(run, cat, load_capacity())[1].set_index("option")
    assert opts.loc["spot", "usd_per_gpu_hour"] == pytest.approx(6.33 * (1 + 0.10 * _r(2) / _r(8)))


def test_the_plan_and_the_backtest_use_the_usage_job_sizes(tmp_path):
    """with_job_sizes carries the job sizes of a job-record usage into PortfolioConfig; prepare's market then
    offers no spot to the 128-node training series, and the backtest's market says the same."""
    from finops_forecast.portfolio.api import prepare
    from finops_forecast.portfolio.config import PortfolioConfig, with_job_sizes

    usage, _ = read_jobs(_jobs_file(tmp_path), provider=P5[0], region=P5[1], instance_type=P5[2])
    cat = make_catalog(catalog_rows(P5, 8, 6.88, ri={12: 4.5}, spot=2.0, spot_label=">20%"))
    k = keys(P5 + ("training",), P5 + ("experimentation",))
    base = PortfolioConfig(quarters=1, frontier_lambdas=(0.0,), terms_months=(12,))
    cfg, notes = with_job_sizes(base, usage, cat, k)
    assert cfg.spot_job_nodes[P5 + ("training",)] == pytest.approx({1: 240 / 2288, 128: 2048 / 2288})
    assert notes == []
    ds = pd.date_range("2027-01-01", periods=24 * 90, freq="h", tz="UTC")
    paths = np.full((2, 4, len(ds)), 16.0)
    from finops_forecast.portfolio import Scenarios
    scen = Scenarios(k, ds, paths)
    with_sizes = prepare(scen, cat, config=cfg).market.series.set_index("workload_class")["spot_rate"]
    without = prepare(scen, cat, config=base).market.series.set_index("workload_class")["spot_rate"]
    assert np.isnan(with_sizes["training"]) and np.isfinite(without["training"])
    # a usage with no job sizes leaves the config as it was and says the class default is used
    same, notes = with_job_sizes(base, usage.copy().pipe(lambda u: u.__setattr__("attrs", {}) or u), cat, k)
    assert same is base and "every series" in notes[0]
