"""Workload classification: training, inference or experimentation.

Each run (a job, or a cloud resource's contiguous usage) is classified by the first of these that applies,
and the answer records which one did it in ``classified_by``:

1. **tag** -- a workload tag on the record (FOCUS ``Tags``, a ``workload_class`` column of a job file). Values
   are matched case-insensitively against the class names and the synonyms in :data:`TAG_SYNONYMS`.
   A tag value that is not a known class or synonym is not guessed at: the run falls through to the rules
   and the heuristic, and the reader reports how many runs carried such a tag.
2. **rule:<name>** -- the first matching rule of a user rules file (YAML, see :func:`load_rules`).
3. **heuristic:<name>** -- the documented heuristic below, on the run's duration and GPU count.

The heuristic (first match wins)
--------------------------------
======================  =====================================================  =================
name                    condition                                              class
======================  =====================================================  =================
``short_session``       lasts < 4 h on <= 8 GPUs                               experimentation
``always_on_service``   lasts >= 14 days on <= 8 GPUs (an instance that        inference
                        never stops is a service, not a run)
``multi_gpu_run``       >= 2 GPUs (multi-GPU runs of hours to days)            training
``single_gpu_service``  1 GPU for >= 24 h                                      inference
``single_gpu_session``  anything else (1 GPU, 4-24 h)                          experimentation
======================  =====================================================  =================

The thresholds are parameters of :class:`Heuristic`; they follow the usual shape of AI fleets (training jobs
are multi-GPU and finite, inference services are always on, notebooks and sweeps are short) and are a
starting point to be overridden by tags or rules, which are always preferred.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from os import PathLike

import numpy as np
import pandas as pd

from finops_forecast.errors import UsageError, suggest
from finops_forecast.usage.schema import WORKLOAD_CLASSES

TAG_SYNONYMS = {
    "training": "training", "train": "training", "pretraining": "training", "pre-training": "training",
    "finetuning": "training", "fine-tuning": "training", "finetune": "training",
    "inference": "inference", "serving": "inference", "serve": "inference", "prediction": "inference",
    "experimentation": "experimentation", "experiment": "experimentation", "experiments": "experimentation",
    "dev": "experimentation", "notebook": "experimentation", "interactive": "experimentation",
}


def normalize_tag(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Map workload tag values to class names.

    Returns
    -------
    (classes, unknown) : (pandas.Series, pandas.Series)
        The class per value (NaN where there is no tag or it is not recognized) and a boolean mask of the
        values that were present but not recognized.
    """
    text = values.astype("string").str.strip().str.lower()
    mapped = text.map(lambda v: TAG_SYNONYMS.get(v) if isinstance(v, str) else None)
    present = text.notna() & (text != "") & ~text.isin(["null", "none", "nan"])
    return mapped.astype(object).where(mapped.notna(), None), (present & mapped.isna()).fillna(False)


@dataclass(frozen=True)
class Rule:
    """One classification rule of a user rules file.

    Parameters
    ----------
    name : str
        Recorded in ``classified_by`` as ``rule:<name>``.
    workload_class : str
        Class given to matching runs.
    match : dict of str to str
        Column -> regular expression; all must match the whole value (case-insensitive).
    min_gpus, max_gpus : float, optional
        Bounds on the run's GPU count [GPU].
    min_hours, max_hours : float, optional
        Bounds on the run's duration [h].
    """

    name: str
    workload_class: str
    match: dict[str, str] = field(default_factory=dict)
    min_gpus: float | None = None
    max_gpus: float | None = None
    min_hours: float | None = None
    max_hours: float | None = None

    def mask(self, runs: pd.DataFrame, gpus_col: str, hours_col: str) -> np.ndarray:
        m = np.ones(len(runs), dtype=bool)
        for col, pattern in self.match.items():
            if col not in runs.columns:
                raise UsageError(f"rule '{self.name}' matches on column '{col}', which the records do not have."
                                 f"{suggest(col, runs.columns)} Available: {sorted(map(str, runs.columns))}.")
            rx = re.compile(pattern, re.IGNORECASE)
            m &= runs[col].astype("string").fillna("").map(lambda v: bool(rx.fullmatch(v))).to_numpy(bool)
        for bound, col, op in ((self.min_gpus, gpus_col, np.greater_equal), (self.max_gpus, gpus_col, np.less_equal),
                               (self.min_hours, hours_col, np.greater_equal),
                               (self.max_hours, hours_col, np.less_equal)):
            if bound is not None:
                m &= op(runs[col].to_numpy(float), bound)
        return m


