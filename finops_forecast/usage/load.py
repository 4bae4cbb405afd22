"""The sample or a path, then filter: :func:`load_usage`, the one loader behind the report, the demand explorer and
showback.

:func:`load_usage` reads ``"sample"`` (the bundled sample fleet, :func:`~finops_forecast.usage.sample.load_sample`)
or a path through :func:`~finops_forecast.usage.readers.read_any` (or the reader ``kind`` names), then keeps the
providers and workload classes asked for (:func:`filter_usage`), refusing an empty result with a message that
names the filters.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from finops_forecast.errors import FinopsError
from finops_forecast.usage.reconcile import Reconciliation

KINDS = ("auto", "usage", "focus", "jobs")


def _names(values: str | Iterable[str] | None) -> list[str]:
    """``"aws, GCP"`` or ``["aws", "GCP"]`` -> ``["aws", "gcp"]`` (stripped, lower case, empty names dropped)."""
    if values is None:
        return []
    items = values.split(",") if isinstance(values, str) else values
    return [str(v).strip().lower() for v in items if str(v).strip()]


def filter_usage(usage: pd.DataFrame, *, providers: str | Iterable[str] | None = None,
                 workload_classes: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Keep the rows of the given providers and workload classes; refuse an empty result.

    Parameters
    ----------
    usage : pandas.DataFrame
        A usage table (:func:`~finops_forecast.usage.schema.validate_usage`).
    providers, workload_classes : str or sequence of str, optional
        Comma-separated text (``"aws,gcp"``) or names, matched in lower case; ``None``, ``""`` or an empty list
        keeps all.

    Returns
    -------
    pandas.DataFrame
        The rows kept, index reset.

    Raises
    ------
    FinopsError
        When no row is left (also when ``usage`` was empty), naming the filters as given.
    """
    for col, names in (("provider", _names(providers)), ("workload_class", _names(workload_classes))):
        if names:
            usage = usage[usage[col].isin(names)]
    if usage.empty:
        raise FinopsError(f"no usage left after filtering providers={providers!r} and "
                          f"workload_classes={workload_classes!r}; loosen the filters.")
    return usage.reset_index(drop=True)


def load_usage(source, *, providers: str | Iterable[str] | None = None,
               workload_classes: str | Iterable[str] | None = None, kind: str = "auto",
               **reader_kwargs) -> tuple[pd.DataFrame, Reconciliation | None]:
    """Load usage from the bundled sample or a path, then filter it.

    Parameters
    ----------
    source : str or path
        ``"sample"`` for the bundled sample fleet, or a usage table, FOCUS export or job file (a file, folder, glob
        or list, as the readers take).
    providers, workload_classes : str or sequence of str, optional
        Filters (see :func:`filter_usage`). When both are ``None`` nothing is filtered and an empty table (a FOCUS
        export without GPU rows) is returned as read; otherwise an empty result is an error.
    kind : str, default "auto"
        ``auto`` (:func:`~finops_forecast.usage.readers.detect_kind`), ``usage``, ``focus`` or ``jobs``: the
        reader of a path.
    **reader_kwargs
        Passed to the reader (e.g. ``rules=``, ``bounds=``, ``instance_types=``); not accepted with the sample.

    Returns
    -------
    (usage, reconciliation) : (pandas.DataFrame, Reconciliation or None)
        The usage table and the reader's reconciliation (``None`` for the sample, which is not read from a file).

    Raises
    ------
    FinopsError
        An unknown ``kind``, reader options with the sample, or no usage left after filtering; the readers'
        ``UsageError`` (a subclass) for a file at fault.
    """
    if isinstance(source, str) and source == "sample":
        if reader_kwargs:
            raise FinopsError(f"the sample is not read from a file: reader options {sorted(reader_kwargs)} do not "
                              f"apply to it. Pass a path, or drop the options.")
        from finops_forecast.usage.sample import load_sample
        usage, rec = load_sample(), None
    else:
        from finops_forecast.usage import readers
        if kind not in KINDS:
            raise FinopsError(f"kind must be one of {list(KINDS)}, not '{kind}'.")
        reader = {"auto": readers.read_any, "usage": readers.read_usage, "focus": readers.read_focus,
                  "jobs": readers.read_jobs}[kind]
        usage, rec = reader(source, **reader_kwargs)
    if providers is None and workload_classes is None:
        return usage, rec
    return filter_usage(usage, providers=providers, workload_classes=workload_classes), rec
