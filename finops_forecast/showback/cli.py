"""``finops-forecast showback``: what each team, model and run costs, and where GPUs sit idle."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from finops_forecast._cli_util import fail
from finops_forecast._io import write_frame
from rich.console import Console
from rich.table import Table

from finops_forecast.errors import FinopsError


def _money(v) -> str:
    return "-" if pd.isna(v) else f"{v:,.0f}"


def _table(title: str, frame, cols: dict, console: Console, limit: int = 20) -> None:
    t = Table(title=title)
    for label in cols:
        t.add_column(label, justify="left" if cols[label][1] is None else "right")
    for r in frame.head(limit).to_dict("records"):
        t.add_row(*[(str(r[c]) if fmt is None else fmt(r[c])) for c, fmt in cols.values()])
    console.print(t)


def _pct(v) -> str:
    return "-" if pd.isna(v) else f"{v:.1%}"


def _num(v) -> str:
    return "-" if pd.isna(v) else f"{v:,.1f}"


def showback_cmd(
    period: str = typer.Option(..., help="month YYYY-MM (e.g. 2026-10) or quarter YYYYQn"),
    usage: str = typer.Option("sample", help="usage table / FOCUS export path, 'sample' or 'dlrm' "
                                             "(the Alibaba DLRM trace from the shared datasets)"),
    pricing: str = typer.Option("", help="extra pricing file(s), comma-separated"),
    metrics: str = typer.Option("", help="GPU metrics: DCGM Prometheus text / CSV or nvidia-smi CSV, "
                                         "comma-separated"),
    inventory: str = typer.Option("", help="GPU inventory CSV: uuid, provider, region, instance_type [, team, "
                                           "workload_class, model]"),
    owners: str = typer.Option("", help="pod owners CSV: namespace and/or pod_prefix -> team, "
                                        "workload_class, model"),
    runs: str = typer.Option("", help="run records CSV (run_id, team, model, experiment, start, end, gpus, "
                                      "pool)"),
    requests: str = typer.Option("", help="request counts CSV (ts, model or team, requests)"),
    idle_threshold_pct: float = typer.Option(5.0, help="a GPU under this utilization is idle [%]"),
    idle_min_hours: float = typer.Option(2.0, help="shortest idle stretch reported [h]"),
    rightsize_util_pct: float = typer.Option(15.0, help="rightsize large-GPU inference under this "
                                                       "utilization [%]"),
    top: int = typer.Option(10, help="number of top cost drivers"),
    out: Path | None = typer.Option(None, help="folder to write every table as CSV"),
):
    """Showback of a period: cost per team and model in business terms, top cost drivers, idle share,
    unit costs, guardrail flags and rightsizing hints."""
    from finops_forecast.showback.api import showback
    from finops_forecast.showback.io import load_inputs
    from finops_forecast.showback.params import validate_params

    console = Console(width=160)
    try:
        p = validate_params(period=period, usage=usage, pricing=pricing, metrics=metrics, inventory=inventory,
                            owners=owners, runs=runs, requests=requests, idle_threshold_pct=idle_threshold_pct,
                            idle_min_hours=idle_min_hours, rightsize_util_pct=rightsize_util_pct, top=top)
        if out is not None:
            from finops_forecast._files import check_output_dir
            check_output_dir(out, "--out")
        inp = load_inputs(p)
        res = showback(inp["usage"], inp["catalog"], period=p.period, metrics=inp.get("metrics"),
                       runs=inp.get("runs"), requests=inp.get("requests"),
                       idle_threshold_pct=p.idle_threshold_pct, idle_min_hours=p.idle_min_hours,
                       rightsize_util_pct=p.rightsize_util_pct, top=p.top)
    except FinopsError as exc:
        fail(exc)
    _print_costs(res, p, console)
    if res.idle is not None:
        _print_idle(res, p, console)
    _print_flags(res, console)
    for note in (*inp["notes"], *res.notes):
        console.print(f"note: {note}")
    if out:
        _write_tables(res, out, console)


def _print_costs(res, p, console: Console) -> None:
    """The headline, the business statements and the cost tables (team, model, top drivers, weekly, per
    inference)."""
    console.print(f"[bold]GPU showback {res.period}[/]: {res.total_cost:,.0f} USD, "
                  f"{res.priced['gpu_hours'].sum():,.0f} GPU-h; unallocated {res.unallocated_cost:,.0f} USD"
                  + (f"; idle share of metered GPUs {res.idle_share:.1%}" if res.idle_share is not None
                     else ""))
    for line in res.statements["text"].head(15):
        console.print(f"  {line}")
    _table("Cost by team and workload class", res.by_team,
           {"team": ("team", None), "class": ("workload_class", None), "GPU-h": ("gpu_hours", _num),
            "cost [USD]": ("gpu_cost", _money), "USD/GPU-h": ("usd_per_gpu_hour", lambda v: f"{v:.2f}"),
            "share": ("share", _pct)}, console)
    if (res.by_model["model"] != "__unallocated__").any():
        _table("Cost by model (models without a label or run: __unallocated__)", res.by_model,
               {"team": ("team", None), "model": ("model", None), "class": ("workload_class", None),
                "GPU-h": ("gpu_hours", _num), "cost [USD]": ("gpu_cost", _money), "share": ("share", _pct)},
               console, 15)
    _table(f"Top {p.top} cost drivers", res.top_drivers,
           {"#": ("rank", str), "owner (team)": ("team", None), "class": ("workload_class", None),
            "provider": ("provider", None), "region": ("region", None), "instance": ("instance_type", None),
            "cost [USD]": ("gpu_cost", _money), "share": ("share", _pct)}, console, p.top)
    wk = res.weekly.sort_values(["week", "gpu_cost"], ascending=[True, False])
    _table("Weekly cost by team (week-over-week change)", wk.assign(week=wk["week"].dt.strftime("%Y-%m-%d")),
           {"week": ("week", None), "team": ("team", None), "cost [USD]": ("gpu_cost", _money),
            "change": ("wow_change", _pct)}, console, 40)
    if res.inference is not None:
        _table("Cost per 1,000 inferences", res.inference.assign(week=res.inference["week"].dt.strftime("%F")),
               {"week": ("week", None), "name": ("name", None), "requests": ("requests", _money),
                "cost [USD]": ("gpu_cost", _money), "USD/1k": ("usd_per_1k_inferences", lambda v: f"{v:.4f}"),
                "change": ("wow_change", _pct)}, console, 40)


def _print_idle(res, p, console: Console) -> None:
    """Idle cost by team x class, the idle GPUs and the rightsizing hints (with GPU metrics only)."""
    _table("Idle cost (allocated but unused GPU-hours)", res.idle,
           {"team": ("team", None), "class": ("workload_class", None), "GPU-h": ("gpu_hours", _num),
            "idle GPU-h": ("idle_gpu_hours", _num), "cost [USD]": ("gpu_cost", lambda v: f"{v:,.2f}"),
            "gpu_cost_idle [USD]": ("gpu_cost_idle", lambda v: f"{v:,.2f}"), "idle rate": ("idle_rate", _pct)},
           console)
    _table(f"Idle GPUs (under {p.idle_threshold_pct:g}% for {p.idle_min_hours:g} h or more)",
           res.idle_resources,
           {"GPU": ("gpu_id", None), "team": ("team", None), "pod": ("pod", None),
            "idle h": ("idle_hours", _num), "detected after h": ("hours_until_detection", _num),
            "cost [USD]": ("gpu_cost_idle", lambda v: f"{v:,.2f}")}, console)
    if len(res.rightsizing):
        for msg in res.rightsizing["message"]:
            console.print(f"rightsizing: {msg}")


def _print_flags(res, console: Console) -> None:
    """The guardrail flags (at most 30), or a line saying there are none."""
    if len(res.flags):
        for msg in res.flags["message"].head(30):
            console.print(f"[yellow]flag:[/] {msg}")
    else:
        console.print("no guardrail flags.")


def _write_tables(res, out: Path, console: Console) -> None:
    """Every table of the showback as ``showback_<period>_<name>.csv`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("by_team", "by_model", "top_drivers", "weekly", "statements", "flags", "inference",
                 "runs", "unit_costs", "idle", "idle_resources", "rightsizing"):
        frame = getattr(res, name)
        if frame is not None:
            write_frame(frame, out / f"showback_{res.period}_{name}.csv")
    console.print(f"wrote CSV tables to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``showback`` command to the ``finops-forecast`` typer app."""
    app.command("showback")(showback_cmd)
