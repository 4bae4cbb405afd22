"""Loading the showback inputs named by :class:`~finops_forecast.showback.params.ShowbackParams` (CLI, notebook)."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from finops_forecast.showback.common import ShowbackError, period_bounds


def shared_datasets() -> Path:
    """Folder of the shared datasets: ``$FINOPS_SHARED_DATASETS`` or ``<repo>/../shared/datasets``."""
    env = os.environ.get("FINOPS_SHARED_DATASETS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"


def dlrm_trace_path() -> Path:
    return shared_datasets() / "demand" / "alibaba-dlrm" / "disaggregated_DLRM_trace.csv"


def read_usage_any(path) -> pd.DataFrame:
    """Read ``"sample"`` (the bundled sample fleet), a usage table (CSV/Parquet, optional ``model`` column), a FOCUS
    export or job records (:func:`~finops_forecast.usage.load.load_usage`)."""
    p = str(path)
    if p != "sample" and not Path(p).exists() and not any(ch in p for ch in "*?"):
        raise ShowbackError("the usage file does not exist.", path=p)
    from finops_forecast.usage.load import load_usage
    usage, _ = load_usage(p)
    return usage


def _csv(path: str, what: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except OSError as exc:
        raise ShowbackError(f"cannot read the {what} file ({exc}).", path=path) from None


def load_inputs(params) -> dict:
    """Read every input a :class:`ShowbackParams` names.

    Returns
    -------
    dict
        ``usage``, ``catalog`` and, when named, ``metrics`` (attributed), ``runs``, ``requests``; plus ``notes``.
    """
    from finops_forecast.pricing import load_pricing
    from finops_forecast.showback.metrics import attribute_metrics, read_gpu_metrics
    from finops_forecast.showback.units import read_runs

    notes = []
    if params.usage == "dlrm":
        from finops_forecast.showback.dlrm import DEFAULT_POOL, dlrm_usage, read_dlrm
        start = str(period_bounds(params.period)[0].date())
        usage = dlrm_usage(read_dlrm(dlrm_trace_path()), start=start)
        notes.append(f"DLRM trace: 156 inference services, GPUs priced as {'/'.join(DEFAULT_POOL)} on demand and "
                     f"dated from {start} (both assumptions; the trace has neither).")
    else:
        usage = read_usage_any(params.usage)
    catalog = load_pricing(path=[p.strip() for p in params.pricing.split(",") if p.strip()] or None)
    out = {"usage": usage, "catalog": catalog, "notes": notes}
    if params.metrics:
        frames = [read_gpu_metrics(p.strip()) for p in params.metrics.split(",") if p.strip()]
        metrics = pd.concat(frames, ignore_index=True)
        inv = _csv(params.inventory, "inventory")
        owners = _csv(params.owners, "owners") if params.owners else None
        out["metrics"] = attribute_metrics(metrics, inv, owners)
    if params.runs:
        out["runs"] = read_runs(params.runs)
    if params.requests:
        req = _csv(params.requests, "requests")
        req.attrs["source"] = params.requests
        out["requests"] = req
    return out
