"""The pricing catalog's columns, vocabularies and its one validator.

A catalog is a long table, one row per priced item: a pool (provider, region, instance_type) x pricing model x
commitment family x term x payment option, dated (``effective_date``) and sourced (``source``). Every reader and
importer of this package returns a frame that passed :func:`validate_catalog`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.constants import (
    HOURS_PER_MONTH,
    POOL_KEYS,  # noqa: F401  (re-exported: a pool, as in the usage table)
)
from finops_forecast.errors import PricingError, suggest

#: share of the total commitment paid upfront for ``partial_upfront`` when a source gives only the effective
#: rate (AWS: partial upfront pays "at least 50%" upfront; see docs/pricing.md, "Payment options")
PARTIAL_UPFRONT_SHARE = 0.5

PRICING_MODELS = ("on_demand", "spot", "reserved", "cud", "savings_plan")
PAYMENT_OPTIONS = ("no_upfront", "partial_upfront", "all_upfront")
TERMS_MONTHS = (12, 36)

#: commitment family -> (provider, pricing_model) it belongs to
COMMITMENT_FAMILIES = {
    "aws_standard_ri": ("aws", "reserved"),
    "aws_convertible_ri": ("aws", "reserved"),
    "aws_compute_sp": ("aws", "savings_plan"),
    "aws_ec2_instance_sp": ("aws", "savings_plan"),
    "azure_reservation": ("azure", "reserved"),
    "azure_sp": ("azure", "savings_plan"),
    "gcp_resource_cud": ("gcp", "cud"),
    "gcp_flex_cud": ("gcp", "savings_plan"),
}

#: family used for a commitment row of a provider that has no family of its own (neoclouds, private offers)
GENERIC_FAMILY = {"reserved": "reserved", "cud": "cud", "savings_plan": "savings_plan"}

#: the columns of a catalog, in order
CATALOG_COLUMNS = [
    "provider", "region", "instance_type", "gpu_type", "gpu_count",
    "pricing_model", "commitment_family", "term_months", "payment_option",
    "usd_per_hour", "usd_per_gpu_hour", "upfront_usd", "recurring_usd_per_hour",
    "effective_date", "source", "is_assumption",
    "spot_savings_pct", "interruption_label", "interruption_max_pct", "end_date",
]

#: a priced item is unique on these columns (at one effective_date)
PRICE_KEYS = ["provider", "region", "instance_type", "pricing_model", "commitment_family", "term_months",
              "payment_option"]

#: hard plausibility bounds of a price per GPU-hour [USD/GPU-h]: a row outside them is an error. The bundled
#: catalog (44,722 dated rows, 2022-2026) spans 0.0256 (an Azure fractional-GPU spot VM) to 18.62 (a GCP
#: a3-highgpu-1g on demand); the bounds leave a margin of about 250x below and 50x above, so they only catch
#: typos and unit mistakes (a price per month or per second, a missing decimal point).
PRICE_BOUNDS_USD_PER_GPU_HOUR = (1e-4, 1e3)

#: the usual band [USD/GPU-h]: a price outside it (but inside the hard bounds) is accepted with a note
PRICE_USUAL_USD_PER_GPU_HOUR = (0.01, 100.0)

_REQUIRED = ["provider", "region", "instance_type", "gpu_type", "gpu_count", "pricing_model", "term_months",
             "payment_option", "usd_per_hour", "effective_date", "source"]


def _fail(msg, source, df, mask, column):
    row = int(np.flatnonzero(np.asarray(mask))[0]) + 1
    example = df.iloc[row - 1]
    what = f" ({example.get('provider')} {example.get('region')} {example.get('instance_type')})"
    raise PricingError(msg + what, path=source, row=row, column=column)


def validate_catalog(df: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
    """Check a catalog frame and return it with canonical dtypes and every column of :data:`CATALOG_COLUMNS`.

    Derived columns are filled where missing: ``usd_per_gpu_hour = usd_per_hour / gpu_count``,
    ``recurring_usd_per_hour = usd_per_hour`` and ``upfront_usd = 0`` for rows without an upfront payment,
    ``commitment_family`` from the provider and pricing model, ``is_assumption = False``.

    Parameters
    ----------
    df : pandas.DataFrame
        Catalog rows; at least the columns provider, region, instance_type, gpu_type, gpu_count,
        pricing_model, term_months, payment_option, usd_per_hour [USD/h], effective_date, source.
    source : str, optional
        Name of the file the rows came from, used in error messages.

    Returns
    -------
    pandas.DataFrame
        The validated catalog, columns in :data:`CATALOG_COLUMNS` order (extra columns are kept at the end).

    Raises
    ------
    PricingError
        Naming the file, row and column at fault and how to fix it.
    """
    _check_required(df, source)
    out = df.copy()
    _clean_text(out, source)
    _check_vocabularies(out, source)
    _check_numbers(out, source)
    _fill_commitment_family(out, source)
    _fill_payments(out, source)
    notes = check_price_bounds(out, source)
    _parse_dates(out, source)
    _fill_optional(out)
    check_duplicate_prices(out, source)
    extra = [c for c in out.columns if c not in CATALOG_COLUMNS]
    out = out[CATALOG_COLUMNS + extra].reset_index(drop=True)
    out.attrs["notes"] = notes
    return out


# the steps of validate_catalog, in order; each checks ``out`` and fills or converts its columns in place


def _check_required(df: pd.DataFrame, source: str | None) -> None:
    """Every column of ``_REQUIRED`` is there."""
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise PricingError(
            f"missing column(s) {missing}. Expected at least {_REQUIRED}; found {list(df.columns)}. Add the "
            "missing columns (see docs/pricing.md, 'Catalog columns').", path=source)


def _clean_text(out: pd.DataFrame, source: str | None) -> None:
    """Text columns are non-empty and stripped; provider names are lower case."""
    for col in ("provider", "region", "instance_type", "gpu_type", "pricing_model", "payment_option", "source"):
        if out[col].isna().any() or (out[col].astype(str).str.strip() == "").any():
            bad = out[col].isna() | (out[col].astype(str).str.strip() == "")
            _fail(f"'{col}' is empty; every row needs one.", source, out, bad, col)
        out[col] = out[col].astype(str).str.strip()
    out["provider"] = out["provider"].str.lower()


def _check_vocabularies(out: pd.DataFrame, source: str | None) -> None:
    """pricing_model and payment_option are among :data:`PRICING_MODELS` and :data:`PAYMENT_OPTIONS`."""
    bad = ~out["pricing_model"].isin(PRICING_MODELS)
    if bad.any():
        name = out.loc[bad, "pricing_model"].iloc[0]
        _fail(f"invalid pricing_model '{name}'.{suggest(name, PRICING_MODELS)} Provide one of "
              f"{list(PRICING_MODELS)}.", source, out, bad, "pricing_model")
    bad = ~out["payment_option"].isin(PAYMENT_OPTIONS)
    if bad.any():
        name = out.loc[bad, "payment_option"].iloc[0]
        _fail(f"invalid payment_option '{name}'.{suggest(name, PAYMENT_OPTIONS)} Provide one of "
              f"{list(PAYMENT_OPTIONS)}.", source, out, bad, "payment_option")


def _is_commitment(out: pd.DataFrame) -> pd.Series:
    """Rows of a commitment (reserved, cud, savings_plan), as opposed to on_demand and spot."""
    return out["pricing_model"].isin(["reserved", "cud", "savings_plan"])


def _check_numbers(out: pd.DataFrame, source: str | None) -> None:
    """gpu_count [GPU], term_months and usd_per_hour [USD/h] are numbers consistent with the pricing model."""
    for col in ("gpu_count", "term_months", "usd_per_hour"):
        num = pd.to_numeric(out[col], errors="coerce")
        bad = num.isna()
        if bad.any():
            _fail(f"'{col}' must be a number.", source, out, bad, col)
        out[col] = num.astype(float)
    bad = out["gpu_count"] <= 0
    if bad.any():
        _fail("gpu_count must be > 0 [GPU per instance].", source, out, bad, "gpu_count")
    bad = out["usd_per_hour"] <= 0
    if bad.any():
        _fail("usd_per_hour must be > 0 [USD/h]: a zero price is never a valid catalog entry; leave the item "
              "out if it is not priced.", source, out, bad, "usd_per_hour")
    out["term_months"] = out["term_months"].astype(int)
    commit = _is_commitment(out)
    bad = commit & (out["term_months"] <= 0)
    if bad.any():
        _fail("a commitment (reserved, cud, savings_plan) needs term_months > 0, e.g. 12 or 36.", source, out,
              bad, "term_months")
    bad = ~commit & (out["term_months"] != 0)
    if bad.any():
        _fail("on_demand and spot rows have term_months 0.", source, out, bad, "term_months")
    bad = ~commit & (out["payment_option"] != "no_upfront")
    if bad.any():
        _fail("on_demand and spot rows have payment_option 'no_upfront'.", source, out, bad, "payment_option")


def _fill_commitment_family(out: pd.DataFrame, source: str | None) -> None:
    """commitment_family: the provider's default where empty, "" for on_demand and spot, checked otherwise."""
    commit = _is_commitment(out)
    if "commitment_family" not in out.columns:
        out["commitment_family"] = ""
    fam = out["commitment_family"].astype(object).where(out["commitment_family"].notna(), "").astype(str)
    fam = fam.str.strip()
    # one lookup per (provider, pricing model) pair, not per row (the bundled catalog has ~45,000 rows)
    pairs = pd.MultiIndex.from_arrays([out["provider"], out["pricing_model"]])
    table = {pm: _default_family(*pm) for pm in pairs.unique()}
    default = pd.Series([table[pm] for pm in pairs], index=out.index, dtype=object) if len(out) else fam
    fam = fam.where(fam != "", default)
    fam = fam.where(commit, "")
    out["commitment_family"] = fam
    bad = commit & (fam == "?")
    if bad.any():
        r = out[bad].iloc[0]
        valid = [f for f, (p, m) in COMMITMENT_FAMILIES.items() if p == r["provider"] and m == r["pricing_model"]]
        _fail(f"commitment_family is empty; a {r['provider']} {r['pricing_model']} row must name one of {valid}.",
              source, out, bad, "commitment_family")
    known = set(COMMITMENT_FAMILIES) | set(GENERIC_FAMILY.values())
    bad = commit & ~fam.isin(known)
    if bad.any():
        name = fam[bad].iloc[0]
        _fail(f"invalid commitment_family '{name}'.{suggest(name, known)} Provide one of {sorted(known)}.",
              source, out, bad, "commitment_family")
    for famname, (prov, model) in COMMITMENT_FAMILIES.items():
        bad = (fam == famname) & ((out["provider"] != prov) | (out["pricing_model"] != model))
        if bad.any():
            _fail(f"commitment_family '{famname}' belongs to provider '{prov}' and pricing_model '{model}'.",
                  source, out, bad, "commitment_family")


