"""Commands of the forecasting stage, added to the ``finops-forecast`` app by :func:`register`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from finops_forecast._cli_util import fail

__all__ = ["forecast_cmd", "forecast_cv_cmd", "register"]


def _load(path: Optional[Path], sample: bool, trace: Optional[str]):
    from finops_forecast.errors import FinopsError
    from finops_forecast.usage.load import load_usage

    if sample:
        return load_usage("sample")[0]
    if trace:
        from finops_forecast.forecast.traces import load_trace

        return load_trace(trace)
    if path is None:
        raise FinopsError("give a usage table PATH, --sample or --trace philly|alibaba-dlrm.")
    return load_usage(path, kind="usage")[0]


def _write(frame, out: Path) -> None:
    from finops_forecast._io import write_frame

    out.parent.mkdir(parents=True, exist_ok=True)
    write_frame(frame, out)


def _write_paths(paths, out: Path) -> Path:
    """Save the sample paths (numpy array) as ``.npy`` whole or not at all (``.npy`` is appended as
    ``numpy.save`` does)."""
    import numpy as np

    from finops_forecast._io import atomic_write

    out = Path(out)
    if out.suffix != ".npy":
        out = out.with_name(out.name + ".npy")

    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, paths)

    return atomic_write(out, writer)


def forecast_cmd(
    path: Optional[Path] = typer.Argument(None, help="usage table (.csv or .parquet)"),
    sample: bool = typer.Option(False, "--sample", help="forecast the bundled sample fleet"),
    trace: Optional[str] = typer.Option(None, help="forecast a real trace: philly | alibaba-dlrm"),
    horizon: int = typer.Option(2208, help="steps to forecast (hours for --freq h; 2208 = a quarter)"),
    freq: str = typer.Option("h", help="h | D"),
    models: str = typer.Option("auto", help="auto, a model name, or comma-separated candidates"),
    n_paths: int = typer.Option(200, help="sample paths per series"),
    seed: int = typer.Option(0, help="random seed"),
    engine: str = typer.Option("local", help="local | dask"),
    address: Optional[str] = typer.Option(None, help="dask scheduler address (default: a LocalCluster)"),
    planned: Optional[Path] = typer.Option(None, help="CSV of planned runs (start, duration_hours, gpus, "
                                                      "provider, region, instance_type, workload_class)"),
    out: Optional[Path] = typer.Option(None, help="write the forecasts table (.csv or .parquet)"),
    paths_out: Optional[Path] = typer.Option(None, help="write the sample paths (.npy, series x path x step)"),
):
    """Forecast GPU demand per pool x workload class, with intervals and sample paths."""
    from rich.console import Console

    from finops_forecast.errors import FinopsError
    from finops_forecast.forecast import forecast

    console = Console()
    try:
        from finops_forecast._files import check_output_file, read_csv_checked
        for value, what in ((out, "--out"), (paths_out, "--paths-out")):
            if value is not None:
                check_output_file(value, what)
        runs = read_csv_checked(planned, "--planned") if planned else None
        usage = _load(path, sample, trace)
        names = models.split(",") if "," in models else models
        r = forecast(usage, horizon, freq=freq, models=names, n_paths=n_paths, seed=seed, engine=engine,
                     address=address, planned_runs=runs)
    except (FinopsError, FileNotFoundError) as exc:
        fail(exc)
    console.print(_selection_table(r))
    if out:
        _write(r.forecasts, out)
        console.print(f"forecasts written to {out}")
    if paths_out:
        paths_out = _write_paths(r.paths, paths_out)
        console.print(f"paths {r.paths.shape} written to {paths_out}")


def _selection_table(r):
    """The table ``forecast`` prints: per series component, the model used, the mean forecast and the note."""
    import numpy as np
    from rich.table import Table

    table = Table(title=f"forecast, {len(r.ds)} steps from {r.ds[0]}")
    for c in list(r.keys.columns) + ["component", "model", "mean [GPU-h/step]", "note"]:
        table.add_column(c)
    for i, row in r.selection.iterrows():
        k = int(np.flatnonzero((r.keys == row[r.keys.columns].to_numpy()).all(axis=1))[0])
        table.add_row(*[str(row[c]) for c in r.keys.columns], str(row["component"]), str(row["model"]),
                      f"{r.mean[k].mean():,.1f}", str(row.get("note", ""))[:60])
    return table


def forecast_cv_cmd(
    path: Optional[Path] = typer.Argument(None, help="usage table (.csv or .parquet)"),
    sample: bool = typer.Option(False, "--sample", help="backtest on the bundled sample fleet"),
    trace: Optional[str] = typer.Option(None, help="backtest a real trace: philly | alibaba-dlrm"),
    horizon: int = typer.Option(7, help="steps per window (days for --freq D)"),
    freq: str = typer.Option("D", help="D | h"),
    models: str = typer.Option("seasonal_naive,ets,theta,level_bursts,auto",
                               help="comma-separated models to score"),
    n_windows: int = typer.Option(8, help="rolling-origin windows"),
    step: int = typer.Option(1, help="steps between cutoffs"),
    engine: str = typer.Option("local", help="local | dask"),
    address: Optional[str] = typer.Option(None, help="dask scheduler address"),
    out: Optional[Path] = typer.Option(None, help="write the scores table (.csv or .parquet)"),
):
    """Rolling-origin backtest: MASE, sMAPE, pinball loss and interval coverage per series and model."""
    from rich.console import Console
    from rich.table import Table

    from finops_forecast.errors import FinopsError
    from finops_forecast.forecast import cross_validate

    try:
        if out is not None:
            from finops_forecast._files import check_output_file
            check_output_file(out, "--out")
        usage = _load(path, sample, trace)
        bt = cross_validate(usage, horizon, freq=freq, models=tuple(models.split(",")), n_windows=n_windows,
                            step=step, engine=engine, address=address)
    except (FinopsError, FileNotFoundError) as exc:
        fail(exc)
    cols = ["workload_class", "model", "mase", "rel_mae", "smape", "pinball", "coverage_80", "coverage_95"]
    cols = [c for c in cols if c in bt.scores.columns]
    table = Table(title=f"backtest: {n_windows} windows of {horizon} steps")
    for c in cols:
        table.add_column(c)
    for row in bt.scores[cols].itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    Console().print(table)
    if out:
        _write(bt.scores, out)


def register(app: typer.Typer) -> None:
    """Add ``forecast`` and ``forecast-cv`` to the app."""
    app.command("forecast")(forecast_cmd)
    app.command("forecast-cv")(forecast_cv_cmd)
