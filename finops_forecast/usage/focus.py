"""Reading FOCUS billing exports into the hourly GPU usage table: :func:`read_focus`.

FOCUS 1.0-1.3 exports (and 1.0-preview names, :mod:`.focus_dialects`) are read with DuckDB (CSV, CSV.GZ or
Parquet; a file, a folder or a glob), so a multi-GB export streams in bounded memory: only GPU rows, aggregated to
the hour, come back. :func:`read_focus` is a pipeline of named steps, each a function of this module running the
SQL that :mod:`.focus_sql` builds:

1. ``_open_scan``: the view ``scan`` over the files, FOCUS 1.0 names; ``_check_columns``: a FOCUS export
   with rows; :func:`~finops_forecast.usage.reconcile.mark_duplicate_deliveries`: the table or view ``raw``.
2. The view ``keyed`` (``raw`` with the descriptive key columns gated, :func:`.focus_sql.keyed_sql`),
   ``_create_tag_dim`` (each distinct Tags value parsed once), ``_create_pools`` (each distinct pool typed and
   looked up in the instance registry once), ``_create_rows_view`` (row by row, only queried to locate rows).
3. ``_classify_runs``: untagged GPU rows grouped into runs and classified (:func:`.classify.classify`).
4. ``_aggregate``: the one pass over every column, rows summed by key into ``agg`` with their fate (GPU usage,
   or the reason they are rejected: :func:`.focus_sql.fate_sql`).
5. ``_fates`` and ``_rejections``: totals by fate; a cost that is not a number or a GPU row outside the bounds
   is an error at its file, row and column (``_locate``, :func:`check_focus_gpu_rows`).
6. ``_spread_to_hours``: GPU rows spread over the clock hours they cover and summed.
7. ``_usage_table``, ``_notes``, ``_reconciliation``: the validated table and where every input row went.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from finops_forecast.errors import UsageError
from finops_forecast.usage.bounds import DEFAULT_BOUNDS, Bounds
from finops_forecast.usage.classify import Heuristic, Rule, classify, normalize_tag
from finops_forecast.usage.focus_dialects import detect_focus_version, rename_sql
from finops_forecast.usage.focus_sql import (
    DEFAULT_INSTANCE_COLUMNS,
    DEFAULT_TEAM_TAG_KEYS,
    DEFAULT_WORKLOAD_TAG_KEYS,
    FOCUS_PROVIDER,
    FOCUS_REGION,
    FOCUS_REQUIRED,
    REGISTRY_JOIN,
    FocusSql,
    _focus_checks,
    _nullif,
    _q,
    _snake,
    fate_sql,
    focus_sql,
    keyed_sql,
    same,
    tag_expr,
)
from finops_forecast.usage.reconcile import (
    TABLE_SUFFIXES,
    Reconciliation,
    _duplicate_note,
    _encoding_hint,
    _is_parquet,
    _resolve_files,
    _totals,
    drop_identical_files,
    mark_duplicate_deliveries,
)
from finops_forecast.usage.schema import COST_COLUMNS, ROW_KEYS, UNALLOCATED, USAGE_COLUMNS, validate_usage

#: DuckDB's 0-based row number within a Parquet file (``read_parquet(file_row_number=true)``); not an export column
FILE_ROW = "file_row_number"
#: the columns of the fates table summed into the reconciliation's totals
VALUE_COLUMNS = ["rows", "gpu_hours", "billed_cost", "effective_cost", "list_cost"]


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


@dataclass(frozen=True)
class _Options:
    """The settings of one :func:`read_focus` call that the steps below need."""

    workload_tag_keys: object
    team_tag_keys: object
    instance_type_columns: object
    rules: object
    heuristic: object
    instance_types: object
    max_rejected_rows: int
    bounds: Bounds


@dataclass(frozen=True)
class _Extract:
    """What the DuckDB pass over an export returns (see :func:`_read_export`).

    Attributes
    ----------
    q : FocusSql
        The export's SQL expressions (its columns: ``q.has``).
    hourly : pandas.DataFrame
        GPU usage per hour x pool x class x team x way of classifying, before validation [GPU-h, USD].
    fates : pandas.DataFrame
        Totals per (reason, detail): reason NULL is GPU usage (``_fates``).
    totals_in : dict
        Input totals: rows, GPU-hours [GPU-h], costs [USD].
    rejected, rejected_rows : pandas.DataFrame
        The reconciliation's rejected summary and row-level listing.
    unknown_tag_values : list of str
        Workload tag values of GPU rows that are not a class; ``n_unknown_tags`` rows carry one.
    notes : tuple of str
        File notes (identical copies, FOCUS dialect) and the duplicate-delivery note.
    """

    q: FocusSql
    hourly: pd.DataFrame
    fates: pd.DataFrame
    totals_in: dict
    rejected: pd.DataFrame
    rejected_rows: pd.DataFrame
    unknown_tag_values: list
    n_unknown_tags: int
    notes: tuple


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

    opts = _Options(workload_tag_keys, team_tag_keys, instance_type_columns, rules, heuristic, instance_types,
                    max_rejected_rows, bounds)
    files, file_notes = drop_identical_files(_resolve_files(path, TABLE_SUFFIXES))
    source = files[0] if len(files) == 1 else str(path)
    # FOCUS times are UTC: the session time zone (by default the machine's) must not shift naive timestamps or
    # move hour boundaries (date_trunc on TIMESTAMPTZ truncates in the session time zone)
    # DuckDB spills beyond memory_limit to its temp directory, by default ".tmp" in the working directory: use a
    # private folder under the system's temp directory, removed after the read
    import tempfile

    with tempfile.TemporaryDirectory(prefix="finops-duckdb-") as spill:
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill,
                                     **({"threads": threads} if threads else {})})
        try:
            con.execute("SET TimeZone = 'UTC'")
            run = _read_export(con, files, source, file_notes, opts)
        finally:
            con.close()
    usage = _usage_table(run.hourly, run.q.has("ListCost"), source)
    return usage, _reconciliation(usage, run, source)


def _read_export(con, files: list[str], source: str, file_notes: tuple, opts: _Options) -> _Extract:
    """The DuckDB pass: the steps of :func:`read_focus` that run on the connection, in order."""
    columns, file_notes = _open_scan(con, files, source, file_notes)
    provider_col, region_col = _check_columns(con, columns, source)
    dup_pairs, row_n = mark_duplicate_deliveries(con, [c for c in columns if c != "filename"], len(files))
    _register_registry(con, opts.instance_types)
    q = focus_sql(columns, provider_col, region_col, opts.instance_type_columns)
    con.execute(f"CREATE TEMP VIEW keyed AS {keyed_sql(q)}")
    tag_join = _create_tag_dim(con, q, opts.workload_tag_keys, opts.team_tag_keys)
    _create_pools(con, q)
    _create_rows_view(con, q, f"{FILE_ROW} + 1" if _is_parquet(files) else None, row_n)
    run_join, run_cols = _classify_runs(con, q, tag_join, opts.rules, opts.heuristic)
    _aggregate(con, q, tag_join, run_join, run_cols)
    fates = _fates(con)
    totals_in, rejected, rejected_rows = _rejections(con, fates, partial(_locate, con), q, opts)
    unknown_values, n_unknown_tags = _unknown_tags(con)
    hourly = _spread_to_hours(con)
    return _Extract(q=q, hourly=hourly, fates=fates, totals_in=totals_in, rejected=rejected,
                    rejected_rows=rejected_rows, unknown_tag_values=unknown_values, n_unknown_tags=n_unknown_tags,
                    notes=tuple(file_notes) + tuple(_duplicate_note(dup_pairs, fates)))


def _open_scan(con, files: list[str], source: str, file_notes: tuple) -> tuple[list[str], tuple]:
    """Create the view ``scan`` over the files (FOCUS 1.0 column names); return its columns and the notes."""
    import duckdb

    if _is_parquet(files):
        # file_row_number: a row's position in its file, read in parallel (no row_number() window to locate)
        scan = f"read_parquet({files!r}, union_by_name=true, filename=true, file_row_number=true)"
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
    dialect = detect_focus_version([c for c in columns if c not in ("filename", FILE_ROW)])
    if dialect.renames:  # FOCUS 1.0-preview / 1.3 names read under their 1.0 names
        con.execute(f"CREATE OR REPLACE TEMP VIEW scan AS SELECT {rename_sql(columns, dialect.renames)} "
                    f"FROM {scan}")
        columns = [dialect.renames.get(c, c) for c in columns]
        file_notes = (*file_notes, dialect.note())
    return [c for c in columns if c != FILE_ROW], file_notes


def _check_columns(con, columns: list[str], source: str) -> tuple[str, str]:
    """The provider and region columns; an error when a FOCUS column is missing or the export has no rows."""
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
    return provider_col, region_col


def _register_registry(con, instance_types) -> None:
    """The table ``registry``: provider, instance_type and gpu_count [GPU] of every known GPU machine."""
    from finops_forecast.usage.instances import instance_registry

    reg = instance_registry(instance_types)[["provider", "instance_type", "gpu_count"]]
    con.register("registry_df", reg)
    con.execute("CREATE TEMP TABLE registry AS SELECT * FROM registry_df")


def _create_rows_view(con, q: FocusSql, file_row: str | None, row_n: str) -> None:
    """The view ``rows``: row by row, with file and row number; only queried to locate rows (``_locate``).

    A row's pool is looked up in the table ``pools`` (typed once per distinct pool, :func:`_create_pools`), not
    parsed again row by row.

    ``file_row`` is the SQL of a row's 1-based number in its file where the scan has it (Parquet); otherwise
    ``row_n`` numbers the rows in scan order (``row_number() OVER ()``, a streaming window: one thread, files in
    order, or the ``_n`` column of a ``raw`` table with duplicate deliveries), numbered from 1 in each file.
    """
    numbered = (f"SELECT *, {file_row} AS _row FROM keyed" if file_row else
                f"SELECT *, _n - min(_n) OVER (PARTITION BY filename) + 1 AS _row FROM "
                f"(SELECT *{'' if row_n == '_n' else f', {row_n} AS _n'} FROM keyed)")
    cost = q.cost
    pool_list = ", ".join(_q(c) for c in q.pool_cols)
    con.execute(f"""
        CREATE TEMP VIEW rows AS
        WITH base AS (
          SELECT filename AS _file, _row, _dup, o.provider, o.region, o.charge_category, o.unit,
                 o.instance_type, {q.period_sql}, {q.qty_sql} AS qty,
                 {q.bad_cost('BilledCost')} AS bad_billed,
                 {q.bad_cost('EffectiveCost')} AS bad_effective,
                 {', '.join(f"{cost[c]} IS NULL AS null_{c}" for c in cost)}
          FROM ({numbered}) r JOIN (SELECT {pool_list}, provider, region, charge_category, unit, instance_type
                                    FROM pools) o ON {same(q.pool_cols, 'r', 'o')})
        SELECT b.*, g.gpu_count, {fate_sql('b.qty IS NULL', 'b.qty < 0')}
        FROM base b {REGISTRY_JOIN}""")


def _create_tag_dim(con, q: FocusSql, workload_tag_keys, team_tag_keys) -> str:
    """The table ``tag_dim``: each distinct Tags value parsed once (workload tag, team, class, valid JSON).

    ``tag_key`` is the ``tag_id`` that :func:`_aggregate` sums a row under: tags that classify their rows (a
    workload tag that is a class) and agree on workload tag, team and class share one key (the smallest of their
    ids), so that tags the reader does not use (``project``, ``env``, ...) do not multiply the summed rows; tags
    that do not classify keep their own id (rules may match on the raw tags of their runs).

    Returns
    -------
    str
        The SQL join of a ``raw r`` row to its ``tag_dim d`` row (a join that matches nothing without Tags).
    """
    con.execute("CREATE TEMP TABLE tag_dim (_tags_raw VARCHAR, tag_id BIGINT, tags VARCHAR, bad_json BOOLEAN, "
                "workload_tag VARCHAR, team VARCHAR, tag_class VARCHAR, tag_key BIGINT)")
    if not q.has("Tags"):
        return "LEFT JOIN tag_dim d ON false"
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
        SELECT *, CASE WHEN tag_class IS NULL THEN tag_id
                       ELSE min(tag_id) OVER (PARTITION BY workload_tag, team, tag_class) END AS tag_key
        FROM (SELECT p.*, CAST(m.tag_class AS VARCHAR) AS tag_class
              FROM tag_parsed p LEFT JOIN tag_map_df m ON p.workload_tag = CAST(m.tag_value AS VARCHAR))""")
    return 'LEFT JOIN tag_dim d ON CAST(r."Tags" AS VARCHAR) = d._tags_raw'