def _fill_payments(out: pd.DataFrame, source: str | None) -> None:
    """upfront_usd [USD] and recurring_usd_per_hour [USD/h], derived from usd_per_hour where missing and checked
    against it; usd_per_gpu_hour [USD/GPU-h]."""
    term_h = out["term_months"] * HOURS_PER_MONTH
    if "upfront_usd" not in out.columns:
        out["upfront_usd"] = np.nan
    if "recurring_usd_per_hour" not in out.columns:
        out["recurring_usd_per_hour"] = np.nan
    up = pd.to_numeric(out["upfront_usd"], errors="coerce")
    rec = pd.to_numeric(out["recurring_usd_per_hour"], errors="coerce")
    up = up.where(up.notna(), np.where(out["payment_option"] == "no_upfront", 0.0, np.nan))
    partial = (out["payment_option"] == "partial_upfront") & up.isna() & rec.isna()
    up = up.where(~partial, out["usd_per_hour"] * term_h * PARTIAL_UPFRONT_SHARE)
    rec = rec.where(rec.notna(), np.where(out["payment_option"] == "all_upfront", 0.0, np.nan))
    # fill whichever part is missing from the effective rate
    up = up.where(up.notna(), (out["usd_per_hour"] - rec) * term_h)
    rec = rec.where(rec.notna(), out["usd_per_hour"] - up / term_h.where(term_h > 0, np.nan))
    rec = rec.where(rec.notna(), out["usd_per_hour"])
    up = up.fillna(0.0)
    bad = (up < -1e-6) | (rec < -1e-9)
    if bad.any():
        _fail("upfront_usd and recurring_usd_per_hour must be >= 0.", source, out, bad, "upfront_usd")
    implied = rec + up / term_h.where(term_h > 0, np.inf)
    bad = ~np.isclose(implied, out["usd_per_hour"], rtol=1e-6, atol=1e-6)
    if bad.any():
        _fail("usd_per_hour must equal recurring_usd_per_hour + upfront_usd / (term_months x 730 h); fix one of "
              "the three or leave upfront_usd / recurring_usd_per_hour empty to have them derived.", source, out,
              bad, "usd_per_hour")
    out["upfront_usd"] = up.astype(float)
    out["recurring_usd_per_hour"] = rec.clip(lower=0.0).astype(float)
    out["usd_per_gpu_hour"] = out["usd_per_hour"] / out["gpu_count"]


