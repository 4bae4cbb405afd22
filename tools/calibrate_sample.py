"""Measure the shape statistics of the real demand traces that the sample fleet is calibrated on.

Run from the repository root with ``../shared/datasets`` beside it::

    python tools/calibrate_sample.py

It prints the numbers that ``finops_forecast.usage.sample.CALIBRATION`` holds; ``tests/usage/test_sample.py``
re-measures them and checks the constants and the generated fleet against them.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def measure(datasets: Path) -> dict[str, float]:
    """Shape statistics of Philly (training) and DLRM (inference), as in ``CALIBRATION``."""
    philly = pd.read_csv(datasets / "demand" / "philly" / "philly_hourly_active_nodes.csv", parse_dates=["time"])
    active = philly.set_index("time")["active"]
    dlrm = pd.read_csv(datasets / "demand" / "alibaba-dlrm" / "dlrm_hourly_gpu_demand.csv")["gpus_total"]
    dow = active.groupby(active.index.day_of_week).mean() / active.mean()
    return {
        "dlrm_cv": float(dlrm.std() / dlrm.mean()),
        "dlrm_acf1": float(dlrm.autocorr(1)),
        "philly_cv": float(active.std() / active.mean()),
        "philly_acf1": float(active.autocorr(1)),
        "philly_dow": tuple(round(float(v), 3) for v in dow),
        "philly_q05": float(active.quantile(0.05) / active.mean()),
    }


def main() -> int:
    datasets = Path(os.environ.get("FINOPS_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in measure(datasets).items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