def _create_pools(con, q: FocusSql) -> None:
    """The table ``pools``: each distinct combination of the pool columns, typed and looked up in the registry
    once; ``gpu_pool``: rows of the pool are GPU usage unless their quantity or period is bad."""
    pool_list = ", ".join(_q(c) for c in q.pool_cols)
    con.execute(f"""
        CREATE TEMP TABLE pools AS
        WITH base AS (SELECT *, row_number() OVER () AS pool_id, {q.pool_sql}
                      FROM (SELECT DISTINCT {pool_list} FROM keyed)),
        f AS (SELECT b.*, g.gpu_count, {fate_sql('false', 'false', 'false', 'false', 'false')} FROM base b
              {REGISTRY_JOIN})
        SELECT * EXCLUDE (reason, detail), reason IS NULL AS gpu_pool FROM f""")


def _classify_runs(con, q: FocusSql, tag_join: str, rules, heuristic) -> tuple[str, str]:
    """Classify the GPU rows no tag classifies, by run (:func:`~finops_forecast.usage.classify.classify`).

    One run = one resource (or, without ResourceId, one pool x team x account). Runs are classified first (on
    duration [h] and GPUs), so that :func:`_aggregate` can sum their rows by class. Where a run's rows disagree
    on team, account or tags, rules see the smallest value.

    Returns
    -------
    (run_join, run_cols) : (str, str)
        The SQL join of a ``raw r`` row to its run's class (table ``run_map m``), and the select items
        ``run_class, run_by`` (NULL when every GPU row is tagged).
    """
    pool_list = ", ".join(_q(c) for c in q.pool_cols)
    untagged = con.execute(f"SELECT EXISTS (SELECT 1 FROM raw r {tag_join} WHERE d.tag_class IS NULL)").fetchall()[0][0]
    con.execute(f"""
        CREATE TEMP TABLE run_parts AS
        SELECT {pool_list}, tag_id, resource_id, sub_account, min(t0) AS t0, max(t1) AS t1, count(*) AS n
        FROM (
          SELECT {', '.join('r.' + _q(c) for c in q.pool_cols)}, d.tag_id, {q.rid} AS resource_id,
                 {q.sub} AS sub_account, {q.period_sql}, {q.qty_sql} AS qty
          FROM keyed r {tag_join} SEMI JOIN (SELECT * FROM pools WHERE gpu_pool) o ON {same(q.pool_cols, 'r', 'o')}
          WHERE d.tag_class IS NULL AND NOT r._dup)
        WHERE qty >= 0 AND t0 IS NOT NULL AND t1 IS NOT NULL AND t1 >= t0 AND {'true' if untagged else 'false'}
        GROUP BY ALL""")
    con.execute(f"""
        CREATE TEMP VIEW run_keys AS
        SELECT p.*, o.provider, o.region, o.instance_type, o.gpu_count, t.team, t.tags AS run_tags,
               hash(coalesce(p.resource_id, ''), o.provider, o.region, o.instance_type,
                    CASE WHEN p.resource_id IS NULL THEN coalesce(t.team, '') ELSE '' END,
                    CASE WHEN p.resource_id IS NULL THEN coalesce(p.sub_account, '') ELSE '' END) AS run_key
        FROM run_parts p JOIN pools o ON {same(q.pool_cols, 'p', 'o')} LEFT JOIN tag_dim t USING (tag_id)""")
    runs = con.execute("""
        SELECT run_key, min(provider) AS provider, min(region) AS region,
               min(instance_type) AS instance_type, max(gpu_count) AS gpus,
               min(team) AS team, min(resource_id) AS resource_id,
               min(sub_account) AS sub_account, min(run_tags) AS tags,
               epoch(max(t1) - min(t0)) / 3600.0 AS run_hours, CAST(sum(n) AS BIGINT) AS n
        FROM run_keys GROUP BY run_key""").df()
    runs = classify(runs, tag_col=None, gpus_col="gpus", hours_col="run_hours", rules=rules, heuristic=heuristic)
    con.register("run_class_df", runs[["run_key", "workload_class", "classified_by"]])
    if not untagged:
        return "", "NULL::VARCHAR AS run_class, NULL::VARCHAR AS run_by"
    con.execute("""
        CREATE TEMP TABLE run_map AS
        SELECT k.* EXCLUDE (t0, t1, n, provider, region, instance_type, gpu_count, team, run_tags, run_key),
               CAST(c.workload_class AS VARCHAR) AS run_class, CAST(c.classified_by AS VARCHAR) AS run_by
        FROM run_keys k JOIN run_class_df c ON k.run_key = CAST(c.run_key AS UBIGINT)""")
    run_join = (f"LEFT JOIN run_map m ON d.tag_class IS NULL AND "
                f"{same(q.pool_cols, 'r', 'm')} AND d.tag_id IS NOT DISTINCT FROM m.tag_id AND "
                f"{q.rid} IS NOT DISTINCT FROM m.resource_id AND {q.sub} IS NOT DISTINCT FROM m.sub_account")
    return run_join, "m.run_class, m.run_by"


