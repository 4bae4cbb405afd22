"""The notebooks' ``parameters`` cells are rendered from their parameter dataclasses and stay in sync with them."""
from __future__ import annotations

import ast
import dataclasses
import importlib.util
import shutil

import nbformat
import papermill
import pytest

from finops_forecast.notebook_params import NotebookParams, param, parameters_cell
from tests.conftest import REPO

NOTEBOOKS = REPO / "notebooks"


def _load_tool():
    spec = importlib.util.spec_from_file_location("sync_notebook_params", REPO / "tools" / "sync_notebook_params.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


def _parameters_cell(path):
    nb = nbformat.read(str(path), as_version=4)
    return nb, tool.parameters_cell_of(nb, path)


def test_every_parameterized_notebook_has_a_dataclass():
    tagged = {p.name for p in NOTEBOOKS.glob("*.ipynb")
              if any("parameters" in c.metadata.get("tags", []) for c in nbformat.read(str(p), as_version=4).cells)}
    assert set(tool.NOTEBOOK_PARAMS) == tagged == {
        "quarterly_commitment_report.ipynb", "demand_explorer.ipynb", "policy_backtest.ipynb", "showback.ipynb"}


@pytest.mark.parametrize("notebook", sorted(tool.NOTEBOOK_PARAMS))
def test_parameters_cell_is_rendered_from_the_dataclass(notebook):
    _, cell = _parameters_cell(NOTEBOOKS / notebook)
    assert cell.source == parameters_cell(tool.params_class(notebook)), (
        f"notebooks/{notebook} drifted from its dataclass: run tools/sync_notebook_params.py")


@pytest.mark.parametrize("notebook", sorted(tool.NOTEBOOK_PARAMS))
def test_papermill_help_lists_exactly_the_dataclass_fields(notebook):
    cls = tool.params_class(notebook)
    inspected = papermill.inspect_notebook(str(NOTEBOOKS / notebook))
    assert list(inspected) == cls.names()
    for f in dataclasses.fields(cls):
        p = inspected[f.name]
        assert ast.literal_eval(p["default"]) == f.default
        assert p["inferred_type_name"] == f.type
        assert p["help"] == f.metadata["help"]


@pytest.mark.parametrize("notebook", sorted(tool.NOTEBOOK_PARAMS))
def test_notebooks_are_committed_without_outputs(notebook):
    nb = nbformat.read(str(NOTEBOOKS / notebook), as_version=4)
    assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")


@dataclasses.dataclass(frozen=True)
class _Demo(NotebookParams):
    name: str = param('say "hi"', "a string with quotes")
    count: int = param(3, "how many [units], 1-9")
    rate: float = param(0.5, "a share in (0, 1)")


def test_parameters_cell_renders_typed_lines_with_help():
    assert parameters_cell(_Demo) == ('name: str = "say \\"hi\\""  # a string with quotes\n'
                                      "count: int = 3  # how many [units], 1-9\n"
                                      "rate: float = 0.5  # a share in (0, 1)")
    # the cell is valid Python whose annotated assignments give back the defaults
    lines = ast.parse(parameters_cell(_Demo)).body
    assert {n.target.id: ast.literal_eval(n.value) for n in lines} == _Demo().to_dict()


def test_a_field_without_help_is_an_error_naming_it():
    @dataclasses.dataclass(frozen=True)
    class Bare(NotebookParams):
        days: int = 90

    with pytest.raises(TypeError, match=r"Bare\.days has no help text"):
        parameters_cell(Bare)
    with pytest.raises(ValueError, match="one non-empty line"):
        param(1, "two\nlines")


def test_sync_rewrites_only_the_parameters_cell(tmp_path):
    path = tmp_path / "report.ipynb"
    shutil.copy(NOTEBOOKS / "quarterly_commitment_report.ipynb", path)
    nb, cell = _parameters_cell(path)
    cell.source = cell.source.replace("seed: int = 0", "sed: int = 0")
    nbformat.write(nb, str(path))
    cls = tool.params_class("quarterly_commitment_report.ipynb")

    assert tool.sync(path, cls, check=True) is True
    assert "sed: int = 0" in _parameters_cell(path)[1].source  # --check writes nothing
    assert tool.sync(path, cls) is True
    assert tool.sync(path, cls) is False

    synced, synced_cell = _parameters_cell(path)
    original = nbformat.read(str(NOTEBOOKS / "quarterly_commitment_report.ipynb"), as_version=4)
    assert synced_cell.source == parameters_cell(cls)
    assert (synced_cell.id, synced_cell.metadata) == (cell.id, cell.metadata)
    others = [(c.id, c.cell_type, c.metadata, c.source) for c in synced.cells if c.id != cell.id]
    assert others == [(c.id, c.cell_type, c.metadata, c.source) for c in original.cells if c.id != cell.id]
