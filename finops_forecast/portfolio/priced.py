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
    return _chunk_mult(market, pp.od[k, t], pp.spot[k, t])


def _chunk_mult(market, od: np.ndarray, spot: np.ndarray) -> np.ndarray:
    """(C,) chunk value multipliers from pool multipliers ``od`` and ``spot`` (P,): on demand's for firm chunks,
    spot's for spot chunks capped where spot would cost more than on demand."""
    p = market.chunk_pool
    firm = market.chunk_series < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = od[p] * market.od_rate[p] / market.chunk_value
    return np.where(firm, od[p], np.minimum(spot[p], cap))


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
    return np.stack([instrument_commit(c, market) for c in pp.commitment.mean(axis=0)])  # (T, I)


def paths_frame(pp: PricePaths, market, starts) -> pd.DataFrame:
    """Long table of the price paths used: quarter_start, pool, scenario, on_demand, spot, commitment (new
    commitments) (multipliers)."""
    K, T, P = pp.od.shape
    names = [" ".join(k) for k in market.pools[POOL_KEYS].itertuples(index=False)]
    k, t, p = np.meshgrid(np.arange(K), np.arange(T), np.arange(P), indexing="ij")
    return pd.DataFrame({"quarter_start": np.asarray(starts)[t.ravel()], "pool": np.asarray(names)[p.ravel()],
                         "scenario": k.ravel(), "on_demand": pp.od.ravel(), "spot": pp.spot.ravel(),
                         "commitment": pp.commitment.ravel()})


def quarter_multipliers(price_paths: pd.DataFrame | None, market, quarter_start) -> tuple:
    """(od (P,), spot (P,), commitment (P,)) expected multipliers of one quarter (mean over the price
    scenarios) from a plan's ``price_paths`` (:func:`paths_frame`); ones with today's prices or a quarter the
    frame does not hold."""
    P = market.n_pools
    one = (np.ones(P), np.ones(P), np.ones(P))
    if price_paths is None or not len(price_paths):
        return one
    q = pd.to_datetime(price_paths["quarter_start"])
    start = pd.Timestamp(quarter_start)
    if start.tz is None and q.dt.tz is not None:
        start = start.tz_localize(q.dt.tz)
    rows = price_paths[q == start]
    if rows.empty:
        return one
    cols = [c for c in ("on_demand", "spot", "commitment") if c in rows.columns]
    mean = rows.groupby("pool")[cols].mean()
    names = [" ".join(k) for k in market.pools[POOL_KEYS].itertuples(index=False)]
    mean = mean.reindex(names).fillna(1.0)
    od = mean["on_demand"].to_numpy(float)
    return od, mean["spot"].to_numpy(float), (mean["commitment"].to_numpy(float) if "commitment" in mean
                                              else od.copy())


def bill_at_outlook(demand: np.ndarray, market, owned, bought, price_paths: pd.DataFrame | None, quarter_start):
    """Bill a quarter's demand at the outlook's expected prices of that quarter (the report's comparison of the
    plan, the clouds' lookback rule and no new commitment).

    Parameters
    ----------
    demand : ndarray (N, S)
        Hourly demand per series [GPU-h per hour] (e.g. the quarter's forecast paths, stacked).
    market : Market
    owned : ndarray (I,)
        Commitments already owned: paid at today's price.
    bought : ndarray (I,)
        Commitments bought this quarter: paid at the quarter's expected new-commitment multiplier (locked).
    price_paths : DataFrame or None
        ``Plan.price_paths`` (None: today's prices, the engine's plain :func:`~finops_forecast.portfolio.billing.
        bill`).
    quarter_start : timestamp
        The quarter billed.

    Returns
    -------
    Bill
        On-demand and spot at the quarter's expected multipliers (spot capped at on demand), ``list_cost`` at the
        expected on-demand price, fees and used commitment at the prices paid.
    """
    from finops_forecast.portfolio.billing import bill

    owned, bought = np.asarray(owned, float), np.asarray(bought, float)
    od, spot, cm = quarter_multipliers(price_paths, market, quarter_start)
    b = bill(demand, scaled_market(market, od, spot), owned + bought)
    fee_unit = market.price * (owned + bought * instrument_commit(cm, market))  # [USD/h] per instrument
    return with_paid_fees(b, np.broadcast_to(fee_unit, b.committed.shape))


