"""Evidence on real price history: 1-year vs 3-year vs laddered terms for a steady GPU demand.

For each month ``m`` of the price history, a buyer needs one GPU for the 36 months from ``m`` and commits for
all of it (steady demand: every commitment is fully used). Three ways, each billed with the price path that
then happened (the catalog row in effect in each month, no-upfront rates):

* ``3-year``: one 3-year commitment at the 3-year rate of month ``m``;
* ``1-year``: three 1-year commitments in a row, each at the 1-year rate of the month it is bought (``m``,
  ``m + 12``, ``m + 24``), so a price cut reaches the buyer at the next renewal;
* ``laddered``: half of the need each way.

Months after the end of a pool's history repeat its last prices (the catalog's newest rows: a flat outlook
from there on), which the table says. Results are costs per GPU-h relative to on demand at the prices of each
month (1 = all on demand), averaged over purchase months.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.constants import POOL_KEYS

#: families of the term comparison (the pool's own reservation / resource CUD)
POOL_RESERVATION = {"aws": "aws_standard_ri", "gcp": "gcp_resource_cud", "azure": "azure_reservation"}
STRATEGIES = ("1-year", "3-year", "laddered")


def monthly_rates(history: pd.DataFrame, pool: tuple, months: pd.DatetimeIndex) -> pd.DataFrame:
    """On-demand, 1-year and 3-year no-upfront rates of ``pool`` in effect at the start of each month
    [USD/GPU-h] (NaN before the pool is first priced)."""
    prov = pool[0]
    h = history[(history["provider"] == pool[0]) & (history["region"] == pool[1])
                & (history["instance_type"] == pool[2])]
    fam = POOL_RESERVATION.get(prov, "")
    out = {}
    for name, sel in (("od", h["pricing_model"] == "on_demand"),
                      ("r12", (h["commitment_family"] == fam) & (h["term_months"] == 12)
                       & (h["payment_option"] == "no_upfront")),
                      ("r36", (h["commitment_family"] == fam) & (h["term_months"] == 36)
                       & (h["payment_option"] == "no_upfront"))):
        rows = h[sel].sort_values("effective_date")
        s = pd.Series(rows["usd_per_gpu_hour"].to_numpy(float),
                      index=pd.to_datetime(rows["effective_date"]).dt.tz_localize(None))
        s = s[~s.index.duplicated(keep="last")]
        out[name] = s.reindex(s.index.union(months)).sort_index().ffill().reindex(months)
    return pd.DataFrame(out, index=months)


def cohort_costs(rates: pd.DataFrame, n_hist: int) -> pd.DataFrame:
    """Cost of each purchase month's 36 months per strategy, relative to on demand (module docstring).

    ``rates`` covers the history's ``n_hist`` months followed by 36 months of repeated last prices."""
    od, r12, r36 = (rates[c].to_numpy(float) for c in ("od", "r12", "r36"))
    rows = []
    for m in range(n_hist):
        if not np.isfinite([od[m], r12[m], r36[m]]).all():
            continue
        span = slice(m, m + 36)
        one = np.concatenate([np.full(12, r12[m + 12 * k]) for k in range(3)])
        base = od[span].sum()
        c1, c3 = one.sum() / base, 36 * r36[m] / base
        rows.append({"month": rates.index[m], "1-year": c1, "3-year": c3, "laddered": (c1 + c3) / 2,
                     "price_changed": bool(np.ptp(od[span]) > 0)})
    return pd.DataFrame(rows)


def term_evidence(pools, history: pd.DataFrame | None = None, start="2023-01-01", end="2026-07-01"
                  ) -> pd.DataFrame:
    """The evidence table: per pool, the mean cost of each strategy relative to on demand, the winner and by
    how much.

    Parameters
    ----------
    pools : iterable of (provider, region, instance_type)
    history : DataFrame, optional
        Catalog with every dated row (default ``load_pricing(history=True)``).
    start, end : date-like
        First and last purchase month.

    Returns
    -------
    DataFrame
        pool, purchase months, months with a real price change in their window, mean cost of 1-year, 3-year
        and laddered relative to all on demand, winner, its margin over the runner-up [share of on-demand cost],
        and how many purchase months each strategy won.
    """
    if history is None:
        from finops_forecast.pricing.outlook import bundled_history
        history = bundled_history()
    pools = [tuple(p) for p in pools]
    history = history[history["instance_type"].isin([p[2] for p in pools])]
    hist_months = pd.date_range(start, end, freq="MS")
    months = pd.date_range(start, hist_months[-1] + pd.DateOffset(months=36), freq="MS")
    rows = []
    for pool in pools:
        rates = monthly_rates(history, tuple(pool), months)
        c = cohort_costs(rates, len(hist_months))
        if c.empty:
            continue
        mean = c[list(STRATEGIES)].mean()
        order = mean.sort_values()
        wins = c[list(STRATEGIES)].idxmin(axis=1).value_counts()
        moved = int(c["price_changed"].sum())
        rows.append({"pool": " ".join(pool), "purchase_months": len(c), "windows_with_a_price_change": moved,
                     "first_month": c["month"].min().strftime("%Y-%m"),
                     **{f"cost_{s.replace('-', '_')}": round(float(mean[s]), 4) for s in STRATEGIES},
                     "winner": order.index[0], "margin": round(float(order.iloc[1] - order.iloc[0]), 4),
                     **{f"wins_{s.replace('-', '_')}": int(wins.get(s, 0)) for s in STRATEGIES}})
    return pd.DataFrame(rows)