def load_rules(path: str | PathLike) -> list[Rule]:
    """Read a YAML rules file.

    The file is a list under ``rules:``; each rule has ``name``, ``class`` and any of ``match`` (column ->
    regex), ``min_gpus``, ``max_gpus``, ``min_hours``, ``max_hours``::

        rules:
          - name: serving-accounts
            class: inference
            match: {team: ".*-serving"}
          - name: big-runs
            class: training
            min_gpus: 16

    Raises
    ------
    UsageError
        Naming the file and the rule at fault.
    """
    import yaml

    try:
        doc = yaml.safe_load(open(path))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read the rules file: {exc}. It must be YAML with a 'rules:' list.",
                         path=path) from None
    items = (doc or {}).get("rules") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise UsageError("the rules file needs a top-level 'rules:' list of rules.", path=path)
    allowed = {"name", "class", "match", "min_gpus", "max_gpus", "min_hours", "max_hours"}
    rules = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise UsageError(f"rule {i} is not a mapping.", path=path)
        extra = set(item) - allowed
        if extra:
            bad = sorted(extra)[0]
            raise UsageError(f"rule {i} has unknown key '{bad}'.{suggest(bad, allowed)} Allowed: {sorted(allowed)}.",
                             path=path)
        cls = str(item.get("class", "")).lower()
        if cls not in WORKLOAD_CLASSES:
            raise UsageError(f"rule {i} has class '{item.get('class')}'.{suggest(cls, WORKLOAD_CLASSES)} Use one of "
                             f"{list(WORKLOAD_CLASSES)}.", path=path)
        try:
            for pattern in (item.get("match") or {}).values():
                re.compile(str(pattern))
        except re.error as exc:
            raise UsageError(f"rule {i} has an invalid regular expression: {exc}.", path=path) from None
        rules.append(Rule(name=str(item.get("name", f"rule{i}")), workload_class=cls,
                          match={str(k): str(v) for k, v in (item.get("match") or {}).items()},
                          **{k: float(item[k]) for k in ("min_gpus", "max_gpus", "min_hours", "max_hours")
                             if item.get(k) is not None}))
    return rules


@dataclass(frozen=True)
class Heuristic:
    """Thresholds of the documented heuristic (see the module docstring).

    Parameters
    ----------
    short_hours : float
        Runs shorter than this are sessions [h].
    service_days : float
        Runs at least this long on few GPUs are services [d].
    single_gpu_service_hours : float
        A single-GPU run at least this long is a service [h].
    small_gpus : float
        "Few GPUs" for sessions and services [GPU].
    """

    short_hours: float = 4.0
    service_days: float = 14.0
    single_gpu_service_hours: float = 24.0
    small_gpus: float = 8.0

    def apply(self, gpus: np.ndarray, hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        conds = [
            (hours < self.short_hours) & (gpus <= self.small_gpus),
            (hours >= self.service_days * 24) & (gpus <= self.small_gpus),
            gpus >= 2,
            hours >= self.single_gpu_service_hours,
        ]
        classes = ["experimentation", "inference", "training", "inference"]
        names = ["short_session", "always_on_service", "multi_gpu_run", "single_gpu_service"]
        cls = np.select(conds, classes, default="experimentation")
        how = np.select(conds, [f"heuristic:{n}" for n in names], default="heuristic:single_gpu_session")
        return cls.astype(object), how.astype(object)


def classify(runs: pd.DataFrame, *, tag_col: str | None = "workload_tag", gpus_col: str = "gpus",
             hours_col: str = "run_hours", rules: list[Rule] | str | PathLike | None = None,
             heuristic: Heuristic | None = None) -> pd.DataFrame:
    """Classify runs by tag, then user rules, then the heuristic.

    Parameters
    ----------
    runs : pandas.DataFrame
        One row per run with ``gpus_col`` [GPU] and ``hours_col`` [h], an optional tag column, and any columns
        the rules match on.
    tag_col : str or None
        Column with workload tag values; None when there are no tags.
    rules : list of Rule, or path of a YAML rules file, optional
    heuristic : Heuristic, optional
        Thresholds; the defaults are documented in the module docstring.

    Returns
    -------
    pandas.DataFrame
        ``runs`` with ``workload_class``, ``classified_by`` and ``unknown_tag`` (a tag was present but not a
        known class) added.
    """
    out = runs.copy()
    n = len(out)
    cls = np.full(n, None, dtype=object)
    how = np.full(n, None, dtype=object)
    unknown = np.zeros(n, dtype=bool)
    if tag_col is not None and tag_col in out.columns:
        tagged, unknown_tag = normalize_tag(out[tag_col])
        hit = tagged.notna().to_numpy()
        cls[hit] = tagged.to_numpy()[hit]
        how[hit] = "tag"
        unknown = unknown_tag.to_numpy(bool)
    if rules is not None and not isinstance(rules, list):
        rules = load_rules(rules)
    for rule in rules or []:
        todo = pd.isna(cls)
        if not todo.any():
            break
        m = rule.mask(out, gpus_col, hours_col) & todo
        cls[m] = rule.workload_class
        how[m] = f"rule:{rule.name}"
    todo = pd.isna(cls)
    if todo.any():
        h_cls, h_how = (heuristic or Heuristic()).apply(out[gpus_col].to_numpy(float)[todo],
                                                       out[hours_col].to_numpy(float)[todo])
        cls[todo] = h_cls
        how[todo] = h_how
    out["workload_class"] = cls
    out["classified_by"] = how
    out["unknown_tag"] = unknown
    return out
