"""Parameters of the ``policy_backtest.ipynb`` notebook, validated in one place.

papermill only warns on unknown parameters, so the notebook's second cell calls :func:`validate_params` with
every name of its ``parameters`` cell: a typo (``n_path=``) is an error that lists the valid names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from finops_forecast.errors import unknown_name
from finops_forecast.notebook_params import NotebookParams, param
from finops_forecast.evaluate.rolling import POLICIES, EvaluateError, parse_hours
from finops_forecast.pricing.outlook import check_outlook

__all__ = ["BacktestParams", "params_from_namespace", "validate_params"]


@dataclass(frozen=True)
class BacktestParams(NotebookParams):
    """Notebook parameters.

    Parameters
    ----------
    traces : str
        Comma-separated trace names (philly, alibaba-dlrm).
    policies : str
        Comma-separated policies.
    decision_every, term, lookback : str
        Durations for every trace ("" keeps each trace's default of ``bench/bench_backtest.py``).
    n_paths : int
        Forecast sample paths per series.
    max_windows : int
        Windows per trace (0: every full window).
    seed : int
        Forecast seed.
    price_outlook : str
        Prices over the backtest: "flat", "history" or an outlook CSV (:class:`~finops_forecast.evaluate.rolling.
        BacktestSettings`).
    results_dir : str
        Folder of the committed benchmark results shown beside the fresh run ("" to skip).
    """

    error: ClassVar[type] = EvaluateError

    traces: str = param("philly,alibaba-dlrm", "traces to backtest, comma-separated: philly, alibaba-dlrm")
    policies: str = param(",".join(POLICIES), "policies to compare, comma-separated")
    decision_every: str = param("", "time between decisions such as 7D; empty keeps each trace's default")
    term: str = param("", "how long a purchase is held such as 7D; empty keeps each trace's default")
    lookback: str = param("", "history of the lookback policy such as 14D; empty keeps each trace's default")
    n_paths: int = param(100, "forecast sample paths per series")
    max_windows: int = param(0, "windows per trace, 0 for every full window")
    seed: int = param(0, "forecast random seed")
    price_outlook: str = param("flat", 'prices over the backtest: "flat" (the catalog\'s), "history" (expected path '
                                       'of the fitted price history, or a "history:hazard..." variant with your '
                                       'odds and size of a cut, docs/pricing.md) or an outlook CSV')
    results_dir: str = param("", "folder of the committed bench results to show beside this run, empty to skip")

    def __post_init__(self):
        from finops_forecast.evaluate.traces import TRACE_MAPPINGS

        if not self.trace_list:
            raise EvaluateError("traces is empty: pass e.g. 'philly,alibaba-dlrm'.")
        for t in self.trace_list:
            if t not in TRACE_MAPPINGS:
                raise unknown_name("trace", t, TRACE_MAPPINGS)
        for p in self.policy_list:
            if p not in POLICIES:
                raise unknown_name("policy", p, POLICIES)
        for n in ("decision_every", "term", "lookback"):
            if getattr(self, n):
                parse_hours(getattr(self, n), n)
        for n in ("n_paths", "max_windows", "seed"):
            v = getattr(self, n)
            if isinstance(v, bool) or not isinstance(v, int):
                raise EvaluateError(f"{n} must be a whole number, got {v!r}.")
        check_outlook(self.price_outlook)
        if self.n_paths < 1:
            raise EvaluateError(f"n_paths must be >= 1, got {self.n_paths}.")
        if self.max_windows < 0:
            raise EvaluateError(f"max_windows must be >= 0 (0: every window), got {self.max_windows}.")

    @property
    def trace_list(self) -> list:
        return [t.strip() for t in str(self.traces).split(",") if t.strip()]

    @property
    def policy_list(self) -> list:
        return [p.strip() for p in str(self.policies).split(",") if p.strip()]


def validate_params(values: dict) -> BacktestParams:
    """Check notebook parameters and return them as :class:`BacktestParams`.

    Parameters
    ----------
    values : dict
        Name -> value, every name of the notebook's ``parameters`` cell.

    Raises
    ------
    UnknownNameError
        A name that is not a parameter (lists the valid ones).
    EvaluateError
        A value that is not valid.
    """
    return BacktestParams.from_mapping(values)


def params_from_namespace(namespace: dict) -> BacktestParams:
    """Collect and validate the parameters from a notebook's globals (after papermill injected its values)."""
    return BacktestParams.from_namespace(namespace)
