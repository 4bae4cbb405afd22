"""The usage table: the one data contract every reader produces and every later stage consumes.

One row per hour x pool x workload class x team (see ``docs/glossary.md``):

========================  ===================================================================
column                    meaning
========================  ===================================================================
``ts``                    hour start, ``datetime64[ns, UTC]``
``provider``              ``aws``, ``gcp``, ``azure`` or another provider's name (lower case)
``region``                e.g. ``us-east-1``, ``us-central1``, ``eastus``
``instance_type``         e.g. ``p5.48xlarge``, ``a3-highgpu-8g``, ``Standard_ND96isr_H100_v5``
``workload_class``        ``training``, ``inference`` or ``experimentation``
``team``                  owner; ``__unallocated__`` when unknown
``gpu_hours``             GPU-hours used in that hour [GPU-h], finite and >= 0
========================  ===================================================================

Optional columns keep FOCUS names in snake_case (``billed_cost``, ``effective_cost``, ``list_cost`` [USD],
``pricing_category``, ``commitment_discount_id``) plus ``classified_by`` (how the workload class was decided) and
``model`` (the model or application the GPUs served, ``__unallocated__`` when unknown). ``model`` is a key: a table
with it has one row per hour x pool x workload class x team x model (:func:`row_keys`).

:func:`validate_usage` is the single validator; every reader calls it, so a usage table that passed it is
normalized (dtypes, lower-case provider, UTC hours, sorted) whatever file it came from.
"""
from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from finops_forecast.constants import (
    POOL_KEYS,  # noqa: F401  (re-exported; report and showback import it from here)
    SERIES_KEYS,
)
from finops_forecast.errors import UsageError, suggest
from finops_forecast.usage.bounds import DEFAULT_BOUNDS, Bounds, check_at_most, check_time_window

USAGE_COLUMNS = ["ts", "provider", "region", "instance_type", "workload_class", "team", "gpu_hours"]
ROW_KEYS = ["ts"] + SERIES_KEYS + ["team"]
WORKLOAD_CLASSES = ("training", "inference", "experimentation")
COST_COLUMNS = ["billed_cost", "effective_cost", "list_cost"]
OPTIONAL_COLUMNS = COST_COLUMNS + ["pricing_category", "commitment_discount_id", "classified_by", "model"]
UNALLOCATED = "__unallocated__"

_PROVIDER_ALIASES = {
    "amazon web services": "aws", "aws": "aws", "amazon": "aws",
    "microsoft": "azure", "microsoft azure": "azure", "azure": "azure",
    "google cloud": "gcp", "google cloud platform": "gcp", "google": "gcp", "gcp": "gcp",
}


def normalize_provider(values: pd.Series) -> pd.Series:
    """Map provider names to their short lower-case form (``Microsoft`` -> ``azure``, ``AWS`` -> ``aws``).

    Names that are not known aliases are lower-cased and kept (a neocloud such as ``coreweave``).
    """
    low = values.astype("string").str.strip().str.lower()
    return low.map(lambda v: _PROVIDER_ALIASES.get(v, v) if isinstance(v, str) else v)


def _row_of(mask: np.ndarray | pd.Series, row_offset: int) -> tuple[int, int]:
    """First offending data row (1-based) and the number of offending rows."""
    mask = np.asarray(mask, dtype=bool)
    idx = np.flatnonzero(mask)
    return int(idx[0]) + 1 + row_offset, int(idx.size)


def _more(n: int) -> str:
    return "" if n <= 1 else f" ({n} rows in all; this is the first)"


