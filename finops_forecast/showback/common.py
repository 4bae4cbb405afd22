"""Shared names, errors and small helpers of the showback stage."""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.errors import UsageError, suggest
from finops_forecast.usage.schema import UNALLOCATED

IDLE = "__idle__"  # OpenCost: capacity no workload held (a GPU with no pod)
__all__ = ["GPU_SPECS", "IDLE", "UNALLOCATED", "ShowbackError", "first_row", "gpu_spec", "period_bounds",
           "week_start"]


class ShowbackError(UsageError):
    """A showback input (metrics, runs, request counts, settings) is malformed or cannot be priced.

    Subclasses :class:`~finops_forecast.errors.UsageError` (hence ``FinopsError`` and ``ValueError``) and names
    the file, the 1-based data row and the column at fault when they are known.
    """


def first_row(mask) -> tuple[int, int]:
    """1-based position of the first True in ``mask`` and the number of Trues."""
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(idx[0]) + 1, int(idx.size)


def period_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start (inclusive) and end (exclusive), UTC, of a month ``2026-10`` or a quarter ``2026Q4``."""
    import re

    text = str(period).strip().upper()
    try:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])|\d{4}Q[1-4]", text):
            raise ValueError(text)
        p = pd.Period(text, freq="Q" if "Q" in text else "M")
    except (ValueError, TypeError):
        raise ShowbackError(f"period '{period}' is not a month (YYYY-MM, e.g. 2026-10) or a quarter (YYYYQn, e.g. "
                            f"2026Q4).", column="period") from None
    return (p.start_time.tz_localize("UTC"), (p + 1).start_time.tz_localize("UTC"))


def week_start(ts: pd.Series) -> pd.Series:
    """Monday 00:00 UTC of each timestamp's ISO week."""
    day = ts.dt.floor("D")
    return day - pd.to_timedelta(day.dt.day_of_week, unit="D")


# Per-GPU memory [GB] and dense FP16/BF16 tensor throughput [TFLOPS] from NVIDIA's data sheets (dense, no
# sparsity). Used for rightsizing: memory must fit, and the load must fit the smaller GPU's throughput.
GPU_SPECS = {
    "T4": (16, 65), "A10G": (24, 70), "A10": (24, 125), "L4": (24, 121), "L40S": (48, 362),
    "V100": (16, 125), "V100-32GB": (32, 125), "A100": (40, 312), "A100-80GB": (80, 312),
    "H100": (80, 989), "H200": (141, 989), "B200": (180, 2250), "RTX-PRO-6000": (96, 500),
}


def gpu_spec(gpu_type: str) -> tuple[float, float] | None:
    """(memory [GB], dense FP16 throughput [TFLOPS]) of a GPU type, or None when unknown."""
    return GPU_SPECS.get(str(gpu_type))


def unknown(kind: str, name, valid) -> str:
    valid = sorted({str(v) for v in valid})
    return f"{kind} '{name}' is unknown.{suggest(str(name), valid)} Known: {', '.join(valid[:20])}" + \
        (f", ... ({len(valid)} in all)" if len(valid) > 20 else "") + "."
