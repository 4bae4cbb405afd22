"""The price outlook (:mod:`finops_forecast.pricing.outlook`) laid onto a market and its scenario rows.

Price scenario ``k`` goes with demand scenario group ``m`` by ``k = m mod K`` (K = 1 for flat and CSV outlooks,
K = number of groups for ``history``): price and demand scenarios are drawn jointly, never crossed, so the
program and the billing keep their size.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.constants import POOL_KEYS
from finops_forecast.pricing.outlook import PricePaths, price_paths


def pool_gpu_types(catalog: pd.DataFrame, pools: pd.DataFrame) -> pd.DataFrame:
    """``pools`` with the catalog's ``gpu_type`` of each (``"unknown"`` when the catalog has none)."""
    if "gpu_type" not in catalog.columns:
        return pools.assign(gpu_type="unknown")
    g = catalog.drop_duplicates(POOL_KEYS).set_index(POOL_KEYS)["gpu_type"]
    gt = [g.get(tuple(k), "unknown") for k in pools[POOL_KEYS].itertuples(index=False)]
    return pools.assign(gpu_type=[str(x) if isinstance(x, str) and x else "unknown" for x in gt])


def outlook_for(outlook: str, catalog: pd.DataFrame, market, starts, ends, n_groups: int,
                seed: int = 0) -> PricePaths:
    """Price paths of the market's pools over the plan's periods (see :func:`~finops_forecast.pricing.outlook.
    price_paths`)."""
    pools = pool_gpu_types(catalog, market.pools)
    return price_paths(outlook, pools, starts, ends, n_scenarios=n_groups, seed=seed)


def chunk_multipliers(pp: PricePaths, market, k: int, t: int) -> np.ndarray:
    """(C,) multiplier of each chunk's value in price scenario ``k`` and period ``t``: the on-demand multiplier
    for firm chunks; for spot chunks the spot multiplier, capped where spot would cost more than on demand."""
    p = market.chunk_pool
    firm = market.chunk_series < 0
    od = pp.od[k, t, p]
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = od * market.od_rate[p] / market.chunk_value
    return np.where(firm, od, np.minimum(pp.spot[k, t, p], cap))


def value_multipliers(pp: PricePaths, market, comp) -> np.ndarray:
    """(R, C) chunk value multipliers of every compressed row (its group's price scenario, its period)."""
    K = pp.od.shape[0]
    T = pp.od.shape[1]
    table = np.stack([[chunk_multipliers(pp, market, k, t) for t in range(T)] for k in range(K)])
    return table[comp.group % K, comp.period]


def path_multipliers(pp: PricePaths, market, group_of_path: np.ndarray, t: int) -> np.ndarray:
    """(N, C) chunk value multipliers of every path in period ``t``."""
    K = pp.od.shape[0]
    table = np.stack([chunk_multipliers(pp, market, k, t) for k in range(K)])
    return table[np.asarray(group_of_path) % K]


def commit_multipliers(pp: PricePaths, market) -> np.ndarray:
    """(T, I) price multiplier of a unit bought in each period: the scenario mean of the new-commitment
    multiplier of its pool (pool instruments) or of the pools it covers (spend plans; rates locked at
    purchase, so a unit bought later at a lower price covers as much as one bought today)."""
    cm = pp.commitment.mean(axis=0)  # (T, P)
    ins = market.instruments
    out = np.ones((cm.shape[0], market.n_instruments))
    for i in range(market.n_instruments):
        if ins["kind"].iat[i] == "pool":
            out[:, i] = cm[:, int(ins["pool"].iat[i])]
        else:
            cov = np.isfinite(market.rate[i])
            out[:, i] = cm[:, cov].mean(axis=1)
    return out


def paid_price(x: np.ndarray, inventory: np.ndarray, cm: np.ndarray, price: np.ndarray,
               term_periods: np.ndarray) -> np.ndarray:
    """(T, I) fee per held unit in each period [USD/h per unit]: purchases at the price of their period, the
    inventory at today's price."""
    T, I = x.shape
    paid = np.zeros((T, I))
    held = np.array(inventory, float, copy=True)
    for q in range(T):
        for i in np.flatnonzero(x[q] > 0):
            span = slice(q, min(T, q + int(term_periods[i])))
            paid[span, i] += x[q, i] * cm[q, i]
            held[span, i] += x[q, i]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(held > 0, (paid + inventory) / np.where(held > 0, held, 1.0), 1.0)
    return ratio * price[None, :]


def paths_frame(pp: PricePaths, market, starts) -> pd.DataFrame:
    """Long table of the price paths used: quarter_start, pool, scenario, on_demand, spot (multipliers)."""
    K, T, P = pp.od.shape
    names = [" ".join(k) for k in market.pools[POOL_KEYS].itertuples(index=False)]
    k, t, p = np.meshgrid(np.arange(K), np.arange(T), np.arange(P), indexing="ij")
    return pd.DataFrame({"quarter_start": np.asarray(starts)[t.ravel()], "pool": np.asarray(names)[p.ravel()],
                         "scenario": k.ravel(), "on_demand": pp.od.ravel(), "spot": pp.spot.ravel()})