def check_columns(df: pd.DataFrame, required: Collection[str], *, source=None, what: str = "usage table",
                  hint: str = "") -> None:
    """Raise :class:`UsageError` naming every missing column, what was found, and likely misspellings."""
    missing = [c for c in required if c not in df.columns]
    if not missing:
        return
    found = [str(c) for c in df.columns]
    tips = "".join(f" For '{m}':{suggest(m, found).replace('Did you mean', ' did you mean')}"
                   for m in missing if suggest(m, found))
    raise UsageError(
        f"the {what} is missing column(s) {missing}. Expected {list(required)}; found {found}.{tips} "
        f"Rename the columns or fix the header.{(' ' + hint) if hint else ''}",
        path=source, column=missing[0])


def parse_timestamps(values: pd.Series, *, column: str = "ts", source=None, row_offset: int = 0) -> pd.Series:
    """Parse a timestamp column to ``datetime64[ns, UTC]``.

    Naive timestamps are taken as UTC. A column that mixes naive and zone-aware values, or several UTC
    offsets, is rejected: the usage table is in UTC and one export must not mix conventions.

    Raises
    ------
    UsageError
        Naming the first row that cannot be parsed or that carries a different time zone.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return _to_ns(values.dt.tz_convert("UTC"), column=column, source=source, row_offset=row_offset)
    if pd.api.types.is_datetime64_any_dtype(values):
        return _to_ns(values.dt.tz_localize("UTC"), column=column, source=source, row_offset=row_offset)
    text = values.astype("string").str.strip()
    if text.isna().any() or (text == "").any():
        row, n = _row_of(text.isna() | (text == ""), row_offset)
        raise UsageError(f"empty timestamp{_more(n)}. Every row needs an hour start such as "
                         f"'2026-10-01 13:00:00' (UTC).", path=source, row=row, column=column)
    zone = text.str.extract(r"(Z|[+-]\d{2}:?\d{2})$", expand=False).fillna("naive")
    zone = zone.replace({"Z": "+00:00", "+0000": "+00:00", "-0000": "+00:00", "-00:00": "+00:00"})
    kinds = zone.unique()
    if len(kinds) > 1:
        first = zone.iloc[0]
        row, n = _row_of(zone != first, row_offset)
        raise UsageError(
            f"mixed time zones: row 1+ use '{first}' but this row uses '{zone.iloc[row - 1 - row_offset]}'"
            f"{_more(n)}. Write every timestamp in UTC (e.g. '2026-10-01T13:00:00Z') or all without an offset.",
            path=source, row=row, column=column)
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    if parsed.isna().any():
        row, n = _row_of(parsed.isna(), row_offset)
        raise UsageError(f"cannot parse timestamp '{text.iloc[row - 1 - row_offset]}'{_more(n)}. Use ISO 8601, "
                         f"e.g. '2026-10-01 13:00:00'.", path=source, row=row, column=column)
    return _to_ns(parsed, column=column, source=source, row_offset=row_offset)


def _to_ns(parsed: pd.Series, *, column: str, source=None, row_offset: int = 0) -> pd.Series:
    """``datetime64[ns, UTC]``; a timestamp outside its range (years 1677-2262, e.g. 2300 or 9999, which pandas
    parses at a coarser unit) is an error naming the row, not an overflow."""
    lo, hi = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
    outside = (parsed.notna() & ((parsed < lo) | (parsed > hi))).to_numpy(bool)
    if outside.any():
        row, n = _row_of(outside, row_offset)
        raise UsageError(f"timestamp {parsed.iloc[row - 1 - row_offset]} is outside the plausible window "
                         f"{DEFAULT_BOUNDS.describe_window()}{_more(n)}. Check the value (a sentinel date such as "
                         f"9999-12-31 for 'still running'?).", path=source, row=row, column=column)
    return parsed.astype("datetime64[ns, UTC]")


def parse_numbers(values: pd.Series, *, column: str, source=None, row_offset: int = 0,
                  nonnegative: bool = True, unit: str = "") -> pd.Series:
    """Parse a numeric column to float64, rejecting text, NaN, infinities and (optionally) negatives."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = values.astype("float64")
        bad_text = pd.Series(False, index=values.index)
    else:
        text = values.astype("string").str.strip()
        num = pd.to_numeric(text, errors="coerce").astype("float64")
        bad_text = num.isna() & text.notna() & (text != "") & ~text.str.lower().isin(["nan", "null", "none"])
    if bad_text.any():
        row, n = _row_of(bad_text, row_offset)
        raise UsageError(f"'{values.iloc[row - 1 - row_offset]}' is not a number{_more(n)}. Write {column} as a "
                         f"plain number{(' in ' + unit) if unit else ''}.", path=source, row=row, column=column)
    if num.isna().any():
        row, n = _row_of(num.isna(), row_offset)
        raise UsageError(f"{column} is missing (NaN or empty){_more(n)}. Fill it (0 for an idle hour) or remove "
                         f"the row.", path=source, row=row, column=column)
    if np.isinf(num.to_numpy()).any():
        row, n = _row_of(np.isinf(num.to_numpy()), row_offset)
        raise UsageError(f"{column} is infinite{_more(n)}. Fix the value.", path=source, row=row, column=column)
    if nonnegative and (num < 0).any():
        row, n = _row_of(num < 0, row_offset)
        raise UsageError(f"{column} is negative ({num.iloc[row - 1 - row_offset]:g}){_more(n)}. {column} counts "
                         f"{unit or 'a quantity'} used and must be >= 0; credits and refunds belong in the cost "
                         f"columns.", path=source, row=row, column=column)
    return num


