"""Reading the canonical hourly usage table (CSV or Parquet): :func:`read_usage`.

``_read_table`` (a file, folder or glob of CSV / Parquet files into one frame, byte-identical copies read once)
is shared with the job reader (:mod:`.jobs`) and :func:`~finops_forecast.usage.readers.detect_kind`.
"""
from __future__ import annotations

import pandas as pd

from finops_forecast.errors import UsageError
from finops_forecast.usage.bounds import DEFAULT_BOUNDS, Bounds
from finops_forecast.usage.reconcile import (
    TABLE_SUFFIXES,
    TOTAL_COLUMNS,
    Reconciliation,
    _encoding_hint,
    _resolve_files,
    _totals,
    drop_identical_files,
)
from finops_forecast.usage.schema import COST_COLUMNS, validate_usage


def _read_table(path) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """Read a CSV or Parquet file (or several) into a frame of strings (CSV) or typed columns (Parquet).

    Returns the frame, the source to name in errors and notes (byte-identical copies read once).
    """
    files, notes = drop_identical_files(_resolve_files(path, TABLE_SUFFIXES))
    frames = []
    for f in files:
        try:
            if f.lower().endswith((".parquet", ".pq")):
                frames.append(pd.read_parquet(f))
            else:
                frames.append(pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""]))
        except pd.errors.EmptyDataError:
            raise UsageError("the file is empty (no header, no rows).", path=f) from None
        except Exception as exc:  # pyarrow / parser errors: name the file
            raise UsageError(f"cannot read the file: {str(exc).splitlines()[0] if str(exc) else exc!r}. Is it a "
                             f"CSV or Parquet file?{_encoding_hint(f)}", path=f) from None
    return (frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)), (
        files[0] if len(files) == 1 else str(path)), notes



def read_usage(path, *, instance_types=None, bounds: Bounds = DEFAULT_BOUNDS) -> tuple[pd.DataFrame, Reconciliation]:
    """Read the canonical hourly usage table from CSV or Parquet.

    Parameters
    ----------
    path : str, path, folder, glob or list of them
        One or more files with the columns of :data:`~finops_forecast.usage.schema.USAGE_COLUMNS`.
    instance_types : path or DataFrame, optional
        Extra GPU instance types (see :func:`finops_forecast.usage.instances.instance_registry`), or ``False`` to
        accept any instance type.
    bounds : Bounds, optional
        Plausibility limits (timestamps, GPU-hours per row); see :mod:`finops_forecast.usage.bounds`.

    Returns
    -------
    (usage, reconciliation)
        The validated usage table and its reconciliation (no row is rejected: a bad row is an error). A file
        that is a byte-identical copy of another is read once, with a note.

    Raises
    ------
    UsageError
        Naming the file, row and column of the first problem (see :func:`validate_usage`).
    """
    raw, source, file_notes = _read_table(path)
    known = False if instance_types is False else _known(instance_types)
    usage = validate_usage(raw, source=source, known_instance_types=known, bounds=bounds)
    tot = {"rows": len(raw), "gpu_hours": usage["gpu_hours"].sum()}
    tot.update({c: usage[c].sum() for c in COST_COLUMNS if c in usage.columns})
    zero = {k: 0.0 for k in tot}
    rec = Reconciliation(source=source, kind="usage", totals=_totals(tot, tot, zero),
                         rejected=pd.DataFrame(columns=["reason", "detail"] + TOTAL_COLUMNS), notes=file_notes)
    return usage, rec


def _known(instance_types):
    from finops_forecast.usage.instances import known_instance_types
    return known_instance_types(instance_types)

