"""The showback notebook, executed through papermill with small parameters (as papermill's own tests do)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "showback.ipynb"


def test_notebook_is_committed_without_outputs_and_has_a_typed_parameters_cell():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1
    from finops_forecast.showback.params import ShowbackParams
    lines = "".join(params[0]["source"]).splitlines()
    assert [ln.split(":")[0] for ln in lines] == ShowbackParams.names()
    for ln in lines:
        assert " # " in ln and "=" not in ln.split("#", 1)[1]  # papermill's parser breaks on '=' in comments


@pytest.mark.slow
def test_notebook_runs_with_metrics_runs_and_requests(tmp_path, data_dir):
    import papermill as pm

    d = data_dir
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), parameters={
        "period": "2026-10", "top": 5, "inventory": str(d / "gpu_inventory.csv"),
        "metrics": f"{d / 'dcgm_metrics.prom'},{d / 'nvidia_smi_gpu-node-2.csv'},{d / 'dcgm_metrics.csv'}",
        "owners": str(d / "pod_owners.csv"), "runs": str(d / "runs.csv"), "requests": str(d / "requests.csv")},
        cwd=str(tmp_path), progress_bar=False)
    nb = json.loads(out.read_text())
    text = json.dumps(nb["cells"])
    assert "Idle share of the metered GPUs" in text and "image/svg+xml" in text
    assert "r105" in text and "fraud-model" in text and "USD per prediction" in text


@pytest.mark.slow
def test_notebook_rejects_a_misspelled_parameter(tmp_path):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="Did you mean 'period'"):
        pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters={"perod": "2026-09"},
                            cwd=str(tmp_path), progress_bar=False)
    assert (tmp_path / "out.ipynb").exists()  # the failed run still writes its notebook