def _aggregate(con, q: FocusSql, tag_join: str, run_join: str, run_cols: str) -> None:
    """The table ``agg``: the export's rows summed by key, typed, with their pool, period and fate.

    The one pass over the export that reads every column: rows with the same pool (``pool_id``), charge period,
    tag key (``tag_dim.tag_key``), commitment, quantity state and run class are summed into one row of ``pre``. Costs are summed as decimals, so totals stay
    exact. Each row of ``pre`` is then typed, with its pool, period and fate (reason NULL = GPU usage,
    :func:`~finops_forecast.usage.focus_sql.fate_sql`); the period is computed once per distinct value and joined
    back.
    """
    cost = q.cost
    con.execute(f"""
        CREATE TEMP TABLE pre AS
        SELECT pool_id, ChargePeriodStart, ChargePeriodEnd, _dup, tag_id, committed, run_class, run_by,
               CASE WHEN qty IS NULL THEN 0 WHEN qty < 0 THEN 1 ELSE 2 END AS qty_state,
               count(*) AS n_rows, sum(qty) AS qty, max(qty) AS max_qty,
               {', '.join(f"count(*) FILTER (WHERE {_snake(c)} IS NULL) AS null_{c}" for c in cost)},
               sum(billed_cost) AS billed_cost, sum(effective_cost) AS effective_cost,
               sum(list_cost) AS list_cost,
               count(*) FILTER (WHERE bad_billed) AS bad_billed,
               count(*) FILTER (WHERE bad_effective) AS bad_effective
        FROM (
          SELECT o.pool_id, r.ChargePeriodStart, r.ChargePeriodEnd, r._dup, d.tag_key AS tag_id,
                 {q.commit} AS committed,
                 {run_cols}, {q.qty_sql} AS qty, {cost['BilledCost']} AS billed_cost,
                 {cost['EffectiveCost']} AS effective_cost, {cost['ListCost']} AS list_cost,
                 {q.bad_cost('BilledCost')} AS bad_billed,
                 {q.bad_cost('EffectiveCost')} AS bad_effective
          FROM keyed r JOIN (SELECT {', '.join(map(_q, q.pool_cols))}, pool_id FROM pools) o
            ON {same(q.pool_cols, 'r', 'o')} {tag_join} {run_join})
        GROUP BY ALL""")
    con.execute(f"""
        CREATE TEMP TABLE agg AS
        WITH periods AS (
          SELECT *, {q.period_sql} FROM (SELECT DISTINCT ChargePeriodStart, ChargePeriodEnd FROM pre)),
        base AS (
          SELECT o.provider, o.region, o.charge_category, o.unit, o.instance_type, d.t0, d.t1,
                 p.tag_id, p.committed, p.run_class, p.run_by, p.qty_state, p.n_rows, p.qty,
                 p.billed_cost, p.effective_cost, p.list_cost, p.bad_billed, p.bad_effective, p._dup,
                 p.max_qty, p.null_BilledCost, p.null_EffectiveCost, p.null_ListCost
          FROM pre p JOIN pools o USING (pool_id)
          JOIN periods d ON {same(['ChargePeriodStart', 'ChargePeriodEnd'], 'p', 'd')})
        SELECT b.*, g.gpu_count, {fate_sql('b.qty_state = 0', 'b.qty_state = 1')}
        FROM base b {REGISTRY_JOIN}""")
    con.execute("DROP TABLE pre")


