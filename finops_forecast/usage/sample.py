"""The bundled sample fleet: 18 months of hourly GPU usage of a multi-cloud AI company.

:func:`load_sample` generates it deterministically (a fixed seed, pure numpy), so it ships inside the wheel as
code and needs no download. The company runs nine GPU pools on AWS, GCP and Azure (H100, A100, A10G and L4
machines), three workload classes and six teams, from 2025-05-01 to 2026-10-31 (13,176 hours).

How the shapes are calibrated on real traces
--------------------------------------------
The constants in :data:`CALIBRATION` were measured on the traces in ``../shared/datasets/demand`` by
``tools/calibrate_sample.py`` (a slow test re-measures them and checks they still hold):

- **Inference** follows the Alibaba DLRM inference fleet (~3,200 GPUs, 31 days): a steady service whose hourly
  demand has a coefficient of variation of about 2.7% around its trend and an hour-to-hour autocorrelation of
  0.94; its daily profile is nearly flat (+-0.2%). We model inference as
  ``level(t) x (1 + AR(1) noise)`` with the DLRM's lag-1 autocorrelation and CV, plus, for the user-facing
  assistant service only, a diurnal autoscaling swing of +-12% (an assumption: DLRM is provisioned, not
  autoscaled, so it shows none; user-facing chat traffic does).
- **Training** follows the Microsoft Philly training cluster (Oct-Dec 2017): demand fluctuates around its level
  with a coefficient of variation of 0.18, lag-1 autocorrelation 0.97 (lag-24: 0.44), a day-of-week profile
  that is low on Sundays and Mondays (0.93 x the mean) and a 5% quantile at 0.78 x the mean. We model it as ``level(t) x day_of_week(t) x (1 + AR(1) noise)`` with
  those parameters, clipped at zero, plus **big planned runs** (several hundred GPUs for 2-4 weeks) that sit on
  top, as the large pre-training runs of an AI company do.
- **Experimentation** has no public trace here; it is modelled as office-hours sessions (weekday 14-24 UTC,
  i.e. US working hours, at 3x the night level, weekends at 40%) with Poisson noise. This is an assumption.

Growth (assumed, stated): inference +3.5% a month, training +2% a month, experimentation +1% a month, on
top of which the Azure H100 pool only starts in 2025-11 (a migration: a short series), and GCP A100 training
winds down by 40% over the last 6 months (capacity moving to H100).

Usage is quantized to whole instances per hour (GPU-hours are multiples of the instance's GPU count), as a
billing export would show it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from finops_forecast.usage.schema import USAGE_COLUMNS, validate_usage

SAMPLE_START = pd.Timestamp("2025-05-01 00:00", tz="UTC")
SAMPLE_END = pd.Timestamp("2026-11-01 00:00", tz="UTC")  # exclusive
SEED = 20261124

CALIBRATION = {
    # measured by tools/calibrate_sample.py on ../shared/datasets/demand (see the module docstring)
    "dlrm_cv": 0.027,           # hourly std / mean of the DLRM fleet's GPU demand
    "dlrm_acf1": 0.94,          # lag-1 autocorrelation of the DLRM hourly demand
    "philly_cv": 0.176,         # hourly std / mean of Philly's active nodes
    "philly_acf1": 0.97,        # lag-1 autocorrelation of Philly's hourly active nodes
    # mean by day of week (Monday first) relative to the overall mean: Philly is low on Sunday and Monday
    "philly_dow": (0.935, 0.986, 1.041, 0.987, 1.064, 1.050, 0.932),
    "philly_q05": 0.78,         # 5% quantile / mean
}


@dataclass(frozen=True)
class SampleSeries:
    """One generated series: a pool x workload class x team and its scale and shape."""

    provider: str
    region: str
    instance_type: str
    gpus_per_instance: int
    workload_class: str
    team: str
    mean_gpus: float          # average GPUs in use at the start of the sample [GPU]
    start: str | None = None  # first day with usage (a pool that came later)
    decline: float = 0.0      # share of demand lost over the last 6 months (a pool winding down)
    diurnal: float = 0.0      # autoscaling swing of an inference service (relative amplitude)


SERIES = [
    SampleSeries("aws", "us-east-1", "p5.48xlarge", 8, "training", "foundation-research", 256),
    SampleSeries("aws", "us-east-1", "p5.48xlarge", 8, "inference", "assistant-serving", 96, diurnal=0.12),
    SampleSeries("aws", "us-east-1", "p5.48xlarge", 8, "experimentation", "foundation-research", 16),
    SampleSeries("aws", "us-east-1", "p4d.24xlarge", 8, "training", "applied-ml", 96),
    SampleSeries("aws", "us-east-1", "p4d.24xlarge", 8, "experimentation", "applied-ml", 16),
    SampleSeries("aws", "us-west-2", "g5.12xlarge", 4, "inference", "search-serving", 48),
    SampleSeries("aws", "us-west-2", "g5.12xlarge", 4, "experimentation", "applied-ml", 8),
    SampleSeries("aws", "us-east-1", "g6.12xlarge", 4, "inference", "recsys-serving", 64),
    SampleSeries("gcp", "us-central1", "a3-highgpu-8g", 8, "training", "foundation-research", 128),
    SampleSeries("gcp", "us-central1", "a3-highgpu-8g", 8, "inference", "assistant-serving", 48, diurnal=0.12),
    SampleSeries("gcp", "us-central1", "a2-highgpu-8g", 8, "training", "applied-ml", 64, decline=0.4),
    SampleSeries("gcp", "us-central1", "a2-highgpu-8g", 8, "experimentation", "data-science", 8),
    SampleSeries("gcp", "us-central1", "g2-standard-48", 4, "inference", "recsys-serving", 40),
    SampleSeries("azure", "eastus", "Standard_ND96isr_H100_v5", 8, "training", "foundation-research", 96,
                 start="2025-11-01"),
    SampleSeries("azure", "eastus", "Standard_ND96isr_H100_v5", 8, "inference", "assistant-serving", 32,
                 start="2025-11-01", diurnal=0.12),
    SampleSeries("azure", "eastus", "Standard_NC24ads_A100_v4", 1, "inference", "search-serving", 24),
    SampleSeries("azure", "eastus", "Standard_NC24ads_A100_v4", 1, "experimentation", "data-science", 6),
]

GROWTH_PER_MONTH = {"inference": 0.035, "training": 0.02, "experimentation": 0.01}

# big planned training runs of the history: (pool index in SERIES, start, days, GPUs)
PAST_BIG_RUNS = [
    (0, "2025-06-09", 21, 512),
    (8, "2025-08-04", 28, 256),
    (0, "2025-10-13", 21, 768),
    (13, "2026-01-12", 28, 384),
    (0, "2026-03-02", 24, 768),
    (8, "2026-05-11", 28, 384),
    (0, "2026-07-20", 21, 1024),
    (13, "2026-09-07", 28, 512),
]


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) noise with lag-1 autocorrelation ``phi`` and marginal standard deviation ``sd``."""
    eps = rng.normal(0.0, sd * np.sqrt(1 - phi ** 2), n)
    x = np.empty(n)
    x[0] = rng.normal(0.0, sd)
    # lfilter-free recursion in blocks of numpy: y_t = phi y_{t-1} + e_t
    from scipy.signal import lfilter
    x[1:] = lfilter([1.0], [1.0, -phi], eps[1:], zi=[phi * x[0]])[0]
    return x


