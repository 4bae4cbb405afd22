"""How the commitments already owned performed, from the bill (FOCUS ``Used`` / ``Unused`` commitment rows).

Per commitment and month: the amount used and unused (in the commitment's unit: USD for spend commitments,
hours for usage commitments; EffectiveCost when the export has no ``CommitmentDiscountQuantity``), the
utilization ``used / (used + unused)``, the usage it covered (its ``ListCost``: what it would have cost on
demand), the unused cost (``EffectiveCost`` of ``Unused`` rows), the savings ``covered list cost - commitment
cost`` and days to expiry. Per pool (provider, region, service) and month: coverage = covered list cost /
eligible list cost and the effective savings rate ``ESR = (eligible list cost - eligible effective cost) /
eligible list cost``, where eligible usage is the usage of the services and regions a commitment applied to
(covered rows, ``Unused`` rows and on-demand rows of that pool). When a pool had no usage at all, its ESR is
undefined (None) and its unused cost says what was lost.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from finops_forecast.errors import FinopsError
from finops_forecast.usage.focus_commitments import (
    FocusCommitments,
    commitment_inventory,
    commitment_usage,
    read_focus_commitments,
)

POOL = ["provider", "region", "service"]


class CommitmentError(FinopsError):
    """A commitment-performance input or option is wrong (the message says which and how to fix it)."""


@dataclass(frozen=True)
class CommitmentPerformance:
    """Realized performance of owned commitments.

    Attributes
    ----------
    commitments : DataFrame
        One row per commitment x month: commitment_discount_id, provider, type, category, month, used_amount,
        unused_amount, amount_unit, utilization, used_cost_usd, unused_cost_usd, covered_list_cost_usd,
        covered_quantity, covered_unit, savings_usd, effective_savings_rate, hourly_amount, expires,
        days_to_expiry.
    pools : DataFrame
        One row per pool x month: provider, region, service, month, covered_list_cost_usd,
        on_demand_list_cost_usd, eligible_list_cost_usd, eligible_effective_cost_usd, unused_cost_usd,
        coverage, effective_savings_rate.
    inventory : DataFrame
        :func:`~finops_forecast.usage.focus_commitments.commitment_inventory` of the export.
    summary : dict
        utilization (cost-weighted: 1 - unused cost / commitment cost), coverage, effective_savings_rate,
        unused_cost_usd [USD], savings_usd [USD]; None when the export cannot tell.
    notes : tuple of str
    """

    commitments: pd.DataFrame
    pools: pd.DataFrame
    inventory: pd.DataFrame
    summary: dict
    notes: tuple = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """JSON-ready dict: ``commitments``, ``pools``, ``inventory``, ``summary``, ``notes`` (NaN -> None)."""
        return {"commitments": _records(self.commitments), "pools": _records(self.pools),
                "inventory": _records(self.inventory), "summary": self.summary, "notes": list(self.notes)}

    def to_json(self, path) -> None:
        """Write :meth:`to_dict` as JSON, whole or not at all (a temporary file renamed into place)."""
        from finops_forecast._io import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2))


def _records(df: pd.DataFrame) -> list[dict]:
    out = []
    for rec in df.to_dict("records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, pd.Timestamp):
                v = v.isoformat()
            elif v is pd.NaT or (isinstance(v, (float, np.floating)) and not np.isfinite(v)):
                v = None
            elif isinstance(v, np.generic):
                v = v.item()
            clean[k] = v
        out.append(clean)
    return out


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den and den > 0 else np.nan


def _per_commitment(use: pd.DataFrame, inv: pd.DataFrame) -> pd.DataFrame:
    """Amounts, costs and ratios per commitment x month."""
    has_q = use.groupby("commitment_discount_id")["commitment_discount_quantity"].transform(
        lambda s: s.notna().any())
    amount = np.where(has_q, use["commitment_discount_quantity"], use["effective_cost"])
    use = use.assign(amount=amount, has_q=has_q,
                     month=use["charge_period_start"].dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()
                     .dt.tz_localize("UTC"))
    u, n = use["used"], use["unused"]
    g = use.assign(used_amount=np.where(u, use["amount"], 0.0), unused_amount=np.where(n, use["amount"], 0.0),
                   used_cost_usd=np.where(u, use["effective_cost"], 0.0),
                   unused_cost_usd=np.where(n, use["effective_cost"], 0.0),
                   covered_list_cost_usd=np.where(u, use["list_cost"], 0.0),
                   covered_quantity=np.where(u, use["consumed_quantity"], 0.0))
    per = g.groupby(["commitment_discount_id", "month"], sort=True).agg(
        used_amount=("used_amount", "sum"), unused_amount=("unused_amount", "sum"), has_q=("has_q", "first"),
        used_cost_usd=("used_cost_usd", "sum"), unused_cost_usd=("unused_cost_usd", "sum"),
        covered_list_cost_usd=("covered_list_cost_usd", lambda s: s.sum(min_count=1)),
        covered_quantity=("covered_quantity", "sum"),
        covered_unit=("consumed_unit", lambda s: ", ".join(sorted(set(s.dropna())))),
    ).reset_index()
    total = per["used_amount"] + per["unused_amount"]
    per["utilization"] = (per["used_amount"] / total.where(total > 0)).astype(float)
    inv = inv.set_index("commitment_discount_id")
    per = per.join(inv[["provider", "type", "category", "hourly_amount", "amount_unit", "expires"]],
                   on="commitment_discount_id")
    per["amount_unit"] = np.where(per["has_q"], per["amount_unit"].str.replace("/h", "", regex=False)
                                  .str.replace("instances", "hours", regex=False), "USD (EffectiveCost)")
    cost = per["used_cost_usd"] + per["unused_cost_usd"]
    per["savings_usd"] = per["covered_list_cost_usd"] - cost
    per["effective_savings_rate"] = per["savings_usd"] / per["covered_list_cost_usd"].where(
        per["covered_list_cost_usd"] > 0)
    unknown_cost = (cost <= 0) & ~per["has_q"]  # anonymized or 1.0 exports: no amount to compare with
    per.loc[unknown_cost, ["utilization", "savings_usd", "effective_savings_rate"]] = np.nan
    month_end = per["month"] + pd.DateOffset(months=1)
    per["days_to_expiry"] = (per["expires"] - month_end).dt.total_seconds() / 86400.0
    cols = ["commitment_discount_id", "provider", "type", "category", "month", "used_amount", "unused_amount",
            "amount_unit", "utilization", "used_cost_usd", "unused_cost_usd", "covered_list_cost_usd",
            "covered_quantity", "covered_unit", "savings_usd", "effective_savings_rate", "hourly_amount",
            "expires", "days_to_expiry"]
    return per[cols]


def _per_pool(use: pd.DataFrame, on_demand: pd.DataFrame) -> pd.DataFrame:
    """Coverage and effective savings rate per pool x month (pools a commitment applied to)."""
    use = use.assign(month=use["charge_period_start"].dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()
                     .dt.tz_localize("UTC"))
    keys = POOL + ["month"]
    c = use.assign(cov=np.where(use["used"], use["list_cost"], 0.0),
                   unused=np.where(use["unused"], use["effective_cost"], 0.0)).groupby(keys, dropna=False).agg(
        covered_list_cost_usd=("cov", "sum"), commitment_cost_usd=("effective_cost", "sum"),
        unused_cost_usd=("unused", "sum")).reset_index()
    od = on_demand.rename(columns={"list_cost": "on_demand_list_cost_usd",
                                   "effective_cost": "on_demand_effective_cost_usd"})[
        keys + ["on_demand_list_cost_usd", "on_demand_effective_cost_usd"]]
    pools = c.merge(od, on=keys, how="left").fillna({"on_demand_list_cost_usd": 0.0,
                                                     "on_demand_effective_cost_usd": 0.0})
    pools["eligible_list_cost_usd"] = pools["covered_list_cost_usd"] + pools["on_demand_list_cost_usd"]
    pools["eligible_effective_cost_usd"] = pools["commitment_cost_usd"] + pools["on_demand_effective_cost_usd"]
    den = pools["eligible_list_cost_usd"].where(pools["eligible_list_cost_usd"] > 0)
    pools["coverage"] = pools["covered_list_cost_usd"] / den
    pools["effective_savings_rate"] = (pools["eligible_list_cost_usd"] - pools["eligible_effective_cost_usd"]) / den
    return pools


def commitment_performance(source, *, period: str | None = None,
                           version: str | None = None) -> CommitmentPerformance:
    """Realized utilization, coverage, effective savings rate and unused cost of the commitments in a bill.

    Parameters
    ----------
    source : str, path, list, DataFrame or FocusCommitments
        A FOCUS 1.0-1.3 cost and usage export (file, folder, glob) or its commitment rows.
    period : str, optional
        A month ``YYYY-MM`` to keep (default: every month in the export).
    version : str, optional
        FOCUS version to assume instead of detecting it.

    Returns
    -------
    CommitmentPerformance
    """
    fc = source if isinstance(source, FocusCommitments) else read_focus_commitments(source, version=version)
    inv = commitment_inventory(fc)
    use = commitment_usage(fc.rows)
    on_demand = fc.on_demand
    notes = list(fc.notes)
    if period is not None:
        try:
            month = pd.Period(period, freq="M").to_timestamp().tz_localize("UTC")
        except (ValueError, TypeError):
            raise CommitmentError(f"period '{period}': expected a month like 2026-10.") from None
        use = use[use["charge_period_start"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
                  == month.tz_localize(None).to_period("M")]
        on_demand = on_demand[on_demand["month"] == month]
        if use.empty:
            notes.append(f"no commitment usage rows in {period}.")
    per = _per_commitment(use, inv) if len(use) else _per_commitment(commitment_usage(fc.rows.iloc[0:0]), inv)
    pools = _per_pool(use, on_demand)
    cost = per["used_cost_usd"].sum() + per["unused_cost_usd"].sum()
    unknown = per["utilization"].isna() & (per["used_cost_usd"] + per["unused_cost_usd"] <= 0)
    if unknown.any():
        ids = ", ".join(sorted(set(per.loc[unknown, "commitment_discount_id"])))
        notes.append(f"the export gives neither CommitmentDiscountQuantity nor a commitment cost (EffectiveCost 0) "
                     f"for {ids}: their utilization and savings are unknown, and the summary's ESR leaves "
                     f"them out.")
    known_pools = pools[~pools.set_index(POOL).index.isin(
        per.loc[unknown, ["commitment_discount_id"]].merge(
            use[["commitment_discount_id"] + POOL].drop_duplicates(), on="commitment_discount_id")[POOL]
        .apply(tuple, axis=1).tolist())] if unknown.any() else pools
    elig = known_pools["eligible_list_cost_usd"].sum()
    summary = {
        "utilization": _none(_ratio(cost - per["unused_cost_usd"].sum(), cost)),
        "coverage": _none(_ratio(known_pools["covered_list_cost_usd"].sum(), elig)),
        "effective_savings_rate": _none(_ratio(elig - known_pools["eligible_effective_cost_usd"].sum(), elig)),
        "unused_cost_usd": float(per["unused_cost_usd"].sum()),
        "savings_usd": _none(float(per["savings_usd"].sum(min_count=1))),
        "commitments": int(inv.shape[0]),
    }
    return CommitmentPerformance(commitments=per, pools=pools, inventory=inv, summary=summary, notes=tuple(notes))


def _none(x: float):
    return None if x is None or not np.isfinite(x) else float(x)
