"""The showback orchestrator, the report section, the parameter validator and the CLI."""
from __future__ import annotations

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from finops_forecast.errors import UnknownNameError
from finops_forecast.showback.api import period_bounds, report_section, showback
from finops_forecast.showback.cli import register
from finops_forecast.showback.common import ShowbackError
from finops_forecast.showback.params import validate_params


@pytest.fixture(scope="module")
def full(sample_usage, catalog, attributed, data_dir):
    from finops_forecast.showback.units import read_runs
    req = pd.read_csv(data_dir / "requests.csv", dtype=str)
    return showback(sample_usage, catalog, period="2026-10", metrics=attributed,
                    runs=read_runs(data_dir / "runs.csv"), requests=req)


def test_showback_totals_and_statements(full, sample_usage, catalog):
    from finops_forecast.showback.priced import price_usage
    p = price_usage(sample_usage, catalog)
    oct_ = p[(p["ts"] >= "2026-10-01") & (p["ts"] < "2026-11-01")]
    assert full.total_cost == pytest.approx(oct_["gpu_cost"].sum())
    assert full.by_team["gpu_cost"].sum() == pytest.approx(full.total_cost)
    assert full.statements["usd_per_month"].sum() == pytest.approx(full.total_cost)  # a whole month
    s = full.statements.set_index("team")
    assist = s.loc["assistant-serving"]
    assert "USD/month to serve" in assist["text"] and "USD per prediction" in assist["text"]
    inf = full.inference[full.inference["name"] == "assistant-serving"]
    assert assist["usd_per_prediction"] == pytest.approx(inf["gpu_cost"].sum() / inf["requests"].sum())
    assert full.idle_share == pytest.approx(full.idle["gpu_cost_idle"].sum() / full.idle["gpu_cost"].sum())
    kinds = set(full.flags["kind"])
    assert kinds == {"run_overrun", "unit_cost_rise"}
    assert full.rightsizing["model"].tolist() == ["fraud-model"]
    # weekly: the change only between whole weeks; the week of 26 Oct runs past the sample's end
    last = full.weekly[full.weekly["week"] == pd.Timestamp("2026-10-26", tz="UTC")]
    assert last["wow_change"].isna().all() and (last["hours"] < 168).all()
    mid = full.weekly[full.weekly["week"] == pd.Timestamp("2026-10-12", tz="UTC")].set_index("team")
    prev = full.weekly[full.weekly["week"] == pd.Timestamp("2026-10-05", tz="UTC")].set_index("team")
    assert mid["wow_change"].to_numpy() == pytest.approx((mid["gpu_cost"] / prev["gpu_cost"] - 1).to_numpy())
    assert "Idle share" in full.summary()
    # cost by model: from the run records, the rest __unallocated__, adding up to the total
    assert {"llm-7b-v4", "ranker-v7", "__unallocated__"} <= set(full.by_model["model"])
    assert full.by_model["gpu_cost"].sum() == pytest.approx(full.total_cost)


def test_raw_run_file_is_validated(sample_usage, catalog, data_dir, full):
    res = showback(sample_usage, catalog, period="2026-10", runs=data_dir / "runs.csv")
    assert res.runs["cost_usd"].tolist() == pytest.approx(full.runs["cost_usd"].tolist())


def test_unallocated_usage_is_a_line_not_spread(sample_usage, catalog):
    u = sample_usage[(sample_usage["ts"] >= "2026-10-01")].copy()
    untagged = u["team"] == "data-science"
    u.loc[untagged, "team"] = "__unallocated__"
    res = showback(u, catalog, period="2026-10")
    assert res.unallocated_cost == pytest.approx(res.by_team.loc[res.by_team["team"] == "__unallocated__",
                                                                 "gpu_cost"].sum())
    assert res.unallocated_cost > 0
    assert res.statements["text"].str.startswith("Unallocated usage").any()


def test_period_errors(sample_usage, catalog):
    assert period_bounds("2026Q4") == (pd.Timestamp("2026-10-01", tz="UTC"), pd.Timestamp("2027-01-01", tz="UTC"))
    with pytest.raises(ShowbackError, match="not a month"):
        period_bounds("October")
    with pytest.raises(ShowbackError, match="no usage in period 2027-03"):
        showback(sample_usage, catalog, period="2027-03")


