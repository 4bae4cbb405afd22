"""The ``ladder`` policy: buy a fixed share of the target every month, so a slice expires every month.

In the style of ProsperOps / nOps adaptive laddering: instead of signing the whole commitment on one day (and
seeing all of it expire on one day), buy ``1 / rungs`` of the target each month until the target is held, and
afterwards replace each monthly slice when it expires. The target is the optimizer's own plan (what it holds of
each instrument each quarter, above what is owned), so the comparison isolates *when* the commitment is signed.

The ladder is decided on a monthly grid and billed on the plan's periods (the first quarter's months, then
quarters, cut at owned commitments' expiry dates): a period holds the hour-weighted mean of the months it overlaps
(pro rata, as owned commitments that expire inside a period are). Both the plan and the ladder are
billed by the billing engine on the same compressed forecast rows (:func:`~finops_forecast.portfolio.billing.
bill_rows`; at the price outlook through :func:`~finops_forecast.portfolio.api.bill_plan`), so the comparison
costs no new pass over every path and hour.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.portfolio.instruments import HOURS_PER_MONTH


def ladder_buys(target: np.ndarray, term_months, rungs: int = 12, integer: bool = True,
                months_per_row: int = 3) -> np.ndarray:
    """Monthly purchases of the ladder policy.

    Parameters
    ----------
    target : ndarray (T, I)
        Quantity to hold in each row of ``months_per_row`` months (3: quarters) [instance, GPU or USD/h].
    term_months : array (I,)
        Term of each instrument [months].
    rungs : int
        The ladder buys at most ``max_q target / rungs`` a month, so it reaches the target in ``rungs`` months
        and then one slice expires (and is replaced) every month.
    integer : bool
        Whole units: the cumulative purchases are rounded, so a slice of 6.5 becomes 6 and 7 alternately.

    months_per_row : int
        Months each row of ``target`` stands for.

    Returns
    -------
    ndarray (months_per_row x T, I)
        Units bought at the start of each month.
    """
    target = np.maximum(np.asarray(target, float), 0.0)
    T, I = target.shape
    term = np.asarray(term_months, int)
    step = target.max(axis=0) / max(int(rungs), 1)
    k = int(months_per_row)
    M = k * T
    raw = np.zeros((M, I))
    held = np.zeros(I)
    for m in range(M):
        back = m - term
        expired = np.where(back >= 0, raw[np.maximum(back, 0), np.arange(I)], 0.0)
        held = held - expired
        b = np.clip(target[m // k] - held, 0.0, step)
        raw[m] = b
        held = held + b
    if not integer:
        return raw
    cum = np.round(np.cumsum(raw, axis=0) + 1e-9)
    return np.diff(cum, axis=0, prepend=0.0)


def monthly_held(buys: np.ndarray, term_months) -> np.ndarray:
    """Quantity held each month (M, I) from monthly purchases: a slice is held for its term [months]."""
    M, I = buys.shape
    term = np.asarray(term_months, int)
    held = np.zeros((M, I))
    for i in range(I):
        c = np.cumsum(buys[:, i])
        lag = np.r_[np.zeros(min(term[i], M)), c[:max(M - term[i], 0)]]
        held[:, i] = c - lag
    return held


def quarter_mean(held_m: np.ndarray) -> np.ndarray:
    """Mean of each quarter's three months (T, I)."""
    M, I = held_m.shape
    return held_m.reshape(M // 3, 3, I).mean(axis=1)


def compare_ladder(prep, sol, rungs: int = 12, bill=None) -> pd.DataFrame:
    """The optimizer's plan and the ladder policy with the plan as its target, billed on the same rows.

    ``bill(active, x)`` bills the compressed rows holding ``active`` (T, I) after buying ``x`` (T, I) per period
    (default :func:`~finops_forecast.portfolio.billing.bill_rows`; the optimizer passes
    :func:`~finops_forecast.portfolio.api.bill_plan`, which prices a price outlook).

    Returns
    -------
    DataFrame
        One row per policy: expected_cost_usd and cvar_usd over the horizon on the compressed forecast rows
        [USD], obligation_now_usd (every fee of what is signed in the first month) [USD], first_quarter_usd_per_hour
        (commitments held in the first quarter, hour-weighted mean) [USD/h], largest_expiry_share (the largest share
        of the commitments [USD/h] bought over the horizon that expires in one month).
    """
    from finops_forecast.portfolio.billing import bill_rows
    from finops_forecast.portfolio.model import cvar

    if bill is None:
        def bill(active, _x):
            return bill_rows(prep.comp, prep.market, active)

    mk, per = prep.market, prep.periods
    ins = mk.instruments
    term = ins["term_months"].to_numpy(int)
    per_unit_obligation = ins["upfront"].to_numpy(float) + ins["recurring"].to_numpy(float) * HOURS_PER_MONTH * term
    owned = prep.inventory_active
    W, period_of_month, month_of_period = month_grid(per)
    target = np.maximum(sol.active - owned, 0.0)[period_of_month]  # (M, I): the plan's, at each month's start
    buys = ladder_buys(target, term, rungs=rungs, integer=bool(prep.config.integer_ri), months_per_row=1)
    lad_active = owned + W @ monthly_held(buys, term)
    plan_buys = np.zeros_like(buys)
    np.add.at(plan_buys, month_of_period, sol.x)  # the plan buys at the start of its periods
    lad_x = np.zeros_like(sol.x)
    np.add.at(lad_x, period_of_month, buys)
    q0, w0 = per.quarter_weights(0)
    rows = []
    plan_name = "optimizer plan (first quarter monthly, then quarterly)"
    for name, active, b, x in ((plan_name, sol.active, plan_buys, sol.x),
                               (f"ladder ({rungs} monthly rungs toward the plan)", lad_active, buys, lad_x)):
        # the plan's rows at the price outlook when there is one (purchases at their period's price)
        e, grp, _ = bill(active, x)
        rows.append(dict(policy=name, expected_cost_usd=e, cvar_usd=cvar(grp, prep.comp.prob, prep.config.alpha),
                         obligation_now_usd=float(b[0] @ per_unit_obligation),
                         first_quarter_usd_per_hour=float(w0 @ active[q0] @ mk.price),
                         largest_expiry_share=_largest_expiry_share(b, term, mk.price)))
    return pd.DataFrame(rows)


def month_grid(per):
    """Calendar months over the plan's periods: ``W`` (T, M) share of each period's hours in each month,
    the period holding each month's start (M,), and the month holding each period's start (T,)."""
    first = per.start[0].tz_convert(None).to_period("M")
    last = (per.end[-1] - pd.Timedelta(hours=1)).tz_convert(None).to_period("M")
    months = pd.period_range(first, last, freq="M")
    ms = pd.DatetimeIndex([m.start_time for m in months]).tz_localize("UTC")
    me = pd.DatetimeIndex([(m + 1).start_time for m in months]).tz_localize("UTC")
    h = 3.6e12
    s, e = per.start.as_unit("ns").asi8 / h, per.end.as_unit("ns").asi8 / h
    a, b = ms.as_unit("ns").asi8 / h, me.as_unit("ns").asi8 / h
    overlap = np.clip(np.minimum(e[:, None], b[None, :]) - np.maximum(s[:, None], a[None, :]), 0.0, None)
    W = overlap / (e - s)[:, None]
    period_of_month = np.clip(np.searchsorted(s, np.maximum(a, s[0]), side="right") - 1, 0, per.T - 1)
    month_of_period = np.searchsorted(a, s, side="right") - 1
    return W, period_of_month, month_of_period


def _largest_expiry_share(buys: np.ndarray, term, price) -> float:
    """Largest share of the purchases' commitment [USD/h] that expires in a single month."""
    M, I = buys.shape
    term = np.asarray(term, int)
    expiring = np.zeros(M + int(term.max()) + 1)
    for i in range(I):
        for m in np.flatnonzero(buys[:, i] > 0):
            expiring[m + term[i]] += buys[m, i] * price[i]
    tot = expiring.sum()
    return float(expiring.max() / tot) if tot > 0 else float("nan")
