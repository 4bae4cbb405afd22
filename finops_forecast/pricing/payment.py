"""Payment options and terms of commitments: amortization, cost of capital, implied interest rates.

A commitment of ``term_months`` paid as ``upfront_usd`` at purchase plus ``recurring_usd_per_hour`` for every
hour of the term has the *effective* (amortized) rate::

    usd_per_hour = recurring_usd_per_hour + upfront_usd / (term_months * 730)

which is how AWS and ec2instances.info quote "effective hourly" RI rates. It ignores that the upfront dollars
leave earlier: with a cost of capital ``r`` (annual), the upfront is worth more than its face value spread over
the term. :func:`equivalent_hourly_rate` gives the level hourly payment with the same present value, so an
all-upfront and a no-upfront offer compare fairly; :func:`implied_annual_rate` gives the rate at which two
payment options cost the same (the return the provider pays you for paying upfront).

All functions work on scalars and numpy arrays.
"""
from __future__ import annotations

import numpy as np

from finops_forecast.errors import PricingError
from finops_forecast.pricing.schema import HOURS_PER_MONTH, PARTIAL_UPFRONT_SHARE, PAYMENT_OPTIONS

__all__ = ["PARTIAL_UPFRONT_SHARE", "amortized_rate", "annuity_factor", "equivalent_hourly_rate",
           "implied_annual_rate", "split_payment", "term_hours"]


def term_hours(term_months) -> np.ndarray | float:
    """Hours in a term: ``term_months x 730`` [h] (12 months = 8760 h, 36 months = 26280 h)."""
    return np.asarray(term_months, dtype=float) * HOURS_PER_MONTH


def amortized_rate(upfront_usd, recurring_usd_per_hour, term_months):
    """Effective hourly rate of a commitment, upfront spread evenly over the term.

    Parameters
    ----------
    upfront_usd : float or array
        Payment at purchase [USD].
    recurring_usd_per_hour : float or array
        Charge for every hour of the term, used or not [USD/h].
    term_months : int or array
        Term [months], e.g. 12 or 36.

    Returns
    -------
    float or ndarray
        ``recurring + upfront / (term_months x 730)`` [USD/h].
    """
    h = term_hours(term_months)
    if np.any(h <= 0):
        raise PricingError("term_months must be > 0 to amortize an upfront payment (12 or 36).")
    return np.asarray(recurring_usd_per_hour, dtype=float) + np.asarray(upfront_usd, dtype=float) / h


def split_payment(usd_per_hour, term_months, payment_option, partial_share=PARTIAL_UPFRONT_SHARE):
    """Split an effective hourly rate into its upfront and recurring parts.

    Parameters
    ----------
    usd_per_hour : float or array
        Effective (amortized) rate [USD/h].
    term_months : int or array
        Term [months].
    payment_option : {'no_upfront', 'partial_upfront', 'all_upfront'}
    partial_share : float, default 0.5
        Share of the total commitment paid upfront for ``partial_upfront`` [-].

    Returns
    -------
    upfront_usd, recurring_usd_per_hour : tuple of float or ndarray
        [USD], [USD/h]; ``amortized_rate(upfront, recurring, term) == usd_per_hour``.
    """
    rate = np.asarray(usd_per_hour, dtype=float)
    total = rate * term_hours(term_months)
    share = {"no_upfront": 0.0, "partial_upfront": float(partial_share), "all_upfront": 1.0}.get(payment_option)
    if share is None:
        raise PricingError(f"Invalid payment_option '{payment_option}'. Provide one of {list(PAYMENT_OPTIONS)}.")
    if not 0.0 <= share <= 1.0:
        raise PricingError(f"partial_share must be in [0, 1], got {partial_share}.")
    upfront = total * share
    return upfront, rate * (1.0 - share)


def _monthly_rate(annual_rate):
    annual_rate = np.asarray(annual_rate, dtype=float)
    if np.any(annual_rate <= -1):
        raise PricingError("cost_of_capital must be > -1 (an annual rate such as 0.08 for 8 %).")
    return (1.0 + annual_rate) ** (1.0 / 12.0) - 1.0


def annuity_factor(annual_rate, term_months):
    """Present value of 1 USD paid at the end of each month of the term [USD per USD/month].

    Equals ``term_months`` when the rate is 0.
    """
    m = _monthly_rate(annual_rate)
    n = np.asarray(term_months, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(np.abs(m) < 1e-12, n, (1.0 - (1.0 + m) ** (-n)) / np.where(m == 0, 1.0, m))
    return f


def equivalent_hourly_rate(upfront_usd, recurring_usd_per_hour, term_months, cost_of_capital=0.0):
    """Level hourly rate, paid monthly in arrears, with the same present value as the commitment.

    With ``cost_of_capital = 0`` this is :func:`amortized_rate`. With a positive rate an upfront dollar weighs
    more than a dollar paid later, so all-upfront offers look less attractive than their amortized rate says;
    this is the fair way to compare payment options.

    Parameters
    ----------
    upfront_usd : float or array
        Payment at purchase [USD].
    recurring_usd_per_hour : float or array
        Charge for every hour of the term [USD/h], paid monthly.
    term_months : int or array
        Term [months].
    cost_of_capital : float or array, default 0
        Annual discount rate [1/year], e.g. 0.08.

    Returns
    -------
    float or ndarray
        [USD/h]
    """
    n = np.asarray(term_months, dtype=float)
    if np.any(n <= 0):
        raise PricingError("term_months must be > 0 (12 or 36).")
    f = annuity_factor(cost_of_capital, n)
    upfront_per_month = np.asarray(upfront_usd, dtype=float) / f
    return np.asarray(recurring_usd_per_hour, dtype=float) + upfront_per_month / HOURS_PER_MONTH


def implied_annual_rate(upfront_usd, recurring_usd_per_hour, alt_recurring_usd_per_hour, term_months,
                        alt_upfront_usd=0.0):
    """Annual rate at which two payment options of the same commitment cost the same.

    Solves ``PV(upfront, recurring) == PV(alt_upfront, alt_recurring)`` for the discount rate by bisection:
    the return you earn by paying ``upfront - alt_upfront`` earlier. Paying upfront is worth it when your
    cost of capital is below this rate.

    Parameters
    ----------
    upfront_usd, recurring_usd_per_hour : float
        The option that pays more upfront [USD], [USD/h].
    alt_recurring_usd_per_hour : float
        The other option's recurring charge [USD/h].
    term_months : int
        Term [months].
    alt_upfront_usd : float, default 0
        The other option's upfront payment [USD].

    Returns
    -------
    float
        [1/year]; ``nan`` when the options never cost the same for a rate in (-0.99, 10).
    """
    extra_upfront = float(upfront_usd) - float(alt_upfront_usd)
    saving_per_month = (float(alt_recurring_usd_per_hour) - float(recurring_usd_per_hour)) * HOURS_PER_MONTH

    def gap(r):
        return saving_per_month * float(annuity_factor(r, term_months)) - extra_upfront

    lo, hi = -0.99, 10.0
    g_lo, g_hi = gap(lo), gap(hi)
    if np.sign(g_lo) == np.sign(g_hi):
        return float("nan")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        g = gap(mid)
        if np.sign(g) == np.sign(g_lo):
            lo, g_lo = mid, g
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return 0.5 * (lo + hi)
