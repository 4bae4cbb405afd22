"""policy_backtest.ipynb executed through papermill with small parameters (slow: a real kernel)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "policy_backtest.ipynb"


def test_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1
    for line in "".join(params[0]["source"]).splitlines():
        name_type, _, comment = line.partition("#")
        assert ":" in name_type and "=" in name_type and comment.strip() and "=" not in comment, line


def test_runs_with_small_parameters(tmp_path, datasets):
    import papermill as pm

    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), parameters={
        "traces": "alibaba-dlrm", "policies": "forecast,lookback,hindsight", "max_windows": 2, "n_paths": 20,
        "results_dir": str(REPO / "bench" / "results")}, cwd=str(tmp_path), progress_bar=False)
    nb = json.loads(out.read_text())
    text = json.dumps(nb["cells"])
    assert "<svg" in text  # the Altair charts rendered as SVG
    assert "savings_capture" in text and "backtest_dlrm.json" in text
    assert "2 windows of 72 h" in text


def test_rejects_a_misspelled_parameter(tmp_path, datasets):
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    with pytest.raises(PapermillExecutionError, match="n_path"):
        pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "bad.ipynb"), parameters={"n_path": 20},
                            cwd=str(tmp_path), progress_bar=False)
