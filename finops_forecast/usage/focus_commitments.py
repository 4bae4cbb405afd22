"""Commitment rows of a FOCUS export: what the bill says about the commitments already owned.

:func:`read_focus_commitments` reads every row that carries a ``CommitmentDiscountId`` (purchase rows, and usage
rows with ``CommitmentDiscountStatus`` ``Used`` or ``Unused``) plus the on-demand usage beside them, summed per
provider, region, service and month (the eligible usage that coverage and the effective savings rate need).
It reads FOCUS 1.0-preview to 1.3 and provider dialects (:mod:`.focus_dialects`), takes the text ``NULL`` (and
``null``, ``None``, ``NaN``, empty) as a null, and counts a row delivered twice in two files once
(:func:`~finops_forecast.usage.reconcile.mark_duplicate_deliveries`).

:func:`commitment_inventory` turns those rows into one row per owned commitment: type, scope, hourly amount,
term, start, expiry and payment, each from the columns the export has, and says what it could not know.
Rows spanning several hours (daily or monthly grain) are spread over their hours exactly
(:func:`~finops_forecast.usage.jobs.apportion_to_hours`), so a daily row is never taken for an hour.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from finops_forecast.errors import UsageError
from finops_forecast.usage.focus_dialects import FocusDialect, detect_focus_version, rename_sql
from finops_forecast.usage.focus_sql import NULLS
from finops_forecast.usage.schema import normalize_provider

# canonical name -> FOCUS column (after the dialect's renames)
ROW_COLUMNS = {
    "provider": "ProviderName", "region": "RegionId", "service": "ServiceName",
    "charge_category": "ChargeCategory", "charge_frequency": "ChargeFrequency",
    "charge_period_start": "ChargePeriodStart", "charge_period_end": "ChargePeriodEnd",
    "billed_cost": "BilledCost", "effective_cost": "EffectiveCost", "list_cost": "ListCost",
    "pricing_category": "PricingCategory", "consumed_quantity": "ConsumedQuantity", "consumed_unit": "ConsumedUnit",
    "commitment_discount_id": "CommitmentDiscountId", "commitment_discount_name": "CommitmentDiscountName",
    "commitment_discount_category": "CommitmentDiscountCategory",
    "commitment_discount_type": "CommitmentDiscountType", "commitment_discount_status": "CommitmentDiscountStatus",
    "commitment_discount_quantity": "CommitmentDiscountQuantity",
    "commitment_discount_unit": "CommitmentDiscountUnit",
}
NUMBER_COLUMNS = ("billed_cost", "effective_cost", "list_cost", "consumed_quantity", "commitment_discount_quantity")
TIME_COLUMNS = ("charge_period_start", "charge_period_end")
REQUIRED = ("ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "EffectiveCost", "ProviderName")
INVENTORY_TABLE_COLUMNS = [
    "commitment_discount_id", "commitment_discount_name", "provider", "type", "category", "regions", "services",
    "hourly_amount", "amount_unit", "amount_source", "fee_usd_per_hour", "payment_option", "term_months",
    "start", "start_source", "expires", "first_seen", "last_seen", "unknown"]


@dataclass(frozen=True)
class FocusCommitments:
    """The commitment rows of a FOCUS export and the on-demand usage beside them.

    Attributes
    ----------
    rows : DataFrame
        One row per export row with a ``CommitmentDiscountId``: ``file``, ``row`` (1-based data row of that
        file) and the columns of :data:`ROW_COLUMNS` (costs [USD], quantities, UTC times; provider lower case).
    on_demand : DataFrame
        Usage rows without a commitment, summed per ``provider``, ``region``, ``service``, ``month`` (UTC month
        start): ``list_cost``, ``effective_cost``, ``billed_cost`` [USD], ``rows``.
    dialect : FocusDialect
        Version and provider dialect of the export.
    source : str
        The file or folder read.
    notes : tuple of str
        What the reader did (duplicates dropped, columns renamed, columns missing).
    """

    rows: pd.DataFrame
    on_demand: pd.DataFrame
    dialect: FocusDialect
    source: str
    notes: tuple = field(default_factory=tuple)


def _nullif(col: str) -> str:
    text = f"trim(CAST({col} AS VARCHAR))"
    return f"CASE WHEN {' OR '.join(f'{text} = ' + repr(n) for n in NULLS)} THEN NULL ELSE {text} END"


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def _open_scan(con, source) -> tuple[str, list[str], list[str], str, tuple]:
    """Create the view ``scan`` over the input; return (source name, columns, files, scan SQL, notes)."""
    from finops_forecast.usage.reconcile import _is_parquet, _resolve_files, drop_identical_files

    if isinstance(source, pd.DataFrame):
        con.register("frame_in", source)
        con.execute("CREATE TEMP VIEW scan AS SELECT *, '<DataFrame>' AS filename FROM frame_in")
        return "<DataFrame>", [c for c in map(str, source.columns)], ["<DataFrame>"], "", ()
    files, notes = drop_identical_files(_resolve_files(source, (".csv", ".csv.gz", ".parquet", ".pq")))
    name = files[0] if len(files) == 1 else str(source)
    for f in files:
        if not _is_parquet([f]) and Path(f).stat().st_size == 0:
            raise UsageError("the file is empty (no header, no rows).", path=f)
    scan = (f"read_parquet({files!r}, union_by_name=true, filename=true)" if _is_parquet(files) else
            f"read_csv({files!r}, header=true, all_varchar=true, union_by_name=true, filename=true, "
            f"sample_size=-1)")
    con.execute(f"CREATE TEMP VIEW scan AS SELECT * FROM {scan}")
    cols = [r[0] for r in con.execute("DESCRIBE scan").fetchall() if r[0] != "filename"]
    return name, cols, files, scan, notes


def read_focus_commitments(source, *, version: str | None = None, keep: tuple = (),
                           memory_limit: str = "1GB") -> FocusCommitments:
    """Read the commitment rows of a FOCUS export (file, folder, glob, list of files, or a DataFrame).

    Parameters
    ----------
    source : str, path, list or DataFrame
        FOCUS CSV (optionally .gz) or Parquet files, or a FOCUS table already in memory.
    version : str, optional
        FOCUS version to assume (see :func:`~finops_forecast.usage.focus_dialects.detect_focus_version`).
    keep : tuple of str
        Further columns to keep in ``rows`` under their own names (e.g. ``x_InstanceType``), as text.
    memory_limit : str, default "1GB"
        DuckDB memory limit.

    Returns
    -------
    FocusCommitments

    Raises
    ------
    UsageError
        When a required FOCUS column is missing, or a commitment row has a time or number that cannot be read
        (names the file, row and column).
    """
    import duckdb

    from finops_forecast.usage.reconcile import mark_duplicate_deliveries

    con = duckdb.connect(config={"memory_limit": memory_limit})
    try:
        con.execute("SET TimeZone = 'UTC'")
        name, cols, files, scan, file_notes = _open_scan(con, source)
        dialect = detect_focus_version(cols, version)
        if dialect.version == "contract-commitment":
            raise UsageError("this is a FOCUS 1.3 Contract Commitment dataset (ContractCommitment* columns), not a "
                             "cost and usage export: pass the cost and usage export, whose rows carry "
                             "CommitmentDiscountId.", path=name)
        if dialect.renames:
            listed = rename_sql(cols + (["filename"] if scan else []), dialect.renames)
            extra = "" if scan else ", '<DataFrame>' AS filename"
            con.execute(f"CREATE OR REPLACE TEMP VIEW scan AS SELECT {listed}{extra} FROM {scan or 'frame_in'}")
            cols = [dialect.renames.get(c, c) for c in cols]
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise UsageError(f"missing FOCUS column(s) {missing} needed to read commitments; found {cols[:25]}. "
                             "Export cost and usage in FOCUS 1.0-1.3 format.", path=name, column=missing[0])
        pairs, row_n = mark_duplicate_deliveries(con, cols, len(files))
        notes = list(file_notes) + ([dialect.note()] if dialect.renames or dialect.version != "1.0" else [])
        if len(pairs):
            notes.append(f"{int(pairs['rows'].sum())} rows delivered twice were read once: "
                         + "; ".join(f"{r.file} repeats {r.duplicate_of}" for r in pairs.itertuples()))
        has = set(cols).__contains__
        wanted = ROW_COLUMNS | {c: c for c in keep if c not in ROW_COLUMNS}
        sel = ", ".join(f"{_nullif(_q(c)) if has(c) else 'NULL'} AS {_q(k)}" for k, c in wanted.items())
        con.execute(f"""CREATE TEMP VIEW rows AS SELECT filename AS file,
                        {row_n} AS _n, _dup, {sel} FROM raw""")
        rows = con.execute("""SELECT * EXCLUDE (_n, _dup, _first), _n - _first + 1 AS row
                              FROM (SELECT *, min(_n) OVER (PARTITION BY file) AS _first FROM rows)
                              WHERE commitment_discount_id IS NOT NULL AND NOT _dup ORDER BY file, row""").df()
        on_demand = con.execute("""
            SELECT provider, region, service, date_trunc('month', TRY_CAST(charge_period_start AS TIMESTAMPTZ))
                     AS month, sum(TRY_CAST(list_cost AS DOUBLE)) AS list_cost,
                   sum(TRY_CAST(effective_cost AS DOUBLE)) AS effective_cost,
                   sum(TRY_CAST(billed_cost AS DOUBLE)) AS billed_cost, count(*) AS rows
            FROM rows WHERE commitment_discount_id IS NULL AND NOT _dup AND lower(charge_category) = 'usage'
            GROUP BY ALL ORDER BY ALL""").df()
    finally:
        con.close()
    if not has("CommitmentDiscountId"):
        notes.append("the export has no CommitmentDiscountId column: it shows no commitment.")
    for c in ("CommitmentDiscountStatus", "CommitmentDiscountQuantity", "ListCost"):
        if not has(c) and has("CommitmentDiscountId"):
            notes.append(f"the export has no {c} column: {_MISSING_EFFECT[c]}")
    rows = _typed(rows)
    on_demand["provider"] = normalize_provider(on_demand["provider"]).astype(object)
    on_demand["month"] = pd.to_datetime(on_demand["month"], utc=True)
    return FocusCommitments(rows=rows, on_demand=on_demand, dialect=dialect, source=name, notes=tuple(notes))


_MISSING_EFFECT = {
    "CommitmentDiscountStatus": "commitment usage rows are taken as Used; unused commitment is unknown.",
    "CommitmentDiscountQuantity": "commitment amounts come from EffectiveCost (spend) or ConsumedQuantity "
                                  "(usage commitments) instead (FOCUS 1.0).",
    "ListCost": "the on-demand equivalent of covered usage, coverage and the effective savings rate are unknown.",
}


def _typed(rows: pd.DataFrame) -> pd.DataFrame:
    """Parse times and numbers of the commitment rows; raise at the first that cannot be read."""
    out = rows.copy()
    for k in NUMBER_COLUMNS:
        val = pd.to_numeric(out[k], errors="coerce")
        _raise_at(out, out[k].notna() & (val.isna() | ~np.isfinite(val.fillna(0))), k,
                  "the value is not a finite number. FOCUS costs and quantities are decimals.")
        out[k] = val.astype(float)
    for k in TIME_COLUMNS:
        val = pd.to_datetime(out[k], utc=True, errors="coerce", format="mixed")
        _raise_at(out, val.isna(), k, "the time is missing or cannot be read. FOCUS times are ISO 8601, UTC.")
        out[k] = val
    _raise_at(out, out["charge_period_end"] < out["charge_period_start"], "charge_period_end",
              "the charge period ends before it starts.")
    out["provider"] = normalize_provider(out["provider"]).astype(object)
    for k in ("charge_category", "commitment_discount_status", "commitment_discount_category"):
        out[k] = out[k].astype(object)
    return out


def _raise_at(rows: pd.DataFrame, bad: pd.Series, key: str, message: str) -> None:
    if bad.any():
        r = rows[bad.to_numpy(bool)].iloc[0]
        raise UsageError(message, path=r["file"], row=int(r["row"]), column=ROW_COLUMNS[key])


def _is(series: pd.Series, value: str) -> pd.Series:
    return series.astype("string").str.strip().str.lower().eq(value).fillna(False).astype(bool)


def commitment_usage(rows: pd.DataFrame) -> pd.DataFrame:
    """The usage rows of commitments (Used and Unused), with ``used``/``unused`` flags and ``hours`` [h]."""
    u = rows[_is(rows["charge_category"], "usage")].copy()
    status = u["commitment_discount_status"]
    u["unused"] = _is(status, "unused")
    u["used"] = ~u["unused"]  # FOCUS 1.0 exports without the status column: rows are usage the discount covered
    u["hours"] = (u["charge_period_end"] - u["charge_period_start"]).dt.total_seconds() / 3600.0
    return u


def hourly_amount(rows: pd.DataFrame, value: str) -> pd.Series:
    """Sum of ``value`` per clock hour, each row spread evenly over the hours it covers (exact: conserved).

    Parameters
    ----------
    rows : DataFrame
        Rows with ``charge_period_start``, ``charge_period_end`` (UTC) and the column ``value``.
    value : str
        The amount to spread (e.g. ``commitment_discount_quantity`` [USD or h], ``effective_cost`` [USD]).

    Returns
    -------
    Series
        Amount per hour [value's unit per hour], indexed by hour start (UTC).
    """
    from finops_forecast.usage.jobs import apportion_to_hours

    s = rows["charge_period_start"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
    e = rows["charge_period_end"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
    dur = (e - s).astype("timedelta64[ns]").astype(np.int64) / 3.6e12
    v = rows[value].fillna(0.0).to_numpy(float)
    rate = np.divide(v, dur, out=v.copy(), where=dur > 0)  # a zero-length row counts as one hour's amount
    e = np.where(dur > 0, e, s + np.timedelta64(1, "h"))
    _, hour, amount = apportion_to_hours(s, e, rate)
    return pd.Series(amount).groupby(pd.DatetimeIndex(hour, tz="UTC")).sum()


def _purchase_terms(purchases: pd.DataFrame) -> dict:
    """Payment option, term [months], start and amortized fee [USD/h] from a commitment's purchase rows."""
    if purchases.empty:
        return {"payment_option": "", "term_months": np.nan, "start": pd.NaT, "fee_usd_per_hour": np.nan}
    freq = purchases["charge_frequency"].astype("string").str.strip().str.lower()
    one_time, recurring = (freq == "one-time").fillna(False), (freq == "recurring").fillna(False)
    payment = ("partial_upfront" if one_time.any() and recurring.any() else "all_upfront" if one_time.any()
               else "no_upfront" if recurring.any() else "")
    term = np.nan
    for r in purchases[one_time.to_numpy(bool)].itertuples():  # an upfront charge spans the whole term
        days = (r.charge_period_end - r.charge_period_start).total_seconds() / 86400.0
        for months, full in ((12, 365.0), (36, 1095.0)):
            if abs(days - full) <= 2:
                term = months
    hours = (purchases["charge_period_end"] - purchases["charge_period_start"]).dt.total_seconds() / 3600.0
    fee = float((purchases["billed_cost"] / hours.where(hours > 0)).sum(min_count=1))
    return {"payment_option": payment, "term_months": term, "start": purchases["charge_period_start"].min(),
            "fee_usd_per_hour": fee}


def _amount(used: pd.DataFrame, category: str, fee: float) -> tuple[float, str, str]:
    """Hourly commitment (value, unit, source) from the best column the export has."""
    spend = category == "spend"
    q = used["commitment_discount_quantity"]
    if q.notna().any() and q.fillna(0).sum() > 0:
        unit = str(used["commitment_discount_unit"].dropna().iat[0]) if used["commitment_discount_unit"].notna(
        ).any() else ("USD" if spend else "units")
        per_hour = hourly_amount(used, "commitment_discount_quantity")
        unit = "USD/h" if unit.upper() == "USD" else ("instances" if unit.lower() in ("hours", "hour") else
                                                      f"{unit} per hour")
        return float(per_hour.median()), unit, "CommitmentDiscountQuantity of Used and Unused rows"
    if spend and used["effective_cost"].fillna(0).sum() > 0:
        return (float(hourly_amount(used, "effective_cost").median()), "USD/h",
                "EffectiveCost of Used and Unused rows")
    if not spend and used["consumed_quantity"].fillna(0).sum() > 0:
        return (float(hourly_amount(used, "consumed_quantity").median()), "instances",
                "ConsumedQuantity of Used and Unused rows")
    if spend and not np.isnan(fee):
        return fee, "USD/h", "purchase rows (fee amortized over each row's charge period)"
    return np.nan, "USD/h" if spend else "instances", ""


def commitment_inventory(fc: FocusCommitments | pd.DataFrame | str) -> pd.DataFrame:
    """One row per commitment the export shows: everything the bill tells about it, and what it does not.

    Parameters
    ----------
    fc : FocusCommitments, DataFrame or path
        The output of :func:`read_focus_commitments`, or what it reads.

    Returns
    -------
    DataFrame
        Columns :data:`INVENTORY_TABLE_COLUMNS`: ``hourly_amount`` [``amount_unit``: USD/h for spend
        commitments, instances for usage commitments] with ``amount_source`` (the column it came from);
        ``fee_usd_per_hour`` (purchase rows amortized over their charge periods [USD/h]); ``payment_option``
        from the purchase rows (One-Time: all_upfront, One-Time and Recurring: partial_upfront, Recurring:
        no_upfront); ``term_months`` (12 or 36 from a One-Time purchase spanning the term); ``start`` (first
        purchase row, else first usage row: ``start_source`` says which); ``expires`` (start + term when the term
        is known); ``unknown`` (comma-separated fields the export does not tell: never guessed).
    """
    if not isinstance(fc, FocusCommitments):
        fc = read_focus_commitments(fc)
    rows = fc.rows
    out = []
    for cid, g in rows.groupby("commitment_discount_id", sort=True):
        purchases = g[_is(g["charge_category"], "purchase")]
        used = commitment_usage(g)
        terms = _purchase_terms(purchases)
        cat = str(g["commitment_discount_category"].dropna().iat[0]).strip().lower() if g[
            "commitment_discount_category"].notna().any() else ""
        amount, unit, src = _amount(used, cat, terms["fee_usd_per_hour"])
        start, start_src = terms["start"], "purchase row"
        if pd.isna(start):
            start, start_src = g["charge_period_start"].min(), "first row in the export (the purchase may be older)"
        expires = (start + pd.DateOffset(months=int(terms["term_months"]))) if terms["term_months"] == terms[
            "term_months"] else pd.NaT
        known = {"hourly_amount": amount, "payment_option": terms["payment_option"] or np.nan,
                 "term_months": terms["term_months"], "expires": expires, "category": cat or np.nan}
        out.append(dict(  # noqa: C408
            commitment_discount_id=cid,
            commitment_discount_name=g["commitment_discount_name"].dropna().iat[0] if g[
                "commitment_discount_name"].notna().any() else "",
            provider=g["provider"].dropna().iat[0] if g["provider"].notna().any() else "",
            type=g["commitment_discount_type"].dropna().iat[0] if g["commitment_discount_type"].notna().any() else "",
            category=cat, regions=", ".join(sorted(set(g["region"].dropna()))),
            services=", ".join(sorted(set(g["service"].dropna()))), hourly_amount=amount, amount_unit=unit,
            amount_source=src, fee_usd_per_hour=terms["fee_usd_per_hour"], payment_option=terms["payment_option"],
            term_months=terms["term_months"], start=start, start_source=start_src, expires=expires,
            first_seen=g["charge_period_start"].min(), last_seen=g["charge_period_end"].max(),
            unknown=", ".join(k for k, v in known.items() if v is None or pd.isna(v))))
    table = pd.DataFrame(out, columns=INVENTORY_TABLE_COLUMNS)
    for c in ("start", "expires", "first_seen", "last_seen"):
        table[c] = pd.to_datetime(table[c], utc=True)
    table.attrs["notes"] = list(fc.notes)
    return table