def check_instance_types(provider: pd.Series, instance_type: pd.Series,
                         known: Collection[tuple[str, str]] | None = None, *, source=None,
                         rows: np.ndarray | None = None) -> None:
    """Raise :class:`UsageError` at the first (provider, instance_type) the registry does not know.

    Parameters
    ----------
    provider, instance_type : pandas.Series of str
        Normalized provider names and instance types, one per input row.
    known : collection of (provider, instance_type), optional
        Known pools; ``None`` uses the bundled and user registries.
    source : str, optional
        File named in the error.
    rows : ndarray of int, optional
        1-based input row of each value (default: position + 1), so errors point at the input file's row.
    """
    if known is None:
        from finops_forecast.usage.instances import known_instance_types as _known
        known = _known()
    known = set(known)
    pools = list(zip(provider, instance_type))
    unknown = np.fromiter(((p, i) not in known for p, i in pools), dtype=bool, count=len(pools))
    if not unknown.any():
        return
    first, n = _row_of(unknown, 0)
    prov, inst = pools[first - 1]
    same = [i for p, i in known if p == prov]
    raise UsageError(
        f"unknown instance type '{inst}' for provider '{prov}'{_more(n)}.{suggest(inst, same)} Fix the "
        f"spelling, or register the machine (provider, instance_type, gpu_type, gpu_count) in a user "
        f"instance file passed as instance_types=..., so that it can be priced; it is never priced at 0.",
        path=source, row=int(rows[first - 1]) if rows is not None else first, column="instance_type")