def _fates(con) -> pd.DataFrame:
    """Totals per fate of ``agg``: reason (NULL = GPU usage), detail, rows, gpu_hours [GPU-h], costs [USD], and
    the counts behind errors and notes (bad_billed, bad_effective, bad_tags, multi_hour), largest first."""
    sums = ("CAST(sum(billed_cost) AS DOUBLE) AS billed_cost, CAST(sum(effective_cost) AS DOUBLE) AS "
            "effective_cost, CAST(sum(list_cost) AS DOUBLE) AS list_cost")
    return con.execute(f"""
        SELECT reason, detail, CAST(sum(n_rows) AS BIGINT) AS rows,
               sum(CASE WHEN gpu_count IS NOT NULL AND qty_state = 2 THEN qty * gpu_count ELSE 0 END)
                 AS gpu_hours, {sums},
               CAST(sum(bad_billed) AS BIGINT) AS bad_billed, CAST(sum(bad_effective) AS BIGINT) AS bad_effective,
               CAST(coalesce(sum(n_rows) FILTER (WHERE t.bad_json), 0) AS BIGINT) AS bad_tags,
               CAST(coalesce(sum(n_rows) FILTER (WHERE reason IS NULL AND epoch(t1 - t0) > 3600), 0) AS BIGINT)
                 AS multi_hour
        FROM agg LEFT JOIN tag_dim t USING (tag_id) GROUP BY ALL ORDER BY rows DESC, reason, detail""").df()


