"""Parameters of the quarterly commitment report, validated in one place.

papermill only *warns* on a parameter the notebook does not declare, so a misspelled ``--parameters quater
2027Q1`` would silently render the default quarter. The notebook's second cell therefore calls
:meth:`ReportParams.from_namespace`, which rejects unknown names (with the closest valid one), wrong types and
out-of-range values, naming the parameter and the fix.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from finops_forecast.errors import FinopsError, suggest

QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


class ReportParamsError(FinopsError):
    """A report parameter is unknown, of the wrong type or out of range."""


def quarter_bounds(quarter: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start (inclusive) and end (exclusive) of a quarter such as ``2027Q1``, in UTC."""
    m = QUARTER_RE.match(str(quarter))
    if not m:
        raise ReportParamsError(f"parameter 'quarter': '{quarter}' is not a quarter. Write it as YYYYQn with n in "
                                f"1-4, e.g. '2027Q1'.")
    start = pd.Timestamp(year=int(m.group(1)), month=3 * (int(m.group(2)) - 1) + 1, day=1, tz="UTC")
    return start, start + pd.DateOffset(months=3)


def next_quarter(ts: pd.Timestamp) -> str:
    """The quarter after the one containing ``ts`` (the quarter a report made now would plan)."""
    p = pd.Timestamp(ts).tz_localize(None).to_period("Q") + 1
    return f"{p.year}Q{p.quarter}"


class NotebookParams:
    """Construction and validation shared by the parameter sets of the notebooks (a dataclass mixin).

    Subclasses are frozen dataclasses with one field per notebook parameter and a :meth:`validate` method;
    papermill only warns on unknown parameters, so :meth:`from_namespace` is what rejects a typo.
    """

    # ------------------------------------------------------------------ construction and validation
    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> NotebookParams:
        """Build and validate from a mapping; unknown keys are an error naming the closest valid parameter."""
        names = cls.names()
        unknown = [k for k in values if k not in names]
        if unknown:
            k = unknown[0]
            raise ReportParamsError(f"unknown parameter '{k}'.{suggest(k, names)} Valid parameters: {names}.")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for k, v in values.items():
            kwargs[k] = _coerce(k, v, fields[k].type)
        params = cls(**kwargs)
        params.validate()
        return params

    @classmethod
    def from_namespace(cls, namespace: dict[str, Any]) -> NotebookParams:
        """Collect the parameters from a notebook's global namespace (after papermill injected its values).

        Every public, non-module, non-callable global is taken as a parameter, so a misspelled injected name is
        caught here rather than ignored.
        """
        import types

        skip = {"In", "Out", "get_ipython", "exit", "quit", "open"}
        values = {k: v for k, v in namespace.items()
                  if not k.startswith("_") and k not in skip and not isinstance(v, types.ModuleType)
                  and not callable(v)}
        return cls.from_mapping(values)

    @classmethod
    def from_yaml(cls, path) -> NotebookParams:
        """Read parameters from a YAML mapping (the CLI's ``--params FILE.yaml``)."""
        import yaml

        try:
            doc = yaml.safe_load(open(path)) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ReportParamsError(f"{path}: cannot read the parameters file: {exc}.") from None
        if not isinstance(doc, dict):
            raise ReportParamsError(f"{path}: the parameters file must be a YAML mapping of name: value.")
        return cls.from_mapping(doc)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.names()}

    def validate(self) -> None:  # pragma: no cover - each subclass checks its own ranges
        raise NotImplementedError


