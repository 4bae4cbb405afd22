"""Loading the showback inputs named by :class:`~finops_forecast.showback.params.ShowbackParams` (CLI, notebook)."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from finops_forecast.showback.common import ShowbackError, period_bounds
from finops_forecast.usage.schema import USAGE_COLUMNS, validate_usage

SEP = "\x1f"


def shared_datasets() -> Path:
    """Folder of the shared datasets: ``$FINOPS_SHARED_DATASETS`` or ``<repo>/../shared/datasets``."""
    env = os.environ.get("FINOPS_SHARED_DATASETS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"


def dlrm_trace_path() -> Path:
    return shared_datasets() / "demand" / "alibaba-dlrm" / "disaggregated_DLRM_trace.csv"


def validate_usage_with_model(df: pd.DataFrame, *, source=None) -> pd.DataFrame:
    """:func:`validate_usage` for a table with a ``model`` column (one row per hour x pool x class x team x
    model): the model takes part in the duplicate-row check."""
    if "model" not in df.columns:
        return validate_usage(df, source=source)
    tmp = df.copy()
    model = tmp["model"].fillna("").astype(str).str.strip()
    tmp["team"] = tmp["team"].fillna("").astype(str) + SEP + model
    out = validate_usage(tmp, source=source)
    parts = out["team"].str.split(SEP, n=1, expand=True)
    out["team"] = parts[0].replace("", "__unallocated__")
    out["model"] = parts[1].replace("", "__unallocated__")
    return out


def read_usage_any(path) -> pd.DataFrame:
    """Read a usage table (CSV/Parquet, optional ``model`` column) or a FOCUS export."""
    p = str(path)
    if not Path(p).exists() and not any(ch in p for ch in "*?"):
        raise ShowbackError("the usage file does not exist.", path=p)
    if Path(p).is_file():
        head = (pd.read_parquet(p).head(0) if p.endswith((".parquet", ".pq"))
                else pd.read_csv(p, nrows=0))
        if set(USAGE_COLUMNS) <= set(head.columns):
            df = pd.read_parquet(p) if p.endswith((".parquet", ".pq")) else pd.read_csv(p)
            return validate_usage_with_model(df, source=p)
    from finops_forecast.usage.readers import read_focus
    usage, _ = read_focus(p)
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
    if params.usage == "sample":
        from finops_forecast.usage.sample import load_sample
        usage = load_sample()
    elif params.usage == "dlrm":
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