def _locate(con, condition: str, limit: int) -> pd.DataFrame:
    """File, 1-based row, reason and detail of the rows of the view ``rows`` matching ``condition`` (error paths
    only: it reads the export row by row)."""
    return con.execute(f"""
        SELECT _file AS file, _row AS row, reason, detail FROM rows
        WHERE {condition} ORDER BY _file, _row LIMIT {int(limit)}""").df()


def _rejections(con, fates: pd.DataFrame, locate, q: FocusSql, opts: _Options) -> tuple[dict, pd.DataFrame,
                                                                                        pd.DataFrame]:
    """Check the GPU rows, then split the fates into input totals and the rejected summary and rows.

    Raises
    ------
    UsageError
        At the first row whose BilledCost or EffectiveCost is not a number, then at the first GPU usage row
        outside the bounds or without a cost (:func:`check_focus_gpu_rows`).
    """
    for flag, name in (("bad_billed", "BilledCost"), ("bad_effective", "EffectiveCost")):
        if fates[flag].sum():
            bad = locate(flag, 1).iloc[0]
            raise UsageError("the value is not a number. FOCUS cost columns are decimals in the billing "
                             "currency.", path=bad["file"], row=int(bad["row"]), column=name)
    check_focus_gpu_rows(con, locate, opts.bounds, [c for c in q.cost if q.has(c)])
    totals_in = fates[VALUE_COLUMNS].sum().to_dict()
    rejected = fates.loc[fates["reason"].notna(), ["reason", "detail"] + VALUE_COLUMNS].reset_index(drop=True)
    problems = rejected["reason"].str.startswith("GPU instance row")
    rejected_rows = (locate("reason LIKE 'GPU instance row%'", opts.max_rejected_rows) if problems.any()
                     else pd.DataFrame(columns=["file", "row", "reason", "detail"]))
    return totals_in, rejected, rejected_rows


