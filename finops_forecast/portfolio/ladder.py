"""The ``ladder`` policy: buy a fixed share of the target every month, so a slice expires every month.

In the style of ProsperOps / nOps adaptive laddering: instead of signing the whole commitment on one day (and
seeing all of it expire on one day), buy ``1 / rungs`` of the target each month until the target is held, and
afterwards replace each monthly slice when it expires. The target is the optimizer's own plan (what it holds of
each instrument each quarter, above what is owned), so the comparison isolates *when* the commitment is signed.

The ladder is decided on a monthly grid and billed on the plan's quarterly grid: a quarter holds the mean of its
three months (pro rata, as owned commitments that expire mid-quarter are). Both the plan and the ladder are
billed by the billing engine on the same compressed forecast rows (:func:`~finops_forecast.portfolio.billing.
bill_rows`; at the price outlook through :func:`~finops_forecast.portfolio.api.bill_plan`), so the comparison
costs no new pass over every path and hour.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.portfolio.instruments import HOURS_PER_MONTH


def ladder_buys(target: np.ndarray, term_months, rungs: int = 12, integer: bool = True) -> np.ndarray:
    """Monthly purchases of the ladder policy.

    Parameters
    ----------
    target : ndarray (T, I)
        Quantity to hold in each quarter [instance, GPU or USD/h].
    term_months : array (I,)
        Term of each instrument [months].
    rungs : int
        The ladder buys at most ``max_q target / rungs`` a month, so it reaches the target in ``rungs`` months
        and then one slice expires (and is replaced) every month.
    integer : bool
        Whole units: the cumulative purchases are rounded, so a slice of 6.5 becomes 6 and 7 alternately.

    Returns
    -------
    ndarray (3T, I)
        Units bought at the start of each month.
    """
    target = np.maximum(np.asarray(target, float), 0.0)
    T, I = target.shape
    term = np.asarray(term_months, int)
    step = target.max(axis=0) / max(int(rungs), 1)
    M = 3 * T
    raw = np.zeros((M, I))
    held = np.zeros(I)
    for m in range(M):
        back = m - term
        expired = np.where(back >= 0, raw[np.maximum(back, 0), np.arange(I)], 0.0)
        held = held - expired
        b = np.clip(target[m // 3] - held, 0.0, step)
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

    ``bill(active, x)`` bills the compressed rows holding ``active`` (T, I) after buying ``x`` (T, I) per quarter
    (default :func:`~finops_forecast.portfolio.billing.bill_rows`; the optimizer passes
    :func:`~finops_forecast.portfolio.api.bill_plan`, which prices a price outlook).

    Returns
    -------
    DataFrame
        One row per policy: expected_cost_usd and cvar_usd over the horizon on the compressed forecast rows
        [USD], obligation_now_usd (every fee of what is signed in the first month) [USD], first_quarter_usd_per_hour
        (commitments held in the first quarter) [USD/h], largest_expiry_share (the largest share of the plan's
        commitments [USD/h] that expires in one month, over the purchases of the horizon).
    """
    from finops_forecast.portfolio.billing import bill_rows
    from finops_forecast.portfolio.model import cvar

    if bill is None:
        def bill(active, _x):
            return bill_rows(prep.comp, prep.market, active)

    mk, T = prep.market, prep.periods.T
    ins = mk.instruments
    term = ins["term_months"].to_numpy(int)
    per_unit_obligation = ins["upfront"].to_numpy(float) + ins["recurring"].to_numpy(float) * HOURS_PER_MONTH * term
    owned = prep.inventory_active
    target = np.maximum(sol.active - owned, 0.0)
    buys = ladder_buys(target, term, rungs=rungs, integer=bool(prep.config.integer_ri))
    lad_active = owned + quarter_mean(monthly_held(buys, term))
    plan_buys = np.zeros((3 * T, mk.n_instruments))
    plan_buys[::3] = sol.x  # the plan buys at the start of each quarter
    rows = []
    for name, active, b in (("optimizer plan (quarterly purchases)", sol.active, plan_buys),
                            (f"ladder ({rungs} monthly rungs toward the plan)", lad_active, buys)):
        # the plan's rows at the price outlook when there is one (purchases at their quarter's price)
        e, grp, _ = bill(active, b.reshape(T, 3, -1).sum(axis=1))
        rows.append(dict(policy=name, expected_cost_usd=e, cvar_usd=cvar(grp, prep.comp.prob, prep.config.alpha),
                         obligation_now_usd=float(b[0] @ per_unit_obligation),
                         first_quarter_usd_per_hour=float(active[0] @ mk.price),
                         largest_expiry_share=_largest_expiry_share(b, term, mk.price)))
    return pd.DataFrame(rows)


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