def _parse_dates(out: pd.DataFrame, source: str | None) -> None:
    """effective_date (required) and end_date (optional, after it) as naive day timestamps."""
    dates = pd.to_datetime(out["effective_date"], errors="coerce")
    bad = dates.isna()
    if bad.any():
        _fail("effective_date must be a date (YYYY-MM-DD): every price is dated.", source, out, bad,
              "effective_date")
    out["effective_date"] = dates.dt.tz_localize(None) if dates.dt.tz is not None else dates
    out["effective_date"] = out["effective_date"].dt.normalize().astype("datetime64[ns]")

    if "end_date" in out.columns:
        end = pd.to_datetime(out["end_date"], errors="coerce")
        bad = out["end_date"].notna() & (out["end_date"].astype(str).str.strip() != "") & end.isna()
        if bad.any():
            _fail("end_date must be empty or a date (YYYY-MM-DD).", source, out, bad, "end_date")
        out["end_date"] = end.dt.normalize().astype("datetime64[ns]")
        bad = out["end_date"].notna() & (out["end_date"] <= out["effective_date"])
        if bad.any():
            _fail("end_date must be after effective_date.", source, out, bad, "end_date")
    else:
        out["end_date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")


def _fill_optional(out: pd.DataFrame) -> None:
    """is_assumption (False), the spot columns (NaN) and interruption_label ("") where missing."""
    if "is_assumption" not in out.columns:
        out["is_assumption"] = False
    out["is_assumption"] = out["is_assumption"].map(_to_bool)
    for col in ("spot_savings_pct", "interruption_max_pct"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float) if col in out.columns else np.nan
    if "interruption_label" not in out.columns:
        out["interruption_label"] = ""
    out["interruption_label"] = out["interruption_label"].astype(object).where(
        out["interruption_label"].notna(), "").astype(str)


