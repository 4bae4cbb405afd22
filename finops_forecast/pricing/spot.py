"""Spot effective cost: the advertised spot price plus the work an interruption throws away.

Model (docs/pricing.md, "Spot effective cost")::

    effective = spot_price x (1 + rework)

An interruption of any of the ``nodes`` instances of a job stops the whole job (a gang); the job then loses the
work since its last checkpoint and spends ``restart_hours`` getting back (replacement capacity, checkpoint load,
warm-up) on every node. With interruptions a Poisson process of rate ``L = nodes x lambda`` per job-hour, a
segment of ``checkpoint_interval`` hours of work plus ``checkpoint_cost`` hours of writing takes on average
(the classic restart-from-checkpoint result, e.g. Daly 2006, "A higher order estimate of the optimum
checkpoint interval for restart dumps")::

    E[T] = (1 / L + restart_hours) x (exp(L x (checkpoint_interval + checkpoint_cost)) - 1)

instead of ``checkpoint_interval + checkpoint_cost`` hours, so ``rework = E[T] / (tau + C) - 1``
(~ ``L x (tau / 2 + restart)`` when ``L x tau`` is small). A stateless workload (inference) loses no work,
only the restart: ``rework = L x restart_hours``.

``lambda`` (interruptions per instance-hour) comes from the Spot Advisor's interruption-frequency bucket
("the rate at which Spot has reclaimed capacity during the trailing month"): a share ``f`` of instances
interrupted within ``exposure_hours`` gives ``lambda = -ln(1 - f) / exposure_hours``. AWS does not publish
the exposure behind the share; see :data:`DEFAULT_EXPOSURE_HOURS` and docs/pricing.md for why the default is
calibrated (6 h) rather than the literal month.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from finops_forecast.errors import PricingError, unknown_name
from finops_forecast.usage.jobs import JOB_SIZE_KEYS

#: representative interruption share of each Spot Advisor bucket [-]: the bucket's midpoint; the open bucket
#: ">20%" uses 25 %
BUCKET_SHARE = {"<5%": 0.025, "5-10%": 0.075, "10-15%": 0.125, "15-20%": 0.175, ">20%": 0.25}
#: the Spot Advisor feed's upper bound of each bucket ("max") -> label
BUCKET_BY_MAX = {5: "<5%", 11: "5-10%", 16: "10-15%", 22: "15-20%", 100: ">20%"}

#: hours over which the bucket's share of instances is interrupted [h]. CALIBRATED, not measured: AWS does not
#: say over which exposure its share is counted. 730 h (the literal "trailing month") gives < 0.3 % rework for
#: every bucket and class, far from the realized-vs-advertised gap reported for checkpointed training; 6 h is
#: the exposure at which the default training profile at the ">20%" bucket (where 373 of the 822 GPU rows of
#: the 2025-06 Spot Advisor sit, p5/g5/g6 in us-east-1 among them) realizes 20-30 % less than the advertised
#: saving. docs/pricing.md tabulates the gap per bucket for 730 h, 24 h and 6 h; pass ``exposure_hours`` to
#: use another reading.
DEFAULT_EXPOSURE_HOURS = 6.0
LITERAL_EXPOSURE_HOURS = 730.0


@dataclass(frozen=True)
class SpotProfile:
    """How a workload class lives with interruptions.

    Attributes
    ----------
    checkpoint_interval_hours : float
        Work between checkpoints [h]; for an uncheckpointed job, its length. 0 for stateless work.
    restart_hours : float
        Time every node of the job is billed but not productive after an interruption (replacement capacity,
        container start, checkpoint load, warm-up) [h].
    nodes : int
        Instances that fail together (a data-parallel training job stops when any node is reclaimed).
    checkpoint_cost_hours : float
        Time to write one checkpoint [h]; counted in the segment, so it is lost too when interrupted.
    stateless : bool
        True for work that loses nothing but the restart (inference replicas).
    """

    checkpoint_interval_hours: float
    restart_hours: float
    nodes: int = 1
    checkpoint_cost_hours: float = 0.0
    stateless: bool = False

    def __post_init__(self):
        if self.checkpoint_interval_hours < 0 or self.restart_hours < 0 or self.checkpoint_cost_hours < 0:
            raise PricingError("SpotProfile hours must be >= 0.")
        if self.nodes < 1:
            raise PricingError("SpotProfile.nodes must be >= 1 (instances that fail together).")
        if not self.stateless and self.checkpoint_interval_hours + self.checkpoint_cost_hours <= 0:
            raise PricingError("a stateful SpotProfile needs checkpoint_interval_hours > 0 (or stateless=True).")


#: default profiles per workload class (docs/pricing.md explains each number)
SPOT_PROFILES = {
    # data-parallel training on 8 nodes (64 GPUs), hourly checkpoints taking 5 min, 30 min to get going again
    "training": SpotProfile(checkpoint_interval_hours=1.0, restart_hours=0.5, nodes=8,
                            checkpoint_cost_hours=5 / 60),
    # a replica serving requests: no work lost, 15 min until a replacement serves (model load, warm-up)
    "inference": SpotProfile(checkpoint_interval_hours=0.0, restart_hours=0.25, nodes=1, stateless=True),
    # single-node experiments of about 2 h without checkpoints: an interruption loses the run so far
    "experimentation": SpotProfile(checkpoint_interval_hours=2.0, restart_hours=0.25, nodes=1),
}


def interruption_rate(bucket, exposure_hours: float = DEFAULT_EXPOSURE_HOURS):
    """Interruptions per instance-hour for a Spot Advisor bucket or share.

    Parameters
    ----------
    bucket : str, float or array
        A bucket label (``"<5%"``, ``"5-10%"``, ``"10-15%"``, ``"15-20%"``, ``">20%"``), a bucket's ``max``
        (5, 11, 16, 22, 100), or the share itself in [0, 1).
    exposure_hours : float, default :data:`DEFAULT_EXPOSURE_HOURS` (6, calibrated)
        Hours over which that share of instances is interrupted [h].

    Returns
    -------
    float or ndarray
        ``-ln(1 - share) / exposure_hours`` [1/h].
    """
    if exposure_hours <= 0:
        raise PricingError("exposure_hours must be > 0.")
    share = _share(bucket)
    if np.any((share < 0) | (share >= 1)):
        raise PricingError("an interruption share must be in [0, 1).")
    return -np.log1p(-share) / exposure_hours


def _share(bucket):
    if isinstance(bucket, str):
        if bucket not in BUCKET_SHARE:
            raise unknown_name("Spot Advisor interruption bucket", bucket, BUCKET_SHARE)
        return np.float64(BUCKET_SHARE[bucket])
    arr = np.asarray(bucket, dtype=float)
    if arr.ndim == 0 and float(arr) in BUCKET_BY_MAX:
        return np.float64(BUCKET_SHARE[BUCKET_BY_MAX[int(arr)]])
    if np.all(np.isin(arr, list(BUCKET_BY_MAX))) and arr.ndim > 0:
        return np.vectorize(lambda m: BUCKET_SHARE[BUCKET_BY_MAX[int(m)]])(arr)
    return arr


def expected_rework(rate_per_hour, profile: SpotProfile | str = "training"):
    """Expected extra billed hours per hour of useful work caused by interruptions [-].

    Parameters
    ----------
    rate_per_hour : float or array
        Interruptions per instance-hour [1/h] (from :func:`interruption_rate`).
    profile : SpotProfile or str
        The workload's profile or a workload class of :data:`SPOT_PROFILES`.

    Returns
    -------
    float or ndarray
        ``rework >= 0``; 0 when the rate is 0.
    """
    p = _profile(profile)
    lam = np.asarray(rate_per_hour, dtype=float)
    if np.any(lam < 0):
        raise PricingError("an interruption rate must be >= 0.")
    L = p.nodes * lam
    if p.stateless:
        return L * p.restart_hours
    seg = p.checkpoint_interval_hours + p.checkpoint_cost_hours
    x = L * seg
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # E[T] / seg - 1 = (expm1(x) / x - 1) + restart * expm1(x) / seg, written without cancellation
        lost = np.where(x < 1e-5, x / 2 + x * x / 6, np.expm1(x) / np.where(x > 0, x, 1.0) - 1.0)
        return lost + p.restart_hours * np.expm1(x) / seg


def spot_effective_cost(spot_usd_per_hour, interruption, profile: SpotProfile | str = "training", *,
                        exposure_hours: float = DEFAULT_EXPOSURE_HOURS, nodes: int | None = None):
    """Spot price per hour of useful work: ``spot x (1 + rework)`` [USD/h].

    Parameters
    ----------
    spot_usd_per_hour : float or array
        Advertised spot rate [USD/h] (or [USD/GPU-h]; the unit passes through).
    interruption : str, float or array
        Spot Advisor bucket label / max, or an interruption share in [0, 1) over ``exposure_hours``.
    profile : SpotProfile or str, default 'training'
        Workload class (``training``, ``inference``, ``experimentation``) or a custom profile.
    exposure_hours : float, default :data:`DEFAULT_EXPOSURE_HOURS` (6, calibrated)
        See :func:`interruption_rate`.
    nodes : int or mapping, optional
        Instances of the job that fail together [instance]: the job's own size (a planned run of 1,024 GPUs on
        8-GPU instances is 128 nodes). Default: the profile's (8 for training). Rework grows with it: the job
        is interrupted when any of its nodes is. A mapping ``{nodes: GPU-hour share}`` (the observed job
        sizes of a series, :func:`spot_job_nodes`) gives the share-weighted mean rework: each GPU-hour of
        work is redone at the rate of the job it belongs to.

    Returns
    -------
    float or ndarray
        Effective rate [USD/h].

    Examples
    --------
    >>> round(float(spot_effective_cost(26.42, ">20%", "training")), 2)   # p5.48xlarge us-east-1, 2025-06
    39.04
    """
    lam = interruption_rate(interruption, exposure_hours)
    return np.asarray(spot_usd_per_hour, dtype=float) * (1.0 + rework_at_scale(lam, profile, nodes))


def rework_at_scale(rate_per_hour, profile: SpotProfile | str = "training", nodes=None):
    """Expected rework [-] of jobs of ``nodes`` instances, or of a mix of job sizes.

    Parameters
    ----------
    rate_per_hour : float or array
        Interruptions per instance-hour [1/h].
    profile : SpotProfile or str
    nodes : int, mapping or None
        One job size [instance], a mapping ``{nodes: share}`` of GPU-hours by job size (shares need not sum
        to 1; they are normalized), or None for the profile's own size.

    Returns
    -------
    float or ndarray
        ``sum_j share_j x rework(nodes_j)``.
    """
    if not isinstance(nodes, Mapping):
        return expected_rework(rate_per_hour, at_scale(profile, nodes))
    n = np.array([int(k) for k in nodes], dtype=int)
    w = np.array(list(nodes.values()), dtype=float)
    if not len(n) or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise PricingError(f"a job-size mix needs shares >= 0 with a positive sum (GPU-hours per job size); got "
                           f"{dict(nodes)}.")
    w = w / w.sum()
    return sum(wi * expected_rework(rate_per_hour, at_scale(profile, int(ni))) for ni, wi in zip(n, w) if wi > 0)


def job_nodes(gpus: float, gpus_per_instance: float) -> int:
    """Instances a job of ``gpus`` GPUs occupies on instances of ``gpus_per_instance`` GPUs [instance].

    Raises
    ------
    PricingError
        When either number is not > 0.
    """
    if not (gpus > 0 and gpus_per_instance > 0):
        raise PricingError(f"a job needs gpus > 0 and gpus_per_instance > 0 (got {gpus}, {gpus_per_instance}).")
    return int(np.ceil(gpus / gpus_per_instance - 1e-9))


def at_scale(profile: SpotProfile | str, nodes: int | None = None) -> SpotProfile:
    """The profile of a workload class (or ``profile`` itself) for a job of ``nodes`` instances.

    ``nodes=None`` keeps the profile's own size. A stateless profile (inference replicas) keeps ``nodes``: its
    replicas do not fail together.
    """
    p = _profile(profile)
    if nodes is None or p.stateless:
        return p
    if int(nodes) < 1:
        raise PricingError(f"nodes must be >= 1 (instances of the job); got {nodes}.")
    return replace(p, nodes=int(nodes))


def assumed_rework_at_scale(rework: float, profile: SpotProfile | str = "training", nodes=None,
                            interruption=">20%", exposure_hours: float = DEFAULT_EXPOSURE_HOURS) -> float:
    """An assumed rework share given for a class's own job size, moved to another size (or a mix of sizes) [-].

    For spot rows without an interruption bucket (GCP, Azure), the market assumes a rework share per class
    (``SpotSettings.rework``); that share is read as the one of the class profile's size (training: 8 nodes)
    and scaled by the model's ratio ``rework(nodes) / rework(profile's nodes)`` at ``interruption``
    (default the ``>20%`` bucket, where most GPU rows sit): a job of 128 nodes is still interrupted 16 times
    as often as one of 8. ``nodes=None`` returns ``rework`` unchanged.
    """
    if nodes is None:
        return float(rework)
    lam = interruption_rate(interruption, exposure_hours)
    own = float(expected_rework(lam, profile))
    return float(rework) * (float(rework_at_scale(lam, profile, nodes)) / own if own > 0 else 1.0)


def realized_savings(advertised_savings, interruption, profile: SpotProfile | str = "training", *,
                     exposure_hours: float = DEFAULT_EXPOSURE_HOURS):
    """Savings vs on-demand per hour of useful work, given the advertised savings share [-].

    ``1 - (1 - advertised) x (1 + rework)``; can be negative when rework eats the discount.
    """
    adv = np.asarray(advertised_savings, dtype=float)
    lam = interruption_rate(interruption, exposure_hours)
    return 1.0 - (1.0 - adv) * (1.0 + expected_rework(lam, profile))


def _profile(profile) -> SpotProfile:
    if isinstance(profile, SpotProfile):
        return profile
    if profile not in SPOT_PROFILES:
        raise unknown_name("workload class", profile, SPOT_PROFILES)
    return SPOT_PROFILES[profile]


def with_profile(base: str, **changes) -> SpotProfile:
    """A copy of a default profile with some fields changed, e.g. ``with_profile("training", nodes=32)``."""
    return replace(_profile(base), **changes)


#: columns of a job-size table (:func:`finops_forecast.usage.jobs.job_sizes`): GPU-hours per series and job size
JOB_SIZE_COLUMNS = JOB_SIZE_KEYS + ["gpu_hours"]


def spot_job_nodes(job_sizes: pd.DataFrame | None, catalog: pd.DataFrame,
                   series_keys: pd.DataFrame | None = None) -> tuple[dict, list[str]]:
    """Observed job sizes per series as node mixes, for ``SpotSettings(job_nodes=...)``, and what was assumed.

    Parameters
    ----------
    job_sizes : pandas.DataFrame or None
        GPU-hours per series and job size (:data:`JOB_SIZE_COLUMNS`): ``job_sizes_of(usage)``
        (:func:`finops_forecast.usage.jobs.job_sizes_of`) of a usage read from job records. None or empty: the
        usage has no job sizes.
    catalog : pandas.DataFrame
        Pricing catalog; the on-demand rows' ``gpu_count`` gives GPUs per instance of each pool [GPU].
    series_keys : pandas.DataFrame, optional
        The series priced (provider, region, instance_type, workload_class), to name those left at the
        default size.

    Returns
    -------
    job_nodes : dict
        ``(provider, region, instance_type, workload_class) -> {nodes: GPU-hour share}`` [instance] -> [-].
    notes : list of str
        Which series use the class profile's size (:data:`SPOT_PROFILES`) because no job size is known.
    """
    defaults = ", ".join(f"{c} {p.nodes}" for c, p in SPOT_PROFILES.items() if not p.stateless)
    fallback = (f"spot rework at the class profiles' job sizes (nodes: {defaults}; docs/pricing.md) for {{what}}: "
                "the usage gives no job sizes")
    if job_sizes is None or len(job_sizes) == 0:
        return {}, [fallback.format(what="every series")]
    missing = [c for c in JOB_SIZE_COLUMNS if c not in job_sizes.columns]
    if missing:
        raise PricingError(f"the job-size table lacks {missing}; expected {JOB_SIZE_COLUMNS} (from "
                           f"finops_forecast.usage.jobs.job_sizes_of(usage)), found {list(job_sizes.columns)}.")
    od = catalog[catalog["pricing_model"] == "on_demand"]
    if "effective_date" in od.columns:
        od = od.sort_values("effective_date", kind="stable")
    gpi = od.drop_duplicates(JOB_SIZE_COLUMNS[:3], keep="last").set_index(JOB_SIZE_COLUMNS[:3])["gpu_count"]
    out, notes = {}, []
    sizes = job_sizes[job_sizes["gpu_hours"] > 0]
    for key, g in sizes.groupby(JOB_SIZE_COLUMNS[:4], sort=True):
        if key[:3] not in gpi.index:
            notes.append(f"job sizes of {' '.join(key)} not used: the catalog has no on-demand row (GPUs per "
                         "instance) for its pool")
            continue
        nodes = [job_nodes(float(x), float(gpi.loc[key[:3]])) for x in g["gpus"]]
        mix = pd.Series(g["gpu_hours"].to_numpy(float)).groupby(nodes).sum()
        out[tuple(key)] = {int(n): float(v / mix.sum()) for n, v in mix.items()}
    if series_keys is not None:
        left = [" ".join(k) for k in series_keys[JOB_SIZE_COLUMNS[:4]].astype(str).itertuples(index=False)
                if tuple(k) not in out and k[3] in SPOT_PROFILES and not SPOT_PROFILES[k[3]].stateless]
        if left:
            notes.append(fallback.format(what=", ".join(left)))
    return out, notes
