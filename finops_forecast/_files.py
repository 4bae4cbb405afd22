"""Checks of the files and folders a user names (inputs to read, outputs to write), as one-line errors.

Each check names the input (a CLI option such as ``--pricing`` or a parameter such as ``parameter 'pricing'``),
the path, what is wrong and the fix, so a 0-byte file, a folder given for a file or a read-only output folder
never surfaces as a pandas or OS traceback.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pandas as pd

from finops_forecast.errors import FinopsError


def input_file_problem(path) -> str | None:
    """What makes ``path`` unusable as an input file, or None.

    Returns
    -------
    str or None
        ``"does not exist"``, ``"is a folder, not a file"`` or ``"is empty (0 bytes)"``.
    """
    p = Path(path)
    if not p.exists():
        return "does not exist"
    if p.is_dir():
        return "is a folder, not a file"
    if p.stat().st_size == 0:
        return "is empty (0 bytes)"
    return None


def check_input_file(path, what: str, error: type = FinopsError, fix: str = "") -> Path:
    """Raise ``error`` naming ``what`` and ``path`` when ``path`` is not a readable, non-empty file.

    Parameters
    ----------
    path : path-like
        The input file.
    what : str
        How the user named it, e.g. ``"--pricing"`` or ``"parameter 'commitments'"``.
    error : type
        The :class:`FinopsError` subclass to raise.
    fix : str
        Sentence appended to the message saying how to fix it.
    """
    problem = input_file_problem(path)
    if problem:
        raise error(f"{what}: '{path}' {problem}. {fix or 'Give the path of a non-empty file.'}".strip())
    return Path(path)


def read_csv_checked(path, what: str, error: type = FinopsError, **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` of a user file, with every read failure raised as ``error`` naming the file.

    Parameters
    ----------
    path : path-like
        The CSV file.
    what : str
        How the user named it (``"--inventory"``, ``"parameter 'commitments'"``).
    error : type
        The :class:`FinopsError` subclass to raise.
    **kwargs
        Passed to :func:`pandas.read_csv`.
    """
    check_input_file(path, what, error)
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        msg = str(exc).strip().replace("\n", " ")
        raise error(f"{what}: '{path}' is not a readable CSV file ({type(exc).__name__}: {msg}). Save it as "
                    "comma-separated text with a header row.") from None


def _writable(folder: Path) -> bool:
    """True when a file can really be created in ``folder`` (a probe, so root and read-only mounts are right)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".finops-probe-"):
            return True
    except OSError:
        return False


def check_output_file(path, what: str, error: type = FinopsError) -> Path:
    """Raise unless ``path`` can be written as a file: its folder exists and is writable, it is not a folder.

    Parameters
    ----------
    path : path-like
        The file to write.
    what : str
        The option or parameter that names it, e.g. ``"--json"``.
    error : type
        The :class:`FinopsError` subclass to raise.
    """
    p = Path(path)
    if p.is_dir():
        raise error(f"{what}: '{p}' is a folder; give the path of a file to write, e.g. '{p}/<name>'.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        what_is = "is a file, not a folder" if parent.exists() else "does not exist"
        raise error(f"{what}: the folder '{parent}' of '{p}' {what_is}. Create the folder or write elsewhere.")
    if not _writable(parent):
        raise error(f"{what}: the folder '{parent}' is read-only (cannot create '{p.name}' there). Write "
                    "elsewhere, e.g. under your home folder.")
    return p


def check_output_dir(path, what: str, error: type = FinopsError) -> Path:
    """Raise unless ``path`` is, or can be created as, a writable folder (it is created when missing).

    Parameters
    ----------
    path : path-like
        The folder to write into.
    what : str
        The option or parameter that names it, e.g. ``"--output"``.
    error : type
        The :class:`FinopsError` subclass to raise.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise error(f"{what}: '{p}' is a file, not a folder. Give a folder (it is created when missing).")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(f"{what}: cannot create the folder '{p}' ({exc.strerror}). Write elsewhere.") from None
    if not _writable(p):
        raise error(f"{what}: the folder '{p}' is read-only. Write elsewhere, e.g. under your home folder.")
    return p


def check_finite(value, what: str, error: type = FinopsError, *, low: float | None = None,
                 unit: str = "") -> None:
    """Raise unless ``value`` is a finite number (and >= ``low`` when given); ``None`` passes.

    Parameters
    ----------
    value : float or None
    what : str
        The option or parameter, e.g. ``"--budget"``.
    low : float, optional
        Smallest valid value.
    unit : str
        Unit shown in the message, e.g. ``"[USD]"``.
    """
    if value is None:
        return
    if not math.isfinite(float(value)):
        raise error(f"{what} = {value} is not a finite number{' ' + unit if unit else ''}: give a number"
                    f"{'' if low is None else f' >= {low:g}'}.")
    if low is not None and value < low:
        raise error(f"{what} = {value} must be >= {low:g}{' ' + unit if unit else ''}.")


def parse_day(value, what: str, error: type = FinopsError) -> pd.Timestamp | None:
    """Parse a calendar day ``YYYY-MM-DD`` (None passes), or raise naming ``what`` (e.g. 2026-02-30).

    Returns
    -------
    pandas.Timestamp or None
        Midnight of that day, timezone-naive.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        day = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise error(f"{what}: '{value}' is not a date. Write a real calendar day as YYYY-MM-DD, e.g. "
                    "2026-02-28.") from None
    if pd.isna(day):
        raise error(f"{what}: '{value}' is not a date. Write a real calendar day as YYYY-MM-DD.")
    return (day.tz_convert(None) if day.tzinfo is not None else day).normalize()