def check_price_bounds(df: pd.DataFrame, source: str | None = None) -> list[str]:
    """Reject prices per GPU-hour outside :data:`PRICE_BOUNDS_USD_PER_GPU_HOUR`; note those outside the usual band.

    Parameters
    ----------
    df : pandas.DataFrame
        Catalog rows with ``usd_per_gpu_hour`` [USD/GPU-h] (row order = file order).
    source : str, optional
        File name for the messages.

    Returns
    -------
    list of str
        One note per row outside :data:`PRICE_USUAL_USD_PER_GPU_HOUR` (unusual but possible).

    Raises
    ------
    PricingError
        For the first row outside the hard bounds (infinite prices included), naming the row and the bounds.
    """
    lo, hi = PRICE_BOUNDS_USD_PER_GPU_HOUR
    rate = df["usd_per_gpu_hour"]
    bad = ~((rate >= lo) & (rate <= hi))
    if bad.any():
        value = rate[bad].iloc[0]
        _fail(f"usd_per_hour is {value:.6g} USD per GPU-hour, outside the plausible range [{lo:g}, {hi:g}] "
              "USD/GPU-h (README, 'What the tool refuses and why'). Check the unit: usd_per_hour is per instance "
              "and hour, not per month or second; gpu_count is the GPUs per instance.", source, df, bad,
              "usd_per_hour")
    u_lo, u_hi = PRICE_USUAL_USD_PER_GPU_HOUR
    odd = np.flatnonzero(((rate < u_lo) | (rate > u_hi)).to_numpy())
    where = f"{source}, " if source else ""
    return [f"{where}row {i + 1}: {df['provider'].iat[i]} {df['region'].iat[i]} {df['instance_type'].iat[i]} "
            f"{df['pricing_model'].iat[i]} costs {rate.iat[i]:.4g} USD/GPU-h, outside the usual "
            f"[{u_lo:g}, {u_hi:g}]; accepted, but check it." for i in odd]


