"""Guardrails: estimates from similar runs, overrun flags, unit-cost rise flags; each names team, run, numbers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.showback.common import ShowbackError
from finops_forecast.showback.guardrails import estimate_run_cost, flag_overruns, flag_unit_cost_rises
from finops_forecast.showback.units import read_runs, run_costs


@pytest.fixture(scope="module")
def costed(data_dir, catalog):
    return run_costs(read_runs(data_dir / "runs.csv"), catalog)


def test_estimate_from_similar_past_runs(costed):
    new = {"run_id": "new", "model_family": "llm-7b", "gpu_type": "H100", "gpus": 128, "usd_per_gpu_hour": 6.88,
           "start": pd.Timestamp("2026-11-01", tz="UTC")}
    est = estimate_run_cost(costed, new)
    past = costed[costed["model_family"] == "llm-7b"]
    assert est.basis == "family+gpu_type" and est.n_similar == len(past)  # 64-GPU runs are another size bucket
    assert est.estimate_usd == pytest.approx(np.median(past["hours"]) * 128 * 6.88)
    assert est.p90_usd >= est.estimate_usd
    same_size = estimate_run_cost(costed, {**new, "gpus": 64})
    assert same_size.basis == "family+gpu_type+size"
    # only runs that ended before the new one starts count
    early = estimate_run_cost(costed, {**new, "gpus": 64, "start": pd.Timestamp("2026-09-22", tz="UTC")})
    assert early.n_similar == 3 and set(early.similar_run_ids) == {"r101", "r102", "r103"}
    with pytest.raises(ShowbackError, match="no finished past run of model family 'gpt-x'"):
        estimate_run_cost(costed, {**new, "model_family": "gpt-x"})


def test_overrun_flag_names_team_run_and_numbers(costed):
    flags = flag_overruns(costed)
    assert flags["run_id"].tolist() == ["r105"]
    f = flags.iloc[0]
    earlier = costed[costed["run_id"].isin(["r101", "r102", "r103", "r104"])]
    est = np.median(earlier["gpu_hours"] / earlier["gpus"]) * 64 * earlier["usd_per_gpu_hour"].iloc[0]
    assert f["reference"] == pytest.approx(est) and f["ratio"] == pytest.approx(f["value"] / est)
    assert f["ratio"] > 3
    for part in ("foundation-research", "r105", f"{f['value']:,.0f} USD", f"{est:,.0f} USD"):
        assert part in f["message"]
    # just under the factor: no flag
    assert flag_overruns(costed, factor=f["ratio"] + 0.01).empty
    assert flag_overruns(costed, factor=f["ratio"] - 0.01)["run_id"].tolist() == ["r105"]


def test_unit_cost_rise_flag_threshold():
    weeks = pd.to_datetime(["2026-10-05", "2026-10-12", "2026-10-19"], utc=True)
    w = pd.DataFrame({"week": weeks, "key": "model", "name": "fraud-model", "team": "risk",
                      "usd_per_1k_inferences": [1.00, 1.19, 1.45]})
    from finops_forecast.showback.units import week_over_week
    w = week_over_week(w, ["key", "name"], value="usd_per_1k_inferences")
    flags = flag_unit_cost_rises(w, threshold=0.20)
    assert len(flags) == 1  # +19% is not flagged, +21.8% is
    msg = flags["message"].iloc[0]
    assert "team risk" in msg and "fraud-model" in msg and "1.45" in msg and "1.19" in msg and "2026-10-19" in msg
    assert flags["ratio"].iloc[0] == pytest.approx(1.45 / 1.19)
