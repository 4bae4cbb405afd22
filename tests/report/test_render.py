"""The quarterly report rendered for real: papermill with a real kernel, nbconvert, files in place."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from finops_forecast.report.params import ReportParams
from finops_forecast.report.render import ReportError, external_references, render_report

pytestmark = pytest.mark.slow

SMALL = {"n_paths": 20, "history_days": 30}


def test_report_on_the_sample(tmp_path):
    result = render_report(ReportParams.from_mapping(SMALL), output_root=tmp_path)
    assert result.folder == tmp_path / "2027Q1"
    names = {p.name for p in result.files}
    assert {"report.html", "quarterly_commitment_report.ipynb", "recommendations.csv", "plan.json"} <= names
    html = result.html.read_text()
    assert "GPU commitment report 2027Q1" in html and "Recommendation" in html
    assert html.count("data:image/svg+xml") >= 3  # commitment, history and forecast charts, embedded
    assert external_references(html) == []
    assert "<script" not in html
    rec = pd.read_csv(result.folder / "recommendations.csv")
    assert len(rec) == 9 and (rec["commit_instances"] >= 0).all()
    assert (rec["expected_cost_usd"] <= rec["on_demand_cost_usd"] + 1e-6).all()
    plan = json.loads((result.folder / "plan.json").read_text())
    assert plan["quarter"] == "2027Q1" and plan["summary"]["savings_usd"] > 0
    # the executed notebook keeps the parameters papermill injected
    nb = json.loads(result.notebook.read_text())
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in nb["cells"])


def test_failed_run_keeps_its_notebook_and_the_last_good_report(tmp_path):
    good = render_report(ReportParams.from_mapping(SMALL), output_root=tmp_path)
    before = good.html.read_text()
    bad_usage = tmp_path / "usage.csv"
    # a valid usage table whose pool has no price in the catalog: the analysis cell fails
    bad_usage.write_text("ts,provider,region,instance_type,workload_class,team,gpu_hours\n"
                         "2026-12-01 00:00:00,aws,mars-north-1,p5.48xlarge,training,x,8\n")
    with pytest.raises(ReportError) as exc:
        render_report(ReportParams.from_mapping({**SMALL, "usage": str(bad_usage), "quarter": "2027Q1"}),
                      output_root=tmp_path)
    assert "mars-north-1" in str(exc.value)
    failed = exc.value.failed_notebook
    assert failed.exists() and failed.parent == tmp_path / "2027Q1" and failed.name.startswith("failed-")
    assert good.html.read_text() == before  # untouched
    assert not list(tmp_path.glob(".tmp-*"))


def test_bad_parameter_fails_in_the_validation_cell(tmp_path):
    import papermill as pm

    from finops_forecast.report.render import notebook_path
    out = tmp_path / "out.ipynb"
    with pytest.raises(pm.PapermillExecutionError) as exc:
        pm.execute_notebook(str(notebook_path()), str(out), parameters={"quater": "2027Q1", "n_paths": 20},
                            cwd=str(tmp_path), progress_bar=False)
    assert "unknown parameter 'quater'" in str(exc.value.evalue)
    assert exc.value.exec_count == 3  # the validation cell, right after the parameters and the injected cell


def test_notebooks_are_committed_without_outputs():
    from tests.conftest import REPO
    for path in (REPO / "notebooks").glob("*.ipynb"):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            assert not cell.get("outputs") and not cell.get("execution_count"), path.name
