"""The quarterly report rendered for real: papermill with a real kernel, nbconvert, files in place, and the
HTML opened offline in headless Chromium."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pandas as pd
import pytest

from finops_forecast.report.params import ReportParams
from finops_forecast.report.render import ReportError, external_references, render_report

pytestmark = pytest.mark.slow

SMALL = {"n_paths": 20, "history_days": 30, "quarters": 4, "track_record_weeks": 2}
SECTIONS = ["Recommendation", "Why: demand history", "Why: the forecast", "The portfolio over the next quarters",
            "How much to commit, and at what risk", "What the clouds' own rule would buy",
            "Track record on your recent usage",
            "Unit economics and showback", "Assumptions and pricing provenance"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The sample's next quarter, rendered with the usage read once: by the notebook, which resolves "next"
    (this process must not load it to name the folder)."""
    from finops_forecast.report import analysis

    def refuse(params):
        raise AssertionError("render_report loaded the usage itself; the notebook loads it (once)")

    root = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analysis, "load_report_usage", refuse)
        return render_report(ReportParams.from_mapping(SMALL), output_root=root)


def test_report_on_the_sample(rendered):
    assert rendered.folder.name == "2027Q1"
    names = {p.name for p in rendered.files}
    assert {"report.html", "quarterly_commitment_report.ipynb", "recommendations.csv", "plan.json"} <= names
    html = rendered.html.read_text()
    assert "GPU commitment report 2027Q1" in html
    for section in SECTIONS:
        assert section in html, section
    # history, fan, stack, ladder, savings curve, frontier, cost by team, weekly cost: eight charts, embedded
    assert html.count("data:image/svg+xml") >= 8
    assert external_references(html) == [] and "<script" not in html
    # tables wider than the page (the recommendation table has 20 columns) scroll inside it instead of spilling
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    assert re.search(r"table \{[^}]*overflow-x: auto", style)
    assert "commitment [USD/h]" in html  # the recommendation table
    # the reader is told how the forecast's models were chosen, and each term's reason is shown whole
    assert re.search(r"Models compared per series by backtests 91 days ahead \(4 windows at most\); chosen: "
                     r"[a-z_]+ for \d+", html)
    assert "1-year terms renewed yearly at the expected rates" in html
    rec = pd.read_csv(rendered.folder / "recommendations.csv")
    assert len(rec) >= 1 and (rec["quantity"] > 0).all() and (rec["quarter"] == 0).all()
    # the first paragraph names the six largest lines and sums up the rest (the table lists every line)
    first = re.search(r"For <strong>2027Q1</strong>, buy (.*?)</p>", html, re.S).group(1)
    lines = rec[rec["run"].isna()] if "run" in rec else rec  # the commitment lines, not the capacity for runs
    if len(lines) > 6:
        rest = lines.sort_values("commitment_usd_per_hour", ascending=False).iloc[6:]
        assert (f"and {len(rest)} smaller line{'s' if len(rest) > 1 else ''} of "
                f"{rest['commitment_usd_per_hour'].sum():,.0f} USD/h together") in first
    assert first.count(" months, ") == min(len(lines), 6)
    assert "-" not in re.search(r"The clouds' lookback rule would cost ([^.]*)\.", first).group(1)
    # each 3-year line's reason says which price cut would make waiting a year win, and how likely the outlook
    # makes it
    assert re.search(r"at steady demand waiting \(a 1-year term now, then 3 years at the new rate\) would win only "
                     r"if new commitment rates fell by \d+% or more before the first renewal", html)
    plan = json.loads((rendered.folder / "plan.json").read_text())
    assert plan["quarter"] == "2027Q1" and plan["summary"]["status"] == "optimal"
    assert len(plan["term_reasons"]) == len(plan["plan"]["buy_now"] if "buy_now" in plan["plan"] else
                                            [p for p in plan["plan"]["purchases"] if p["quarter"] == 0])
    assert {r["verdict"] for r in plan["term_reasons"]} <= {"outlives", "expected", "review", "short", "dated"}
    assert plan["parameters"]["quarter"] == "2027Q1"  # the quarter run, "next" resolved
    assert plan["summary"]["quarter_expected_cost_usd"] < plan["summary"]["quarter_on_demand_cost_usd"]
    assert [r["policy"] for r in plan["comparison"]][:2] == ["this plan", "cloud lookback rule"]
    nb = json.loads(rendered.notebook.read_text())
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in nb["cells"])