def _shape(spec: SampleSeries, ts: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Demand in GPUs per hour (before quantization) of one series."""
    n = len(ts)
    months = (ts - SAMPLE_START) / pd.Timedelta(days=30.44)
    level = spec.mean_gpus * (1 + GROWTH_PER_MONTH[spec.workload_class]) ** np.asarray(months, dtype=float)
    if spec.decline:
        tail = np.clip((ts - (SAMPLE_END - pd.Timedelta(days=183))) / pd.Timedelta(days=183), 0, 1)
        level = level * (1 - spec.decline * np.asarray(tail, dtype=float))
    hour = ts.hour.to_numpy()
    dow = ts.day_of_week.to_numpy()
    if spec.workload_class == "inference":
        noise = _ar1(rng, n, CALIBRATION["dlrm_acf1"], CALIBRATION["dlrm_cv"])
        diurnal = 1 + spec.diurnal * np.sin(2 * np.pi * (hour - 11) / 24)  # peak ~17 UTC (US midday)
        demand = level * diurnal * (1 + noise)
    elif spec.workload_class == "training":
        cal = CALIBRATION
        weekday = np.asarray(cal["philly_dow"])[dow]
        noise = _ar1(rng, n, cal["philly_acf1"], cal["philly_cv"])
        demand = level * weekday * np.clip(1 + noise, 0, None)
    else:
        office = ((hour >= 14) & (hour < 24)).astype(float)
        weekday = np.where(dow >= 5, 0.4, 1.0)
        rate = level * (1 + 2 * office) / (1 + 2 * 10 / 24) * weekday
        demand = rng.poisson(np.maximum(rate, 0) / 2) * 2.0  # sessions of ~2 GPUs
    if spec.start:
        demand = np.where(ts < pd.Timestamp(spec.start, tz="UTC"), 0.0, demand)
    return np.clip(demand, 0, None)


@cache
def _generate() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    ts = pd.date_range(SAMPLE_START, SAMPLE_END, freq="h", inclusive="left")
    frames = []
    gpus_by_series = [_shape(spec, ts, rng) for spec in SERIES]
    for idx, start, days, gpus in PAST_BIG_RUNS:
        t0 = pd.Timestamp(start, tz="UTC")
        on = (ts >= t0) & (ts < t0 + pd.Timedelta(days=days))
        ramp = np.clip((ts - t0) / pd.Timedelta(hours=36), 0, 1)  # runs ramp up over a day and a half
        gpus_by_series[idx] = gpus_by_series[idx] + np.where(on, gpus * np.asarray(ramp, dtype=float), 0.0)
    for spec, gpus in zip(SERIES, gpus_by_series):
        instances = np.rint(gpus / spec.gpus_per_instance)
        frames.append(pd.DataFrame({
            "ts": ts, "provider": spec.provider, "region": spec.region, "instance_type": spec.instance_type,
            "workload_class": spec.workload_class, "team": spec.team,
            "gpu_hours": instances * spec.gpus_per_instance}))
    usage = pd.concat(frames, ignore_index=True)
    usage = usage[usage["gpu_hours"] > 0]
    return validate_usage(usage[USAGE_COLUMNS])


def load_sample() -> pd.DataFrame:
    """Return the bundled sample fleet as a usage table.

    Returns
    -------
    pandas.DataFrame
        The usage table (:data:`~finops_forecast.usage.schema.USAGE_COLUMNS`), hourly from 2025-05-01 to
        2026-10-31 UTC, 17 series over 9 pools, 3 providers, 3 workload classes and 6 teams. Hours with no usage
        have no row. Deterministic: every call returns the same table (a copy).

    Examples
    --------
    >>> from finops_forecast import load_sample
    >>> usage = load_sample()
    >>> sorted(usage["provider"].unique())
    ['aws', 'azure', 'gcp']
    """
    return _generate().copy()


def sample_planned_runs() -> pd.DataFrame:
    """Big training runs the sample company has planned after the end of its history.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``start`` (UTC), ``duration_hours`` [h], ``gpus`` [GPU], ``provider``, ``region``,
        ``instance_type``, ``workload_class``, ``team``, ``name``.
    """
    rows = [
        ("2027-01-11", 28 * 24, 1024, "aws", "us-east-1", "p5.48xlarge", "foundation-v5-pretrain"),
        ("2027-02-22", 21 * 24, 512, "azure", "eastus", "Standard_ND96isr_H100_v5", "foundation-v5-posttrain"),
    ]
    return pd.DataFrame([
        {"start": pd.Timestamp(s, tz="UTC"), "duration_hours": d, "gpus": g, "provider": p, "region": r,
         "instance_type": i, "workload_class": "training", "team": "foundation-research", "name": n}
        for s, d, g, p, r, i, n in rows])


def usage_to_focus(usage: pd.DataFrame, *, gpu_counts: dict[tuple[str, str], float] | None = None,
                   prices: dict[tuple[str, str, str], float] | None = None) -> pd.DataFrame:
    """Render a usage table as a FOCUS 1.0 export (one Usage row per hour x pool x class x team).

    This is how the demo shows :func:`~finops_forecast.usage.focus.read_focus` on the sample: the round trip
    ``read_focus(usage_to_focus(usage))`` gives back the same GPU-hours per hour, pool, class and team.

    Parameters
    ----------
    usage : pandas.DataFrame
        A validated usage table.
    gpu_counts : dict, optional
        (provider, instance_type) -> GPUs per instance; default: the instance registry.
    prices : dict, optional
        (provider, region, instance_type) -> on-demand price [USD/h per instance] for ``ListCost`` and
        ``BilledCost``; rows of pools without a price get 0 cost and ``ChargeDescription`` says so.

    Returns
    -------
    pandas.DataFrame
        FOCUS columns (ProviderName, RegionId, ChargeCategory, ChargePeriodStart/End, ConsumedQuantity in
        instance-hours, ConsumedUnit "Hours", BilledCost, EffectiveCost, ListCost, ResourceId, Tags with
        ``workload_class`` and ``team`` keys, ...).
    """
    import json

    from finops_forecast.usage.instances import instance_registry

    if gpu_counts is None:
        reg = instance_registry()
        gpu_counts = dict(zip(zip(reg["provider"], reg["instance_type"]), reg["gpu_count"]))
    names = {"aws": "AWS", "gcp": "Google Cloud", "azure": "Microsoft"}
    gpc = np.array([gpu_counts[(p, i)] for p, i in zip(usage["provider"], usage["instance_type"])], dtype=float)
    qty = usage["gpu_hours"].to_numpy(float) / gpc
    price = np.array([(prices or {}).get((p, r, i), 0.0)
                      for p, r, i in zip(usage["provider"], usage["region"], usage["instance_type"])])
    cost = qty * price
    tags = [json.dumps({"workload_class": c, "team": t}) for c, t in zip(usage["workload_class"], usage["team"])]
    start = usage["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (usage["ts"] + pd.Timedelta(hours=1)).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return pd.DataFrame({
        "BillingAccountId": "sample-company", "ProviderName": usage["provider"].map(names).fillna(usage["provider"]),
        "RegionId": usage["region"], "ServiceCategory": "Compute", "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based", "ChargePeriodStart": start, "ChargePeriodEnd": end,
        "ChargeDescription": [f"{i} instance hours" for i in usage["instance_type"]],
        "ConsumedQuantity": qty, "ConsumedUnit": "Hours", "PricingQuantity": qty, "PricingUnit": "Hours",
        "PricingCategory": "Standard", "ListUnitPrice": price, "ListCost": cost, "BilledCost": cost,
        "EffectiveCost": cost, "BillingCurrency": "USD", "x_InstanceType": usage["instance_type"],
        "ResourceId": [f"sample/{p}/{r}/{i}/{c}/{t}" for p, r, i, c, t in
                       zip(usage["provider"], usage["region"], usage["instance_type"], usage["workload_class"],
                           usage["team"])],
        "Tags": tags,
    })
