"""The billing engine: what a set of held commitments costs for given hourly demand, vectorized over hours.

Commitments are applied the way the providers do, one hour at a time (every hour is independent, so the whole
computation is numpy over an ``(N hours, ...)`` axis):

1. **Pool instruments first** (AWS reserved instances, Azure reservations): each covers its pool's demand up to
   ``quantity x gpu_count`` GPU-h in that hour, deeper discount first. Then **GCP resource CUDs**, in GPUs of a
   type per region: ``quantity`` GPU-h in that hour across every machine type with that GPU in the region,
   highest on-demand value first.
2. **Spend instruments next**, in provider order (AWS: EC2 Instance Savings Plans, then Compute Savings Plans;
   then Azure savings plans and GCP flexible CUDs), each in turn spending its hourly commitment [USD/h] on the
   remaining usage it is eligible for, **highest discount first** (the most on-demand dollars displaced per
   committed dollar: on-demand rate / plan rate). Usage that the user could run on spot is worth only its spot
   rate, so it is covered after all on-demand usage the plan can reach (a sunk commitment still covers it when
   budget is left, since an idle commitment hour is paid anyway).
3. **What is left** runs on spot (the spot-eligible chunk, at the spot effective rate) or on demand.

The commitment fee (``quantity x price`` [USD/h]) is paid whether used or not.

For one spend instrument per scope (or several whose rates are proportional across pools, as the providers'
1- and 3-year plans nearly are) this greedy order is exactly the cost-minimizing allocation of the hour, so it
equals the recourse of the linear program in :mod:`finops_forecast.portfolio.model`: the model's promised cost
is the billed cost (tested).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from finops_forecast.errors import PortfolioError
from finops_forecast.portfolio.instruments import Market


@dataclass
class Bill:
    """Per-hour result of :func:`bill` (every array has the leading hour axis N).

    Attributes
    ----------
    fee : ndarray (N,)
        Commitment fees paid [USD/h] (used or not).
    on_demand_cost, spot_cost : ndarray (N,)
        Uncovered usage priced on demand and on spot [USD/h].
    cost : ndarray (N,)
        fee + on_demand_cost + spot_cost [USD/h].
    list_cost : ndarray (N,)
        The same demand all on demand [USD/h].
    demand : ndarray (N, P)
        Pool demand [GPU-h per hour].
    covered : ndarray (N, P)
        Demand covered by commitments [GPU-h per hour].
    uncovered : ndarray (N, C)
        Chunks left to spot / on demand [GPU-h per hour].
    used, committed : ndarray (N, I)
        Per instrument, the committed amount used and held, in USD/h at the instrument's own rate.
    cover_gpu : ndarray (N, I)
        GPU-h each instrument covered [GPU-h per hour].
    displaced : ndarray (N, I)
        What the covered GPU-h would have cost uncovered (on demand or spot) [USD/h].
    """

    fee: np.ndarray
    on_demand_cost: np.ndarray
    spot_cost: np.ndarray
    cost: np.ndarray
    list_cost: np.ndarray
    demand: np.ndarray
    covered: np.ndarray
    uncovered: np.ndarray
    used: np.ndarray
    committed: np.ndarray
    cover_gpu: np.ndarray
    displaced: np.ndarray

    def coverage(self, weights=None) -> float:
        """Share of demand covered by commitments, in [0, 1] (weighted over hours)."""
        w = _w(weights, len(self.cost))
        d = float(w @ self.demand.sum(axis=1))
        return float(w @ self.covered.sum(axis=1)) / d if d > 0 else 0.0

    def utilization(self, weights=None) -> np.ndarray:
        """Per instrument, used / committed over the weighted hours, in [0, 1] (NaN where nothing is held)."""
        w = _w(weights, len(self.cost))
        c = w @ self.committed
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(c > 0, (w @ self.used) / np.where(c > 0, c, 1.0), np.nan)

    def total_utilization(self, weights=None) -> float:
        """Used / committed over all instruments, in USD, in [0, 1] (NaN when nothing is held)."""
        w = _w(weights, len(self.cost))
        c = float((w @ self.committed).sum())
        return float((w @ self.used).sum()) / c if c > 0 else float("nan")


def _w(weights, n):
    return np.ones(n) if weights is None else np.asarray(weights, dtype=float)


def _fill(avail: np.ndarray, amount) -> np.ndarray:
    """Take ``amount`` (N,) from the rows of ``avail`` (k, N) top to bottom; returns the take (k, N).

    Chunk-major layout (one contiguous row per chunk): the cumulative sums run over rows, so every operation is
    a vectorized pass over contiguous memory."""
    np.maximum(avail, 0.0, out=avail)
    if avail.shape[0] == 1:
        return np.minimum(avail, np.maximum(amount, 0.0))
    cum = np.cumsum(avail, axis=0)
    np.minimum(cum, np.maximum(amount, 0.0), out=cum)
    # cum is nondecreasing (a cumulative sum of values >= 0, capped), so the differences are >= 0 and at most
    # avail (up to rounding, which the caller's clip of the remainder absorbs)
    take = np.empty_like(cum)
    take[0] = cum[0]
    np.subtract(cum[1:], cum[:-1], out=take[1:])
    return take


def _rows(cols: np.ndarray):
    """A slice when the chunk rows are consecutive (a view, no copy), else the index array."""
    if len(cols) and np.all(np.diff(cols) == 1):
        return slice(int(cols[0]), int(cols[-1]) + 1)
    return cols


def bill_major(chunks_t: np.ndarray, market: Market, held) -> dict:
    """Billing engine on chunk-major demand; what :func:`bill_chunks` and the plan's path billing share.

    Parameters
    ----------
    chunks_t : ndarray (C, N)
        Demand per chunk (rows) and hour (columns) [GPU-h per hour]; not modified.
    market : Market
    held : array (I,) or (N, I)
        Quantity of each instrument held [instance] or [USD/h], constant or per hour.

    Returns
    -------
    dict of ndarray
        ``remaining`` (C, N) uncovered chunks, ``used``, ``cover_gpu``, ``displaced`` (I, N), ``held`` (I, N)
        (a broadcast view when constant), in the units of :class:`Bill`.
    """
    N = chunks_t.shape[1]
    I = market.n_instruments
    held = np.asarray(held, dtype=float)
    if held.shape[-1:] != (I,):
        raise PortfolioError(f"held has shape {held.shape}; expected (I,) or (N, I) with I = {I} instruments "
                             f"({list(market.instruments['id'])[:5]} ...).")
    if np.any(held < -1e-9):
        raise PortfolioError("held commitment quantities must be >= 0.")
    held_t = np.maximum(held, 0.0).T
    held_t = np.broadcast_to(held_t[:, None] if held_t.ndim == 1 else held_t, (I, N))
    ins = market.instruments
    price = market.price
    rem = np.array(chunks_t, dtype=float, copy=True)
    used = np.zeros((I, N))
    cover_gpu = np.zeros((I, N))
    displaced = np.zeros((I, N))
    kind = ins["kind"].to_numpy()
    pool_of = ins["pool"].to_numpy() if "pool" in ins else np.zeros(I)
    gpu_per = ins["gpu_per_unit"].to_numpy(float)
    value = market.chunk_value
    for i in range(I):  # instruments are stored in billing precedence order
        h = held_t[i]
        if not np.any(h > 0):
            continue
        if kind[i] == "pool":
            cols = np.flatnonzero(market.chunk_pool == int(pool_of[i]))
            rows = _rows(cols)
            take = _fill(rem[rows].copy() if isinstance(rows, slice) else rem[rows], h * gpu_per[i])
            vals = value[cols]
            cover_gpu[i] = take.sum(axis=0)
            displaced[i] = vals @ take
            used[i] = cover_gpu[i] * (price[i] / gpu_per[i])
        else:
            r_pool = market.rate[i]
            cols = np.flatnonzero(np.isfinite(r_pool[market.chunk_pool]))
            r = r_pool[market.chunk_pool[cols]]
            o = np.argsort(-(value[cols] / r), kind="stable")
            cols, r = cols[o], r[o]
            rows = _rows(cols)
            # the budget is the held quantity in the instrument's unit: USD/h (spend plans, rate in USD/GPU-h)
            # or GPUs (GCP resource CUDs, rate 1 GPU per GPU-h); used is priced at the unit's price [USD/h]
            cost = rem[rows] * r[:, None]
            spend = _fill(cost, h)
            take = spend / r[:, None]
            vals = value[cols]
            cover_gpu[i] = take.sum(axis=0)
            displaced[i] = vals @ take
            used[i] = spend.sum(axis=0) * price[i]
        sub = rem[rows]
        sub -= take
        np.maximum(sub, 0.0, out=sub)
        if not isinstance(rows, slice):
            rem[rows] = sub
    np.maximum(rem, 0.0, out=rem)
    np.minimum(used, held_t * price[:, None], out=used)  # rounding: never more used than held
    return {"remaining": rem, "used": used, "cover_gpu": cover_gpu, "displaced": displaced, "held": held_t}


def bill_chunks(chunks: np.ndarray, market: Market, held) -> Bill:
    """Bill hours of chunked demand under held commitments.

    Parameters
    ----------
    chunks : ndarray (N, C)
        Demand split into chunks (:meth:`Market.chunks`) [GPU-h per hour].
    market : Market
    held : array (I,) or (N, I)
        Quantity of each instrument held in each hour: instances (pool kind) or USD/h (spend kind).

    Returns
    -------
    Bill
    """
    chunks = np.atleast_2d(np.asarray(chunks, dtype=float))
    C = chunks.shape[1]
    if C != market.n_chunks:
        raise PortfolioError(f"chunks have {C} columns; the market has {market.n_chunks}.")
    chunks_t = np.ascontiguousarray(chunks.T)
    r = bill_major(chunks_t, market, held)
    rem = r["remaining"]
    committed = (r["held"] * market.price[:, None]).T
    firm = market.chunk_series < 0
    od_cost = market.chunk_value[firm] @ rem[firm]
    spot_cost = market.chunk_value[~firm] @ rem[~firm]
    fee = committed.sum(axis=1)
    cpm = market.chunk_pool_matrix()
    demand = cpm.T @ chunks_t
    covered = np.clip(demand - cpm.T @ rem, 0.0, None)
    list_cost = market.od_rate @ demand
    return Bill(fee=fee, on_demand_cost=od_cost, spot_cost=spot_cost, cost=fee + od_cost + spot_cost,
                list_cost=list_cost, demand=demand.T, covered=covered.T, uncovered=rem.T, used=r["used"].T,
                committed=committed, cover_gpu=r["cover_gpu"].T, displaced=r["displaced"].T)


def bill(demand: np.ndarray, market: Market, held) -> Bill:
    """Bill hourly series demand under held commitments (see module docstring for the rules).

    Parameters
    ----------
    demand : ndarray (N, S)
        Demand per hour and series (pool x workload class) [GPU-h per hour].
    market : Market
    held : array (I,) or (N, I)
        Quantity held per instrument [instance] or [USD/h], constant or per hour.

    Returns
    -------
    Bill
    """
    demand = np.atleast_2d(np.asarray(demand, dtype=float))
    return bill_chunks(market.chunks(demand), market, held)


def bill_rows(comp, market: Market, active: np.ndarray, *, fee_price: np.ndarray | None = None,
              value_mult: np.ndarray | None = None):
    """Bill the optimizer's compressed demand rows under the quantities held in each period.

    Parameters
    ----------
    comp : Compressed
        Representative rows (:mod:`finops_forecast.portfolio.compress`): chunk demand ``D``, the period and
        scenario group of each row, its weight and the hours of each period.
    market : Market
    active : ndarray (T, I) or (M, T, I)
        Quantity of each instrument held in each period [instance] or [USD/h]; (M, T, I): in each scenario group.
    fee_price : ndarray (T, I), optional
        Fee per held unit in each period [USD/h per unit] (price outlook: purchases at their period's price);
        None: the market's price.
    value_mult : ndarray (R, C), optional
        Multiplier of each row's chunk values (price outlook); None: today's prices.

    Returns
    -------
    (expected_cost, group_cost, bill) : (float, ndarray (M,), Bill)
        Expected cost over the scenario groups [USD], the cost of each group [USD], and the per-row bill.
    """
    active = np.asarray(active)
    # (M, T, I): each scenario group holds its own (two-stage recourse)
    at = (lambda a: a[comp.group, comp.period]) if active.ndim == 3 else (lambda a: a[comp.period])
    b = bill_chunks(comp.D, market, at(active))
    cost = b.cost
    if fee_price is not None or value_mult is not None:
        fp = market.price[None, :] if fee_price is None else np.asarray(fee_price, float)
        vm = 1.0 if value_mult is None else np.asarray(value_mult, float)
        cost = at((active * fp).sum(axis=-1)) + (b.uncovered * market.chunk_value * vm).sum(axis=1)
    rh = comp.row_hours()
    grp = np.bincount(comp.group, weights=cost * rh, minlength=comp.n_groups)
    return float(comp.prob @ grp), grp, b


#: results of :func:`bill_paths` per path (the others are sums over the paths)
PER_PATH = ("path_cost", "path_od", "used", "committed", "unused")


def bill_paths(X: np.ndarray, mk: Market, held: np.ndarray, batch_rows: int = 100_000, transform=None,
                vmult: np.ndarray | None = None, fee_price: np.ndarray | None = None,
                path_group: np.ndarray | None = None) -> dict:
    """Bill chunk-major demand ``X`` (C, paths, hours) in batches of paths (bounded memory); sums per path and
    over all rows. ``transform`` (e.g. ``Market.chunks_major``) turns series-major batches into chunks first.

    ``held`` (I,) is held on every path; (M, I) with ``path_group`` (N,) the scenario group of each path: each
    group's paths are billed under its own row (two-stage recourse) and the sums merged.

    ``vmult`` (paths, C) multiplies each path's chunk values (price outlook; None: today's prices) and
    ``fee_price`` (I,) is the fee per held unit [USD/h] (None: the market's price). ``unused`` per path is
    the fee of the held commitments that covered nothing [USD]."""
    held = np.asarray(held, float)
    if held.ndim == 2:
        if not np.all(held == held[:1]):
            return _bill_by_group(X, mk, held, path_group, batch_rows, transform, vmult, fee_price)
        held = held[0]
    n, H = X.shape[1:]
    C, I = mk.n_chunks, mk.n_instruments
    step = max(1, batch_rows // max(H, 1))
    firm = mk.chunk_series < 0
    cpm_t = mk.chunk_pool_matrix().T
    price = mk.price
    fp = price if fee_price is None else np.asarray(fee_price, float)
    ratio = np.where(price > 0, fp / np.where(price > 0, price, 1.0), 1.0)
    acc = {"path_cost": np.zeros(n), "path_od": np.zeros(n), "used": np.zeros((n, I)),
           "committed": np.zeros((n, I)), "displaced": np.zeros(I), "cover_gpu": np.zeros(I),
           "uncovered": np.zeros(C), "fee": 0.0, "cost": 0.0, "list_cost": 0.0,
           "demand": np.zeros(mk.n_pools), "covered": np.zeros(mk.n_pools), "unused": np.zeros(n)}
    fee_h = float(np.maximum(held, 0.0) @ fp)  # [USD/h]
    for a in range(0, n, step):
        k = min(step, n - a)
        xb = X[:, a:a + k, :].reshape(X.shape[0], k * H)
        if transform is not None:
            xb = transform(xb)
        r = bill_major(xb, mk, held)
        rem = r["remaining"]
        demand = cpm_t @ xb
        if vmult is None:
            od = mk.chunk_value @ rem  # uncovered cost [USD/h]
            unc_path = od.reshape(k, H).sum(1)
            list_path = (mk.od_rate @ demand).reshape(k, H).sum(1)
        else:
            vm = vmult[a:a + k]  # (k, C)
            unc_path = ((rem.reshape(C, k, H).sum(2)).T * (mk.chunk_value[None, :] * vm)).sum(1)
            odm = vm[:, np.flatnonzero(firm)]  # firm chunks are one per pool, in pool order
            list_path = ((demand.reshape(-1, k, H).sum(2)).T * (mk.od_rate[None, :] * odm)).sum(1)
        acc["path_cost"][a:a + k] = unc_path + fee_h * H
        acc["path_od"][a:a + k] = list_path
        used_k = r["used"].reshape(I, k, H).sum(2).T
        com_k = (np.maximum(held, 0.0) * price * H)[None, :]
        acc["used"][a:a + k] = used_k
        acc["committed"][a:a + k] = com_k
        acc["unused"][a:a + k] = (np.maximum(com_k - used_k, 0.0) * ratio[None, :]).sum(1)
        acc["displaced"] += r["displaced"].sum(axis=1)
        acc["cover_gpu"] += r["cover_gpu"].sum(axis=1)
        acc["uncovered"] += rem.sum(axis=1)
        acc["demand"] += demand.sum(axis=1)
        acc["covered"] += np.clip(demand - cpm_t @ rem, 0.0, None).sum(axis=1)
        acc["fee"] += fee_h * k * H
        acc["cost"] += float(unc_path.sum()) + fee_h * k * H
        acc["list_cost"] += float(list_path.sum())
    return acc


def _bill_by_group(X, mk: Market, held: np.ndarray, path_group: np.ndarray, batch_rows, transform, vmult,
                   fee_price) -> dict:
    """:func:`bill_paths` of each scenario group's paths under its own ``held[g]``, merged: the per-path results
    (:data:`PER_PATH`) in their paths' places, the others summed."""
    out = None
    for g in range(held.shape[0]):
        idx = np.flatnonzero(path_group == g)
        if not len(idx):
            continue
        acc = bill_paths(X[:, idx], mk, held[g], batch_rows=batch_rows, transform=transform,
                         vmult=None if vmult is None else vmult[idx], fee_price=fee_price)
        if out is None:
            n = X.shape[1]
            out = {k: np.zeros((n,) + np.shape(v)[1:]) if k in PER_PATH else np.zeros_like(v, dtype=float)
                   for k, v in acc.items()}
        for k, v in acc.items():
            if k in PER_PATH:
                out[k][idx] = v
            else:
                out[k] = out[k] + v
    return out


def on_demand_floor(chunks: np.ndarray, market: Market) -> np.ndarray:
    """Cheapest conceivable cost of each hour [USD/h]: every GPU-h at the lowest rate any instrument (or spot)
    offers for its chunk, with no idle commitment. No allocation of commitments bills below it."""
    best = market.chunk_value.copy()
    r = np.where(np.isfinite(market.rate), market.rate, np.inf)
    if r.size:
        best = np.minimum(best, r.min(axis=0)[market.chunk_pool])
    return np.asarray(chunks, dtype=float) @ best
