"""Rewrite each notebook's ``parameters`` cell from its parameter dataclass (the one source of truth).

    python tools/sync_notebook_params.py          # rewrite the cells that drifted
    python tools/sync_notebook_params.py --check  # only report them; exits 1 when one drifted

The cell's source becomes :func:`finops_forecast.notebook_params.parameters_cell` of the notebook's dataclass
(one typed line per field with its help comment). Everything else in the notebook is kept: the cell's id and
metadata, the other cells, and no outputs. A notebook whose cell is already in sync is not rewritten.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finops_forecast.notebook_params import parameters_cell

NOTEBOOKS_DIR = ROOT / "notebooks"

#: notebook file -> "module:Class" of its parameter dataclass
NOTEBOOK_PARAMS = {
    "quarterly_commitment_report.ipynb": "finops_forecast.report.params:ReportParams",
    "demand_explorer.ipynb": "finops_forecast.report.explorer:ExplorerParams",
    "policy_backtest.ipynb": "finops_forecast.evaluate.params:BacktestParams",
    "showback.ipynb": "finops_forecast.showback.params:ShowbackParams",
}


def params_class(notebook: str) -> type:
    """The parameter dataclass of a notebook of :data:`NOTEBOOK_PARAMS`."""
    module, name = NOTEBOOK_PARAMS[notebook].split(":")
    return getattr(importlib.import_module(module), name)


def parameters_cell_of(nb: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode:
    """The one cell tagged ``parameters``; an error naming the notebook when there is none or several."""
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise SystemExit(f"{path}: expected one cell tagged 'parameters', found {len(cells)}.")
    return cells[0]


def sync(path: Path, cls: type, *, check: bool = False) -> bool:
    """Make ``path``'s parameters cell equal to ``parameters_cell(cls)``; True when it differed.

    Parameters
    ----------
    path : Path
        The notebook.
    cls : type
        Its parameter dataclass.
    check : bool
        Only compare, never write.
    """
    nb = nbformat.read(str(path), as_version=4)
    cell = parameters_cell_of(nb, path)
    source = parameters_cell(cls)
    if cell.source == source:
        return False
    if not check:
        cell.source = source
        nbformat.write(nb, str(path))
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drifted notebooks without rewriting them")
    args = parser.parse_args(argv)
    drifted = [name for name in NOTEBOOK_PARAMS
               if sync(NOTEBOOKS_DIR / name, params_class(name), check=args.check)]
    for name in drifted:
        print(f"{'out of sync' if args.check else 'rewrote'}: notebooks/{name}")
    return 1 if args.check and drifted else 0


if __name__ == "__main__":
    raise SystemExit(main())
