"""Priced usage: GPU-hours x price per row, from the bill where it has costs and from the catalog elsewhere."""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.errors import PricingError
from finops_forecast.showback.common import UNALLOCATED, ShowbackError
from finops_forecast.usage.schema import POOL_KEYS, USAGE_COLUMNS, check_columns

PRICED_COLUMNS = ["usd_per_gpu_hour", "gpu_cost", "cost_source"]


def pool_rates(catalog: pd.DataFrame, pools: pd.DataFrame, pricing_model: str = "on_demand") -> pd.DataFrame:
    """On-demand (or another model's) rate per GPU-hour of each pool.

    Parameters
    ----------
    catalog : pandas.DataFrame
        A pricing catalog (:func:`finops_forecast.pricing.load_pricing`).
    pools : pandas.DataFrame
        Rows with ``provider, region, instance_type`` (duplicates allowed).
    pricing_model : str, default "on_demand"
        Catalog pricing model with term 0 (``on_demand`` or ``spot``).

    Returns
    -------
    pandas.DataFrame
        One row per distinct pool: POOL_KEYS, ``gpu_type``, ``gpu_count`` [GPU], ``usd_per_gpu_hour`` [USD/GPU-h].

    Raises
    ------
    PricingError
        Listing every pool the catalog has no such price for (never a silent 0).
    """
    want = pools[POOL_KEYS].drop_duplicates()
    rows = catalog[(catalog["pricing_model"] == pricing_model) & (catalog["term_months"] == 0)]
    rows = rows.sort_values("usd_per_gpu_hour").drop_duplicates(POOL_KEYS)
    out = want.merge(rows[POOL_KEYS + ["gpu_type", "gpu_count", "usd_per_gpu_hour"]], on=POOL_KEYS, how="left")
    miss = out[out["usd_per_gpu_hour"].isna()]
    if len(miss):
        names = "; ".join("/".join(r) for r in miss[POOL_KEYS].astype(str).itertuples(index=False))
        raise PricingError(f"no {pricing_model} price in the catalog for pool(s) {names}. Add the price with "
                           f"load_pricing(path='my_rates.csv') (see pricing_template()), or fix the pool name; "
                           f"showback never prices a GPU at 0.")
    return out.reset_index(drop=True)


def price_usage(usage: pd.DataFrame, catalog: pd.DataFrame | None = None, *, pricing_model: str = "on_demand",
                bill_column: str = "effective_cost") -> pd.DataFrame:
    """Price a usage table: ``gpu_cost`` per row, from the bill where it has a cost, else from the catalog.

    Parameters
    ----------
    usage : pandas.DataFrame
        A usage table (``finops_forecast.usage``); extra columns (``model``, ``effective_cost`` ...) are kept.
    catalog : pandas.DataFrame, optional
        Pricing catalog; needed for rows without a bill cost.
    pricing_model : str, default "on_demand"
        Catalog model used for rows without a bill cost.
    bill_column : str, default "effective_cost"
        FOCUS cost column taken as the row's cost when present and not NaN. ``effective_cost`` includes the
        amortized commitments, so the showback totals match the amortized bill; ``billed_cost`` matches the
        invoice (upfront payments in their month); ``None`` ignores the bill.

    Returns
    -------
    pandas.DataFrame
        The usage rows plus ``usd_per_gpu_hour`` [USD/GPU-h], ``gpu_cost`` [USD] and ``cost_source``
        (``bill:<column>`` or ``catalog:<pricing_model>``). ``team`` is ``__unallocated__`` where it was empty.

    Raises
    ------
    ShowbackError
        On missing usage columns or an unknown ``bill_column``.
    PricingError
        When rows need the catalog and their pool has no price, or no catalog was given.
    """
    check_columns(usage, USAGE_COLUMNS, what="usage table")
    out = usage.copy()
    out["team"] = out["team"].fillna(UNALLOCATED).replace("", UNALLOCATED)
    gh = out["gpu_hours"].to_numpy(float)
    cost = np.full(len(out), np.nan)
    source = np.full(len(out), f"catalog:{pricing_model}", dtype=object)
    if bill_column is not None and bill_column in out.columns:
        bill = pd.to_numeric(out[bill_column], errors="coerce").to_numpy(float)
        has = ~np.isnan(bill)
        cost[has] = bill[has]
        source[has] = f"bill:{bill_column}"
    elif bill_column not in (None, "effective_cost", "billed_cost", "list_cost"):
        raise ShowbackError(f"bill_column '{bill_column}' is not a FOCUS cost column; use effective_cost, "
                            f"billed_cost, list_cost or None.", column=bill_column)
    need = np.isnan(cost)
    rate = np.full(len(out), np.nan)
    if need.any():
        if catalog is None:
            raise PricingError(f"{int(need.sum())} usage rows have no bill cost and no catalog was given. Pass "
                               f"catalog=load_pricing().")
        rates = pool_rates(catalog, out.loc[need], pricing_model)
        key = pd.MultiIndex.from_frame(out[POOL_KEYS].astype(str))
        lookup = pd.Series(rates["usd_per_gpu_hour"].to_numpy(),
                           index=pd.MultiIndex.from_frame(rates[POOL_KEYS].astype(str)))
        r = lookup.reindex(key).to_numpy(float)
        cost[need] = gh[need] * r[need]
        rate[need] = r[need]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(np.isnan(rate), np.where(gh > 0, cost / np.where(gh > 0, gh, 1), np.nan), rate)
    out["usd_per_gpu_hour"] = rate
    out["gpu_cost"] = cost
    out["cost_source"] = source
    return out


