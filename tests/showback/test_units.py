"""Priced usage, breakdowns, runs and unit costs (per run, per experiment, per 1,000 inferences)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import PricingError
from finops_forecast.showback.common import UNALLOCATED, ShowbackError
from finops_forecast.showback.priced import breakdown, price_usage, top_cost_drivers
from finops_forecast.showback.units import (
    cost_per_inference,
    read_runs,
    run_costs,
    week_over_week,
    weekly_unit_costs,
)

from .conftest import gpu_rate


@pytest.fixture(scope="module")
def october(sample_usage):
    u = sample_usage
    return u[(u["ts"] >= "2026-09-21") & (u["ts"] < "2026-11-01")].reset_index(drop=True)


def test_price_usage_from_catalog_and_from_the_bill(october, catalog):
    p = price_usage(october, catalog)
    first = p.iloc[0]
    assert first["gpu_cost"] == pytest.approx(first["gpu_hours"] * gpu_rate(
        catalog, first["provider"], first["region"], first["instance_type"]))
    assert (p["cost_source"] == "catalog:on_demand").all()
    # FOCUS effective costs win where present (amortized commitments make them lower than on demand)
    billed = october.assign(effective_cost=np.where(october.index % 2 == 0, october["gpu_hours"] * 0.5, np.nan))
    pb = price_usage(billed, catalog)
    even = pb.index % 2 == 0
    assert np.allclose(pb.loc[even, "gpu_cost"], october.loc[even, "gpu_hours"] * 0.5)
    assert (pb.loc[even, "cost_source"] == "bill:effective_cost").all()
    assert np.allclose(pb.loc[~even, "gpu_cost"], p.loc[~even, "gpu_cost"])
    assert pb["gpu_cost"].sum() == pytest.approx(p.loc[~even, "gpu_cost"].sum() + pb.loc[even, "gpu_cost"].sum())


def test_unpriced_pool_is_an_error_not_a_zero(october):
    from finops_forecast.pricing import load_pricing
    cat = load_pricing("aws")
    with pytest.raises(PricingError, match="no on_demand price") as exc:
        price_usage(october, cat)
    assert "a3-highgpu-8g" in str(exc.value)
    with pytest.raises(PricingError, match="no catalog"):
        price_usage(october, None)


def test_breakdown_and_top_drivers_add_up(october, catalog):
    p = price_usage(october, catalog)
    total = p["gpu_cost"].sum()
    for by in (["team"], ["team", "workload_class"], ["workload_class"]):
        b = breakdown(p, by=by)
        assert b["gpu_cost"].sum() == pytest.approx(total) and b["share"].sum() == pytest.approx(1)
    by_model = breakdown(p, by=["team", "model"])
    assert (by_model["model"] == UNALLOCATED).all()  # never spread over models silently
    w = breakdown(p, by=["team"], freq="W")
    assert w.groupby("week")["share"].sum().round(9).eq(1).all()
    top = top_cost_drivers(p, n=5)
    assert top["rank"].tolist() == [1, 2, 3, 4, 5] and top["gpu_cost"].is_monotonic_decreasing
    direct = p.groupby(["team", "provider", "region", "instance_type", "workload_class"])["gpu_cost"].sum()
    assert top["gpu_cost"].iloc[0] == pytest.approx(direct.max())


def test_runs_costs_and_weekly_unit_costs(data_dir, catalog):
    runs = read_runs(data_dir / "runs.csv")
    rc = run_costs(runs, catalog)
    raw = pd.read_csv(data_dir / "runs.csv")
    hours = (pd.to_datetime(raw["end"]) - pd.to_datetime(raw["start"])).dt.total_seconds() / 3600
    rates = [gpu_rate(catalog, r.provider, r.region, r.instance_type) for r in raw.itertuples()]
    assert np.allclose(rc["cost_usd"], hours * raw["gpus"] * rates)
    assert set(rc["model_family"]) == {"llm-7b", "ranker"}
    uc = weekly_unit_costs(rc)
    per_run = uc[(uc["metric"] == "cost_per_run") & (uc["team"] == "applied-ml")].sort_values("week")
    assert per_run["value"].tolist() == pytest.approx(rc[rc["team"] == "applied-ml"]["cost_usd"].tolist())
    assert per_run["wow_change"].iloc[1] == pytest.approx(per_run["value"].iloc[1] / per_run["value"].iloc[0] - 1)
    assert np.isnan(per_run["wow_change"].iloc[0])


def test_overlapping_run_records_are_an_error(data_dir):
    raw = pd.read_csv(data_dir / "runs.csv", dtype=str, keep_default_na=False)
    dup = raw.iloc[[0]].assign(start="2026-09-07T05:00:00Z", end="2026-09-07T12:00:00Z")
    bad = pd.concat([raw, dup], ignore_index=True)
    with pytest.raises(ShowbackError, match="overlapping records") as exc:
        read_runs(bad)
    assert "r101" in str(exc.value) and exc.value.row == len(bad) and "rows 1 and 8" in str(exc.value)
    # a restarted run whose records follow each other is fine and sums its GPU-hours
    ok = pd.concat([raw, raw.iloc[[0]].assign(start="2026-09-07T10:00:00Z", end="2026-09-07T11:00:00Z")])
    r = read_runs(ok)
    assert r.loc[r["run_id"] == "r101", "gpu_hours"].sum() == pytest.approx(64 * 11)
    back = raw.assign(end=raw["end"].where(raw.index != 2, "2026-09-20T00:00:00Z"))
    with pytest.raises(ShowbackError, match="ends before it starts") as exc:
        read_runs(back)
    assert exc.value.row == 3


def test_running_runs_cost_up_to_now(data_dir, catalog):
    raw = pd.read_csv(data_dir / "runs.csv", dtype=str, keep_default_na=False)
    raw.loc[6, "end"] = ""
    runs = read_runs(raw, now="2026-10-13T10:00:00Z")
    r = runs.iloc[6]
    assert r["running"] and r["hours"] == pytest.approx(2.0)


def test_cost_per_inference_and_orphan_requests(october, catalog, data_dir):
    p = price_usage(october, catalog)
    req = pd.read_csv(data_dir / "requests.csv", dtype=str)
    out = cost_per_inference(p, req)
    a = out[(out["name"] == "assistant-serving")].sort_values("week").reset_index(drop=True)
    wk = p[(p["team"] == "assistant-serving") & (p["workload_class"] == "inference")]
    first = pd.Timestamp("2026-09-28", tz="UTC")
    cost = wk[(wk["ts"] >= first) & (wk["ts"] < first + pd.Timedelta(days=7))]["gpu_cost"].sum()
    assert a["usd_per_1k_inferences"].iloc[0] == pytest.approx(cost / 410e6 * 1000)
    assert a["wow_change"].iloc[1] == pytest.approx(a["usd_per_1k_inferences"].iloc[1]
                                                    / a["usd_per_1k_inferences"].iloc[0] - 1)
    # requests for a model with no serving cost: an error naming it, its row and the closest name
    bad = pd.concat([req, pd.DataFrame([{"ts": "2026-10-06T00:00:00Z", "team": "asistant-serving",
                                         "requests": "5"}])], ignore_index=True)
    with pytest.raises(ShowbackError, match="asistant-serving") as exc:
        cost_per_inference(p, bad)
    assert "Did you mean 'assistant-serving'" in str(exc.value) and exc.value.row == len(bad)
    with pytest.raises(ShowbackError, match="no 'model' column"):
        cost_per_inference(p, req.rename(columns={"team": "model"}))
    with_model = p.assign(model=np.where(p["team"] == "assistant-serving", "chat-v2", UNALLOCATED))
    req_m = req[req["team"] == "assistant-serving"].rename(columns={"team": "model"}).assign(model="chat-v2")
    by_model = cost_per_inference(with_model, req_m)
    assert np.allclose(by_model["usd_per_1k_inferences"], a["usd_per_1k_inferences"])


def test_week_over_week_skips_missing_weeks():
    w = pd.DataFrame({"week": pd.to_datetime(["2026-10-05", "2026-10-12", "2026-10-26"], utc=True),
                      "k": "a", "value": [10.0, 15.0, 30.0]})
    out = week_over_week(w, ["k"])
    assert np.isnan(out["wow_change"].iloc[0]) and out["wow_change"].iloc[1] == pytest.approx(0.5)
    assert np.isnan(out["wow_change"].iloc[2])  # no value the week before


def test_attribute_runs_conserves_cost_and_keeps_the_rest_unallocated(october, catalog, data_dir):
    from finops_forecast.showback.units import attribute_runs
    p = price_usage(october, catalog)
    runs = read_runs(data_dir / "runs.csv")
    a = attribute_runs(p, runs)
    assert a["gpu_cost"].sum() == pytest.approx(p["gpu_cost"].sum())
    assert a["gpu_hours"].sum() == pytest.approx(p["gpu_hours"].sum())
    in_window = runs[runs["start"] >= october["ts"].min()]
    got = a[a["run_id"] != UNALLOCATED].groupby("run_id")["gpu_hours"].sum()
    assert got.sort_index().to_numpy() == pytest.approx(in_window.set_index("run_id")["gpu_hours"]
                                                        .sort_index().to_numpy())
    r104 = a[a["run_id"] == "r104"]
    assert r104["gpu_cost"].sum() == pytest.approx(64 * 10.5 * gpu_rate(catalog, "aws", "us-east-1", "p5.48xlarge"))
    assert set(a.loc[a["run_id"] == UNALLOCATED, "model"]) == {UNALLOCATED}


def test_runs_claiming_more_than_the_usage_are_an_error(october, catalog, data_dir):
    from finops_forecast.showback.units import attribute_runs
    p = price_usage(october, catalog)
    raw = pd.read_csv(data_dir / "runs.csv", dtype=str, keep_default_na=False)
    # two different runs on the same 2,000 GPUs at once: more than the team's usage that hour
    big = pd.concat([raw, raw.iloc[[3]].assign(run_id="r104b", gpus="2000"),
                     raw.iloc[[3]].assign(run_id="r104c", gpus="2000")], ignore_index=True)
    with pytest.raises(ShowbackError, match="r104b, r104c") as exc:
        attribute_runs(p, read_runs(big))
    assert "2026-10-05 00:00:00+00:00" in str(exc.value) and "team foundation-research" in str(exc.value)
    wrong_team = raw.assign(team=raw["team"].replace("applied-ml", "applied-m1"))
    with pytest.raises(ShowbackError, match="applied-m1"):
        attribute_runs(p, read_runs(wrong_team))


def test_focus_export_costs_match_the_bill(catalog):
    """A real FOCUS 1.0 sample (tests/data/focus): showback totals equal the export's effective cost."""
    from pathlib import Path

    from finops_forecast.usage.readers import read_focus
    usage, rec = read_focus(Path(__file__).resolve().parents[1] / "data" / "focus" / "focus_sample_1.0.csv")
    p = price_usage(usage, catalog)
    assert (p["cost_source"] == "bill:effective_cost").all()
    assert p["gpu_cost"].sum() == pytest.approx(rec.totals.loc["output", "effective_cost"])
    billed = price_usage(usage, catalog, bill_column="billed_cost")
    assert billed["gpu_cost"].sum() == pytest.approx(rec.totals.loc["output", "billed_cost"])
    assert breakdown(p, by=["team"])["gpu_cost"].sum() == pytest.approx(usage["effective_cost"].sum())
