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

INVENTORY_COLUMNS = ["commitment_id", "family", "provider", "region", "instance_type", "term_months",
                     "payment_option", "quantity", "expires"]

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
    if out["quantity"].isna().any() or (out["quantity"] < 0).any():
        row = int(np.flatnonzero(out["quantity"].isna() | (out["quantity"] < 0))[0]) + 1
        raise PortfolioError(f"inventory row {row}, column 'quantity': must be a number >= 0 (instances or "
                             "USD/h).")
    out["expires"] = pd.to_datetime(out["expires"], utc=True, errors="coerce")
    if out["expires"].isna().any():
        row = int(np.flatnonzero(out["expires"].isna())[0]) + 1
        raise PortfolioError(f"inventory row {row}, column 'expires': needs the end date of the term (UTC).")
    out["provider"] = out["provider"].astype(str).str.lower()
    return out[INVENTORY_COLUMNS].reset_index(drop=True)


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


def inventory_from_focus(focus: pd.DataFrame, expires=None, *, assume_term_months: int | None = None,
                         instance_type_column: str | None = None) -> pd.DataFrame:
    """Build an inventory from the commitment rows of a FOCUS 1.x export.

    Rows with a ``CommitmentDiscountId`` are grouped by it. ``CommitmentDiscountCategory`` says the kind:
    ``Spend`` (savings plans, flexible CUDs): the hourly commitment is the hour's ``EffectiveCost`` summed over
    its ``Used`` and ``Unused`` rows (median over hours) [USD/h]; ``Usage`` (reserved instances, resource
    CUDs): the instances are the hour's ``PricingQuantity`` summed over its rows (maximum over hours).

    Parameters
    ----------
    focus : DataFrame
        FOCUS columns: CommitmentDiscountId, CommitmentDiscountType, CommitmentDiscountCategory,
        CommitmentDiscountStatus, ChargePeriodStart, EffectiveCost, PricingQuantity, ProviderName, RegionId.
    expires : Timestamp or dict, optional
        End of each commitment's term (one date for all, or id -> date). FOCUS 1.x has no term end column.
    assume_term_months : int, optional
        When ``expires`` is not given: the term ends this many months after the first hour the commitment
        appears in the export (an assumption: the purchase may be older; the note says so).
    instance_type_column : str, optional
        Column holding the instance type for ``Usage`` commitments (e.g. ``x_InstanceType``).

    Returns
    -------
    DataFrame
        An inventory (:data:`INVENTORY_COLUMNS`), with ``attrs["notes"]`` listing assumptions.
    """
    need = ["CommitmentDiscountId", "CommitmentDiscountCategory", "ChargePeriodStart", "EffectiveCost",
            "ProviderName"]
    missing = [c for c in need if c not in focus.columns]
    if missing:
        raise PortfolioError(f"FOCUS export: missing column(s) {missing} needed for the commitment inventory; "
                             f"found {list(focus.columns)[:20]} ...")
    rows = focus[focus["CommitmentDiscountId"].notna() & (focus["CommitmentDiscountId"].astype(str) != "")]
    if not len(rows):
        return validate_inventory(None)
    rows = rows.assign(_h=pd.to_datetime(rows["ChargePeriodStart"], utc=True).dt.floor("h"))
    out, notes = [], []
    for cid, g in rows.groupby("CommitmentDiscountId", sort=True):
        prov = _FOCUS_PROVIDER.get(str(g["ProviderName"].iat[0]).strip().lower())
        if prov is None:
            raise PortfolioError(f"FOCUS commitment '{cid}': unknown ProviderName '{g['ProviderName'].iat[0]}'; "
                                 f"expected one of {sorted(set(_FOCUS_PROVIDER))}.")
        cat = str(g["CommitmentDiscountCategory"].iat[0]).strip().lower()
        region = str(g["RegionId"].iat[0]) if "RegionId" in g else ""
        itype = ""
        if cat == "spend":
            per_hour = g.groupby("_h")["EffectiveCost"].sum()
            qty = float(per_hour.median())
            fam = {"aws": "aws_compute_sp", "azure": "azure_sp", "gcp": "gcp_flex_cud"}[prov]
            if prov == "aws":
                notes.append(f"'{cid}': an AWS Savings Plan taken as a Compute Savings Plan (FOCUS does not say "
                             "Compute or EC2 Instance)")
            if qty <= 0:
                raise PortfolioError(
                    f"FOCUS commitment '{cid}': its rows carry no EffectiveCost, so the hourly commitment is "
                    "unknown. Add it to the inventory by hand (quantity in USD/h) or export amortized costs.")
        elif cat == "usage":
            qty = float(g.groupby("_h")["PricingQuantity"].sum().max())
            fam = {"aws": "aws_standard_ri", "azure": "azure_reservation", "gcp": "gcp_resource_cud"}[prov]
            col = instance_type_column
            if col is None or col not in g:
                raise PortfolioError(
                    f"FOCUS commitment '{cid}' is a Usage commitment (reserved instance / resource CUD): pass "
                    "instance_type_column= naming the column with its instance type.")
            itype = str(g[col].iat[0])
        else:
            raise PortfolioError(f"FOCUS commitment '{cid}': CommitmentDiscountCategory "
                                 f"'{g['CommitmentDiscountCategory'].iat[0]}' is not Spend or Usage.")
        if isinstance(expires, dict):
            if cid not in expires:
                raise PortfolioError(f"FOCUS commitment '{cid}': no expiry date given in expires=.")
            exp = pd.Timestamp(expires[cid])
        elif expires is not None:
            exp = pd.Timestamp(expires)
        elif assume_term_months:
            exp = g["_h"].min() + pd.DateOffset(months=int(assume_term_months))
            notes.append(f"'{cid}': expiry assumed {assume_term_months} months after its first hour in the "
                         "export")
        else:
            raise PortfolioError("FOCUS 1.x has no term end: pass expires= (a date, or id -> date) or "
                                 "assume_term_months=.")
        out.append(dict(commitment_id=cid, family=fam, provider=prov, region=region, instance_type=itype,
                        term_months=np.nan, payment_option=np.nan, quantity=qty,
                        expires=exp.tz_localize("UTC") if exp.tzinfo is None else exp))
    inv = validate_inventory(pd.DataFrame(out))
    inv.attrs["notes"] = notes
    return inv
