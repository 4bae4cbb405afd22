"""Parameters of the quarterly commitment report, validated in one place.

papermill only *warns* on a parameter the notebook does not declare, so a misspelled ``--parameters quater
2027Q1`` would silently render the default quarter. The notebook's second cell therefore calls
:meth:`ReportParams.from_namespace`, which rejects unknown names (with the closest valid one), wrong types and
out-of-range values, naming the parameter and the fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from finops_forecast.errors import FinopsError, suggest
from finops_forecast.notebook_params import NotebookParams, param
from finops_forecast.pricing.schema import PAYMENT_OPTIONS

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


@dataclass(frozen=True)
class ReportParams(NotebookParams):
    """Settings of one quarterly report run (the notebook's ``parameters`` cell, one field each).

    Unknown names, wrong types and out-of-range values raise :class:`ReportParamsError`.

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
    commitment_utilization_threshold : float
        Utilization in [0, 1] below which an owned commitment of a FOCUS ``commitments`` file is flagged.
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
        Weight of the expected unused commitment in the objective (each unused dollar counts ``1 + risk_lambda``;
        0 = minimize expected cost), >= 0.
    price_outlook : str
        Future prices: "flat", "history" (scenarios fitted on the bundled price history), "history:hazard=H,cut=C"
        (that model with the user's monthly probability of a cut and / or its size) or an outlook CSV.
    migration : str
        Demand moving to a newer GPU generation per year: "0" (default: none assumed, the fast report), "rule"
        (0.3 a year where the provider prices a newer generation; adds successor pools, about 9 s on the sample)
        or shares like "p5.48xlarge:0.3,*:0.1" ("" is none too).
    min_utilization_p10 : float
        Least 10th-percentile utilization of every purchase, in [0, 1]; 0 = no limit.
    max_three_year_share : float
        Largest share of the commitment USD/h bought in a quarter with a 36-month term, in [0, 1]; 1 = no limit.
    max_obligation_usd : float
        Largest total obligation of the planned purchases [USD]; 0 = no limit.
    recourse : bool
        Two-stage plan: from month 12 each scenario group, formed from its first year's demand, re-decides its
        12-month single-pool terms (:class:`~finops_forecast.portfolio.PortfolioConfig` ``recourse``); False
        (default): one purchase schedule for every scenario. On the sample it makes the frontier's re-solves
        ~2.5x slower (the render ~40 s instead of ~26 s), hence opt-in.
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
    track_record_weeks : int
        Weeks of recent usage on which the forecast-driven rule and the clouds' lookback rule are replayed
        (a rolling backtest, one decision a week), 0-26; 0 skips the section.
    integer_units : bool
        Whole units (True, the default): reserved instances and reservations in instances, GCP resource CUDs in
        GPUs, spend plans in whole USD/h, so every line can be bought as written; False for fractional
        quantities (exploration).
    payment_options : str
        Payment options the optimizer may choose, comma-separated: no_upfront, partial_upfront, all_upfront.
    cost_of_capital : float
        Annual rate at which upfront payments are discounted against monthly ones when payment options are
        compared (their equivalent hourly rate) [1/year], 0-1, default 0.08.
    workers : int
        Processes the report may use, 1-2: with 2 the track record runs on a Dask worker process beside the
        plan's forecast and optimization (about 10 s less on two cores, the same numbers); 1 runs it in the
        notebook's process.
    capacity_pricing : str
        Capacity products file (full rows or neocloud contracts: term_weeks, usd_per_gpu_hour), added to the
        bundled ``pricing/capacity_products.csv``; ``""`` for the bundled ones only.
    capacity_delay_days : float
        Days a planned run waits when its on-demand or spot capacity is not there [d], >= 0.
    capacity_delay_cost_usd_per_day : float
        Cost of one day of delay [USD/d], >= 0; 0 means the run's own on-demand cost per day.
    output_dir : str
        Folder the notebook writes ``recommendations.csv`` and ``plan.json`` into ("." = beside the notebook).
    """

    error: ClassVar[type] = ReportParamsError
    unknown_error: ClassVar[type] = ReportParamsError

    quarter: str = param("next", 'quarter to plan, YYYYQn (e.g. 2027Q1), or "next" for the quarter after the '
                                 'usage ends')
    usage: str = param("sample", 'usage table or FOCUS export (CSV/Parquet path), or "sample" for the bundled '
                                 'sample fleet')
    pricing: str = param("", "extra pricing file(s) overriding the bundled catalog, comma-separated; empty for the "
                             "bundled catalog only")
    commitments: str = param("", "file of commitments already owned (inventory CSV or FOCUS export); empty for none")
    commitment_utilization_threshold: float = param(0.9, "utilization below which an owned commitment is flagged in "
                                                         "'How your commitments performed', in [0, 1]")
    providers: str = param("", 'providers to include, comma-separated (e.g. "aws,gcp"); empty for all')
    workload_classes: str = param("", "workload classes to include, comma-separated; empty for all")
    terms: str = param("12,36", "commitment terms the optimizer may buy [months], comma-separated")
    quarters: int = param(12, "quarters the plan covers (the ladder of purchases), 1-12")
    forecast_model: str = param("auto", "forecasting model: auto (per-series backtest selection), seasonal_naive, "
                                        "ets, theta, level_bursts")
    lookback_days: int = param(30, "window of the clouds' lookback rule shown for comparison [days], 7-90")
    risk_lambda: float = param(0.0, "weight of the expected unused commitment in the objective, at least 0 (0 "
                                    "minimizes expected cost)")
    cvar_alpha: float = param(0.9, "CVaR level in (0, 1): 0.9 means the mean of the worst 10% of scenarios")
    budget_usd: float = param(0.0, "upfront budget per quarter [USD]; 0 for no limit")
    price_outlook: str = param("history", 'future prices: "flat" (today\'s), "history" (fitted on the bundled price '
                                          'history), a "history:hazard..." variant (your monthly odds and size of a '
                                          'cut, docs/pricing.md) or a CSV provider,instance_type,pricing_model,effective_from,'
                                          'multiplier')
    migration: str = param("0", 'demand share per year moving to a newer GPU generation: "0" for none, "rule" '
                                '(0.3 where the provider prices a newer one; slower), or shares like '
                                '"p5.48xlarge:0.3,*:0.1"')
    min_utilization_p10: float = param(0.0, "least 10th-percentile utilization of every purchase, 0-1; 0 for no "
                                            "limit")
    max_three_year_share: float = param(1.0, "largest share of 36-month terms in a quarter's purchases [USD/h], "
                                             "0-1; 1 for no limit")
    max_obligation_usd: float = param(0.0, "largest total obligation of the planned purchases [USD]; 0 for no "
                                           "limit")
    recourse: bool = param(False, "two-stage plan: from month 12 each demand scenario re-decides its 12-month "
                                  "terms, so a 1-year term counts its option to renew or not (slower: the frontier "
                                  "takes ~2.5x as long); False: one purchase schedule for every scenario")
    planned_runs: str = param("sample", 'CSV of planned runs (start, duration_hours, gpus, pool, class); "sample"; '
                                        'empty for none')
    n_paths: int = param(100, "forecast sample paths (scenarios), 10-5000")
    seed: int = param(0, "random seed of the forecast paths")
    history_days: int = param(120, "days of history shown in the demand charts")
    track_record_weeks: int = param(8, "weeks of recent usage on which the forecast and the clouds' lookback rule "
                                       "are replayed, one purchase a week, 0-26; 0 skips the track record")
    integer_units: bool = param(True, "whole units (instances, GPUs, whole USD/h) as bought; False for "
                                      "fractional quantities (exploration)")
    payment_options: str = param("no_upfront", "payment options the optimizer may choose, comma-separated: "
                                               "no_upfront, partial_upfront, all_upfront")
    cost_of_capital: float = param(0.08, "annual rate discounting upfront against monthly payments when payment "
                                         "options are compared [1/year], 0-1")
    workers: int = param(2, "processes the report may use, 1-2: with 2 the track record is replayed on a Dask "
                            "worker beside the plan's computation; 1 computes everything in this process")
    capacity_pricing: str = param("", "capacity products file (Capacity Block quotes, neocloud reserved contracts in "
                                      "weeks), added to the bundled ones; empty for the bundled ones only")
    capacity_delay_days: float = param(7.0, "days a planned run waits when on-demand or spot capacity is not there")
    capacity_delay_cost_usd_per_day: float = param(0.0, "cost of a day of delay of a planned run [USD]; 0 for the "
                                                        "run's own on-demand cost per day")
    output_dir: str = param(".", "folder for recommendations.csv and plan.json")

    def validate(self) -> None:
        """Raise :class:`ReportParamsError` naming the first parameter that is out of range."""
        if self.quarter != "next":
            quarter_bounds(self.quarter)
        if self.usage != "sample" and not Path(self.usage).exists():
            raise ReportParamsError(f"parameter 'usage': file '{self.usage}' does not exist. Give the path of a "
                                    f"usage table or FOCUS export, or 'sample' for the bundled sample fleet.")
        if not 0.0 <= self.commitment_utilization_threshold <= 1.0:
            raise ReportParamsError("parameter 'commitment_utilization_threshold': must be in [0, 1] (0.9 flags "
                                    "commitments used less than 90%).")
        self._check_files()
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
            ("price_outlook", self._names_outlook(),
             "must be 'flat', 'history', 'history:hazard=0.05,cut=0.45' (the history's model with your monthly "
             "probability of a cut and / or its size) or an existing outlook CSV"),
            ("min_utilization_p10", 0 <= self.min_utilization_p10 <= 1, "must be in [0, 1] (0 means no limit)"),
            ("min_utilization_p10", not (self.min_utilization_p10 > 0 and self.recourse),
             "needs recourse = False (the minimum utilization is checked on one purchase schedule for every "
             "scenario); set recourse to False or min_utilization_p10 to 0"),
            ("max_three_year_share", 0 <= self.max_three_year_share <= 1, "must be in [0, 1] (1 means no limit)"),
            ("max_obligation_usd", self.max_obligation_usd >= 0, "must be >= 0 (0 means no limit)"),
            ("n_paths", 10 <= self.n_paths <= 5000, "must be between 10 and 5000"),
            ("history_days", self.history_days >= 7, "must be >= 7"),
            ("track_record_weeks", 0 <= self.track_record_weeks <= 26, "must be between 0 and 26 (0 skips it)"),
            ("payment_options", bool(self.payment_list()) and set(self.payment_list()) <= set(PAYMENT_OPTIONS),
             f"must list some of {list(PAYMENT_OPTIONS)}, comma-separated"),
            ("cost_of_capital", 0 <= self.cost_of_capital <= 1, "must be an annual rate in [0, 1], e.g. 0.08"),
            ("capacity_delay_days", self.capacity_delay_days >= 0, "must be >= 0 [days]"),
            ("capacity_delay_cost_usd_per_day", self.capacity_delay_cost_usd_per_day >= 0,
             "must be >= 0 [USD per day] (0 = the run's on-demand cost per day)"),
            ("workers", 1 <= self.workers <= 2, "must be 1 (everything in this process) or 2 (the track record on "
                                                 "a Dask worker beside it)"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise ReportParamsError(f"parameter '{name}' = {getattr(self, name)!r} {rule}.")

    def _names_outlook(self) -> bool:
        """Whether ``price_outlook`` names an outlook; a ``history:`` form's fault raises naming the parameter."""
        from finops_forecast.pricing.outlook import parse_outlook
        try:
            given = parse_outlook(self.price_outlook)
        except ValueError as e:
            raise ReportParamsError(f"parameter 'price_outlook': {e}") from None
        return self.price_outlook == "flat" or given is not None or Path(self.price_outlook).is_file()

    def _check_files(self) -> None:
        """The input files must exist, be files and not be empty; ``output_dir`` must not be a file."""
        from finops_forecast._files import check_input_file

        fixes = {"commitments": "Give an inventory CSV or FOCUS export, or '' for none.",
                 "pricing": "Give a price CSV, or leave it empty to use the bundled catalog.",
                 "planned_runs": "Give a CSV of planned runs, '' for none or 'sample'.",
                 "capacity_pricing": "Give a capacity products CSV, or '' for the bundled ones only."}
        files = [("commitments", self.commitments), ("capacity_pricing", self.capacity_pricing)] + [
            ("pricing", p) for p in self.pricing_files()]
        if self.planned_runs != "sample":
            files.append(("planned_runs", self.planned_runs))
        for name, value in files:
            if value:
                check_input_file(value, f"parameter '{name}'", ReportParamsError, fixes[name])
        if Path(self.output_dir).is_file():
            raise ReportParamsError(f"parameter 'output_dir': '{self.output_dir}' is a file, not a folder. Give "
                                    "a folder ('.' = beside the notebook).")

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

    def payment_list(self) -> list[str]:
        return [p.strip() for p in str(self.payment_options).split(",") if p.strip()]

    def pricing_files(self) -> list[str]:
        return [p.strip() for p in self.pricing.split(",") if p.strip()]

