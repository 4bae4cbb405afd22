"""Error types of finops_forecast.

Every error a user can cause is a :class:`FinopsError`, which subclasses :class:`ValueError`, names the file,
row or column at fault and says how to fix it. Each stage of the pipeline has its own subclass so callers
(and schedulers) can tell a bad usage file from an infeasible optimization.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class FinopsError(ValueError):
    """Base class of every user-facing error in finops_forecast."""


class LocatedError(FinopsError):
    """An error about a place in an input file: the message starts with the file, row and column.

    Attributes
    ----------
    path : str or None
        The file at fault, when known.
    row : int or None
        1-based data row (header excluded) at fault, when known.
    column : str or None
        The column at fault, when known.
    """

    def __init__(self, message: str, *, path=None, row: int | None = None, column: str | None = None):
        self.path = None if path is None else str(path)
        self.row = row
        self.column = column
        where = [w for w in (self.path, None if row is None else f"row {row}",
                             None if column is None else f"column '{column}'") if w]
        super().__init__((", ".join(where) + ": " if where else "") + message)


class UsageError(LocatedError):
    """The usage input (usage table, FOCUS export, job records) is malformed (see :class:`LocatedError`)."""


class UnknownNameError(FinopsError, KeyError):
    """A name (model, catalog, instance type, parameter) that is not one of the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def suggest(name: str, valid: Iterable[str], n: int = 3) -> str:
    """Return a ``" Did you mean 'x'?"`` hint for a misspelled ``name``, or ``""``."""
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=n, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> UnknownNameError:
    """Build the standard error for an invalid name: says the name, the closest matches and the valid ones."""
    valid = sorted({str(v) for v in valid})
    shown = ", ".join(valid[:40]) + (f", ... ({len(valid)} in all)" if len(valid) > 40 else "")
    return UnknownNameError(f"Invalid {kind} '{name}'.{suggest(name, valid)} Provide one of: {shown}.")


class PricingError(LocatedError):
    """A pricing catalog or price file is malformed, or a price that was asked for does not exist
    (see :class:`LocatedError`)."""


class ForecastError(FinopsError):
    """The forecasting stage cannot run as asked (bad horizon, series unusable by every model, bad planned run)."""


class PortfolioError(FinopsError):
    """The portfolio optimizer's inputs or settings are invalid (unpriced pool, bad risk setting, ...)."""


class ProgramInfeasible(PortfolioError):
    """The commitment program has no feasible plan; the message names the constraint(s) to relax.

    Attributes
    ----------
    constraints : tuple of str
        Names of the user constraints whose removal makes the program feasible (config field names).
    """

    def __init__(self, message: str, constraints=()):
        self.constraints = tuple(constraints)
        super().__init__(message)


class NumericalSolverError(PortfolioError):
    """Every solver tried failed or returned a non-optimal status; the message lists what was tried."""
