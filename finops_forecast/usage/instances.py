"""The GPU instance registry: which instance types are GPU machines and how many GPUs each has.

The bundled registry is ``pricing/instance_types.csv`` (built from the real price sources by
``tools/build_instance_types.py``); a user file with the same columns (``provider, instance_type, gpu_type,
gpu_count``) adds machines the bundled one lacks, for example a neocloud's.
"""
from __future__ import annotations

from functools import cache
from os import PathLike

import pandas as pd

from finops_forecast._data import pricing_file
from finops_forecast.errors import UsageError, unknown_name

REGISTRY_COLUMNS = ["provider", "instance_type", "gpu_type", "gpu_count"]


@cache
def _bundled() -> pd.DataFrame:
    return pd.read_csv(pricing_file("instance_types.csv"))


def instance_registry(extra: str | PathLike | pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the GPU instance registry, optionally extended by a user file or frame.

    Parameters
    ----------
    extra : path or DataFrame, optional
        Rows with at least ``provider, instance_type, gpu_type, gpu_count``; they override bundled rows of the
        same (provider, instance_type).

    Returns
    -------
    pandas.DataFrame
        One row per (provider, instance_type) with ``gpu_type`` and ``gpu_count`` [GPU per instance].
    """
    reg = _bundled()
    if extra is None:
        return reg.copy()
    user = pd.read_csv(extra) if not isinstance(extra, pd.DataFrame) else extra.copy()
    missing = [c for c in REGISTRY_COLUMNS if c not in user.columns]
    if missing:
        raise UsageError(f"the instance file is missing column(s) {missing}; expected {REGISTRY_COLUMNS}, found "
                         f"{list(user.columns)}.", path=None if isinstance(extra, pd.DataFrame) else extra)
    count = pd.to_numeric(user["gpu_count"], errors="coerce")
    if count.isna().any() or (count <= 0).any():
        row = int((count.isna() | (count <= 0)).to_numpy().nonzero()[0][0]) + 1
        raise UsageError("gpu_count must be a positive number of GPUs per instance.",
                         path=None if isinstance(extra, pd.DataFrame) else extra, row=row, column="gpu_count")
    user["provider"] = user["provider"].str.lower()
    user = user.assign(gpu_count=count, source=user.get("source", "user instance file"))
    merged = pd.concat([user, reg], ignore_index=True).drop_duplicates(["provider", "instance_type"], keep="first")
    return merged.reset_index(drop=True)


def known_instance_types(extra=None) -> set[tuple[str, str]]:
    """Set of (provider, instance_type) pairs the registry knows."""
    reg = instance_registry(extra)
    return set(zip(reg["provider"], reg["instance_type"]))


def gpu_count(provider: str, instance_type: str, extra=None) -> float:
    """GPUs per instance of one instance type [GPU]; raises with the valid names on a miss."""
    reg = instance_registry(extra)
    hit = reg[(reg["provider"] == provider) & (reg["instance_type"] == instance_type)]
    if hit.empty:
        raise unknown_name(f"{provider} instance type", instance_type,
                           reg.loc[reg["provider"] == provider, "instance_type"])
    return float(hit["gpu_count"].iloc[0])
