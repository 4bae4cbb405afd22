"""Plausibility bounds of usage inputs: the one place where the readers' limits are set.

A value outside these bounds is not a usage pattern but a broken export (a timestamp of 1970 or 2262 from a
zero or maximal epoch, a GPU count of 1e308, a charge that would expand to millions of hourly rows). The
readers (:func:`~finops_forecast.usage.readers.read_focus`, ``read_jobs``, ``read_usage`` and
:func:`~finops_forecast.usage.schema.validate_usage`) stop with an error naming the file, row, column and the
limit. Each reader takes ``bounds=`` so that a user with a legitimately larger fleet or a longer charge period
can raise a limit: ``read_jobs(path, bounds=Bounds(max_span_days=800))``.

=======================  ===========  ====================================================================
limit                    default      why
=======================  ===========  ====================================================================
``earliest``             2000-01-01   no cloud GPU bill or job trace is older (EC2 launched in 2006)
``future_years``         10 [year]    timestamps after now + 10 years are typos or sentinel values
``max_span_days``        366 [day]    a FOCUS charge period is at most a billing period (a month, real
                                      exports have hourly, daily and monthly rows); one job running more
                                      than a year is implausible (traces: days to weeks)
``max_gpus``             1e6 [GPU]    GPUs held at once by one job or one usage row (GPU-hours per hour);
                                      the largest clusters today hold ~1e5 GPUs
=======================  ===========  ====================================================================
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from finops_forecast.errors import UsageError

EARLIEST = pd.Timestamp("2000-01-01", tz="UTC")
FUTURE_YEARS = 10
MAX_SPAN_DAYS = 366.0
MAX_GPUS = 1e6


@dataclass(frozen=True)
class Bounds:
    """Plausibility limits of usage inputs (see the module docstring for the defaults and why).

    Attributes
    ----------
    earliest : pandas.Timestamp
        Earliest accepted timestamp (UTC).
    future_years : float
        Latest accepted timestamp, as years after the time of reading [year].
    max_span_days : float
        Longest accepted job or FOCUS GPU charge period [day].
    max_gpus : float
        Most GPUs one job, charge row or usage row may hold at once [GPU] (GPU-hours per hour [GPU-h/h]).
    """

    earliest: pd.Timestamp = EARLIEST
    future_years: float = FUTURE_YEARS
    max_span_days: float = MAX_SPAN_DAYS
    max_gpus: float = MAX_GPUS

    def latest(self) -> pd.Timestamp:
        """Latest accepted timestamp: now + ``future_years``, to the hour (UTC)."""
        return (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=365.25 * self.future_years)).floor("h")

    @property
    def max_span_hours(self) -> float:
        """Longest accepted span [h]."""
        return self.max_span_days * 24.0

    def describe_window(self) -> str:
        """The accepted time window as text, for error messages."""
        return f"[{self.earliest:%Y-%m-%d}, {self.latest():%Y-%m-%d}] (from Bounds.earliest / future_years)"


DEFAULT_BOUNDS = Bounds()
HOW_TO_RAISE = ("If the value is real, raise the limit with bounds=finops_forecast.usage.bounds.Bounds(...) "
                "(see docs/CONTRACTS.md, plausibility bounds).")


def _first(mask) -> tuple[int, int]:
    """Position (0-based) of the first True and the number of Trues."""
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(idx[0]), int(idx.size)


def check_time_window(ts: pd.Series, *, column: str, source=None, bounds: Bounds = DEFAULT_BOUNDS,
                      rows: np.ndarray | None = None) -> None:
    """Raise :class:`UsageError` at the first timestamp outside ``[bounds.earliest, bounds.latest()]``.

    Parameters
    ----------
    ts : pandas.Series of datetime64[ns, UTC]
        Parsed timestamps.
    column : str
        Column named in the error.
    source : str, optional
        File named in the error.
    bounds : Bounds
        The limits.
    rows : ndarray of int, optional
        1-based input row of each value (default: position + 1).
    """
    latest = bounds.latest()
    bad = ((ts < bounds.earliest) | (ts > latest)).to_numpy()
    if not bad.any():
        return
    i, n = _first(bad)
    row = int(rows[i]) if rows is not None else i + 1
    more = "" if n == 1 else f" ({n} rows in all; this is the first)"
    raise UsageError(f"timestamp {ts.iloc[i]} is outside the plausible window {bounds.describe_window()}{more}. "
                     f"Check the value (an epoch of 0 or a sentinel date?). {HOW_TO_RAISE}",
                     path=source, row=row, column=column)


def check_at_most(values: pd.Series, limit: float, *, column: str, what: str, fix: str, source=None,
                  rows: np.ndarray | None = None) -> None:
    """Raise :class:`UsageError` at the first value above ``limit`` (``what`` and ``fix`` go in the message).

    Parameters
    ----------
    values : pandas.Series of float
        Values to check (NaN passes: missing values are checked elsewhere).
    limit : float
        Largest accepted value, in the unit of ``values``.
    column, what, fix : str
        The column named in the error, the quantity with its unit and the limit's name, and how to fix it.
    source : str, optional
        File named in the error.
    rows : ndarray of int, optional
        1-based input row of each value (default: position + 1).
    """
    bad = (values.to_numpy(dtype=float) > limit)
    if not bad.any():
        return
    i, n = _first(bad)
    row = int(rows[i]) if rows is not None else i + 1
    more = "" if n == 1 else f" ({n} rows in all; this is the first)"
    raise UsageError(f"{what} is {values.iloc[i]:g}, above the plausible limit {limit:g}{more}. {fix} {HOW_TO_RAISE}",
                     path=source, row=row, column=column)
