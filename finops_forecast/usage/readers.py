"""Readers that turn billing exports, job records and usage files into the usage table, one module per format.

Every reader returns ``(usage, reconciliation)``: the validated usage table (see
:mod:`finops_forecast.usage.schema`) and a :class:`~finops_forecast.usage.reconcile.Reconciliation` that accounts
for every input row. Nothing is dropped silently: each input row is either in the output or in the
reconciliation's ``rejected`` summary with a reason, and the GPU-hours and costs balance (``in == out +
rejected``).

- :func:`~finops_forecast.usage.table.read_usage` (:mod:`.table`) reads the canonical hourly table (CSV or
  Parquet).
- :func:`~finops_forecast.usage.focus.read_focus` (:mod:`.focus`, its SQL in :mod:`.focus_sql`) reads FOCUS
  1.0-1.3 billing exports (and 1.0-preview names, :mod:`.focus_dialects`) with DuckDB (CSV, CSV.GZ or Parquet; a
  file, a folder or a glob), so a multi-GB export streams in bounded memory: only GPU rows, aggregated to the
  hour, come back.
- :func:`~finops_forecast.usage.jobs.read_jobs` (:mod:`.jobs`) reads job records (start, end, GPUs) and
  apportions each job exactly to the hours it ran.
- :mod:`.reconcile`: the :class:`Reconciliation`, input files (byte-identical copies read once) and duplicate
  deliveries.
- :func:`~finops_forecast.usage.load.load_usage` (:mod:`.load`, on top of :func:`read_any`): the sample or a
  path, then filter.

This module chooses the reader (:func:`detect_kind`, :func:`read_any`) and re-exports the names that callers
import from ``finops_forecast.usage.readers``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from finops_forecast.errors import UsageError
from finops_forecast.usage.focus import (  # noqa: F401  (re-exported)
    VALUE_COLUMNS,
    check_focus_gpu_rows,
    read_focus,
)
from finops_forecast.usage.focus_sql import (  # noqa: F401  (re-exported)
    DEFAULT_INSTANCE_COLUMNS,
    DEFAULT_TEAM_TAG_KEYS,
    DEFAULT_WORKLOAD_TAG_KEYS,
    DESCRIPTIVE_COLUMNS,
    FOCUS_PROVIDER,
    FOCUS_REGION,
    FOCUS_REQUIRED,
    HOUR_UNITS,
    INSTANCE_PATTERNS,
    NULLS,
    _focus_checks,
    _nullif,
    _q,
    _snake,
    _sql_str,
)
from finops_forecast.usage.jobs import (  # noqa: F401  (re-exported)
    JOB_ALIASES,
    JOB_ID_COLUMNS,
    NS_PER_HOUR,
    _job_duplicates_summary,
    _job_pools,
    _parse_job_times,
    _pick,
    apportion_to_hours,
    duplicate_job_records,
    read_jobs,
)
from finops_forecast.usage.reconcile import (  # noqa: F401  (re-exported)
    TABLE_SUFFIXES,
    TOTAL_COLUMNS,
    Reconciliation,
    _duplicate_note,
    _encoding_hint,
    _file_digest,
    _is_parquet,
    _resolve_files,
    _totals,
    drop_identical_files,
    mark_duplicate_deliveries,
)
from finops_forecast.usage.table import _known, _read_table, read_usage  # noqa: F401  (re-exported)

__all__ = [
    "FOCUS_MARKERS",
    "JOB_ALIASES",
    "JOB_ID_COLUMNS",
    "TOTAL_COLUMNS",
    "Reconciliation",
    "apportion_to_hours",
    "check_focus_gpu_rows",
    "detect_kind",
    "drop_identical_files",
    "duplicate_job_records",
    "mark_duplicate_deliveries",
    "read_any",
    "read_focus",
    "read_jobs",
    "read_usage",
]


def detect_kind(path) -> str:
    """``"focus"``, ``"usage"`` or ``"jobs"``: which reader an input needs, from the columns of its first file."""
    import duckdb

    f = _resolve_files(path, TABLE_SUFFIXES)[0]
    if Path(f).stat().st_size == 0:
        raise UsageError("the file is empty (no header, no rows).", path=f)
    scan = (f"read_parquet({_sql_str(f)})" if f.lower().endswith((".parquet", ".pq"))
            else f"read_csv({_sql_str(f)}, all_varchar=true)")
    try:
        cols = {r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
    except duckdb.Error:
        _read_table(f)  # raises the readers' clear error (empty file, not CSV ...)
        raise
    return _kind_of_columns(cols)


# columns only FOCUS exports have: three of them make a file a FOCUS export, even one missing a required column
FOCUS_MARKERS = frozenset({"ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ListCost",
                           "ChargeCategory", "ConsumedQuantity", "ConsumedUnit", "BillingPeriodStart",
                           "BillingPeriodEnd", "BillingAccountId", "BillingCurrency", "ProviderName",
                           "ServiceProviderName", "ChargeDescription", "SkuId", "SkuPriceId", "PricingQuantity",
                           "PricingUnit", "ResourceId", "RegionId", "SubAccountId"})


def _kind_of_columns(cols: set[str]) -> str:
    """``"focus"``, ``"usage"`` or ``"jobs"`` from a header, so that a file missing a column of its kind is
    read by its own reader, whose error names the missing column."""
    if "ChargePeriodStart" in cols or len(cols & FOCUS_MARKERS) >= 3:
        return "focus"
    job_times = {a for k in ("start", "end") for a in JOB_ALIASES[k]}
    if ("ts" in cols or "gpu_hours" in cols) and not cols & job_times:
        return "usage"
    return "jobs"


def read_any(path, **kwargs) -> tuple[pd.DataFrame, Reconciliation]:
    """Read a usage table, a FOCUS export or job records, choosing the reader by :func:`detect_kind`."""
    reader = {"focus": read_focus, "usage": read_usage, "jobs": read_jobs}[detect_kind(path)]
    return reader(path, **kwargs)
