"""Guardrails: a new run's cost estimated from similar past runs, overrun flags, unit-cost rise flags."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from finops_forecast.showback.common import ShowbackError

FLAG_COLUMNS = ["kind", "team", "run_id", "name", "value", "reference", "ratio", "message"]


@dataclass(frozen=True)
class RunEstimate:
    """Cost estimate of a run from similar past runs.

    Attributes
    ----------
    estimate_usd : float
        Median of the similar runs' GPU-hours per GPU, x this run's GPUs x its rate [USD].
    p90_usd : float
        Same with the 90th percentile [USD].
    n_similar : int
        Past runs used.
    basis : str
        Which similarity was used (``family+gpu_type+size``, relaxed to ``family+gpu_type`` or ``family``).
    similar_run_ids : tuple of str
    """

    estimate_usd: float
    p90_usd: float
    n_similar: int
    basis: str
    similar_run_ids: tuple[str, ...]


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4g}"


def _size_bucket(gpus) -> np.ndarray:
    return np.floor(np.log2(np.maximum(np.asarray(gpus, float), 1.0)))


def estimate_run_cost(history: pd.DataFrame, run, *, min_similar: int = 3) -> RunEstimate:
    """Estimate a run's cost before it starts from finished past runs of the same model family, GPU type and size.

    Parameters
    ----------
    history : pandas.DataFrame
        Costed runs (:func:`~finops_forecast.showback.units.run_costs`); running ones are ignored.
    run : mapping or pandas.Series
        The new run: ``model_family`` (or ``model``), ``gpu_type``, ``gpus`` [GPU], ``usd_per_gpu_hour``
        [USD/GPU-h]; ``run_id`` and ``start`` (past runs must have ended before it) when known.
    min_similar : int, default 3
        Fewest similar runs for an estimate; with fewer, size (GPUs within a factor of 2) and then GPU type are
        relaxed, and ``basis`` says so.

    Returns
    -------
    RunEstimate

    Raises
    ------
    ShowbackError
        When no finished run of the model family exists (nothing to compare with).
    """
    run = dict(run)
    fam = run.get("model_family") or run.get("model")
    past = history[~history["running"]]
    if "run_id" in run:
        past = past[past["run_id"] != run["run_id"]]
    if run.get("start") is not None and "end" in past.columns:
        past = past[past["end"] <= pd.Timestamp(run["start"])]
    same = past[past["model_family"] == fam]
    bucket = _size_bucket([run["gpus"]])[0]
    tiers = [("family+gpu_type+size", same[(same["gpu_type"] == run.get("gpu_type"))
                                           & (_size_bucket(same["gpus"]) == bucket)]),
             ("family+gpu_type", same[same["gpu_type"] == run.get("gpu_type")]), ("family", same)]
    basis, pick = next(((b, p) for b, p in tiers if len(p) >= min_similar),
                       next(((b, p) for b, p in tiers if len(p)), (None, same)))
    if basis is None:
        raise ShowbackError(f"no finished past run of model family '{fam}' to estimate run "
                            f"'{run.get('run_id', '?')}' from. Give model_family= of a known family, or budget the "
                            f"first run by hand.", column="model_family")
    per_gpu = pick["gpu_hours"] / pick["gpus"]
    scale = float(run["gpus"]) * float(run["usd_per_gpu_hour"])
    return RunEstimate(float(np.median(per_gpu) * scale), float(np.quantile(per_gpu, 0.9) * scale), len(pick),
                       basis, tuple(map(str, pick["run_id"])))


def flag_overruns(runs_costed: pd.DataFrame, *, factor: float = 3.0, min_similar: int = 3) -> pd.DataFrame:
    """Flag runs whose spend so far passes ``factor`` x their estimate from earlier similar runs.

    Returns
    -------
    pandas.DataFrame
        :data:`FLAG_COLUMNS`, ``kind`` = ``run_overrun``, ``value`` = spend [USD], ``reference`` = estimate
        [USD], ``ratio`` = spend / estimate; runs with no earlier similar run are not flagged.
    """
    rows = []
    for r in runs_costed.to_dict("records"):
        try:
            est = estimate_run_cost(runs_costed, r, min_similar=min_similar)
        except ShowbackError:
            continue
        if est.estimate_usd > 0 and r["cost_usd"] > factor * est.estimate_usd:
            ratio = r["cost_usd"] / est.estimate_usd
            state = "so far (still running)" if r["running"] else "in all"
            rows.append({"kind": "run_overrun", "team": r["team"], "run_id": r["run_id"], "name": r["model"],
                         "value": r["cost_usd"], "reference": est.estimate_usd, "ratio": ratio,
                         "message": f"team {r['team']}: run {r['run_id']} ({r['model']}, {r['gpus']:g} "
                                    f"{r['gpu_type']}) has spent {r['cost_usd']:,.0f} USD {state}, {ratio:.1f}x its "
                                    f"estimate of {est.estimate_usd:,.0f} USD from {est.n_similar} similar runs "
                                    f"({est.basis})."})
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)


def flag_unit_cost_rises(weekly: pd.DataFrame, *, threshold: float = 0.20, value: str | None = None,
                         name_col: str | None = None, unit: str = "USD") -> pd.DataFrame:
    """Flag unit costs that rose more than ``threshold`` (0.20 = 20%) over the week before.

    Parameters
    ----------
    weekly : pandas.DataFrame
        A weekly frame with ``week``, ``previous`` and ``wow_change``: :func:`weekly_unit_costs`,
        :func:`cost_per_inference` or a weekly breakdown passed through ``week_over_week``.
    value, name_col : str, optional
        The unit-cost column and the column naming what it is the cost of (found when omitted).

    Returns
    -------
    pandas.DataFrame
        :data:`FLAG_COLUMNS`, ``kind`` = ``unit_cost_rise``, ``value`` this week, ``reference`` last week,
        ``ratio`` = value / reference.
    """
    value = value or next(c for c in ("usd_per_1k_inferences", "value", "gpu_cost") if c in weekly.columns)
    name_col = name_col or next((c for c in ("name", "model", "team") if c in weekly.columns), None)
    hit = weekly[weekly["wow_change"] > threshold]
    rows = []
    for r in hit.to_dict("records"):
        what = r.get("metric", value)
        name = str(r.get(name_col, "")) if name_col else ""
        team = str(r.get("team", ""))
        of = f" of {name}" if name and name != team else ""
        rows.append({"kind": "unit_cost_rise", "team": team, "run_id": "", "name": f"{what}:{name}",
                     "value": r[value], "reference": r["previous"], "ratio": r[value] / r["previous"],
                     "message": f"team {team}: {what}{of} rose {r['wow_change']:.0%} in the week of "
                                f"{pd.Timestamp(r['week']).date()}: {_fmt(r[value])} {unit} vs "
                                f"{_fmt(r['previous'])} {unit} the week before (threshold {threshold:.0%})."})
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)
