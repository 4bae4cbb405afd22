"""Commitments already owned: the inventory the optimizer plans around.

An inventory is a table, one row per owned commitment:

==================  =========================================================================================
column              meaning
==================  =========================================================================================
commitment_id       the provider's id (FOCUS ``CommitmentDiscountId``) or any label
family              commitment family (aws_standard_ri, aws_compute_sp, aws_ec2_instance_sp, azure_sp,
                    gcp_flex_cud, azure_reservation, gcp_resource_cud, reserved, cud, savings_plan)
provider, region    where it applies (region ignored for provider-wide plans)
instance_type       pool instruments: the instance type; EC2 Instance SP: any type of the family
term_months         12 or 36; empty when unknown (the market's first matching term is used, noted)
payment_option      no_upfront / partial_upfront / all_upfront; empty when unknown (same)
quantity            instances (pool families), GPUs (gcp_resource_cud) or hourly commitment [USD/h] (spend)
expires             end of the term, UTC
==================  =========================================================================================

:func:`inventory_from_focus` builds it from the commitment rows of a FOCUS 1.x export.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.errors import PortfolioError
from finops_forecast.portfolio.instruments import GPU_FAMILIES, POOL_FAMILIES, Market, instance_family
from finops_forecast.usage.focus_sql import DEFAULT_INSTANCE_COLUMNS, DESCRIPTIVE_COLUMNS, INSTANCE_PATTERNS

INVENTORY_COLUMNS = ["commitment_id", "family", "provider", "region", "instance_type", "term_months",
                     "payment_option", "quantity", "expires"]

#: largest quantity of one inventory row [instances, or USD/h for spend commitments]: 100,000 instances is
#: 800,000 GPUs in one pool, and 100,000 USD/h is 876 million USD a year of one savings plan, both beyond any
#: real commitment; a larger number is a typo (or GPU-hours in the quantity column) and is refused.
MAX_INVENTORY_QUANTITY = 1e5

_FOCUS_PROVIDER = {"aws": "aws", "amazon web services": "aws", "microsoft": "azure", "azure": "azure",
                   "google": "gcp", "google cloud": "gcp", "gcp": "gcp"}


def validate_inventory(df: pd.DataFrame | None) -> pd.DataFrame:
    """Check an inventory table and return it with canonical dtypes (empty table for None)."""
    if df is None:
        return pd.DataFrame(columns=INVENTORY_COLUMNS)
    missing = [c for c in ("family", "provider", "quantity", "expires") if c not in df.columns]
    if missing:
        raise PortfolioError(f"inventory: missing column(s) {missing}. Expected {INVENTORY_COLUMNS}; found "
                             f"{list(df.columns)}.")
    out = df.copy()
    for c in INVENTORY_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan if c in ("term_months", "payment_option") else ""
    out["quantity"] = pd.to_numeric(out["quantity"], errors="coerce")
    qty = out["quantity"]
    bad = ~((qty >= 0) & (qty <= MAX_INVENTORY_QUANTITY))
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise PortfolioError(f"inventory row {row}, column 'quantity': {df['quantity'].iat[row - 1]} must be a "
                             f"number in [0, {MAX_INVENTORY_QUANTITY:,.0f}] (instances, or USD/h for savings plans and "
                             "flexible CUDs; README, 'What the tool refuses and why'). Fix the row.")
    out["expires"] = pd.to_datetime(out["expires"], utc=True, errors="coerce")
    if out["expires"].isna().any():
        row = int(np.flatnonzero(out["expires"].isna())[0]) + 1
        raise PortfolioError(f"inventory row {row}, column 'expires': needs the end date of the term (UTC).")
    out["provider"] = out["provider"].astype(str).str.lower()
    return out[INVENTORY_COLUMNS].reset_index(drop=True)


def read_inventory(path, what: str = "inventory") -> pd.DataFrame:
    """Read an inventory CSV (:data:`INVENTORY_COLUMNS`) or a FOCUS export's commitment rows, validated.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        How the user named it (``"--inventory"``, ``"parameter 'commitments'"``), used in error messages.

    Raises
    ------
    PortfolioError
        A missing, empty (0 bytes) or unreadable file, or a malformed row, naming ``what`` and the file.
    """
    from finops_forecast._files import read_csv_checked

    frame = read_csv_checked(path, what, PortfolioError)
    try:
        if "CommitmentDiscountId" in frame.columns:
            return inventory_from_focus(path)  # read as a bill: NULL text, daily rows, any FOCUS version
        return validate_inventory(frame)
    except PortfolioError as exc:
        raise PortfolioError(f"{what} '{path}': {exc}") from None


def match_instruments(inv: pd.DataFrame, market: Market) -> tuple[np.ndarray, list[str]]:
    """Index of the market instrument each inventory row is (raises when none matches), and notes."""
    ins = market.instruments
    idx, notes = [], []
    for r in inv.itertuples(index=False):
        cand = ins[(ins["family"] == r.family) & (ins["provider"] == r.provider)]
        if r.family in GPU_FAMILIES:  # GPUs of the pool's GPU type in its region
            pools = market.pools
            hit = pools[(pools["provider"] == r.provider) & (pools["region"] == r.region)
                        & (pools["instance_type"] == r.instance_type)]
            gt = hit["gpu_type"].iat[0] if len(hit) else r.instance_type
            cand = cand[cand["scope"] == f"{r.provider} {r.region} {gt}"]
        elif r.family in POOL_FAMILIES:
            cand = cand[cand["scope"] == f"{r.provider} {r.region} {r.instance_type}"]
        elif r.family == "aws_ec2_instance_sp":
            cand = cand[cand["scope"] == f"{r.provider} {r.region} {instance_family(r.instance_type)}"]
        known_term = pd.notna(r.term_months) and str(r.term_months) not in ("", "nan")
        known_pay = isinstance(r.payment_option, str) and r.payment_option not in ("", "nan")
        exact = cand
        if known_term:
            exact = exact[exact["term_months"] == int(float(r.term_months))]
        if known_pay:
            exact = exact[exact["payment_option"] == r.payment_option]
        if len(exact):
            cand = exact
        elif known_term or known_pay:
            cand = cand.iloc[0:0]
        if not len(cand):
            have = sorted(ins["id"])
            raise PortfolioError(
                f"inventory commitment '{r.commitment_id}' ({r.family}, {r.provider} {r.region} {r.instance_type}, "
                f"{r.term_months} months, {r.payment_option}) matches no instrument the catalog prices for these "
                f"pools. Priced instruments: {have[:15]}{' ...' if len(have) > 15 else ''}. Add its rates to "
                "the catalog or fix the row.")
        if not (known_term and known_pay):
            notes.append(f"inventory '{r.commitment_id}': term/payment unknown, taken as {cand['id'].iat[0]}")
        idx.append(int(cand.index[0]))
    return np.array(idx, dtype=int), notes


def active_quantities(inv: pd.DataFrame, market: Market, starts: pd.DatetimeIndex, ends: pd.DatetimeIndex
                      ) -> tuple[np.ndarray, list[str]]:
    """Quantity of each instrument owned in each period (T, I), pro rata when it expires inside a period."""
    T = len(starts)
    out = np.zeros((T, market.n_instruments))
    if inv is None or not len(inv):
        return out, []
    idx, notes = match_instruments(inv, market)
    s = pd.DatetimeIndex(starts).as_unit("ns").asi8 / 3.6e12  # [h since epoch]
    e = pd.DatetimeIndex(ends).as_unit("ns").asi8 / 3.6e12
    for k, r in zip(idx, inv.itertuples(index=False)):
        exp = pd.Timestamp(r.expires).as_unit("ns").value / 3.6e12
        frac = np.clip((exp - s) / (e - s), 0.0, 1.0)
        out[:, k] += frac * float(r.quantity)
    return out, notes


def inventory_from_focus(focus, expires=None, *, assume_term_months: int | None = None,
                         instance_type_column: str | None = None) -> pd.DataFrame:
    """Build the optimizer's inventory from the commitment rows of a FOCUS 1.0-1.3 export.

    The bill is read by :func:`finops_forecast.usage.focus_commitments.commitment_inventory` (any FOCUS version
    or provider dialect, text ``NULL`` as null, daily and monthly rows spread over their hours). ``Spend``
    commitments (savings plans, flexible CUDs) get their hourly commitment [USD/h] and ``Usage`` commitments
    (reserved instances, resource CUDs) their instances from ``CommitmentDiscountQuantity``, else from the
    ``Used``/``Unused`` rows' EffectiveCost (spend) or ConsumedQuantity (usage), else from purchase rows.
    A commitment whose amount the export does not tell is left out with a note (never guessed).

    Parameters
    ----------
    focus : DataFrame, str or path
        A FOCUS export (file, folder, glob) or its rows.
    expires : Timestamp or dict, optional
        End of each commitment's term (one date for all, or id -> date); overrides the bill's.
    assume_term_months : int, optional
        When neither ``expires`` nor the bill gives the end: the term ends this many months after the
        commitment's start (purchase row, else first row in the export: an assumption the note states).
    instance_type_column : str, optional
        Column holding the instance type for ``Usage`` commitments (e.g. ``x_InstanceType``).

    Returns
    -------
    DataFrame
        An inventory (:data:`INVENTORY_COLUMNS`), with ``attrs["notes"]`` listing assumptions and omissions.
    """
    from finops_forecast.usage.focus_commitments import commitment_inventory, read_focus_commitments

    fc = read_focus_commitments(focus, keep=(instance_type_column,) if instance_type_column else
                                _INSTANCE_SOURCES)
    table = commitment_inventory(fc)
    out, notes = [], list(table.attrs.get("notes", []))
    for r in table.itertuples(index=False):
        cid = r.commitment_discount_id
        if r.provider not in ("aws", "azure", "gcp"):
            raise PortfolioError(f"FOCUS commitment '{cid}': provider '{r.provider}' has no commitment families "
                                 "in the catalog; add it to an inventory CSV with a generic family "
                                 "(reserved, cud, savings_plan).")
        if r.category not in ("spend", "usage"):
            raise PortfolioError(f"FOCUS commitment '{cid}': CommitmentDiscountCategory '{r.category}' is not "
                                 "Spend or Usage; fix the export or write the commitment in an inventory CSV.")
        if not np.isfinite(r.hourly_amount):
            notes.append(f"'{cid}' is left out of the plan: the export tells neither its hourly commitment "
                         "(CommitmentDiscountQuantity, a non-zero EffectiveCost on its Used/Unused rows) nor a "
                         "purchase row. Add it to an inventory CSV (quantity in USD/h or instances).")
            continue
        itype = ""
        if r.category == "spend":
            fam = {"aws": "aws_compute_sp", "azure": "azure_sp", "gcp": "gcp_flex_cud"}[r.provider]
            if r.provider == "aws":
                notes.append(f"'{cid}': an AWS Savings Plan taken as a Compute Savings Plan (FOCUS does not say "
                             "Compute or EC2 Instance)")
        else:
            fam = {"aws": "aws_standard_ri", "azure": "azure_reservation", "gcp": "gcp_resource_cud"}[r.provider]
            rows = fc.rows[fc.rows["commitment_discount_id"] == cid]
            itype = _instance_type(cid, rows, instance_type_column, notes)
        exp = _expiry(cid, r, expires, assume_term_months, notes)
        qty = float(r.hourly_amount)
        if fam in GPU_FAMILIES and r.amount_unit == "instances":
            qty = _gpus_of(cid, itype, qty, r.provider, notes)
        out.append(dict(commitment_id=cid, family=fam, provider=r.provider,  # noqa: C408
                        region=r.regions.split(", ")[0], instance_type=itype, term_months=r.term_months,
                        payment_option=r.payment_option or np.nan, quantity=qty, expires=exp))
    inv = validate_inventory(pd.DataFrame(out, columns=INVENTORY_COLUMNS) if out else None)
    inv.attrs["notes"] = notes
    return inv


#: where a Usage commitment's instance type is looked for when no column is named: the columns the usage reader
#: reads it from (:data:`~finops_forecast.usage.focus_sql.DEFAULT_INSTANCE_COLUMNS`), then instance-type names in
#: SkuPriceDetails, the usage reader's descriptive columns and the commitment's name
_NAMED_COLUMNS = DEFAULT_INSTANCE_COLUMNS
_DESCRIPTIVE_COLUMNS = ("SkuPriceDetails", *DESCRIPTIVE_COLUMNS, "CommitmentDiscountName")
_INSTANCE_SOURCES = _NAMED_COLUMNS + _DESCRIPTIVE_COLUMNS
_CSV_HINT = ", ".join(INVENTORY_COLUMNS)


def _gpus_of(cid: str, itype: str, instances: float, provider: str, notes: list) -> float:
    """GPUs held by a GPU-scoped commitment (a GCP resource CUD) that the bill measures in instance-hours of
    ``itype`` [GPU]: an inventory holds these in GPUs (docs/portfolio.md "Instruments")."""
    from finops_forecast.usage.instances import instance_registry

    reg = instance_registry()
    hit = reg[(reg["provider"] == provider) & (reg["instance_type"] == itype)]
    if hit.empty or not np.isfinite(float(hit["gpu_count"].iat[0])):
        raise PortfolioError(f"FOCUS commitment '{cid}' is a GPU commitment (resource CUD) measured in hours of "
                             f"'{itype}', whose GPU count the instance registry does not know: list it in an "
                             f"inventory CSV ({_CSV_HINT}) with its quantity in GPUs and give that file instead.")
    gpus = float(hit["gpu_count"].iat[0])
    notes.append(f"'{cid}': {instances:g} instance(s) of {itype} in the bill = {instances * gpus:g} GPUs "
                 f"({gpus:g} each; a resource CUD is held in GPUs)")
    return instances * gpus


def _instance_type(cid: str, rows: pd.DataFrame, column: str | None, notes: list) -> str:
    """Instance type of a Usage commitment's rows: ``column`` when given, else the first of
    ``_NAMED_COLUMNS`` that has one, else an instance-type name (``INSTANCE_PATTERNS``) in
    ``_DESCRIPTIVE_COLUMNS`` (with a note). Raises with the fixes a report, CLI or Python user can make."""
    import re

    if column is not None:
        found = rows[column].dropna() if column in rows else pd.Series(dtype=object)
        if len(found):
            return str(found.iat[0])
        raise PortfolioError(f"FOCUS commitment '{cid}' is a Usage commitment (reserved instance / resource "
                             f"CUD) and its rows have no value in column '{column}': name the column that holds "
                             "its instance type.")
    for col in _NAMED_COLUMNS:
        found = rows[col].dropna() if col in rows else pd.Series(dtype=object)
        found = found[found.astype(str).str.strip() != ""]
        if len(found):
            return str(found.iat[0]).strip()
    for col in _DESCRIPTIVE_COLUMNS:
        for text in (rows[col].dropna().astype(str).unique() if col in rows else ()):
            for pattern in INSTANCE_PATTERNS:
                m = re.search(pattern, text)
                if m:
                    notes.append(f"'{cid}': instance type {m.group(1)} read from its {col} ('{text[:60]}')")
                    return m.group(1)
    raise PortfolioError(
        f"FOCUS commitment '{cid}' is a Usage commitment (reserved instance / resource CUD) and its rows name no "
        f"instance type (no {', '.join(_NAMED_COLUMNS)} column, none in {', '.join(_DESCRIPTIVE_COLUMNS)}): add "
        f"an x_InstanceType column to its rows, or list it in an inventory CSV ({_CSV_HINT}) and give that file "
        "instead (in Python: instance_type_column= naming the column that holds it).")


def _expiry(cid, r, expires, assume_term_months, notes: list) -> pd.Timestamp:
    """End of a commitment's term: ``expires=`` first, then the bill, then ``assume_term_months``."""
    if isinstance(expires, dict):
        if cid not in expires:
            raise PortfolioError(f"FOCUS commitment '{cid}': no expiry date given in expires=.")
        exp = pd.Timestamp(expires[cid])
    elif expires is not None:
        exp = pd.Timestamp(expires)
    elif pd.notna(r.expires):
        exp = pd.Timestamp(r.expires)
    elif assume_term_months:
        exp = pd.Timestamp(r.start) + pd.DateOffset(months=int(assume_term_months))
        notes.append(f"'{cid}': expiry assumed {assume_term_months} months after its start ({r.start_source})")
    else:
        raise PortfolioError(f"FOCUS commitment '{cid}': the export does not give its term end (no upfront "
                             f"purchase row spanning the term): list it in an inventory CSV ({_CSV_HINT}) with "
                             "its expires date and give that file instead (in Python: expires= a date or "
                             "id -> date, or assume_term_months=).")
    return exp.tz_localize("UTC") if exp.tzinfo is None else exp
