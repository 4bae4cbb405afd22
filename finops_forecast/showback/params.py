"""Parameters of the showback notebook and CLI, validated in one place.

papermill only warns on a parameter the notebook does not declare; the notebook's second cell calls
:func:`validate_params`, which rejects unknown names (naming the closest valid one), wrong types and out-of-range
values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from finops_forecast.notebook_params import NotebookParams, param
from finops_forecast.showback.common import ShowbackError, period_bounds

# names the showback notebook itself assigns (so re-running its cells does not reject them as parameters)
NOTEBOOK_VARIABLES = frozenset({"params", "inputs", "result", "figures", "note"})


@dataclass(frozen=True)
class ShowbackParams(NotebookParams):
    """One showback run.

    Parameters
    ----------
    period : str
        Month ``YYYY-MM`` or quarter ``YYYYQn``.
    usage : str
        Usage table or FOCUS export path, ``sample`` (bundled sample fleet) or ``dlrm`` (the Alibaba DLRM trace
        from the shared datasets, priced at an assumed pool).
    pricing : str
        Extra pricing file(s), comma-separated; empty for the bundled catalog.
    metrics : str
        GPU metrics file(s) (DCGM Prometheus text or CSV, nvidia-smi CSV), comma-separated; empty for none.
    inventory, owners, runs, requests : str
        CSV files (GPU inventory, pod owners, run records, request counts); empty for none.
    idle_threshold_pct : float
        Utilization under which a GPU is idle [%], 0-100.
    idle_min_hours : float
        Shortest idle stretch reported [h], > 0.
    rightsize_util_pct : float
        Utilization under which a large-GPU inference pool gets a rightsizing hint [%], 0-100.
    top : int
        Number of top cost drivers, 1-100.
    """

    error: ClassVar[type] = ShowbackError
    notebook_variables: ClassVar[frozenset] = NOTEBOOK_VARIABLES

    period: str = param("2026-10", "month YYYY-MM or quarter YYYYQn to show back")
    usage: str = param("sample", 'usage table or FOCUS export path; "sample" (bundled fleet) or "dlrm" (Alibaba '
                                 'DLRM trace)')
    pricing: str = param("", "extra pricing file(s), comma-separated; empty for the bundled catalog")
    metrics: str = param("", "GPU metrics files (DCGM Prometheus text or CSV, nvidia-smi CSV), comma-separated; "
                             "empty for none")
    inventory: str = param("", "GPU inventory CSV (uuid, provider, region, instance_type); needed with metrics")
    owners: str = param("", "pod owners CSV (namespace or pod_prefix to team, workload_class, model); empty for none")
    runs: str = param("", "run records CSV (run_id, team, model, experiment, start, end, gpus, pool); empty for none")
    requests: str = param("", "request counts CSV (ts, model or team, requests); empty for none")
    idle_threshold_pct: float = param(5.0, "a GPU under this utilization is idle [%], 0-100")
    idle_min_hours: float = param(2.0, "shortest idle stretch reported [h], above 0")
    rightsize_util_pct: float = param(15.0,
                                      "large-GPU inference pools under this utilization get a rightsizing hint [%]")
    top: int = param(10, "number of top cost drivers, 1-100")

    def validate(self) -> ShowbackParams:
        period_bounds(self.period)
        for name, lo, hi in (("idle_threshold_pct", 0, 100), ("rightsize_util_pct", 0, 100), ("top", 1, 100)):
            v = getattr(self, name)
            if not lo <= v <= hi:
                raise ShowbackError(f"parameter {name} = {v} is outside {lo}-{hi}.", column=name)
        if self.idle_min_hours <= 0:
            raise ShowbackError(f"parameter idle_min_hours = {self.idle_min_hours} must be > 0 [h].",
                                column="idle_min_hours")
        if self.metrics and not self.inventory:
            raise ShowbackError("metrics need an inventory file (uuid, provider, region, instance_type) to be "
                                "priced; set inventory.", column="inventory")
        return self


def validate_params(values: dict | None = None, **kwargs) -> ShowbackParams:
    """Build and validate :class:`ShowbackParams` from a mapping (or a notebook's ``globals()``) and keywords.

    Public, non-module, non-callable names are taken as parameters, so a misspelled papermill parameter is
    rejected here instead of being ignored.

    Raises
    ------
    UnknownNameError
        For a name that is not a parameter, with the closest valid one.
    ShowbackError
        For a wrong type or an out-of-range value, naming the parameter.
    """
    return ShowbackParams.from_namespace({**(values or {}), **kwargs})