def test_report_opens_offline_in_chromium_with_charts(rendered, tmp_path):
    """Headless Chromium with every network request sent to a dead proxy: the page and its charts render."""
    from PIL import Image

    chromium = shutil.which("chromium")
    assert chromium, "Chromium is missing: run `make browser` (Debian package 'chromium')."
    shot = tmp_path / "report.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,5000",
                    f"--screenshot={shot}", rendered.html.as_uri()], check=True, capture_output=True, timeout=120)
    import numpy as np

    px = np.asarray(Image.open(shot).convert("RGB"), dtype=int).reshape(-1, 3)
    # the charts' dark blue (#1f4e79) must cover a real area: a blank or broken chart would not
    blue = int((np.abs(px - [0x1F, 0x4E, 0x79]) < 25).all(axis=1).sum())
    assert blue > 20_000, f"only {blue} chart-blue pixels: the charts did not render"
    assert (px != 255).any(axis=1).mean() > 0.05


@pytest.mark.parametrize("quarter", ["2027Q1", "next"])
def test_failed_run_keeps_its_notebook_and_the_last_good_report(rendered, tmp_path, quarter):
    """Also for "next": the failed run's notebook goes to the quarter after the usage's last hour."""
    root = rendered.folder.parent
    before = rendered.html.read_text()
    bad_usage = tmp_path / "usage.csv"
    # a valid usage table whose pool has no price in the catalog: the analysis cell fails
    bad_usage.write_text("ts,provider,region,instance_type,workload_class,team,gpu_hours\n"
                         "2026-12-01 00:00:00,aws,mars-north-1,p5.48xlarge,training,x,8\n")
    with pytest.raises(ReportError) as exc:
        render_report(ReportParams.from_mapping({**SMALL, "usage": str(bad_usage), "quarter": quarter}),
                      output_root=root)
    assert "mars-north-1" in str(exc.value)
    failed = exc.value.failed_notebook
    assert failed.exists() and failed.parent == root / "2027Q1" and failed.name.startswith("failed-")
    assert rendered.html.read_text() == before  # untouched
    assert not list(root.glob(".tmp-*"))


@pytest.mark.parametrize("params, fragment", [
    ({"quater": "2027Q1"}, "unknown parameter 'quater'"),
    ({"quarter": "2027Q5"}, "'2027Q5' is not a quarter"),
    ({"usage": "/no/such.csv"}, "parameter 'usage'"),
    ({"budget_usd": -1.0}, "parameter 'budget_usd'"),
])
def test_bad_parameter_fails_in_the_validation_cell(tmp_path, params, fragment):
    import papermill as pm

    from finops_forecast.report.render import notebook_path
    with pytest.raises(pm.PapermillExecutionError) as exc:
        pm.execute_notebook(str(notebook_path()), str(tmp_path / "out.ipynb"), parameters=params,
                            cwd=str(tmp_path), progress_bar=False)
    assert fragment in str(exc.value.evalue)
    assert exc.value.exec_count == 3  # the validation cell, right after the parameters and the injected cell


def test_demand_explorer_notebook(tmp_path):
    import papermill as pm

    from finops_forecast.report.render import notebook_path
    out = tmp_path / "explorer.ipynb"
    pm.execute_notebook(str(notebook_path("demand_explorer")), str(out), parameters={"by": "team", "days": 14},
                        cwd=str(tmp_path), progress_bar=False)
    nb = json.loads(out.read_text())
    images = [o for c in nb["cells"] for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {})]
    assert len(images) == 2
    with pytest.raises(pm.PapermillExecutionError, match="parameter 'by'"):
        pm.execute_notebook(str(notebook_path("demand_explorer")), str(tmp_path / "bad.ipynb"),
                            parameters={"by": "teem"}, cwd=str(tmp_path), progress_bar=False)


def test_notebooks_are_committed_without_outputs():
    from tests.conftest import REPO
    for path in (REPO / "notebooks").glob("*.ipynb"):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            assert not cell.get("outputs") and not cell.get("execution_count"), path.name