@dataclass(frozen=True)
class ReportParams(NotebookParams):
    """Settings of one quarterly report run (the notebook's ``parameters`` cell, one field each).

    Parameters
    ----------
    quarter : str
        Quarter to plan, ``YYYYQn``; ``"next"`` plans the quarter after the last hour of usage.
    usage : str
        ``"sample"`` for the bundled sample fleet, or a path (usage table CSV/Parquet, or a FOCUS export).
    pricing : str
        Extra pricing file(s) overriding the bundled catalog, comma-separated; ``""`` for the bundled one only.
    commitments : str
        File of commitments already owned (inventory); ``""`` for none.
    providers : str
        Comma-separated providers to include (``"aws,gcp"``); ``""`` for all.
    workload_classes : str
        Comma-separated workload classes to include; ``""`` for all.
    terms : str
        Commitment terms the optimizer may buy [months], comma-separated: "12,36", "12" or "36".
    quarters : int
        Quarters the plan covers (the ladder of purchases), 1-12.
    forecast_model : str
        Forecasting model: "auto" (per-series backtest selection), "seasonal_naive", "ets", "theta", ...
    lookback_days : int
        Window of the clouds' lookback rule shown for comparison [days], 7-90.
    risk_lambda : float
        Weight of CVaR in the objective (0 = minimize expected cost), >= 0.
    cvar_alpha : float
        CVaR level, in (0, 1), e.g. 0.9 = the mean of the worst 10% of scenarios.
    budget_usd : float
        Upfront budget for the quarter [USD]; 0 = no limit.
    planned_runs : str
        CSV of planned runs (start, duration_hours, gpus, provider, region, instance_type, workload_class), or
        ``"sample"`` for the sample's, or ``""`` for none.
    n_paths : int
        Forecast sample paths (scenarios), 10-5000.
    seed : int
        Random seed of the forecast paths.
    history_days : int
        Days of history shown in the demand charts, >= 7.
    output_dir : str
        Folder the notebook writes ``recommendations.csv`` and ``plan.json`` into ("." = beside the notebook).
    """

    quarter: str = "next"
    usage: str = "sample"
    pricing: str = ""
    commitments: str = ""
    providers: str = ""
    workload_classes: str = ""
    terms: str = "12,36"
    quarters: int = 12
    forecast_model: str = "auto"
    lookback_days: int = 30
    risk_lambda: float = 0.0
    cvar_alpha: float = 0.9
    budget_usd: float = 0.0
    planned_runs: str = "sample"
    n_paths: int = 100
    seed: int = 0
    history_days: int = 120
    output_dir: str = "."

    def validate(self) -> None:
        """Raise :class:`ReportParamsError` naming the first parameter that is out of range."""
        if self.quarter != "next":
            quarter_bounds(self.quarter)
        if self.usage != "sample" and not Path(self.usage).exists():
            raise ReportParamsError(f"parameter 'usage': file '{self.usage}' does not exist. Give the path of a "
                                    f"usage table or FOCUS export, or 'sample' for the bundled sample fleet.")
        for name in ("commitments",):
            value = getattr(self, name)
            if value and not Path(value).exists():
                raise ReportParamsError(f"parameter '{name}': file '{value}' does not exist.")
        for value in filter(None, (p.strip() for p in self.pricing.split(","))):
            if not Path(value).exists():
                raise ReportParamsError(f"parameter 'pricing': file '{value}' does not exist. Leave it empty to "
                                        f"use the bundled catalog.")
        if self.planned_runs not in ("", "sample") and not Path(self.planned_runs).exists():
            raise ReportParamsError(f"parameter 'planned_runs': file '{self.planned_runs}' does not exist; use "
                                    f"'' for none or 'sample'.")
        from finops_forecast.forecast import MODELS
        if self.forecast_model != "auto" and self.forecast_model not in MODELS:
            raise ReportParamsError(f"parameter 'forecast_model': unknown model '{self.forecast_model}'."
                                    f"{suggest(self.forecast_model, list(MODELS) + ['auto'])} Use 'auto' or one "
                                    f"of {sorted(MODELS)}.")
        from finops_forecast.usage.schema import WORKLOAD_CLASSES
        for cls_name in self.class_list():
            if cls_name not in WORKLOAD_CLASSES:
                raise ReportParamsError(f"parameter 'workload_classes': unknown class '{cls_name}'."
                                        f"{suggest(cls_name, WORKLOAD_CLASSES)} Use {list(WORKLOAD_CLASSES)}.")
        checks = [
            ("terms", bool(self.term_list()) and set(self.term_list()) <= {12, 36},
             "must list 12 and/or 36, e.g. '12,36'"),
            ("quarters", 1 <= self.quarters <= 12, "must be between 1 and 12"),
            ("lookback_days", 7 <= self.lookback_days <= 90, "must be between 7 and 90"),
            ("risk_lambda", self.risk_lambda >= 0, "must be >= 0"),
            ("cvar_alpha", 0 < self.cvar_alpha < 1, "must be in (0, 1), e.g. 0.9"),
            ("budget_usd", self.budget_usd >= 0, "must be >= 0 (0 means no limit)"),
            ("n_paths", 10 <= self.n_paths <= 5000, "must be between 10 and 5000"),
            ("history_days", self.history_days >= 7, "must be >= 7"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise ReportParamsError(f"parameter '{name}' = {getattr(self, name)!r} {rule}.")

    # ------------------------------------------------------------------ helpers
    def provider_list(self) -> list[str]:
        return [p.strip().lower() for p in self.providers.split(",") if p.strip()]

    def class_list(self) -> list[str]:
        return [c.strip().lower() for c in self.workload_classes.split(",") if c.strip()]

    def term_list(self) -> list[int]:
        try:
            return [int(t) for t in str(self.terms).split(",") if t.strip()]
        except ValueError:
            return []

    def pricing_files(self) -> list[str]:
        return [p.strip() for p in self.pricing.split(",") if p.strip()]


def _coerce(name: str, value: Any, typ: Any) -> Any:
    """Convert a parameter value to its declared type, or raise naming the parameter."""
    typ = {"str": str, "int": int, "float": float}.get(typ, typ) if isinstance(typ, str) else typ
    if typ is str:
        if value is None:
            return ""
        if isinstance(value, (list, tuple)):
            return ",".join(map(str, value))
        return str(value)
    try:
        if typ is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if typ is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
    except (TypeError, ValueError):
        raise ReportParamsError(f"parameter '{name}' = {value!r} is not a{'n' if typ is int else ''} "
                                f"{typ.__name__}.") from None
    return value
