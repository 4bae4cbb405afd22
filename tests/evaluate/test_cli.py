"""``finops-forecast backtest`` as a user runs it: JSON schema, pool mapping, one-line errors."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from finops_forecast.cli import app

from .conftest import make_usage

runner = CliRunner()
FAST_ARGS = ["--decision-every", "3D", "--term", "3D", "--lookback", "7D", "--warmup", "7D", "--n-paths", "20"]


@pytest.fixture(scope="module")
def usage_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "usage.csv"
    make_usage(days=20).to_csv(path, index=False)
    return path


def test_backtest_json(usage_csv, tmp_path):
    out = tmp_path / "bt.json"
    r = runner.invoke(app, ["backtest", str(usage_csv), "--policies", "forecast,lookback,hindsight",
                            *FAST_ARGS, "--json", str(out)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "savings capture" in r.output and "lookback" in r.output
    d = json.loads(out.read_text())
    assert set(d) >= {"policies", "windows", "settings"}
    assert set(d["policies"]) == {"forecast", "lookback", "hindsight"}
    for p in d["policies"].values():
        assert {"cost_usd", "on_demand_cost_usd", "savings_usd", "effective_savings_rate",
                "savings_capture"} <= set(p)
        assert p["savings_usd"] == pytest.approx(p["on_demand_cost_usd"] - p["cost_usd"])
    assert d["policies"]["hindsight"]["savings_capture"] == pytest.approx(1.0)
    # 20 days: a 7-day warm-up then four 3-day windows, one row per policy and window
    assert d["settings"]["windows"] == 4 and len(d["windows"]) == 12
    assert d["settings"]["decision_every"] == 72 and d["settings"]["term"] == 72
    assert {"policy", "window", "start", "end", "cost_usd", "savings_capture"} <= set(d["windows"][0])


def test_backtest_maps_a_table_onto_one_pool(tmp_path):
    u = make_usage(days=17)
    u = u[u["workload_class"] == "inference"].assign(provider="alibaba", region="cn", instance_type="dlrm-gpu")
    path = tmp_path / "trace.parquet"
    u.to_parquet(path)
    out = tmp_path / "bt.json"
    r = runner.invoke(app, ["backtest", str(path), "--provider", "aws", "--region", "us-east-1",
                            "--instance-type", "g5.xlarge", "--policies", "lookback,hindsight", *FAST_ARGS,
                            "--json", str(out)])
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["settings"]["pools"][0]["instance_type"] == "g5.xlarge"
    assert d["policies"]["lookback"]["savings_usd"] > 0


@pytest.mark.parametrize("args, needle", [
    (["--decision-every", "3X"], "decision_every must be a duration"),
    (["--policies", "forecast,lokback"], "Did you mean 'lookback'"),
    (["--provider", "aws"], "go together"),
    (["--provider", "aws", "--region", "mars-1", "--instance-type", "p4d.24xlarge"], "aws mars-1 p4d.24xlarge"),
    (["--lookback", "30D"], "needs warmup"),
])
def test_bad_input_is_one_line(usage_csv, args, needle):
    r = runner.invoke(app, ["backtest", str(usage_csv), *args])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], r.output


def test_missing_file_and_unpriced_rows(tmp_path):
    r = runner.invoke(app, ["backtest", str(tmp_path / "nope.csv")])
    assert r.exit_code == 2 and "does not exist" in r.output
    u = make_usage(days=12)
    u.loc[u["instance_type"] == "g6.xlarge", "region"] = "eu-nowhere-1"
    path = tmp_path / "u.csv"
    u.to_csv(path, index=False)
    r = runner.invoke(app, ["backtest", str(path)])
    assert r.exit_code == 2 and "eu-nowhere-1 g6.xlarge" in r.output and "price" in r.output


@pytest.mark.slow
@pytest.mark.parametrize("days, args", [(5, []), (20, ["--lookback", "30D"]), (3, ["--decision-every", "7D"])])
def test_following_the_short_trace_suggestion_succeeds(tmp_path, days, args):
    """A trace too short for the settings: the error suggests durations that fit it, and they work."""
    import re

    path = tmp_path / "short.csv"
    make_usage(days=days).to_csv(path, index=False)
    base = ["backtest", str(path), "--policies", "forecast,lookback,hindsight", "--n-paths", "10"]
    r = runner.invoke(app, [*base, *args], env={"COLUMNS": "250"})
    assert r.exit_code == 2, r.output
    fix = re.search(r"CLI: (--warmup \S+ --lookback \S+ --decision-every \S+)\)", " ".join(r.output.split()))
    assert fix, r.output
    r = runner.invoke(app, [*base, *args, *fix.group(1).split(), "--json", str(tmp_path / "bt.json")],
                      env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "bt.json").read_text())["settings"]["windows"] == 2
