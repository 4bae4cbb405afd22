"""Readers that turn billing exports, job records and usage files into the usage table.

Every reader returns ``(usage, reconciliation)``: the validated usage table (see
:mod:`finops_forecast.usage.schema`) and a :class:`Reconciliation` that accounts for every input row. Nothing is
dropped silently: each input row is either in the output or in the reconciliation's ``rejected`` summary with a
reason, and the GPU-hours and costs balance (``in == out + rejected``).

- :func:`read_usage` reads the canonical hourly table (CSV or Parquet).
- :func:`read_focus` reads FOCUS 1.0-1.3 billing exports (and 1.0-preview names, :mod:`.focus_dialects`) with DuckDB (CSV, CSV.GZ or Parquet; a file, a folder or
  a glob), so a multi-GB export streams in bounded memory: only GPU rows, aggregated to the hour, come back.
- :func:`read_jobs` reads job records (start, end, GPUs) and apportions each job exactly to the hours it ran.
"""
from __future__ import annotations

import glob as _glob
import gzip
import hashlib
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from finops_forecast.errors import UsageError
from finops_forecast.usage.bounds import (
    DEFAULT_BOUNDS,
    HOW_TO_RAISE,
    Bounds,
    check_at_most,
    check_time_window,
)
from finops_forecast.usage.classify import Heuristic, Rule, classify, normalize_tag
from finops_forecast.usage.focus_dialects import detect_focus_version, rename_sql
from finops_forecast.usage.schema import (
    _PROVIDER_ALIASES,
    COST_COLUMNS,
    ROW_KEYS,
    UNALLOCATED,
    USAGE_COLUMNS,
    check_columns,
    check_instance_types,
    normalize_provider,
    parse_numbers,
    parse_timestamps,
    validate_usage,
)

TOTAL_COLUMNS = ["rows", "gpu_hours"] + COST_COLUMNS
NS_PER_HOUR = 3_600_000_000_000


@dataclass(frozen=True)
class Reconciliation:
    """Where every input row went.

    Attributes
    ----------
    source : str
        The input (file, folder or glob).
    kind : str
        ``usage``, ``focus`` or ``jobs``.
    totals : pandas.DataFrame
        Index ``input``, ``output``, ``rejected``; columns ``rows``, ``gpu_hours`` [GPU-h] and the cost columns
        [USD] (NaN where the input has no such column). ``rows`` counts input rows.
    rejected : pandas.DataFrame
        One row per (reason, detail): ``rows``, ``gpu_hours``, costs. Every rejected input row is counted here.
    rejected_rows : pandas.DataFrame
        Row-level detail (``file``, ``row``, ``reason``) of rejected rows that point at a data problem (not the
        rows that are simply not GPU usage), at most ``max_rejected_rows`` of them.
    notes : tuple of str
        Things the reader did that a user should know (apportioned multi-hour rows, unknown tag values...).
    """

    source: str
    kind: str
    totals: pd.DataFrame
    rejected: pd.DataFrame
    rejected_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()

    def differences(self) -> pd.Series:
        """``input - output - rejected`` per total column (0 when balanced)."""
        t = self.totals.fillna(0.0)
        return t.loc["input"] - t.loc["output"] - t.loc["rejected"]

    def is_balanced(self, tolerance: float = 0.005) -> bool:
        """True when GPU-hours and every cost column balance within ``tolerance`` [GPU-h or USD]."""
        d = self.differences()
        return bool((d.abs() <= tolerance).all())

    def summary(self) -> str:
        """A short text summary, as printed by ``finops-forecast ingest``."""
        t = self.totals
        lines = [f"{self.kind} {self.source}: {int(t.loc['input', 'rows']):,} rows in, "
                 f"{int(t.loc['output', 'rows']):,} used, {int(t.loc['rejected', 'rows']):,} rejected; "
                 f"GPU-hours in {t.loc['input', 'gpu_hours']:,.2f} = out {t.loc['output', 'gpu_hours']:,.2f} + "
                 f"rejected {t.loc['rejected', 'gpu_hours']:,.2f}; balanced: {self.is_balanced()}"]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _totals(inp: dict, out: dict, rej: dict) -> pd.DataFrame:
    frame = pd.DataFrame([inp, out, rej], index=["input", "output", "rejected"])
    return frame.reindex(columns=TOTAL_COLUMNS).astype(float)


def _resolve_files(path, suffixes: tuple[str, ...]) -> list[str]:
    """Expand a file, folder or glob into a sorted list of files; errors name what was looked for."""
    if isinstance(path, (list, tuple)):
        files = [f for p in path for f in _resolve_files(p, suffixes)]
        return sorted(dict.fromkeys(files))
    text = str(path)
    p = Path(text)
    if p.is_dir():
        files = sorted(str(f) for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(suffixes))
        if not files:
            raise UsageError(f"the folder has no {' / '.join(suffixes)} files.", path=text)
        return files
    if any(ch in text for ch in "*?["):
        files = sorted(_glob.glob(text, recursive=True))
        if not files:
            raise UsageError("the glob matches no file. Check the pattern and the working directory.", path=text)
        return files
    if not p.exists():
        raise UsageError("no such file. Check the path (relative paths start from the working directory).",
                         path=text)
    return [text]


def _is_parquet(files: list[str]) -> bool:
    kinds = {f.lower().endswith(".parquet") or f.lower().endswith(".pq") for f in files}
    if len(kinds) > 1:
        raise UsageError("the input mixes Parquet and CSV files; read them separately.", path=files[0])
    return kinds.pop()