def validate_usage(df: pd.DataFrame, *, source=None, row_offset: int = 0,
                   known_instance_types: Collection[tuple[str, str]] | None | bool = None,
                   sort: bool = True, bounds: Bounds = DEFAULT_BOUNDS) -> pd.DataFrame:
    """Validate and normalize a usage table.

    Parameters
    ----------
    df : pandas.DataFrame
        Candidate usage table with at least :data:`USAGE_COLUMNS`; extra columns are kept. An optional ``model``
        column (text: the model or application the GPUs served) is one more key: the table then has one row per
        hour x pool x workload class x team x model.
    source : str or path, optional
        File the rows came from, named in every error.
    row_offset : int, default 0
        Added to the 1-based row numbers in errors (for tables read in chunks).
    known_instance_types : collection of (provider, instance_type), None or False
        Pools whose instance type is not in this collection are rejected. ``None`` uses the bundled GPU
        instance registry plus any user registry (:func:`finops_forecast.usage.instances.known_instance_types`);
        ``False`` skips the check (for neocloud or custom machines not in any registry).
    sort : bool, default True
        Sort rows by :data:`ROW_KEYS` (and ``model`` when present).
    bounds : Bounds, optional
        Plausibility limits: ``ts`` within the window, ``gpu_hours`` at most ``bounds.max_gpus`` [GPU-h] per row
        (see :mod:`finops_forecast.usage.bounds`).

    Returns
    -------
    pandas.DataFrame
        A new frame: ``ts`` as ``datetime64[ns, UTC]`` on the hour, ``provider`` lower case, ``team`` (and
        ``model``, when present) filled with ``__unallocated__`` where missing or empty, ``gpu_hours`` float64
        [GPU-h] >= 0, key columns first.

    Raises
    ------
    UsageError
        On an empty table, a missing or misspelled column, an unparsable or non-hourly timestamp, mixed time
        zones, a timestamp or ``gpu_hours`` outside the plausibility bounds, a negative / NaN / non-numeric
        ``gpu_hours``, an unknown workload class or instance type, or
        duplicate rows. The message names the file, the first row at fault and the column, and says the fix.
    """
    if df is None or len(df) == 0:
        raise UsageError("the usage table has no rows. Check that the file is the right one and is not empty; "
                         f"a usage table needs the columns {USAGE_COLUMNS}.", path=source)
    check_columns(df, USAGE_COLUMNS, source=source)
    out = df.copy()
    rows = _check_hours(out, source=source, row_offset=row_offset, bounds=bounds)
    _normalize_keys(out, source=source, row_offset=row_offset)
    out["gpu_hours"] = parse_numbers(out["gpu_hours"], column="gpu_hours", source=source, row_offset=row_offset,
                                     unit="GPU-hours [GPU-h]")
    check_at_most(out["gpu_hours"], bounds.max_gpus, column="gpu_hours", source=source, rows=rows,
                  what="gpu_hours [GPU-h in one hour]", fix="One row is one pool's use in one hour; check the "
                  "value and its unit (GPU-hours, not GPU-seconds).")
    for col in COST_COLUMNS:
        if col in out.columns:
            out[col] = parse_numbers(out[col], column=col, source=source, row_offset=row_offset, nonnegative=False,
                                     unit="USD")
    if known_instance_types is not False:
        check_instance_types(out["provider"], out["instance_type"], known_instance_types, source=source,
                             rows=rows)
    keys = row_keys(out)
    _check_duplicates(out, keys, source=source, row_offset=row_offset)
    cols = USAGE_COLUMNS + [c for c in out.columns if c not in USAGE_COLUMNS]
    out = out[cols]
    if sort:
        out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    return out


def row_keys(usage: pd.DataFrame) -> list[str]:
    """The columns that identify a row of ``usage``: :data:`ROW_KEYS`, plus ``model`` when the table has one."""
    return ROW_KEYS + (["model"] if "model" in usage.columns else [])


def _check_hours(out: pd.DataFrame, *, source, row_offset: int, bounds: Bounds) -> np.ndarray:
    """Parse ``ts`` in place (UTC, on the hour, within the bounds); return the 1-based input row of each row."""
    out["ts"] = parse_timestamps(out["ts"], source=source, row_offset=row_offset)
    off_hour = out["ts"] != out["ts"].dt.floor("h")
    if off_hour.any():
        row, n = _row_of(off_hour, row_offset)
        raise UsageError(f"timestamp {out['ts'].iloc[row - 1 - row_offset]} is not on the hour{_more(n)}. The usage "
                         f"table is hourly: give each row's hour start, or read raw records with read_jobs, "
                         f"which apportions them to hours.", path=source, row=row, column="ts")
    rows = np.arange(1, len(out) + 1) + row_offset
    check_time_window(out["ts"], column="ts", source=source, bounds=bounds, rows=rows)
    return rows


