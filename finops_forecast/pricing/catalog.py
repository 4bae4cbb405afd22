"""The bundled, dated pricing catalog: load it (as of a date, with user overrides) and look prices up.

The bundled catalog is one gzip CSV per provider in ``pricing/`` (``catalog_aws.csv.gz`` ...), built by
``tools/build_pricing.py`` from the real sources in ``../shared/datasets/pricing``. Each file keeps the price
*history*: one row per priced item per date at which its price was observed to change. :func:`load_pricing`
picks, for each priced item, the row in effect on ``as_of`` (default: the newest).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from functools import cache
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from finops_forecast._data import pricing_dir, pricing_file
from finops_forecast.errors import PricingError, unknown_name
from finops_forecast.pricing.schema import (
    COMMITMENT_FAMILIES, PAYMENT_OPTIONS, POOL_KEYS, PRICE_KEYS, PRICING_MODELS, validate_catalog,
)

#: bundled catalog name -> file in pricing/
BUNDLED = {"aws": "catalog_aws.csv.gz", "azure": "catalog_azure.csv.gz", "gcp": "catalog_gcp.csv.gz"}


def pricing_names() -> list[str]:
    """Names of the bundled catalogs, for ``load_pricing(name=...)``: one per provider."""
    return sorted(BUNDLED)


@cache
def _read_bundled(name: str) -> pd.DataFrame:
    path = pricing_file(BUNDLED[name])
    df = pd.read_csv(path, keep_default_na=False, na_values=[""],
                     dtype={"commitment_family": str, "interruption_label": str})
    return validate_catalog(df, source=f"bundled {path.name}")


def _read_user(p) -> pd.DataFrame:
    from finops_forecast.pricing.importers import read_price_csv

    if isinstance(p, pd.DataFrame):
        return read_price_csv(p, source="user frame")
    return read_price_csv(p)


def select_as_of(catalog: pd.DataFrame, as_of=None, *, strict: bool = False) -> pd.DataFrame:
    """For each priced item keep the row in effect on ``as_of``.

    A row is in effect from its ``effective_date`` until the item's next row; a row with an ``end_date`` (the
    first snapshot in which the source no longer lists the item) is not in effect from that day on.

    Parameters
    ----------
    catalog : pandas.DataFrame
        Catalog rows, possibly several dates per item.
    as_of : date-like, optional
        The day to price. Default: the newest row of each item.
    strict : bool, default False
        Items whose first observed price is after ``as_of`` are dropped when True; when False their earliest
        row is kept (its ``effective_date`` then lies after ``as_of``, so the caller can see it), because most
        sources are snapshots and a missing history does not mean the item was not sold.

    Returns
    -------
    pandas.DataFrame
        One row per item of :data:`PRICE_KEYS`.
    """
    if catalog.empty:
        return catalog.copy()
    df = catalog.sort_values(PRICE_KEYS + ["effective_date"], kind="stable")
    end = df["end_date"] if "end_date" in df.columns else pd.Series(pd.NaT, index=df.index)
    if as_of is None:
        last = df.groupby(PRICE_KEYS, sort=False).tail(1)
        return last[end.loc[last.index].isna()].reset_index(drop=True)
    cut = pd.Timestamp(as_of).normalize()
    before = df[df["effective_date"] <= cut].groupby(PRICE_KEYS, sort=False).tail(1)
    before = before[~(end.loc[before.index] <= cut)]  # withdrawn items are gone
    if strict:
        return before.reset_index(drop=True)
    after = df[df["effective_date"] > cut].groupby(PRICE_KEYS, sort=False).head(1)
    seen = pd.MultiIndex.from_frame(before[PRICE_KEYS])
    after = after[~pd.MultiIndex.from_frame(after[PRICE_KEYS]).isin(seen)]
    return pd.concat([before, after]).sort_values(PRICE_KEYS, kind="stable").reset_index(drop=True)


def load_pricing(name: str | Sequence[str] | None = None,
                 path: str | PathLike | pd.DataFrame | Sequence | None = None,
                 as_of: date | str | None = None, *, strict: bool = False, history: bool = False,
                 bundled: bool = True) -> pd.DataFrame:
    """Load the pricing catalog: bundled prices, overridden or extended by user price files.

    Parameters
    ----------
    name : str or list of str, optional
        Bundled catalog(s) to load, from :func:`pricing_names` (``aws``, ``azure``, ``gcp``). Default: all.
    path : path, DataFrame or list of them, optional
        User price file(s) in the plain CSV template (see :func:`~finops_forecast.pricing.pricing_template`)
        or the catalog schema. A user row replaces the bundled row of the same priced item (provider, region,
        instance_type, pricing_model, commitment_family, term_months, payment_option); new items, regions,
        instance types and providers (a neocloud such as ``coreweave`` or ``lambda``) extend the catalog.
        Later files win over earlier ones.
    as_of : date-like, optional
        Price the catalog as of this day (see :func:`select_as_of`). Default: the newest prices.
    strict : bool, default False
        With ``as_of``: drop items first observed after ``as_of`` instead of keeping their earliest price.
    history : bool, default False
        Return every dated row (no ``as_of`` selection; overrides are not applied).
    bundled : bool, default True
        False loads only the user file(s).

    Returns
    -------
    pandas.DataFrame
        One row per priced item, columns of :data:`~finops_forecast.pricing.schema.CATALOG_COLUMNS`:
        ``usd_per_hour`` [USD/h] is the effective hourly rate per instance (upfront amortized over the term),
        ``usd_per_gpu_hour`` [USD/GPU-h], ``upfront_usd`` [USD], ``recurring_usd_per_hour`` [USD/h],
        ``effective_date``, ``source``, ``is_assumption``; spot rows carry ``spot_savings_pct`` [%],
        ``interruption_label`` and ``interruption_max_pct`` [%] where the source has them.

    Raises
    ------
    UnknownNameError
        For a name that is not a bundled catalog (the message lists the valid names).
    PricingError
        For a malformed user file (naming file, row and column).

    Examples
    --------
    >>> cat = load_pricing(as_of="2025-06-01")                                   # doctest: +SKIP
    >>> price(cat, "aws", "us-east-1", "p5.48xlarge", "on_demand")               # doctest: +SKIP
    98.32
    """
    from finops_forecast._files import parse_day

    as_of = parse_day(as_of, "as_of", PricingError)
    names = pricing_names() if name is None else ([name] if isinstance(name, str) else list(name))
    for n in names:
        if n not in BUNDLED:
            raise unknown_name("pricing catalog name", n, pricing_names())
    frames = [_read_bundled(n) for n in names] if bundled else []
    base = pd.concat(frames, ignore_index=True) if frames else None

    paths = [] if path is None else (list(path) if isinstance(path, (list, tuple)) else [path])
    users = [_read_user(p) for p in paths]
    if history:
        parts = ([base] if base is not None else []) + users
        if not parts:
            raise PricingError("nothing to load: bundled=False and no path given.")
        return pd.concat(parts, ignore_index=True)
    if base is None and not users:
        raise PricingError("nothing to load: bundled=False and no path given. Pass path=<your price file>.")
    out = select_as_of(base, as_of, strict=strict) if base is not None else None
    notes = [n for u in users for n in u.attrs.get("notes", [])]
    for user in users:
        u = _select_user(user, as_of, strict=strict)
        if out is None:
            out = u
            continue
        ukeys = pd.MultiIndex.from_frame(u[PRICE_KEYS])
        out = out[~pd.MultiIndex.from_frame(out[PRICE_KEYS]).isin(ukeys)]
        out = pd.concat([out, u], ignore_index=True)
    out = out.sort_values(PRICE_KEYS, kind="stable").reset_index(drop=True)
    out.attrs["as_of"] = None if as_of is None else str(as_of.date())
    out.attrs["notes"] = notes
    return out


def _select_user(user: pd.DataFrame, as_of, *, strict: bool) -> pd.DataFrame:
    """:func:`select_as_of` for a user file, priced as of ``as_of`` or today (UTC).

    A user row dated after that day is never today's price: an item that also has an earlier row keeps it (a
    scheduled change), an item whose only rows are later is an error naming the row (dropped when ``strict``).
    """
    day = as_of if as_of is not None else pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
    rows = user.assign(_row=np.arange(1, len(user) + 1))
    sel = select_as_of(rows, day, strict=strict)
    ahead = sel["effective_date"] > day
    if ahead.any():
        r = sel[ahead].iloc[0]
        raise PricingError(
            f"effective_date {r['effective_date']:%Y-%m-%d} is after the day priced ({day:%Y-%m-%d}"
            f"{'' if as_of is not None else ', today'}) and {r['provider']} {r['region']} {r['instance_type']} "
            f"{r['pricing_model']} has no earlier price: a price not yet in effect cannot price that day. Fix "
            f"the date, add the price in effect today, or price a later day (as_of / --as-of).",
            path=user.attrs.get("path"), row=int(r["_row"]), column="effective_date")
    return sel.drop(columns="_row")


def _check_unique_dates(rows: pd.DataFrame, what: str) -> None:
    if len(rows) > 1 and rows["effective_date"].nunique() > 1:
        raise PricingError(f"{what} has {len(rows)} dated rows: the catalog holds price history. Load it with "
                           "load_pricing(as_of=...) (or without history=True) to get one price per item.")


def price(catalog: pd.DataFrame, provider: str, region: str, instance_type: str, pricing_model: str,
          term_months: int = 0, payment_option: str = "no_upfront", *, commitment_family: str | None = None,
          per: str = "instance") -> float:
    """Look up one rate in a catalog; never returns a silent zero.

    Parameters
    ----------
    catalog : pandas.DataFrame
        From :func:`load_pricing`.
    provider, region, instance_type : str
        The pool, e.g. ``("aws", "us-east-1", "p5.48xlarge")``.
    pricing_model : {'on_demand', 'spot', 'reserved', 'cud', 'savings_plan'}
    term_months : int, default 0
        0 for on_demand and spot; 12 or 36 for commitments.
    payment_option : {'no_upfront', 'partial_upfront', 'all_upfront'}, default 'no_upfront'
    commitment_family : str, optional
        Needed only where a provider has several families for the model (AWS savings plans:
        ``aws_compute_sp`` or ``aws_ec2_instance_sp``).
    per : {'instance', 'gpu'}, default 'instance'
        Return USD per instance-hour or per GPU-hour.

    Returns
    -------
    float
        The effective hourly rate [USD/h] (upfront amortized) or [USD/GPU-h].

    Raises
    ------
    UnknownNameError
        Unknown provider, region, instance type or pricing model; the message lists the valid ones.
    PricingError
        The pool exists but not with this term / payment option / family; the message lists what exists.
    """
    if per not in ("instance", "gpu"):
        raise unknown_name("per", per, ["instance", "gpu"])
    if pricing_model not in PRICING_MODELS:
        raise unknown_name("pricing model", pricing_model, PRICING_MODELS)
    if payment_option not in PAYMENT_OPTIONS:
        raise unknown_name("payment option", payment_option, PAYMENT_OPTIONS)
    pool = _pool_rows(catalog, provider, region, instance_type)
    sel = pool[pool["pricing_model"] == pricing_model]
    pool_name = f"{provider} {region} {instance_type}"
    if sel.empty:
        raise PricingError(f"{pool_name} has no '{pricing_model}' price. It has: {_describe(pool)}. Add the rate "
                           "in a user price file (load_pricing(path=...)) if you have one.")
    exact = sel[(sel["term_months"] == int(term_months)) & (sel["payment_option"] == payment_option)]
    if commitment_family is not None:
        if commitment_family not in COMMITMENT_FAMILIES and commitment_family not in sel["commitment_family"].values:
            raise unknown_name("commitment family", commitment_family, list(COMMITMENT_FAMILIES))
        exact = exact[exact["commitment_family"] == commitment_family]
    if exact.empty:
        raise PricingError(f"{pool_name} has no '{pricing_model}' price for term_months={term_months}, "
                           f"payment_option='{payment_option}'"
                           + (f", commitment_family='{commitment_family}'" if commitment_family else "")
                           + f". It has: {_describe(sel)}.")
    fams = exact["commitment_family"].unique()
    if len(fams) > 1:
        raise PricingError(f"{pool_name} '{pricing_model}' {term_months}m {payment_option} exists for several "
                           f"commitment families {sorted(fams)}: pass commitment_family= one of them.")
    _check_unique_dates(exact, pool_name)
    col = "usd_per_hour" if per == "instance" else "usd_per_gpu_hour"
    value = float(exact[col].iloc[-1])
    if not np.isfinite(value) or value <= 0:  # validate_catalog forbids it; guard the lookup anyway
        raise PricingError(f"{pool_name} {pricing_model} has an invalid price {value}; fix the price file.")
    return value


def _describe(rows: pd.DataFrame) -> str:
    parts = []
    for (model, fam), g in rows.groupby(["pricing_model", "commitment_family"], sort=True):
        opts = sorted({(int(t), p) for t, p in zip(g["term_months"], g["payment_option"])})
        if model in ("on_demand", "spot"):
            parts.append(model)
        else:
            parts.append(f"{model}[{fam}] " + ", ".join(f"{t}m {p}" for t, p in opts))
    return "; ".join(parts)


def _pool_rows(catalog: pd.DataFrame, provider: str, region: str, instance_type: str) -> pd.DataFrame:
    """The catalog rows of one pool; an unknown provider, instance type or region names the valid ones."""
    rows = catalog[catalog["provider"] == provider]
    if rows.empty:
        raise unknown_name("provider", provider, catalog["provider"].unique())
    by_type = rows[rows["instance_type"] == instance_type]
    if by_type.empty:
        raise unknown_name(f"instance type for provider '{provider}'", instance_type, rows["instance_type"].unique())
    pool = by_type[by_type["region"] == region]
    if pool.empty:
        raise unknown_name(f"region for {provider} {instance_type}", region, by_type["region"].unique())
    return pool


def pool_options(catalog: pd.DataFrame, provider: str, region: str, instance_type: str) -> pd.DataFrame:
    """Every priced option of one pool (rows of the catalog), cheapest effective rate first.

    Raises the same errors as :func:`price` for an unknown provider, instance type or region.
    """
    pool = _pool_rows(catalog, provider, region, instance_type)
    return pool.sort_values(["usd_per_hour", "pricing_model", "term_months"]).reset_index(drop=True)


def check_pools(catalog: pd.DataFrame, pools: Iterable[Sequence[str]] | pd.DataFrame,
                pricing_models: Iterable[str] = ("on_demand",)) -> None:
    """Raise one error listing every pool that lacks a price for one of ``pricing_models``.

    Call it before optimizing or reporting so an unpriced pool is an error, never a silent zero.

    Parameters
    ----------
    catalog : pandas.DataFrame
        From :func:`load_pricing`.
    pools : iterable of (provider, region, instance_type) or DataFrame with those columns
    pricing_models : iterable of str
        Models every pool must have.
    """
    if isinstance(pools, pd.DataFrame):
        pools = pools[POOL_KEYS].drop_duplicates().itertuples(index=False, name=None)
    have = set(zip(catalog["provider"], catalog["region"], catalog["instance_type"], catalog["pricing_model"]))
    gaps = [f"{p} {r} {t}: {m}" for p, r, t in pools for m in pricing_models if (p, r, t, m) not in have]
    if gaps:
        raise PricingError(f"{len(gaps)} pool price(s) missing: " + "; ".join(gaps[:20])
                           + (" ..." if len(gaps) > 20 else "")
                           + ". Add them in a user price file: load_pricing(path=...).")


def bundled_files() -> dict[str, Path]:
    """Paths of the bundled catalog files (for the CLI and the README)."""
    return {n: pricing_dir() / f for n, f in BUNDLED.items()}
