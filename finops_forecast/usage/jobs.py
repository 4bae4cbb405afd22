"""Reading job records (start, end, GPUs) into the hourly usage table: :func:`read_jobs`.

A pipeline of named steps: read the file (:func:`~finops_forecast.usage.table._read_table`), find the time and
GPU columns (:data:`JOB_ALIASES`), parse and bound-check them (``_parse_job_times``), give each job its pool
(``_job_pools``), drop repeated records (:func:`duplicate_job_records`), classify, spread each job exactly over
the clock hours it ran (:func:`apportion_to_hours`), validate, and account for every record.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.errors import UsageError
from finops_forecast.usage.bounds import DEFAULT_BOUNDS, Bounds, check_at_most, check_time_window
from finops_forecast.usage.classify import Heuristic, classify
from finops_forecast.usage.reconcile import TOTAL_COLUMNS, Reconciliation, _totals
from finops_forecast.usage.schema import (
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
from finops_forecast.usage.table import _known, _read_table

NS_PER_HOUR = 3_600_000_000_000
JOB_ALIASES = {
    "start": ["start", "start_time", "started_at", "submit_start", "begin"],
    "end": ["end", "end_time", "ended_at", "finish", "finish_time", "stop"],
    "gpus": ["gpus", "gpu_count", "num_gpus", "n_gpus", "gpu_num"],
}
#: keys of the job-size table (:func:`job_sizes`): the series and the GPUs of one job
JOB_SIZE_KEYS = ["provider", "region", "instance_type", "workload_class", "gpus"]
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
        The hourly usage table (``classified_by`` says how each row's class was decided; the GPU-hours per
        series and job size in ``attrs["job_sizes"]``, read back by :func:`job_sizes_of`) and its
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
    cols = _job_columns(raw, source)
    jobs = _parse_job_times(raw, cols, source=source, bounds=bounds)
    jobs = _job_pools(raw, jobs, source, provider=provider, region=region, instance_type=instance_type,
                      gpu_type_pools=gpu_type_pools)
    if instance_types is not False:  # checked here, at the input's rows, not on the hourly output
        check_instance_types(jobs["provider"], jobs["instance_type"], _known(instance_types), source=source)
    jobs = _job_attributes(raw, jobs, cols)
    gpu_in = float((jobs["gpus"] * jobs["run_hours"]).sum())
    n_in = len(jobs)
    dup, key = duplicate_job_records(raw, cols)
    rejected, dup_notes = _job_duplicates_summary(jobs, dup, key)
    jobs = jobs.loc[~dup].reset_index(drop=True)
    jobs = classify(jobs, tag_col="workload_tag", gpus_col="gpus", hours_col="run_hours", rules=rules,
                    heuristic=heuristic)
    usage = _hourly_job_usage(jobs, source=source, bounds=bounds)
    usage.attrs["job_sizes"] = tuple(job_sizes(jobs).itertuples(index=False, name=None))
    rej = {"rows": float(rejected["rows"].sum()), "gpu_hours": float(rejected["gpu_hours"].sum())}
    rec = Reconciliation(source=source, kind="jobs",
                         totals=_totals({"rows": n_in, "gpu_hours": gpu_in},
                                        {"rows": len(jobs), "gpu_hours": float(usage["gpu_hours"].sum())}, rej),
                         rejected=rejected, notes=tuple(list(file_notes) + dup_notes + _job_notes(jobs)))
    return usage, rec


def job_sizes(jobs: pd.DataFrame) -> pd.DataFrame:
    """GPU-hours per series and job size: how big the jobs behind each series' GPU-hours were.

    Parameters
    ----------
    jobs : pandas.DataFrame
        Classified jobs: provider, region, instance_type, workload_class, ``gpus`` [GPU], ``run_hours`` [h].

    Returns
    -------
    pandas.DataFrame
        provider, region, instance_type, workload_class, gpus [GPU per job], gpu_hours [GPU-h] (jobs of
        zero length left out); the input of :func:`finops_forecast.pricing.spot.spot_job_nodes`.
    """
    keys = JOB_SIZE_KEYS
    gh = jobs["gpus"].astype(float) * jobs["run_hours"].astype(float)
    return (jobs[keys].assign(gpu_hours=gh)[gh > 0].groupby(keys, sort=True, observed=True)["gpu_hours"].sum()
            .reset_index())


def job_sizes_of(usage: pd.DataFrame) -> pd.DataFrame | None:
    """The job sizes :func:`read_jobs` kept with a usage table (:func:`job_sizes`), or None when it has none.

    They are kept in ``usage.attrs`` as plain tuples (a DataFrame there breaks pandas operations on the usage);
    a table not read from job records, or concatenated from tables with different job sizes, has none.
    """
    rows = usage.attrs.get("job_sizes")
    if not rows:
        return None
    return pd.DataFrame(list(rows), columns=JOB_SIZE_KEYS + ["gpu_hours"])


def _job_columns(raw: pd.DataFrame, source: str) -> dict[str, str]:
    """The columns holding ``start``, ``end`` and ``gpus`` (:data:`JOB_ALIASES`); an error names the missing."""
    cols = {k: _pick(raw, k) for k in ("start", "end", "gpus")}
    missing = [k for k, v in cols.items() if v is None]
    if missing:
        check_columns(raw, missing, source=source, what="job file",
                      hint="A job file needs start, end and gpus (aliases: " +
                           "; ".join(f"{k}: {', '.join(JOB_ALIASES[k])}" for k in missing) + ").")
    return cols


def _job_attributes(raw: pd.DataFrame, jobs: pd.DataFrame, cols: dict[str, str]) -> pd.DataFrame:
    """Add ``team`` (``__unallocated__`` when none), ``workload_tag``, the file's other columns (for rules) and
    ``run_hours`` [h] to the parsed jobs."""
    jobs["team"] = (raw["team"].astype(object) if "team" in raw.columns
                    else pd.Series(None, index=raw.index, dtype=object)).fillna(UNALLOCATED)
    jobs["workload_tag"] = raw["workload_class"] if "workload_class" in raw.columns else None
    for extra in raw.columns:
        if extra not in jobs.columns and extra not in cols.values():
            jobs[extra] = raw[extra]
    jobs["run_hours"] = (jobs["end"] - jobs["start"]).dt.total_seconds() / 3600.0
    return jobs


def _hourly_job_usage(jobs: pd.DataFrame, *, source: str, bounds: Bounds) -> pd.DataFrame:
    """Spread the classified jobs over the clock hours they ran and sum them into the validated usage table."""
    idx, hour, amount = apportion_to_hours(jobs["start"].dt.tz_convert(None).to_numpy(),
                                           jobs["end"].dt.tz_convert(None).to_numpy(), jobs["gpus"].to_numpy(float))
    hourly = pd.DataFrame({"ts": pd.DatetimeIndex(hour).tz_localize("UTC"), "gpu_hours": amount})
    for col in ("provider", "region", "instance_type", "workload_class", "team", "classified_by"):
        hourly[col] = jobs[col].to_numpy()[idx]
    usage = (hourly.groupby(ROW_KEYS, sort=True, observed=True)
             .agg(gpu_hours=("gpu_hours", "sum"),
                  classified_by=("classified_by", lambda s: "|".join(sorted(set(s)))))
             .reset_index())
    return validate_usage(usage[USAGE_COLUMNS + ["classified_by"]], source=source, known_instance_types=False,
                          bounds=bounds)


def _job_notes(jobs: pd.DataFrame) -> list[str]:
    """The reconciliation notes on classification: workload_class values that are no class, and the ways used."""
    notes = []
    if jobs["unknown_tag"].any():
        bad = jobs.loc[jobs["unknown_tag"], "workload_tag"].astype(str)
        notes.append(f"{int(jobs['unknown_tag'].sum())} jobs had a workload_class value that is not a class "
                     f"(e.g. '{bad.iloc[0]}'); they were classified by rules/heuristic instead.")
    counts = jobs["classified_by"].str.split(":").str[0].value_counts().to_dict()
    notes.append("classified by: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return notes


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