def breakdown(priced: pd.DataFrame, by=("team", "workload_class"), *, freq: str | None = None) -> pd.DataFrame:
    """GPU-hours and cost by owner (team, model, class ...), optionally per period.

    Parameters
    ----------
    priced : pandas.DataFrame
        Output of :func:`price_usage`.
    by : sequence of str
        Grouping columns; a ``model`` column that the table lacks is filled with ``__unallocated__`` (cost is never
        spread over models silently).
    freq : str, optional
        ``"W"`` (weeks starting Monday, column ``week``) or ``"M"`` (column ``month``) to add a period column.

    Returns
    -------
    pandas.DataFrame
        ``by`` (+ period) + ``gpu_hours`` [GPU-h], ``gpu_cost`` [USD], ``usd_per_gpu_hour`` [USD/GPU-h],
        ``share`` (of the total cost of the period), sorted by cost.
    """
    from finops_forecast.showback.common import week_start

    df = priced
    by = list(by)
    missing = [c for c in by if c not in df.columns]
    if missing:
        if set(missing) - {"model"}:
            raise ShowbackError(f"cannot group by {missing}: the priced usage has columns {list(df.columns)}.",
                                column=missing[0])
        df = df.assign(model=UNALLOCATED)
    keys = list(by)
    if freq:
        if freq.upper().startswith("W"):
            df = df.assign(week=week_start(df["ts"]))
            keys = ["week"] + keys
        else:
            df = df.assign(month=df["ts"].dt.tz_convert(None).dt.to_period("M").astype(str))
            keys = ["month"] + keys
    agg = df.groupby(keys, sort=False, dropna=False)[["gpu_hours", "gpu_cost"]].sum().reset_index()
    agg["usd_per_gpu_hour"] = agg["gpu_cost"] / agg["gpu_hours"].where(agg["gpu_hours"] > 0)
    tot = agg.groupby(keys[0])["gpu_cost"].transform("sum") if freq else agg["gpu_cost"].sum()
    agg["share"] = agg["gpu_cost"] / tot
    return agg.sort_values(keys[:1] + ["gpu_cost"] if freq else ["gpu_cost"],
                           ascending=[True, False] if freq else False, kind="stable").reset_index(drop=True)


def top_cost_drivers(priced: pd.DataFrame, n: int = 10,
                     by=("team", "provider", "region", "instance_type", "workload_class")) -> pd.DataFrame:
    """The ``n`` largest cost lines (team x pool x class by default) with their owner and share of the total.

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``by`` columns, ``gpu_hours`` [GPU-h], ``gpu_cost`` [USD], ``share``, ``usd_per_gpu_hour``.
    """
    b = breakdown(priced, by=by).head(n).reset_index(drop=True)
    b.insert(0, "rank", np.arange(1, len(b) + 1))
    return b
