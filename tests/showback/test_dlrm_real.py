"""Per-application showback on the real Alibaba GPU-disaggregated DLRM trace (read from ../shared, not copied).

The trace has allocations (GPU instances with creation and deletion times), not utilization: these tests check
what it can show (per-application GPU-hours and cost, top drivers, week-over-week change) and that the idle
functions refuse it rather than invent idle time.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from finops_forecast.showback.api import showback
from finops_forecast.showback.cli import register
from finops_forecast.showback.common import ShowbackError
from finops_forecast.showback.dlrm import DEFAULT_POOL, dlrm_usage, read_dlrm
from finops_forecast.showback.idle import idle_cost, idle_resources

from .conftest import gpu_rate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trace_dir(datasets):
    path = datasets / "demand" / "alibaba-dlrm"
    if not (path / "disaggregated_DLRM_trace.csv").exists():
        pytest.fail(f"the DLRM trace is missing from {path}; clone the shared datasets beside the repository or "
                    f"set FINOPS_SHARED_DATASETS.")
    return path


@pytest.fixture(scope="module")
def dlrm(trace_dir):
    inst = read_dlrm(trace_dir / "disaggregated_DLRM_trace.csv")
    return inst, dlrm_usage(inst, start="2026-10-01")


def test_trace_gpu_hours_are_conserved_and_match_the_hourly_demand(dlrm, trace_dir):
    inst, usage = dlrm
    raw = pd.read_csv(trace_dir / "disaggregated_DLRM_trace.csv")
    hn = raw[raw["role"] == "HN"]
    assert len(inst) == len(hn) and inst["app_name"].nunique() == hn["app_name"].nunique()
    assert usage["gpu_hours"].sum() == pytest.approx(((inst["end_s"] - inst["start_s"]) * inst["gpus"]).sum() / 3600)
    hourly = pd.read_csv(trace_dir / "dlrm_hourly_gpu_demand.csv")
    ours = usage.groupby("ts")["gpu_hours"].sum()
    assert ours.mean() == pytest.approx(hourly["gpus_total"].mean(), rel=0.01)
    top = usage.groupby("team")["gpu_hours"].sum()
    assert top.idxmax() == "app_0"
    assert top["app_0"] / len(ours) == pytest.approx(hourly["gpus_app_0"].mean(), rel=0.02)


def test_per_application_showback(dlrm, catalog):
    _, usage = dlrm
    res = showback(usage, catalog, period="2026-10")
    rate = gpu_rate(catalog, *DEFAULT_POOL)
    oct_ = usage[usage["ts"] < "2026-11-01"]
    assert res.total_cost == pytest.approx(oct_["gpu_hours"].sum() * rate)
    direct = oct_.groupby("team")["gpu_hours"].sum().sort_values(ascending=False) * rate
    assert res.top_drivers["team"].tolist() == direct.index[:10].tolist()
    assert res.top_drivers["gpu_cost"].to_numpy() == pytest.approx(direct.to_numpy()[:10])
    assert len(res.statements) == usage["team"].nunique() and res.unallocated_cost == 0
    assert res.statements["text"].str.contains("inference costs|model costs", regex=True).all()
    # 2026-10-01 is a Thursday: the week-over-week change exists only between whole weeks (12 and 19 Oct)
    changed = res.weekly.dropna(subset=["wow_change"])
    assert set(changed["week"].dt.strftime("%m-%d")) == {"10-12", "10-19"}
    wk = usage.assign(week=usage["ts"].dt.floor("D") - pd.to_timedelta(usage["ts"].dt.day_of_week, unit="D"))
    per = wk.groupby(["week", "team"])["gpu_hours"].sum().unstack(fill_value=np.nan)
    w12 = per.loc[pd.Timestamp("2026-10-12", tz="UTC")] / per.loc[pd.Timestamp("2026-10-05", tz="UTC")] - 1
    got = changed[changed["week"] == pd.Timestamp("2026-10-12", tz="UTC")].set_index("team")["wow_change"]
    assert got.to_numpy() == pytest.approx(w12[got.index].to_numpy())
    assert res.idle is None and any("idle" in n for n in res.notes)


def test_the_trace_cannot_show_idle_gpus(dlrm, catalog):
    _, usage = dlrm
    with pytest.raises(ShowbackError, match="allocation trace"):
        idle_cost(usage.head(100), catalog)
    with pytest.raises(ShowbackError, match="cannot show idle GPUs"):
        idle_resources(usage.head(100))


def test_cli_on_the_trace(datasets, monkeypatch):
    monkeypatch.setenv("FINOPS_SHARED_DATASETS", str(datasets))
    app = typer.Typer()
    register(app)

    @app.callback()
    def main():
        pass
    r = CliRunner().invoke(app, ["showback", "--period", "2026-10", "--usage", "dlrm", "--top", "5"])
    assert r.exit_code == 0, r.output
    assert "app_0" in r.output and "DLRM trace" in r.output and "Top 5 cost drivers" in r.output