def _normalize_keys(out: pd.DataFrame, *, source, row_offset: int) -> None:
    """Normalize the text keys in place: pool and class non-empty and stripped, provider and class lower case
    (a known class), ``team`` and ``model`` (when present) ``__unallocated__`` where missing or empty."""
    for col in ["provider", "region", "instance_type", "workload_class"]:
        text = out[col].astype("string").str.strip()
        empty = text.isna() | (text == "")
        if empty.any():
            row, n = _row_of(empty, row_offset)
            raise UsageError(f"{col} is empty{_more(n)}. Every row needs a pool (provider, region, instance_type) "
                             f"and a workload class.", path=source, row=row, column=col)
        out[col] = text.astype(object)
    out["provider"] = normalize_provider(out["provider"]).astype(object)
    out["workload_class"] = out["workload_class"].str.lower()
    bad_class = ~out["workload_class"].isin(WORKLOAD_CLASSES)
    if bad_class.any():
        row, n = _row_of(bad_class, row_offset)
        value = out["workload_class"].iloc[row - 1 - row_offset]
        raise UsageError(f"unknown workload class '{value}'{_more(n)}.{suggest(value, WORKLOAD_CLASSES)} Use one of "
                         f"{list(WORKLOAD_CLASSES)}.", path=source, row=row, column="workload_class")
    for col in ("team", "model"):
        if col in out.columns:
            text = out[col].astype("string").str.strip()
            out[col] = text.mask(text.isna() | (text == ""), UNALLOCATED).astype(object)
    # one string object per distinct key, not one per row: ~60 MB less on the sample's 200,000 rows
    for col in [c for c in SERIES_KEYS + ["team", "model"] if c in out]:  # none is missing here (checked above)
        codes, uniques = pd.factorize(out[col].to_numpy())
        out[col] = pd.Series(uniques[codes], index=out.index, dtype=object)


def _check_duplicates(out: pd.DataFrame, keys: list[str], *, source, row_offset: int) -> None:
    """Raise :class:`UsageError` at the first two rows with the same ``keys``."""
    dup = out.duplicated(keys, keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())[:2] + 1 + row_offset
        what = "workload class, team and model" if "model" in keys else "workload class and team"
        raise UsageError(
            f"duplicate rows: rows {rows[0]} and {rows[1]} have the same hour, pool, {what} "
            f"({int(dup.sum())} rows are duplicated). Sum them into one row or remove the copy.",
            path=source, row=int(rows[0]))


def aggregate_series(usage: pd.DataFrame, keys: list[str] | None = None, *, fill_hours: bool = True) -> pd.DataFrame:
    """Sum ``gpu_hours`` over teams into one hourly series per key.

    Parameters
    ----------
    usage : pandas.DataFrame
        A validated usage table.
    keys : list of str, default :data:`SERIES_KEYS`
        Columns that identify a series.
    fill_hours : bool, default True
        Add the hours a series has no row for, with 0 GPU-hours, between the table's first and last hour
        (a missing row in a usage table means nothing ran).

    Returns
    -------
    pandas.DataFrame
        ``keys + ["ts", "gpu_hours"]``, sorted.
    """
    keys = list(SERIES_KEYS if keys is None else keys)
    agg = usage.groupby(keys + ["ts"], sort=True, observed=True)["gpu_hours"].sum().reset_index()
    if not fill_hours or agg.empty:
        return agg
    hours = pd.date_range(agg["ts"].min(), agg["ts"].max(), freq="h")
    series = agg[keys].drop_duplicates()
    grid = series.merge(pd.DataFrame({"ts": hours}), how="cross")
    full = grid.merge(agg, on=keys + ["ts"], how="left")
    full["gpu_hours"] = full["gpu_hours"].fillna(0.0)
    return full.sort_values(keys + ["ts"], kind="stable").reset_index(drop=True)