def _unknown_tags(con) -> tuple[list, int]:
    """Workload tag values of GPU rows that are not a class, and the number of GPU rows carrying one."""
    tag_values = con.execute("""
        SELECT t.workload_tag AS tag_value, sum(a.n_rows) AS n FROM agg a JOIN tag_dim t USING (tag_id)
        WHERE a.reason IS NULL AND t.workload_tag IS NOT NULL GROUP BY 1""").df()
    tag_unknown = normalize_tag(tag_values["tag_value"].astype(object))[1]
    unknown_values = tag_values.loc[tag_unknown.to_numpy(bool), "tag_value"].tolist()
    return unknown_values, int(tag_values.loc[tag_unknown.to_numpy(bool), "n"].sum())


def _spread_to_hours(con) -> pd.DataFrame:
    """GPU usage rows of ``agg`` spread evenly over the clock hours they cover (most cover exactly one) and
    summed per hour x pool x class x team x way of classifying: gpu_hours, committed_gpu_hours [GPU-h], costs
    [USD]."""
    con.execute("""
        CREATE TEMP VIEW gpu AS
        SELECT a.t0, a.t1, a.provider, a.region, a.instance_type, a.gpu_count, a.qty, a.billed_cost,
               a.effective_cost, a.list_cost, a.committed, t.team,
               coalesce(t.tag_class, a.run_class) AS workload_class,
               CASE WHEN t.tag_class IS NOT NULL THEN 'tag' ELSE a.run_by END AS classified_by
        FROM agg a LEFT JOIN tag_dim t USING (tag_id)
        WHERE a.reason IS NULL""")
    return con.sql(f"""
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


def _usage_table(hourly: pd.DataFrame, has_list_cost: bool, source: str) -> pd.DataFrame:
    """The validated usage table of the hourly GPU rows; rows of one key classified in several ways are one row,
    their ways joined with ``|``."""
    if not has_list_cost:
        hourly["list_cost"] = np.nan
    if hourly.empty:
        usage = pd.DataFrame(columns=USAGE_COLUMNS + ["billed_cost", "effective_cost", "list_cost",
                                                      "committed_gpu_hours", "classified_by"])
        usage["ts"] = pd.to_datetime(usage["ts"], utc=True)
        return usage
    hourly["ts"] = pd.to_datetime(hourly["ts"], utc=True)
    if hourly.duplicated(ROW_KEYS).any():
        value_cols = ["gpu_hours", "billed_cost", "effective_cost", "list_cost", "committed_gpu_hours"]
        agg = {c: "sum" for c in value_cols} | {"classified_by": lambda v: "|".join(sorted(set(v)))}
        hourly = hourly.groupby(ROW_KEYS, sort=False, observed=True).agg(agg).reset_index()
    return validate_usage(hourly, source=source, known_instance_types=False)


def _notes(usage: pd.DataFrame, run: _Extract) -> list[str]:
    """The reader's notes: multi-hour rows spread, tag values that are no class, invalid Tags JSON, how rows were
    classified, a missing ListCost column."""
    notes = []
    multi_hour, bad_tags = int(run.fates["multi_hour"].sum()), int(run.fates["bad_tags"].sum())
    if multi_hour:
        notes.append(f"{multi_hour} GPU rows covered more than one hour (e.g. daily rows); their usage and cost "
                     f"were spread evenly over their hours.")
    if run.n_unknown_tags:
        notes.append(f"{run.n_unknown_tags} GPU rows had a workload tag that is not a class (e.g. "
                     f"'{run.unknown_tag_values[0]}'); they were classified by rules/heuristic instead.")
    if bad_tags:
        notes.append(f"{bad_tags} rows had a Tags value that is not valid JSON; their tags were ignored.")
    if len(usage):
        kinds: dict[str, int] = {}
        for ways, n in usage["classified_by"].value_counts().items():  # a few distinct values
            for way in ways.split("|"):
                kinds[way.split(":")[0]] = kinds.get(way.split(":")[0], 0) + int(n)
        notes.append("classification: " + ", ".join(f"{k} {v} rows" for k, v in sorted(kinds.items())))
    if not run.q.has("ListCost"):
        notes.append("the export has no ListCost column.")
    return notes


def _reconciliation(usage: pd.DataFrame, run: _Extract, source: str) -> Reconciliation:
    """Input, output and rejected totals (rows, GPU-hours [GPU-h], costs [USD]) and the notes."""
    rejected = run.rejected
    out_tot = {"rows": int(run.totals_in["rows"]) - int(rejected["rows"].sum()), "gpu_hours": usage["gpu_hours"].sum()}
    out_tot.update({c: usage[c].sum() if c in usage else np.nan for c in COST_COLUMNS})
    rej_tot = {"rows": int(rejected["rows"].sum()), "gpu_hours": rejected["gpu_hours"].sum()}
    rej_tot.update({c: rejected[c].sum() for c in COST_COLUMNS})
    return Reconciliation(source=source, kind="focus", totals=_totals(run.totals_in, out_tot, rej_tot),
                          rejected=rejected, rejected_rows=run.rejected_rows,
                          notes=tuple(run.notes) + tuple(_notes(usage, run)))