def test_report_section(sample_usage, catalog):
    tables, charts = report_section(sample_usage, catalog, period="2026Q3")
    assert {"summary", "statements", "by_team", "top_drivers", "weekly", "flags"} <= set(tables)
    assert tables["summary"]["total_cost_usd"].iloc[0] == pytest.approx(tables["by_team"]["gpu_cost"].sum())
    # a quarter: USD/month is a third of the quarter's cost
    assert tables["statements"]["usd_per_month"].sum() == pytest.approx(tables["by_team"]["gpu_cost"].sum() / 3)
    assert {"weekly_cost", "cost_by_team"} <= set(charts)
    for chart in charts.values():
        spec = chart.to_dict()
        assert spec["data"] or spec["datasets"]


def test_params_validator():
    p = validate_params({"period": "2026-10", "top": 5.0, "idle_threshold_pct": "7"})
    assert p.top == 5 and p.idle_threshold_pct == 7.0
    with pytest.raises(UnknownNameError, match="Did you mean 'period'"):
        validate_params({"perod": "2026-10"})
    with pytest.raises(ShowbackError, match="idle_threshold_pct = 150"):
        validate_params(idle_threshold_pct=150)
    with pytest.raises(ShowbackError, match="inventory"):
        validate_params(metrics="m.prom")
    with pytest.raises(ShowbackError, match="not a whole number"):
        validate_params(top=2.5)
    ns = {"period": "2026-10", "pd": pd, "In": [], "_x": 1, "validate_params": validate_params,
          "params": p, "result": object()}  # the notebook's own variables, when its cells are re-run
    assert validate_params(ns).period == "2026-10"  # modules, callables and private names are not parameters


def _app():
    app = typer.Typer()
    register(app)

    @app.callback()
    def main():  # a group, so the command is invoked by name as in finops-forecast
        pass
    return app


def test_cli_showback_with_metrics_runs_and_requests(data_dir, tmp_path):
    d = data_dir
    args = ["showback", "--period", "2026-10",
            "--metrics", f"{d / 'dcgm_metrics.prom'},{d / 'dcgm_metrics.csv'},{d / 'nvidia_smi_gpu-node-2.csv'}",
            "--inventory", str(d / "gpu_inventory.csv"), "--owners", str(d / "pod_owners.csv"),
            "--runs", str(d / "runs.csv"), "--requests", str(d / "requests.csv"), "--out", str(tmp_path)]
    r = CliRunner().invoke(_app(), args)
    assert r.exit_code == 0, r.output
    out = r.output
    for text in ("GPU showback 2026-10", "idle share of metered GPUs", "Top 10 cost drivers",
                 "Idle cost (allocated but unused GPU-hours)", "rightsizing: team risk", "flag:", "r105",
                 "Cost per 1,000 inferences"):
        assert text in out, text
    written = {p.name for p in tmp_path.iterdir()}
    assert "showback_2026-10_by_team.csv" in written and "showback_2026-10_idle_resources.csv" in written
    by_team = pd.read_csv(tmp_path / "showback_2026-10_by_team.csv")
    assert by_team["share"].sum() == pytest.approx(1)


def test_cli_errors_are_one_line_exit_2(data_dir):
    r = CliRunner().invoke(_app(), ["showback", "--period", "2026-13"])
    assert r.exit_code == 2 and "error:" in r.output and "not a month" in r.output
    r = CliRunner().invoke(_app(), ["showback", "--period", "2026-10", "--metrics", str(data_dir / "runs.csv")])
    assert r.exit_code == 2 and "inventory" in r.output
    r = CliRunner().invoke(_app(), ["showback", "--period", "2026-10", "--usage", "nope.csv"])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_usage_file_with_a_model_column_keeps_team_and_model_apart(tmp_path):
    from finops_forecast.showback.io import read_usage_any

    path = tmp_path / "usage.csv"
    path.write_text("ts,provider,region,instance_type,workload_class,team,gpu_hours,model\n"
                    "2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,inference,serving,8,llama-70b\n"
                    "2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,inference,serving,4,bert\n"
                    "2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,inference,,2,bert\n"
                    "2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,inference,serving,1,\n")
    usage = read_usage_any(path)
    # an empty team is __unallocated__ (not the model's name), an empty model is __unallocated__ (not NaN)
    assert sorted(zip(usage["team"], usage["model"])) == [
        ("__unallocated__", "bert"), ("serving", "__unallocated__"), ("serving", "bert"), ("serving", "llama-70b")]