def _file_digest(path: str) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks (bounded memory for multi-GB exports)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def drop_identical_files(files: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """Keep one of each set of byte-identical files (the same delivery copied twice).

    Parameters
    ----------
    files : list of str
        Files of one input, in reading order.

    Returns
    -------
    (files, notes) : (list of str, tuple of str)
        The files whose content was not seen before, in order, and one note per skipped copy naming it and the
        file it repeats. The skipped copies' rows are not read, so they are in no total.
    """
    if len(files) < 2:
        return list(files), ()
    by_size: dict[int, list[str]] = {}
    for f in files:
        by_size.setdefault(Path(f).stat().st_size, []).append(f)
    seen: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for group in (g for g in by_size.values() if len(g) > 1):  # only files of equal size can be identical
        for f in group:
            digest = _file_digest(f)
            if digest in seen:
                skipped[f] = seen[digest]
            else:
                seen[digest] = f
    kept = [f for f in files if f not in skipped]
    notes = tuple(f"{f} is byte-identical to {orig} (the same delivery twice): read once; the copy's rows are "
                  f"not counted." for f, orig in skipped.items())
    return kept, notes


def _encoding_hint(path: str) -> str:
    """`` The file is not UTF-8 ...`` when a CSV's first 64 KiB are not UTF-8 text (latin-1, UTF-16), else ``""``."""
    if path.lower().endswith((".parquet", ".pq")):
        return ""
    opener = gzip.open if path.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return ""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        kind = "UTF-16"
    else:
        try:
            head.decode("utf-8")
            return ""
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # a character cut at the end of the sample
                return ""
            kind = "another encoding (latin-1 / Windows-1252?)"
    return (f" The file is {kind} text, not UTF-8: save it as UTF-8 (in Excel: 'CSV UTF-8'), e.g. "
            f"iconv -f <encoding> -t UTF-8.")


def _read_table(path) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """Read a CSV or Parquet file (or several) into a frame of strings (CSV) or typed columns (Parquet).

    Returns the frame, the source to name in errors and notes (byte-identical copies read once).
    """
    files, notes = drop_identical_files(_resolve_files(path, (".csv", ".csv.gz", ".parquet", ".pq")))
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


def detect_kind(path) -> str:
    """``"focus"``, ``"usage"`` or ``"jobs"``: which reader an input needs, from the columns of its first file."""
    import duckdb

    f = _resolve_files(path, (".csv", ".csv.gz", ".parquet", ".pq"))[0]
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


# --------------------------------------------------------------------------------------------- usage table
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


# --------------------------------------------------------------------------------------------- job records
JOB_ALIASES = {
    "start": ["start", "start_time", "started_at", "submit_start", "begin"],
    "end": ["end", "end_time", "ended_at", "finish", "finish_time", "stop"],
    "gpus": ["gpus", "gpu_count", "num_gpus", "n_gpus", "gpu_num"],
}
JOB_ID_COLUMNS = ("job_id", "jobid", "JobId", "JobID", "job_uuid", "id")


def _pick(raw: pd.DataFrame, name: str) -> str | None:
    for alias in JOB_ALIASES.get(name, [name]):
        if alias in raw.columns:
            return alias
    return None


def apportion_to_hours(start: np.ndarray, end: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                           np.ndarray]:
    """Spread intervals over the clock hours they overlap, exactly.

    Parameters
    ----------
    start, end : ndarray of datetime64[ns]
        Interval bounds (UTC); ``end >= start``.
    weight : ndarray of float
        Rate per interval, e.g. GPUs [GPU]; each hour gets ``weight * overlap`` with the overlap in hours.

    Returns
    -------
    (index, hour, amount) : (ndarray of int, ndarray of datetime64[ns], ndarray of float)
        For each (interval, hour) pair: the interval's position, the hour start and ``weight * overlap_h``
        [e.g. GPU-h]. Per interval, the amounts sum to ``weight * duration_h`` (up to float rounding).
    """
    s = start.astype("datetime64[ns]").astype(np.int64)
    e = end.astype("datetime64[ns]").astype(np.int64)
    first = s // NS_PER_HOUR
    last = -(-e // NS_PER_HOUR)  # ceil
    n = np.maximum(last - first, 0)
    n[(e == s)] = 0
    idx = np.repeat(np.arange(len(s)), n)
    offs = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    hour_start = (first[idx] + offs) * NS_PER_HOUR
    lo = np.maximum(s[idx], hour_start)
    hi = np.minimum(e[idx], hour_start + NS_PER_HOUR)
    amount = weight[idx] * ((hi - lo) / NS_PER_HOUR)
    return idx, hour_start.astype("datetime64[ns]"), amount


def read_jobs(path, *, provider: str | None = None, region: str | None = None, instance_type: str | None = None,
              gpu_type_pools: dict[str, tuple[str, str, str]] | None = None, rules=None,
              heuristic: Heuristic | None = None, instance_types=None,
              bounds: Bounds = DEFAULT_BOUNDS) -> tuple[pd.DataFrame, Reconciliation]:
    """Read job records and apportion each job exactly to the clock hours it ran.

    A job from 10:30 to 12:15 on 8 GPUs gives 4, 8 and 2 GPU-h to the hours 10:00, 11:00 and 12:00.

    Parameters
    ----------
    path : str, path, folder, glob or list
        CSV or Parquet with one row per job: ``start``, ``end`` (timestamps, UTC if naive), ``gpus`` (GPUs the
        job held [GPU]) and a pool: ``provider``, ``region`` and ``instance_type`` columns, or a ``gpu_type``
        column mapped by ``gpu_type_pools``, or the defaults below. Optional: ``workload_class`` (taken as a
        tag), ``team``, ``job_id``, and any column a rule matches on. Common aliases are accepted
        (``start_time``, ``gpu_count``, ...).
    provider, region, instance_type : str, optional
        Pool for jobs whose file does not name one (e.g. a whole trace from one cluster).
    gpu_type_pools : dict, optional
        ``{"A100": ("aws", "us-east-1", "p4d.24xlarge"), ...}`` for files that give a GPU type, not a pool.
    rules : list of Rule or path, optional
        Classification rules (see :mod:`finops_forecast.usage.classify`).
    heuristic : Heuristic, optional
        Thresholds of the classification heuristic.
    instance_types : path, DataFrame or False, optional
        Extra instance types for validation, or False to skip the check.
    bounds : Bounds, optional
        Plausibility limits (time window, longest job, most GPUs); see :mod:`finops_forecast.usage.bounds`.

    Returns
    -------
    (usage, reconciliation)
        The hourly usage table (``classified_by`` says how each row's class was decided) and its
        reconciliation: total GPU-hours in (sum of duration x GPUs) equal total GPU-hours out plus the GPU-hours
        of duplicate job records (see :func:`duplicate_job_records`), rejected as "duplicate job record".

    Raises
    ------
    UsageError
        On missing columns, unparsable times, an end before its start, negative or missing GPU counts, or a job
        with no pool; naming the file, row and column.
    """
    raw, source, file_notes = _read_table(path)
    if raw.empty:
        raise UsageError("the job file has no rows.", path=source)
    cols = {k: _pick(raw, k) for k in ("start", "end", "gpus")}
    missing = [k for k, v in cols.items() if v is None]
    if missing:
        check_columns(raw, missing, source=source, what="job file",
                      hint="A job file needs start, end and gpus (aliases: " +
                           "; ".join(f"{k}: {', '.join(JOB_ALIASES[k])}" for k in missing) + ").")
    jobs = _parse_job_times(raw, cols, source=source, bounds=bounds)
    jobs = _job_pools(raw, jobs, source, provider=provider, region=region, instance_type=instance_type,
                      gpu_type_pools=gpu_type_pools)
    if instance_types is not False:  # checked here, at the input's rows, not on the hourly output
        check_instance_types(jobs["provider"], jobs["instance_type"], _known(instance_types), source=source)
    jobs["team"] = (raw["team"].astype(object) if "team" in raw.columns
                    else pd.Series(None, index=raw.index, dtype=object)).fillna(UNALLOCATED)
    jobs["workload_tag"] = raw["workload_class"] if "workload_class" in raw.columns else None
    for extra in raw.columns:
        if extra not in jobs.columns and extra not in cols.values():
            jobs[extra] = raw[extra]
    jobs["run_hours"] = (jobs["end"] - jobs["start"]).dt.total_seconds() / 3600.0
    gpu_in = float((jobs["gpus"] * jobs["run_hours"]).sum())
    n_in = len(jobs)
    dup, key = duplicate_job_records(raw, cols)
    rejected, dup_notes = _job_duplicates_summary(jobs, dup, key)
    jobs = jobs.loc[~dup].reset_index(drop=True)
    jobs = classify(jobs, tag_col="workload_tag", gpus_col="gpus", hours_col="run_hours", rules=rules,
                    heuristic=heuristic)

    idx, hour, amount = apportion_to_hours(jobs["start"].dt.tz_convert(None).to_numpy(),
                                           jobs["end"].dt.tz_convert(None).to_numpy(), jobs["gpus"].to_numpy(float))
    hourly = pd.DataFrame({"ts": pd.DatetimeIndex(hour).tz_localize("UTC"), "gpu_hours": amount})
    for col in ("provider", "region", "instance_type", "workload_class", "team", "classified_by"):
        hourly[col] = jobs[col].to_numpy()[idx]
    usage = (hourly.groupby(ROW_KEYS, sort=True, observed=True)
             .agg(gpu_hours=("gpu_hours", "sum"),
                  classified_by=("classified_by", lambda s: "|".join(sorted(set(s)))))
             .reset_index())
    usage = validate_usage(usage[USAGE_COLUMNS + ["classified_by"]], source=source, known_instance_types=False,
                           bounds=bounds)

    notes = list(file_notes) + dup_notes
    if jobs["unknown_tag"].any():
        bad = jobs.loc[jobs["unknown_tag"], "workload_tag"].astype(str)
        notes.append(f"{int(jobs['unknown_tag'].sum())} jobs had a workload_class value that is not a class "
                     f"(e.g. '{bad.iloc[0]}'); they were classified by rules/heuristic instead.")
    counts = jobs["classified_by"].str.split(":").str[0].value_counts().to_dict()
    notes.append("classified by: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    rej = {"rows": float(rejected["rows"].sum()), "gpu_hours": float(rejected["gpu_hours"].sum())}
    rec = Reconciliation(source=source, kind="jobs",
                         totals=_totals({"rows": n_in, "gpu_hours": gpu_in},
                                        {"rows": len(jobs), "gpu_hours": float(usage["gpu_hours"].sum())}, rej),
                         rejected=rejected, notes=tuple(notes))
    return usage, rec


def _parse_job_times(raw: pd.DataFrame, cols: dict[str, str], *, source: str, bounds: Bounds) -> pd.DataFrame:
    """Parse and check ``start``, ``end`` [UTC] and ``gpus`` [GPU] of every job; errors name the input row.

    Raises
    ------
    UsageError
        On a missing or unparsable time, an end before its start, a time outside the plausible window, a job
        longer than ``bounds.max_span_days`` or on more than ``bounds.max_gpus`` GPUs, or a bad GPU count.
    """
    start = parse_timestamps(raw[cols["start"]], column=cols["start"], source=source)
    end_text = raw[cols["end"]].astype("string")
    if end_text.isna().any() or (end_text.str.strip() == "").any():
        row = int(np.flatnonzero((end_text.isna() | (end_text.str.strip() == "")).to_numpy())[0]) + 1
        raise UsageError("the job has no end time (still running?). Give it an end, e.g. the export time, or "
                         "remove it until it finishes.", path=source, row=row, column=cols["end"])
    end = parse_timestamps(raw[cols["end"]], column=cols["end"], source=source)
    check_time_window(start, column=cols["start"], source=source, bounds=bounds)
    check_time_window(end, column=cols["end"], source=source, bounds=bounds)
    backwards = (end < start).to_numpy()
    if backwards.any():
        row = int(np.flatnonzero(backwards)[0]) + 1
        raise UsageError(f"the job ends before it starts ({end.iloc[row - 1]} < {start.iloc[row - 1]}). Swap or "
                         f"fix the times.", path=source, row=row, column=cols["end"])
    days = (end - start).dt.total_seconds() / 86400.0
    check_at_most(days, bounds.max_span_days, column=cols["end"], source=source,
                  what="the job's duration [day]", fix="Check the start and end (a job of more than a year is "
                  "more likely a wrong year or a placeholder end).")
    gpus = parse_numbers(raw[cols["gpus"]], column=cols["gpus"], source=source, unit="GPUs")
    check_at_most(gpus, bounds.max_gpus, column=cols["gpus"], source=source, what="the job's GPU count [GPU]",
                  fix="Check the value and its unit (GPUs the job held, not GPU-seconds).")
    return pd.DataFrame({"start": start, "end": end, "gpus": gpus})


def _job_pools(raw: pd.DataFrame, jobs: pd.DataFrame, source: str, *, provider, region, instance_type,
               gpu_type_pools) -> pd.DataFrame:
    """Add each job's pool (``provider``, ``region``, ``instance_type``) from its columns or the defaults."""
    for col in ("provider", "region", "instance_type"):
        default = {"provider": provider, "region": region, "instance_type": instance_type}[col]
        if col in raw.columns:
            jobs[col] = raw[col].where(raw[col].notna() & (raw[col].astype(str).str.strip() != ""), default)
        else:
            jobs[col] = default
    if gpu_type_pools and "gpu_type" in raw.columns:
        for gpu_type, pool in gpu_type_pools.items():
            hit = (raw["gpu_type"].astype(str) == gpu_type) & jobs["instance_type"].isna()
            jobs.loc[hit, ["provider", "region", "instance_type"]] = list(pool)
    no_pool = jobs[["provider", "region", "instance_type"]].isna().any(axis=1).to_numpy()
    if no_pool.any():
        row = int(np.flatnonzero(no_pool)[0]) + 1
        raise UsageError(f"the job names no pool ({int(no_pool.sum())} jobs in all). Add provider, region and "
                         f"instance_type columns, pass provider=/region=/instance_type= for the whole file, or "
                         f"map gpu_type values with gpu_type_pools=.", path=source, row=row)
    jobs["provider"] = normalize_provider(jobs["provider"]).astype(object)
    for col in ("region", "instance_type"):
        jobs[col] = jobs[col].astype("string").str.strip().astype(object)
    return jobs


def duplicate_job_records(raw: pd.DataFrame, cols: dict[str, str]) -> tuple[np.ndarray, list[str]]:
    """Which job records repeat an earlier one (the same record exported twice).

    With a job id column (:data:`JOB_ID_COLUMNS`), a record repeats an earlier one with the same id, start, end,
    GPUs and pool columns (other columns, e.g. an export time, may differ); without one, all columns must be
    equal. The first record is kept.

    Parameters
    ----------
    raw : pandas.DataFrame
        The job file as read.
    cols : dict
        The columns holding ``start``, ``end`` and ``gpus``.

    Returns
    -------
    (duplicate, key) : (ndarray of bool, list of str)
        One flag per input row (True: drop it) and the columns compared.
    """
    id_col = next((c for c in JOB_ID_COLUMNS if c in raw.columns), None)
    if id_col is None:
        key = [str(c) for c in raw.columns]
    else:
        key = [id_col, cols["start"], cols["end"], cols["gpus"]]
        key += [c for c in ("provider", "region", "instance_type", "gpu_type") if c in raw.columns]
    text = raw[key].astype("string").apply(lambda s: s.str.strip())
    return text.duplicated(keep="first").to_numpy(), key


def _job_duplicates_summary(jobs: pd.DataFrame, dup: np.ndarray, key: list[str]) -> tuple[pd.DataFrame,
                                                                                         list[str]]:
    """The reconciliation's ``rejected`` table and the note for duplicate job records (rows, GPU-hours [GPU-h])."""
    columns = ["reason", "detail"] + TOTAL_COLUMNS
    if not dup.any():
        return pd.DataFrame(columns=columns), []
    gpu_hours = float((jobs["gpus"] * jobs["run_hours"])[dup].sum())
    detail = "same " + ", ".join(key) if len(key) <= 8 else "all columns equal"
    rejected = pd.DataFrame([{"reason": "duplicate job record", "detail": detail, "rows": int(dup.sum()),
                              "gpu_hours": gpu_hours}], columns=columns)
    rows = np.flatnonzero(dup)[:5] + 1
    note = (f"{int(dup.sum())} duplicate job records ({gpu_hours:,.2f} GPU-h) were dropped: they repeat an "
            f"earlier record ({detail}); first at rows {', '.join(map(str, rows))}.")
    return rejected, [note]


# --------------------------------------------------------------------------------------------- FOCUS
FOCUS_REQUIRED = ["ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ChargeCategory",
                  "ConsumedQuantity", "ConsumedUnit"]
FOCUS_PROVIDER = ["ProviderName", "ServiceProviderName"]
FOCUS_REGION = ["RegionId", "RegionName"]
DEFAULT_WORKLOAD_TAG_KEYS = ("workload_class", "workload-class", "workload", "ai-workload", "WorkloadClass")
DEFAULT_TEAM_TAG_KEYS = ("team", "Team", "owner", "cost-center", "business_unit")
DEFAULT_INSTANCE_COLUMNS = ("x_InstanceType", "x_SkuInstanceType", "InstanceType")
# where to look for an instance type when no column carries it: regexes on descriptive FOCUS columns
INSTANCE_PATTERNS = [
    r"(Standard_[A-Za-z0-9_]+)",                                     # Azure VM sizes
    r"\b([a-z][a-z0-9]*-(?:highgpu|megagpu|ultragpu|edgegpu|standard|highmem)-[0-9]+g?)\b",  # GCP machine types
    r"\b([a-z][a-z0-9-]*\.(?:[0-9]*x?large|metal[a-z0-9-]*))\b",  # AWS instance types
]
DESCRIPTIVE_COLUMNS = ("ChargeDescription", "SkuMeter", "x_SkuMeterName", "x_SkuDescription", "ResourceName")
HOUR_UNITS = ("hours", "hour", "hrs", "hr", "h", "1 hour", "instance-hours")
NULLS = ("", "NULL", "null", "None", "NaN", "nan")


def _sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _nullif(col: str) -> str:
    # equalities joined by OR, not IN (...): DuckDB plans a long IN list as a join, slower per row
    text = f"trim(CAST({col} AS VARCHAR))"
    return f"CASE WHEN {' OR '.join(f'{text} = {_sql_str(n)}' for n in NULLS)} THEN NULL ELSE {text} END"


def _snake(focus_cost: str) -> str:
    """``BilledCost`` -> ``billed_cost``."""
    return {"BilledCost": "billed_cost", "EffectiveCost": "effective_cost", "ListCost": "list_cost"}[focus_cost]


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def mark_duplicate_deliveries(con, columns: list[str], n_files: int) -> tuple[pd.DataFrame, str]:
    """Create the view or table ``raw``: the export's rows with ``_dup``, True for a row delivered twice.

    A row of one file that is equal, in every column, to a row of another file of the same input is the same
    charge delivered twice (an export re-run for the same billing period, an overlapping re-delivery). Per
    distinct row, the file that holds it most often keeps its copies (so identical rows within one file, which
    a bill can legitimately contain, are all kept); the copies in the other files are duplicates. Ties go to
    the file that sorts first.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection with the view ``scan`` (the files, with DuckDB's ``filename`` column).
    columns : list of str
        The export's columns (without ``filename``): all of them identify a row.
    n_files : int
        Files in the input; with one file nothing is a duplicate delivery.

    Returns
    -------
    (pairs, row_number) : (pandas.DataFrame, str)
        One row per (``file``, ``duplicate_of``, ``rows``) of duplicate rows, and the SQL expression of a row's
        position in scan order in ``raw``.
    """
    pairs = pd.DataFrame(columns=["file", "duplicate_of", "rows"])
    cols = ", ".join(_q(c) for c in columns)
    overlap = n_files > 1 and con.execute(f"""
        SELECT count(*) FROM (SELECT hash({cols}) AS h FROM scan GROUP BY h HAVING count(DISTINCT filename) > 1)
        """).fetchall()[0][0]
    if not overlap:  # the usual case: a view, nothing materialized
        con.execute("CREATE TEMP VIEW raw AS SELECT *, false AS _dup FROM scan")
        return pairs, "row_number() OVER ()"
    # numbered in scan order first (a streaming window), then ranked per distinct row
    con.execute("CREATE TEMP TABLE numbered AS SELECT *, row_number() OVER () AS _n FROM scan")
    con.execute(f"""
        CREATE TEMP TABLE raw AS
        WITH o AS (SELECT *, row_number() OVER (PARTITION BY {cols}, filename ORDER BY _n) AS _occ,
                          count(*) OVER (PARTITION BY {cols}, filename) AS _k FROM numbered),
        w AS (SELECT *, first_value(filename) OVER (PARTITION BY {cols} ORDER BY _k DESC, filename) AS _keep
              FROM o)
        SELECT * EXCLUDE (_occ, _k, _keep), filename <> _keep AS _dup, _keep AS _dup_of FROM w ORDER BY _n""")
    con.execute("DROP TABLE numbered")
    pairs = con.execute("""SELECT filename AS file, _dup_of AS duplicate_of, count(*) AS rows FROM raw WHERE _dup
                           GROUP BY ALL ORDER BY ALL""").df()
    return pairs, "_n"


def _duplicate_note(pairs: pd.DataFrame, fates: pd.DataFrame) -> list[str]:
    """The reconciliation note on duplicate deliveries: rows, GPU-hours [GPU-h] and cost [USD] dropped, files."""
    if pairs.empty:
        return []
    d = fates[fates["reason"] == "duplicate delivery"].sum(numeric_only=True)
    files = "; ".join(f"{int(r.rows)} rows of {r.file} repeat {r.duplicate_of}" for r in pairs.itertuples())
    note = (f"{int(d['rows'])} rows were delivered twice and dropped as duplicate deliveries ({d['gpu_hours']:,.2f} "
            f"GPU-h, billed {d['billed_cost']:,.2f}, effective {d['effective_cost']:,.2f}): {files}. They are "
            f"counted as rejected 'duplicate delivery'. Rows repeated within one file are kept.")
    return [note]


# GPU usage rows (reason NULL) that fail a check: (condition on `agg` [max_qty] and on `rows` [qty], column)
def _focus_checks(bounds: Bounds, cost_columns: list[str]) -> list[tuple[str, str, str, str]]:
    """The plausibility and completeness checks of GPU usage rows, as (agg condition, rows condition, column,
    message)."""
    early, late = f"TIMESTAMPTZ '{bounds.earliest.isoformat()}'", f"TIMESTAMPTZ '{bounds.latest().isoformat()}'"
    window = f"outside the plausible window {bounds.describe_window()}. Check the value. {HOW_TO_RAISE}"
    rate = "{q} * gpu_count / greatest(1, epoch(t1 - t0) / 3600) > " + repr(float(bounds.max_gpus))
    span = (f"the charge period is longer than the plausible limit of {bounds.max_span_days:g} days (FOCUS rows "
            f"are hourly, daily or monthly). Check ChargePeriodStart/End. {HOW_TO_RAISE}")
    gpus = (f"the row's GPUs (ConsumedQuantity x GPUs per instance / hours) are above the plausible limit of "
            f"{bounds.max_gpus:g} GPUs. Check the value and its unit (instance-hours). {HOW_TO_RAISE}")
    start_out, end_out = f"t0 < {early} OR t0 > {late}", f"t1 < {early} OR t1 > {late}"
    too_long = f"epoch(t1 - t0) > {bounds.max_span_hours * 3600!r}"
    checks = [
        (start_out, start_out, "ChargePeriodStart", f"the charge period starts {window}"),
        (end_out, end_out, "ChargePeriodEnd", f"the charge period ends {window}"),
        (too_long, too_long, "ChargePeriodEnd", span),
        (rate.format(q="max_qty"), rate.format(q="qty"), "ConsumedQuantity", gpus),
    ]
    missing = ("{c} is missing (empty, NULL or NaN) in a GPU usage row. FOCUS requires a cost on every row; fill "
               "it (0 for a free row) or fix the export.")
    checks += [(f"null_{c} > 0", f"null_{c}", c, missing.format(c=c)) for c in cost_columns]
    return checks


def check_focus_gpu_rows(con, locate, bounds: Bounds, cost_columns: list[str]) -> None:
    """Raise :class:`UsageError` at the first GPU usage row outside the bounds or without a cost.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection with the tables ``agg`` (rows summed by key) and the view ``rows`` (row by row).
    locate : callable
        ``locate(condition, limit)`` -> file, row of the rows of ``rows`` matching a condition.
    bounds : Bounds
        Plausibility limits.
    cost_columns : list of str
        The FOCUS cost columns the export has (checked for missing values).
    """
    checks = _focus_checks(bounds, cost_columns)
    counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE {a})" for a, _, _, _ in checks)
                         + " FROM agg WHERE reason IS NULL").fetchall()[0]
    for n, (_, cond, column, message) in zip(counts, checks):
        if n:
            bad = locate(f"reason IS NULL AND ({cond})", 1).iloc[0]
            raise UsageError(message, path=bad["file"], row=int(bad["row"]), column=column)


def read_focus(path, *, workload_tag_keys=DEFAULT_WORKLOAD_TAG_KEYS, team_tag_keys=DEFAULT_TEAM_TAG_KEYS,
               instance_type_columns=DEFAULT_INSTANCE_COLUMNS, rules: list[Rule] | str | PathLike | None = None,
               heuristic: Heuristic | None = None, instance_types=None, max_rejected_rows: int = 10_000,
               memory_limit: str = "1GB", threads: int | None = None,
               bounds: Bounds = DEFAULT_BOUNDS) -> tuple[pd.DataFrame, Reconciliation]:
    """Read a FOCUS 1.0-1.3 billing export into the hourly GPU usage table.

    GPU usage rows are the ``Usage`` charges measured in hours whose instance type (from a column in
    ``instance_type_columns``, ``SkuPriceDetails``, or the instance-type name in ``ChargeDescription`` /
    ``SkuMeter`` / ``ResourceName``) is a GPU machine of the instance registry. Their GPU-hours are
    ``ConsumedQuantity`` [instance-h] x GPUs per instance; charges spanning several hours (daily rows) are
    spread evenly over their hours. Every other row is rejected with its reason and counted in the
    reconciliation, so billed and effective cost balance to the cent.

    Parameters
    ----------
    path : str, path, folder, glob or list
        FOCUS CSV (optionally .gz) or Parquet files.
    workload_tag_keys, team_tag_keys : sequence of str
        Keys of the FOCUS ``Tags`` JSON to read the workload class and the team from, first present wins.
    instance_type_columns : sequence of str
        Columns that carry the instance type directly, if the export has them.
    rules : list of Rule or path, optional
        Classification rules for untagged rows; they can match on ``provider``, ``region``, ``instance_type``,
        ``team``, ``resource_id``, ``sub_account`` and ``tags`` (the raw JSON) of the run (where a run's rows
        disagree on one of them, the smallest value).
    heuristic : Heuristic, optional
        Thresholds of the classification heuristic (run = one resource's usage in the export).
    instance_types : path, DataFrame, optional
        Extra GPU instance types for the registry.
    bounds : Bounds, optional
        Plausibility limits of GPU usage rows (time window, longest charge period, most GPUs); see
        :mod:`finops_forecast.usage.bounds`.
    max_rejected_rows : int, default 10000
        Cap on the row-level listing of rows rejected for data problems (all are counted in the summary).
    memory_limit : str, default "1GB"
        DuckDB memory limit; DuckDB spills to disk beyond it.
    threads : int, optional
        DuckDB threads (default: DuckDB's choice).

    Returns
    -------
    (usage, reconciliation)
        The usage table with ``billed_cost``, ``effective_cost``, ``list_cost`` [USD], ``committed_gpu_hours``
        (GPU-hours a commitment discount covered [GPU-h]) and ``classified_by``; and the reconciliation.

    Raises
    ------
    UsageError
        When the input is empty or not FOCUS (names the missing FOCUS columns), or a timestamp or number in a
        GPU row cannot be parsed (names the file and row).
    """
    import duckdb

    from finops_forecast.usage.instances import instance_registry

    files, file_notes = drop_identical_files(_resolve_files(path, (".csv", ".csv.gz", ".parquet", ".pq")))
    source = files[0] if len(files) == 1 else str(path)
    # FOCUS times are UTC: the session time zone (by default the machine's) must not shift naive timestamps or
    # move hour boundaries (date_trunc on TIMESTAMPTZ truncates in the session time zone)
    con = duckdb.connect(config={"memory_limit": memory_limit, **({"threads": threads} if threads else {})})
    try:
        con.execute("SET TimeZone = 'UTC'")
        if _is_parquet(files):
            scan = f"read_parquet({files!r}, union_by_name=true, filename=true)"
        else:
            for f in files:
                if Path(f).stat().st_size == 0:
                    raise UsageError("the file is empty (no header, no rows).", path=f)
            scan = (f"read_csv({files!r}, header=true, all_varchar=true, union_by_name=true, filename=true, "
                    f"sample_size=-1)")
        try:
            con.execute(f"CREATE TEMP VIEW scan AS SELECT * FROM {scan}")
            columns = [r[0] for r in con.execute("DESCRIBE scan").fetchall()]
        except duckdb.Error as exc:
            bad = next((h for h in map(_encoding_hint, files) if h), "")
            raise UsageError(f"cannot read the export: {str(exc).splitlines()[0]}. Is it a FOCUS CSV or Parquet "
                             f"file?{bad}", path=source) from None
        dialect = detect_focus_version([c for c in columns if c != "filename"])
        if dialect.renames:  # FOCUS 1.0-preview / 1.3 names read under their 1.0 names
            con.execute(f"CREATE OR REPLACE TEMP VIEW scan AS SELECT {rename_sql(columns, dialect.renames)} "
                        f"FROM {scan}")
            columns = [dialect.renames.get(c, c) for c in columns]
            file_notes = (*file_notes, dialect.note())
        provider_col = next((c for c in FOCUS_PROVIDER if c in columns), None)
        region_col = next((c for c in FOCUS_REGION if c in columns), None)
        missing = [c for c in FOCUS_REQUIRED if c not in columns]
        missing += [] if provider_col else ["ProviderName"]
        missing += [] if region_col else ["RegionId"]
        if missing:
            shown = [c for c in columns if c != "filename"]
            raise UsageError(
                f"this is not a FOCUS billing export: missing FOCUS column(s) {missing}; found {shown[:25]}"
                f"{' ...' if len(shown) > 25 else ''}. Export cost and usage data in FOCUS 1.0-1.2 format (AWS Data "
                f"Exports 'FOCUS', Azure 'FocusCost', GCP FOCUS BigQuery view), or use read_usage for the hourly "
                f"usage table and read_jobs for job records.", path=source, column=missing[0])
        if not con.execute("SELECT 1 FROM scan LIMIT 1").fetchall():
            raise UsageError("the export has a header but no rows.", path=source)
        dup_pairs, row_n = mark_duplicate_deliveries(con, [c for c in columns if c != "filename"], len(files))

        reg = instance_registry(instance_types)[["provider", "instance_type", "gpu_count"]]
        con.register("registry_df", reg)
        con.execute("CREATE TEMP TABLE registry AS SELECT * FROM registry_df")

        has = set(columns).__contains__
        cost = {c: (f"TRY_CAST({_nullif(c)} AS DECIMAL(38, 12))" if has(c) else "NULL")
                for c in ("BilledCost", "EffectiveCost", "ListCost")}
        inst_sources = [_nullif(_q(c)) for c in instance_type_columns if has(c)]
        if has("SkuPriceDetails"):
            spd = _nullif("SkuPriceDetails")
            inst_sources += [f"CASE WHEN json_valid({spd}) THEN json_extract_string({spd}, '$.{k}') END"
                             for k in ("InstanceType", "x_InstanceType", "InstanceTypeName")]
        for c in DESCRIPTIVE_COLUMNS:
            if has(c):
                inst_sources += [f"NULLIF(regexp_extract({_nullif(_q(c))}, {_sql_str(p)}, 1), '')"
                                 for p in INSTANCE_PATTERNS]
        inst_expr = f"coalesce({', '.join(inst_sources)})" if inst_sources else "NULL"

        def tag_expr(keys, col="tags"):
            paths = "[" + ", ".join(_sql_str("$." + json_key(k)) for k in keys) + "]"
            return (f"CASE WHEN json_valid({col}) THEN list_filter(json_extract_string({col}, {paths}), "
                    f"lambda x: x IS NOT NULL)[1] END") if keys else "NULL"

        def json_key(k):
            return '"' + k.replace('"', '\\"') + '"'

        commit = (f"({_nullif('CommitmentDiscountId')} IS NOT NULL)" if has("CommitmentDiscountId") else "false")
        sub = _nullif("SubAccountId") if has("SubAccountId") else "NULL"
        rid = _nullif("ResourceId") if has("ResourceId") else "NULL"
        provider_sql = ("CASE lower(trim(CAST({c} AS VARCHAR))) "
                        + " ".join(f"WHEN {_sql_str(k)} THEN {_sql_str(v)}" for k, v in _PROVIDER_ALIASES.items())
                        + " ELSE lower(trim(CAST({c} AS VARCHAR))) END").format(c=_nullif(_q(provider_col)))
        start_sql, end_sql = _nullif("ChargePeriodStart"), _nullif("ChargePeriodEnd")
        # a quantity that is not a finite number (text, 'inf', '1e400') is no quantity: inf - inf would unbalance
        qty_sql = (f"nullif(nullif(TRY_CAST({_nullif('ConsumedQuantity')} AS DOUBLE), 'inf'::DOUBLE), "
                   f"'-inf'::DOUBLE)")
        # The raw columns a row's pool, period and fate are computed from. An export repeats few distinct
        # combinations of them, so the expressions below run once per distinct pool (`pools`) and period
        # (in `agg`), not once per row.
        key_cols = list(dict.fromkeys(c for c in (provider_col, region_col, "ChargeCategory", "ConsumedUnit",
                                                  "ChargePeriodStart", "ChargePeriodEnd", *instance_type_columns,
                                                  "SkuPriceDetails", *DESCRIPTIVE_COLUMNS) if has(c)))
        keys_sql = ", ".join(_q(c) for c in key_cols)
        pool_cols = [c for c in key_cols if c not in ("ChargePeriodStart", "ChargePeriodEnd")]
        pool_sql = f"""{provider_sql} AS provider, {_nullif(_q(region_col))} AS region,
                     {_nullif('ChargeCategory')} AS charge_category, lower({_nullif('ConsumedUnit')}) AS unit,
                     {inst_expr} AS instance_type"""
        period_sql = f"TRY_CAST({start_sql} AS TIMESTAMPTZ) AS t0, TRY_CAST({end_sql} AS TIMESTAMPTZ) AS t1"

        def fate(qty_missing: str, qty_negative: str, period_missing: str = "b.t0 IS NULL OR b.t1 IS NULL",
                 period_backwards: str = "b.t1 < b.t0", dup: str = "b._dup") -> str:
            """The reason (NULL = GPU usage) and detail of a row of ``base b`` joined with ``registry g``."""
            return f"""
              CASE
                WHEN {dup} THEN 'duplicate delivery'
                WHEN b.charge_category IS NULL OR lower(b.charge_category) <> 'usage' THEN 'not a usage charge'
                WHEN b.instance_type IS NULL THEN 'no instance type (not a compute instance)'
                WHEN g.gpu_count IS NULL THEN 'instance type is not a GPU machine in the registry'
                WHEN b.unit IS NULL OR b.unit NOT IN ({', '.join(_sql_str(u) for u in HOUR_UNITS)})
                  THEN 'GPU instance row not measured in hours'
                WHEN {qty_missing} THEN 'GPU instance row without a numeric ConsumedQuantity'
                WHEN {qty_negative} THEN 'GPU instance row with negative ConsumedQuantity'
                WHEN {period_missing} THEN 'GPU instance row with an unparsable ChargePeriodStart/End'
                WHEN {period_backwards} THEN 'GPU instance row whose ChargePeriodEnd is before its start'
                WHEN b.region IS NULL THEN 'GPU instance row without a region'
              END AS reason,
              CASE
                WHEN {dup} THEN 'the same row is in another file of the input'
                WHEN b.charge_category IS NULL OR lower(b.charge_category) <> 'usage'
                  THEN coalesce(b.charge_category, '(empty ChargeCategory)')
                WHEN b.instance_type IS NULL THEN NULL
                WHEN g.gpu_count IS NULL THEN b.instance_type
                ELSE coalesce(b.unit, '(empty ConsumedUnit)')
              END AS detail"""

        registry_join = "LEFT JOIN registry g ON g.provider = b.provider AND g.instance_type = b.instance_type"
        # Row by row, with file and row number: only queried to locate rows (error messages, rejected_rows).
        # row_number() OVER () numbers the rows in scan order (a streaming window: one thread, files in order).
        con.execute(f"""
            CREATE TEMP VIEW rows AS
            WITH base AS (
              SELECT filename AS _file, {row_n} AS _n, _dup, {pool_sql}, {period_sql}, {qty_sql} AS qty,
                     ({_nullif('BilledCost')} IS NOT NULL AND {cost['BilledCost']} IS NULL) AS bad_billed,
                     ({_nullif('EffectiveCost')} IS NOT NULL AND {cost['EffectiveCost']} IS NULL) AS bad_effective,
                     {', '.join(f"{cost[c]} IS NULL AS null_{c}" for c in cost)}
              FROM raw)
            SELECT b.*, g.gpu_count, {fate('b.qty IS NULL', 'b.qty < 0')}
            FROM base b {registry_join}""")

        # Tags: each distinct value parsed once (workload tag, team, class, valid JSON).
        con.execute("CREATE TEMP TABLE tag_dim (_tags_raw VARCHAR, tag_id BIGINT, tags VARCHAR, bad_json BOOLEAN, "
                    "workload_tag VARCHAR, team VARCHAR, tag_class VARCHAR)")
        if has("Tags"):
            con.execute(f"""
                CREATE TEMP TABLE tag_parsed AS
                SELECT _tags_raw, tag_id, tags, tags IS NOT NULL AND NOT json_valid(tags) AS bad_json,
                       {tag_expr(workload_tag_keys)} AS workload_tag, {tag_expr(team_tag_keys)} AS team
                FROM (SELECT _tags_raw, row_number() OVER () AS tag_id, {_nullif('_tags_raw')} AS tags
                      FROM (SELECT DISTINCT CAST("Tags" AS VARCHAR) AS _tags_raw FROM raw)
                      WHERE _tags_raw IS NOT NULL)""")
            workload_values = con.execute("SELECT DISTINCT workload_tag FROM tag_parsed "
                                          "WHERE workload_tag IS NOT NULL").df()["workload_tag"].astype(object)
            con.register("tag_map_df", pd.DataFrame({"tag_value": workload_values,
                                                     "tag_class": normalize_tag(workload_values)[0].astype(object)}))
            con.execute("""
                INSERT INTO tag_dim
                SELECT p.*, CAST(m.tag_class AS VARCHAR) AS tag_class
                FROM tag_parsed p LEFT JOIN tag_map_df m ON p.workload_tag = CAST(m.tag_value AS VARCHAR)""")
            tag_join = 'LEFT JOIN tag_dim d ON CAST(r."Tags" AS VARCHAR) = d._tags_raw'
        else:
            tag_join = "LEFT JOIN tag_dim d ON false"

        def same(cols, a, b):
            return " AND ".join(f"{a}.{_q(c)} IS NOT DISTINCT FROM {b}.{_q(c)}" for c in cols)

        # Pools: each distinct combination of the pool columns, typed and looked up in the registry once.
        # gpu_pool: rows of the pool are GPU usage unless their quantity or period is bad.
        pool_list = ", ".join(_q(c) for c in pool_cols)
        con.execute(f"""
            CREATE TEMP TABLE pools AS
            WITH base AS (SELECT *, {pool_sql} FROM (SELECT DISTINCT {pool_list} FROM raw)),
            f AS (SELECT b.*, g.gpu_count, {fate('false', 'false', 'false', 'false', 'false')} FROM base b {registry_join})
            SELECT * EXCLUDE (reason, detail), reason IS NULL AS gpu_pool FROM f""")

        # Runs, for GPU rows no tag classifies: one run = one resource (or, without ResourceId, one pool x team x
        # account). They are classified first (on duration and GPUs), so that the pass below can sum their rows
        # by class. Where a run's rows disagree on team, account or tags, rules see the smallest value.
        untagged = con.execute(f"SELECT count(*) FROM raw r {tag_join} WHERE d.tag_class IS NULL").fetchall()[0][0]
        con.execute(f"""
            CREATE TEMP TABLE run_parts AS
            SELECT {pool_list}, tag_id, resource_id, sub_account, min(t0) AS t0, max(t1) AS t1, count(*) AS n
            FROM (
              SELECT {', '.join('r.' + _q(c) for c in pool_cols)}, d.tag_id, {rid} AS resource_id,
                     {sub} AS sub_account, TRY_CAST({start_sql} AS TIMESTAMPTZ) AS t0,
                     TRY_CAST({end_sql} AS TIMESTAMPTZ) AS t1, {qty_sql} AS qty
              FROM raw r {tag_join} SEMI JOIN (SELECT * FROM pools WHERE gpu_pool) o ON {same(pool_cols, 'r', 'o')}
              WHERE d.tag_class IS NULL AND NOT r._dup)
            WHERE qty >= 0 AND t0 IS NOT NULL AND t1 IS NOT NULL AND t1 >= t0 AND {'true' if untagged else 'false'}
            GROUP BY ALL""")
        con.execute(f"""
            CREATE TEMP VIEW run_keys AS
            SELECT p.*, o.provider, o.region, o.instance_type, o.gpu_count, t.team, t.tags,
                   hash(coalesce(p.resource_id, ''), o.provider, o.region, o.instance_type,
                        CASE WHEN p.resource_id IS NULL THEN coalesce(t.team, '') ELSE '' END,
                        CASE WHEN p.resource_id IS NULL THEN coalesce(p.sub_account, '') ELSE '' END) AS run_key
            FROM run_parts p JOIN pools o ON {same(pool_cols, 'p', 'o')} LEFT JOIN tag_dim t USING (tag_id)""")
        runs = con.execute("""
            SELECT run_key, min(provider) AS provider, min(region) AS region,
                   min(instance_type) AS instance_type, max(gpu_count) AS gpus,
                   min(team) AS team, min(resource_id) AS resource_id,
                   min(sub_account) AS sub_account, min(tags) AS tags,
                   epoch(max(t1) - min(t0)) / 3600.0 AS run_hours, CAST(sum(n) AS BIGINT) AS n
            FROM run_keys GROUP BY run_key""").df()
        runs = classify(runs, tag_col=None, gpus_col="gpus", hours_col="run_hours", rules=rules,
                        heuristic=heuristic)
        con.register("run_class_df", runs[["run_key", "workload_class", "classified_by"]])
        if untagged:
            con.execute("""
                CREATE TEMP TABLE run_map AS
                SELECT k.* EXCLUDE (t0, t1, n, provider, region, instance_type, gpu_count, team, tags, run_key),
                       CAST(c.workload_class AS VARCHAR) AS run_class, CAST(c.classified_by AS VARCHAR) AS run_by
                FROM run_keys k JOIN run_class_df c ON k.run_key = CAST(c.run_key AS UBIGINT)""")
            run_join = (f"LEFT JOIN run_map m ON d.tag_class IS NULL AND "
                        f"{same(pool_cols, 'r', 'm')} AND d.tag_id IS NOT DISTINCT FROM m.tag_id AND "
                        f"{rid} IS NOT DISTINCT FROM m.resource_id AND {sub} IS NOT DISTINCT FROM m.sub_account")
            run_cols = "m.run_class, m.run_by"
        else:
            run_join, run_cols = "", "NULL::VARCHAR AS run_class, NULL::VARCHAR AS run_by"

        # The one pass over the export that reads every column: rows with the same key columns, tags,
        # commitment, quantity state and run class are summed into one row of `pre`. Costs are summed as
        # decimals, so totals stay exact.
        con.execute(f"""
            CREATE TEMP TABLE pre AS
            SELECT {keys_sql}, _dup, tag_id, committed, run_class, run_by,
                   CASE WHEN qty IS NULL THEN 0 WHEN qty < 0 THEN 1 ELSE 2 END AS qty_state,
                   count(*) AS n_rows, sum(qty) AS qty, max(qty) AS max_qty,
                   {', '.join(f"count(*) FILTER (WHERE {_snake(c)} IS NULL) AS null_{c}" for c in cost)},
                   sum(billed_cost) AS billed_cost, sum(effective_cost) AS effective_cost,
                   sum(list_cost) AS list_cost,
                   count(*) FILTER (WHERE bad_billed) AS bad_billed,
                   count(*) FILTER (WHERE bad_effective) AS bad_effective
            FROM (
              SELECT {', '.join('r.' + _q(c) for c in key_cols)}, r._dup, d.tag_id, {commit} AS committed,
                     {run_cols}, {qty_sql} AS qty, {cost['BilledCost']} AS billed_cost,
                     {cost['EffectiveCost']} AS effective_cost, {cost['ListCost']} AS list_cost,
                     ({_nullif('BilledCost')} IS NOT NULL AND {cost['BilledCost']} IS NULL) AS bad_billed,
                     ({_nullif('EffectiveCost')} IS NOT NULL AND {cost['EffectiveCost']} IS NULL) AS bad_effective
              FROM raw r {tag_join} {run_join})
            GROUP BY ALL""")
        # each row of `pre` typed, with its pool, period and fate (reason NULL = GPU usage); the period is
        # computed once per distinct value and joined back
        con.execute(f"""
            CREATE TEMP TABLE agg AS
            WITH periods AS (
              SELECT *, {period_sql} FROM (SELECT DISTINCT ChargePeriodStart, ChargePeriodEnd FROM pre)),
            base AS (
              SELECT o.provider, o.region, o.charge_category, o.unit, o.instance_type, d.t0, d.t1,
                     p.tag_id, p.committed, p.run_class, p.run_by, p.qty_state, p.n_rows, p.qty,
                     p.billed_cost, p.effective_cost, p.list_cost, p.bad_billed, p.bad_effective, p._dup,
                     p.max_qty, p.null_BilledCost, p.null_EffectiveCost, p.null_ListCost
              FROM pre p JOIN pools o ON {same(pool_cols, 'p', 'o')}
              JOIN periods d ON {same(['ChargePeriodStart', 'ChargePeriodEnd'], 'p', 'd')})
            SELECT b.*, g.gpu_count, {fate('b.qty_state = 0', 'b.qty_state = 1')}
            FROM base b {registry_join}""")
        con.execute("DROP TABLE pre")
        sums = ("CAST(sum(billed_cost) AS DOUBLE) AS billed_cost, CAST(sum(effective_cost) AS DOUBLE) AS "
                "effective_cost, CAST(sum(list_cost) AS DOUBLE) AS list_cost")
        fates = con.execute(f"""
            SELECT reason, detail, CAST(sum(n_rows) AS BIGINT) AS rows,
                   sum(CASE WHEN gpu_count IS NOT NULL AND qty_state = 2 THEN qty * gpu_count ELSE 0 END)
                     AS gpu_hours, {sums},
                   CAST(sum(bad_billed) AS BIGINT) AS bad_billed, CAST(sum(bad_effective) AS BIGINT) AS bad_effective,
                   CAST(coalesce(sum(n_rows) FILTER (WHERE t.bad_json), 0) AS BIGINT) AS bad_tags,
                   CAST(coalesce(sum(n_rows) FILTER (WHERE reason IS NULL AND epoch(t1 - t0) > 3600), 0) AS BIGINT)
                     AS multi_hour
            FROM agg LEFT JOIN tag_dim t USING (tag_id) GROUP BY ALL ORDER BY rows DESC, reason, detail""").df()

        def locate(condition: str, limit: int) -> pd.DataFrame:
            """File, 1-based row, reason and detail of the rows matching ``condition`` (error paths only)."""
            return con.execute(f"""
                SELECT _file AS file, _row AS row, reason, detail
                FROM (SELECT *, _n - min(_n) OVER (PARTITION BY _file) + 1 AS _row FROM rows)
                WHERE {condition} ORDER BY _file, _row LIMIT {int(limit)}""").df()

        for flag, name in (("bad_billed", "BilledCost"), ("bad_effective", "EffectiveCost")):
            if fates[flag].sum():
                bad = locate(flag, 1).iloc[0]
                raise UsageError("the value is not a number. FOCUS cost columns are decimals in the billing "
                                 "currency.", path=bad["file"], row=int(bad["row"]), column=name)
        check_focus_gpu_rows(con, locate, bounds, [c for c in cost if has(c)])
        value_cols = ["rows", "gpu_hours", "billed_cost", "effective_cost", "list_cost"]
        totals_in = fates[value_cols].sum().to_dict()
        rejected = fates.loc[fates["reason"].notna(), ["reason", "detail"] + value_cols].reset_index(drop=True)
        problems = rejected["reason"].str.startswith("GPU instance row")
        rejected_rows = (locate("reason LIKE 'GPU instance row%'", max_rejected_rows) if problems.any()
                         else pd.DataFrame(columns=["file", "row", "reason", "detail"]))
        bad_tags = int(fates["bad_tags"].sum())
        multi_hour = int(fates["multi_hour"].sum())

        # workload tag values of GPU rows, for the note on values that are not a class
        tag_values = con.execute("""
            SELECT t.workload_tag AS tag_value, sum(a.n_rows) AS n FROM agg a JOIN tag_dim t USING (tag_id)
            WHERE a.reason IS NULL AND t.workload_tag IS NOT NULL GROUP BY 1""").df()
        tag_unknown = normalize_tag(tag_values["tag_value"].astype(object))[1]
        unknown_values = tag_values.loc[tag_unknown.to_numpy(bool), "tag_value"].tolist()
        n_unknown_tags = int(tag_values.loc[tag_unknown.to_numpy(bool), "n"].sum())

        con.execute("""
            CREATE TEMP VIEW gpu AS
            SELECT a.t0, a.t1, a.provider, a.region, a.instance_type, a.gpu_count, a.qty, a.billed_cost,
                   a.effective_cost, a.list_cost, a.committed, t.team,
                   coalesce(t.tag_class, a.run_class) AS workload_class,
                   CASE WHEN t.tag_class IS NOT NULL THEN 'tag' ELSE a.run_by END AS classified_by
            FROM agg a LEFT JOIN tag_dim t USING (tag_id)
            WHERE a.reason IS NULL""")
        # spread each row over the clock hours it covers (most rows cover exactly one) and aggregate
        hourly = con.sql(f"""
            WITH g AS (
              SELECT *, greatest(1, CAST(ceil(epoch(date_trunc('hour', t1 - INTERVAL 1 MICROSECOND)
                                                    - date_trunc('hour', t0)) / 3600) AS BIGINT) + 1) AS n_hours
              FROM gpu),
            h AS (SELECT *, unnest(generate_series(0, n_hours - 1)) AS k FROM g)
            SELECT date_trunc('hour', t0) + k * INTERVAL 1 HOUR AS ts, provider, region, instance_type,
                   workload_class, coalesce(team, '{UNALLOCATED}') AS team, classified_by,
                   sum(qty * gpu_count / n_hours) AS gpu_hours,
                   CAST(sum(billed_cost / n_hours) AS DOUBLE) AS billed_cost,
                   CAST(sum(effective_cost / n_hours) AS DOUBLE) AS effective_cost,
                   CAST(sum(list_cost / n_hours) AS DOUBLE) AS list_cost,
                   sum(CASE WHEN committed THEN qty * gpu_count / n_hours ELSE 0 END) AS committed_gpu_hours
            FROM h GROUP BY ALL""").to_arrow_table().to_pandas()  # through Arrow: 3x faster than .df() here
        n_rows = int(totals_in["rows"])
        dup_notes = _duplicate_note(dup_pairs, fates)
    finally:
        con.close()

    if not has("ListCost"):
        hourly["list_cost"] = np.nan
    if hourly.empty:
        usage = pd.DataFrame(columns=USAGE_COLUMNS + ["billed_cost", "effective_cost", "list_cost",
                                                      "committed_gpu_hours", "classified_by"])
        usage["ts"] = pd.to_datetime(usage["ts"], utc=True)
    else:
        hourly["ts"] = pd.to_datetime(hourly["ts"], utc=True)
        if hourly.duplicated(ROW_KEYS).any():  # rows of one key classified in several ways: one row, ways joined
            value_cols = ["gpu_hours", "billed_cost", "effective_cost", "list_cost", "committed_gpu_hours"]
            agg = {c: "sum" for c in value_cols} | {"classified_by": lambda v: "|".join(sorted(set(v)))}
            hourly = hourly.groupby(ROW_KEYS, sort=False, observed=True).agg(agg).reset_index()
        usage = validate_usage(hourly, source=source, known_instance_types=False)
    out_tot = {"rows": n_rows - int(rejected["rows"].sum()), "gpu_hours": usage["gpu_hours"].sum()}
    out_tot.update({c: usage[c].sum() if c in usage else np.nan for c in COST_COLUMNS})
    rej_tot = {"rows": int(rejected["rows"].sum()), "gpu_hours": rejected["gpu_hours"].sum()}
    rej_tot.update({c: rejected[c].sum() for c in COST_COLUMNS})
    notes = []
    if multi_hour:
        notes.append(f"{multi_hour} GPU rows covered more than one hour (e.g. daily rows); their usage and cost "
                     f"were spread evenly over their hours.")
    if n_unknown_tags:
        notes.append(f"{n_unknown_tags} GPU rows had a workload tag that is not a class (e.g. "
                     f"'{unknown_values[0]}'); they were classified by rules/heuristic instead.")
    if bad_tags:
        notes.append(f"{bad_tags} rows had a Tags value that is not valid JSON; their tags were ignored.")
    if len(usage):
        kinds: dict[str, int] = {}
        for ways, n in usage["classified_by"].value_counts().items():  # a few distinct values
            for way in ways.split("|"):
                kinds[way.split(":")[0]] = kinds.get(way.split(":")[0], 0) + int(n)
        notes.append("classification: " + ", ".join(f"{k} {v} rows" for k, v in sorted(kinds.items())))
    if not has("ListCost"):
        notes.append("the export has no ListCost column.")
    notes = list(file_notes) + dup_notes + notes
    rec = Reconciliation(source=source, kind="focus", totals=_totals(totals_in, out_tot, rej_tot),
                         rejected=rejected, rejected_rows=rejected_rows, notes=tuple(notes))
    return usage, rec