def with_paid_fees(b, fees: np.ndarray):
    """The bill ``b`` with each instrument's fees at the prices actually paid, ``fees`` (N, I) [USD/h] (rates
    locked at purchase), its used commitment valued at the same prices and its totals re-summed."""
    from dataclasses import replace

    fees = np.array(fees, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(b.committed > 0, fees / np.where(b.committed > 0, b.committed, 1.0), 0.0)
    fee = fees.sum(axis=1)
    return replace(b, fee=fee, cost=fee + b.on_demand_cost + b.spot_cost, committed=fees, used=b.used * ratio)


def hourly_outlook(outlook: str, catalog: pd.DataFrame, market, ts, first: int, n_scenarios: int = 2000,
                   seed: int = 0) -> PricePaths | None:
    """Price multipliers of every hour of a backtest (K = 1), or None for ``flat``.

    Parameters
    ----------
    outlook : str
        ``"flat"``, ``"history"`` (or a ``history:`` variant, :func:`~finops_forecast.pricing.outlook.
        parse_outlook`) or the path of an outlook CSV.
    catalog : DataFrame
    market : Market
    ts : DatetimeIndex (H,)
        The trace's hours (UTC).
    first : int
        Hour of the first decision: "today" of the ``history`` outlook (its month 0 keeps today's prices).
    n_scenarios, seed : int
        Price scenarios drawn for ``history``, averaged into its expected path (2000: the Monte Carlo error of a
        monthly multiplier is about 0.1%; a cut has a probability of about 1.3% a month).

    Returns
    -------
    PricePaths or None
        ``od``, ``spot``, ``commitment`` (1, H, P). A CSV outlook gives its deterministic path. ``history`` gives
        the *expected* path (the mean over its scenarios, per calendar month from the first decision's): the
        backtest's decisions do not observe which price scenario happens, so the mean of the bills over the
        price scenarios is the bill at the mean prices, up to the billing order of spend plans.
    """
    from finops_forecast.pricing.outlook import csv_hourly, parse_outlook, read_outlook_csv

    if outlook == "flat":
        return None
    pools = pool_gpu_types(catalog, market.pools)
    ts = pd.DatetimeIndex(ts)
    if parse_outlook(outlook) is None:
        m = csv_hourly(read_outlook_csv(outlook), pools, ts)
        return PricePaths(m[0][None], m[1][None], m[2][None], str(outlook),
                          [f"price outlook {outlook}: on demand x {m[0].min():.2f}..{m[0].max():.2f} over the "
                           "backtest (a purchase pays the commitment price of its hour for its whole term)"])
    m0 = ts[first].tz_convert("UTC").tz_localize(None).to_period("M")
    months = (ts.tz_convert("UTC").tz_localize(None).to_period("M") - m0).map(lambda d: d.n).to_numpy(int)
    n_months = int(max(months.max(), 0)) + 1
    starts = pd.date_range(m0.start_time, periods=n_months, freq="MS", tz="UTC")
    pp = price_paths(outlook, pools, starts, starts + pd.offsets.MonthBegin(1), n_scenarios=n_scenarios,
                     seed=seed)
    idx = np.clip(months, 0, None)
    return PricePaths(pp.od.mean(axis=0)[idx][None], pp.spot.mean(axis=0)[idx][None],
                      pp.commitment.mean(axis=0)[idx][None], str(outlook),
                      pp.notes + ["the backtest decides and bills at the expected price path of the history "
                                  "outlook (the mean of its scenarios per month from the first decision)"])


def instrument_commit(commit: np.ndarray, market) -> np.ndarray:
    """(I,) multiplier of the price of a unit bought now, from the new-commitment multiplier of each pool (P,):
    its pool's (pool instruments) or the mean over the pools it covers (spend plans), as
    :func:`commit_multipliers`."""
    ins = market.instruments
    out = np.ones(market.n_instruments)
    for i in range(market.n_instruments):
        if ins["kind"].iat[i] == "pool":
            out[i] = commit[int(ins["pool"].iat[i])]
        else:
            out[i] = commit[np.isfinite(market.rate[i])].mean()
    return out


def scaled_market(market, od: np.ndarray, spot: np.ndarray, commit: np.ndarray | None = None):
    """The market at other prices: on-demand rates x ``od`` (P,), spot rates x ``spot`` (P,) (capped at the new
    on-demand rate, as :func:`chunk_multipliers`), and, given ``commit`` (I,), the instruments' prices x it.
    Coverage rates of spend plans are not changed (a rate is locked at purchase)."""
    from dataclasses import replace

    mult = _chunk_mult(market, od, spot)
    series = market.series.assign(spot_rate=market.series["spot_rate"].to_numpy(float)
                                  * spot[market.series["pool"].to_numpy(int)])
    ins = market.instruments
    if commit is not None:
        ins = ins.assign(**{c: ins[c].to_numpy(float) * commit for c in ("price", "upfront", "recurring")
                            if c in ins.columns})
    return replace(market, pools=market.pools.assign(od_rate=market.od_rate * od), series=series,
                   instruments=ins, chunk_value=market.chunk_value * mult, notes=list(market.notes))