def check_duplicate_prices(df: pd.DataFrame, source: str | None = None) -> None:
    """Refuse two rows that price the same item on the same ``effective_date`` with different values.

    Identical repeated rows are harmless and accepted. Without this check the last row would silently win.

    Raises
    ------
    PricingError
        Naming both rows (1-based data rows of ``df``), the item and both prices.
    """
    keys = PRICE_KEYS + ["effective_date"]
    dup = df.duplicated(keys, keep=False)
    if not dup.any():
        return
    rows = df[dup].reset_index().rename(columns={"index": "_pos"})
    for _, grp in rows.groupby(keys, sort=False, dropna=False):
        money = grp[["usd_per_hour", "upfront_usd"]].to_numpy(float)
        if np.allclose(money, money[0], rtol=1e-9, atol=0.0):
            continue
        first, second = grp.iloc[0], grp.iloc[1:][~np.isclose(money[1:, 0], money[0, 0], rtol=1e-9)
                                                   | ~np.isclose(money[1:, 1], money[0, 1], rtol=1e-9)].iloc[0]
        item = (f"{first['provider']} {first['region']} {first['instance_type']} {first['pricing_model']}"
                + (f" {first['commitment_family']} {int(first['term_months'])}m {first['payment_option']}"
                   if first["term_months"] else "") + f" on {first['effective_date']:%Y-%m-%d}")
        raise PricingError(
            f"rows {int(first['_pos']) + 1} and {int(second['_pos']) + 1} price the same item ({item}) "
            f"differently: {first['usd_per_hour']:.6g} and {second['usd_per_hour']:.6g} USD/h (upfront "
            f"{first['upfront_usd']:.6g} and {second['upfront_usd']:.6g} USD). Keep one row per item and date: "
            "delete the wrong one, or give the newer price its own effective_date.", path=source,
            column="usd_per_hour")


#: commitment family assumed when a row of that (provider, pricing_model) leaves it empty
DEFAULT_FAMILY = {("aws", "reserved"): "aws_standard_ri", ("azure", "reserved"): "azure_reservation",
                  ("azure", "savings_plan"): "azure_sp", ("gcp", "cud"): "gcp_resource_cud",
                  ("gcp", "savings_plan"): "gcp_flex_cud"}


def _default_family(provider: str, model: str) -> str:
    if model not in GENERIC_FAMILY:
        return ""
    if (provider, model) in DEFAULT_FAMILY:
        return DEFAULT_FAMILY[(provider, model)]
    if any(p == provider and m == model for p, m in COMMITMENT_FAMILIES.values()):
        return "?"  # ambiguous (AWS savings plans): the row must say which family
    return GENERIC_FAMILY[model]


def _to_bool(v) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return False
    s = str(v).strip().lower()
    if s in ("true", "1", "yes", "y", "t"):
        return True
    if s in ("false", "0", "no", "n", "f", "", "nan"):
        return False
    raise PricingError(f"is_assumption must be true or false, got '{v}'.", column="is_assumption")
