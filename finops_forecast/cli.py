"""The ``finops-forecast`` command line (typer + rich).

Commands: ``ingest`` (read any usage input and show its reconciliation), ``report`` (render the quarterly
commitment report), and the commands each pipeline stage registers (``pricing``, ``forecast``, ``optimize``).
Every user error is printed as one red line naming the file, row or parameter and the fix, with exit code 2;
never a traceback.
"""
from __future__ import annotations

import contextlib
import importlib
import signal
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from finops_forecast._cli_util import fail
from finops_forecast.errors import FinopsError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Forecast GPU demand and recommend cloud GPU commitments.")
console = Console()
err_console = Console(stderr=True)

# stages that add their own commands: finops_forecast/<stage>/cli.py defines register(app)
STAGE_CLIS = ("pricing", "forecast", "portfolio", "evaluate", "showback")


@app.command()
def ingest(
    path: Optional[Path] = typer.Argument(None, help="usage table, FOCUS export (file, folder or glob) or job file"),
    kind: str = typer.Option("auto", help="auto | usage | focus | jobs"),
    sample: bool = typer.Option(False, "--sample", help="read the bundled sample fleet rendered as a FOCUS export"),
    rules: Optional[Path] = typer.Option(None, help="YAML classification rules for untagged usage"),
    out: Optional[Path] = typer.Option(None, help="write the usage table to this .parquet or .csv file"),
    provider: Optional[str] = typer.Option(None, help="pool of a job file that names none: provider"),
    region: Optional[str] = typer.Option(None, help="... region"),
    instance_type: Optional[str] = typer.Option(None, help="... instance type"),
):
    """Read usage and print its summary and reconciliation (totals in = out + rejected)."""
    from finops_forecast.usage.readers import detect_kind, read_focus, read_jobs, read_usage

    try:
        from finops_forecast._files import check_input_file, check_output_file
        if out is not None:
            check_output_file(out, "--out")
        if rules is not None:
            check_input_file(rules, "--rules")
        if sample:
            import tempfile

            from finops_forecast.usage.sample import load_sample, usage_to_focus
            tmp = Path(tempfile.mkdtemp()) / "sample_focus.parquet"
            usage_to_focus(load_sample()).to_parquet(tmp)
            path, kind = tmp, "focus"
        if path is None:
            raise FinopsError("give a PATH to read, or --sample.")
        if kind == "auto":
            kind = detect_kind(path)
        if kind == "focus":
            usage, rec = read_focus(path, rules=rules)
        elif kind == "jobs":
            usage, rec = read_jobs(path, rules=rules, provider=provider, region=region, instance_type=instance_type)
        elif kind == "usage":
            usage, rec = read_usage(path)
        else:
            raise FinopsError(f"--kind must be auto, usage, focus or jobs, not '{kind}'.")
    except FinopsError as exc:
        fail(exc)
    _print_reconciliation(rec)
    table = Table(title="GPU usage by pool and workload class")
    for col in ("provider", "region", "instance_type", "workload_class", "GPU-hours", "hours"):
        table.add_column(col, justify="right" if col in ("GPU-hours", "hours") else "left")
    agg = usage.groupby(["provider", "region", "instance_type", "workload_class"])
    for key, grp in agg:
        table.add_row(*key, f"{grp['gpu_hours'].sum():,.1f}", f"{grp['ts'].nunique():,}")
    console.print(table)
    console.print(f"{len(usage):,} usage rows, {usage['ts'].min()} to {usage['ts'].max()}, "
                  f"{usage['team'].nunique()} teams.")
    if out:
        from finops_forecast._io import write_frame
        try:
            write_frame(usage, out)
        except FinopsError as exc:
            fail(exc)
        console.print(f"wrote {out}")


def _print_reconciliation(rec) -> None:
    table = Table(title=f"Reconciliation of {rec.kind} input {rec.source}")
    table.add_column("")
    for col in rec.totals.columns:
        table.add_column(col, justify="right")
    for name, row in rec.totals.iterrows():
        table.add_row(name, *[("-" if v != v else f"{v:,.2f}" if col != "rows" else f"{int(v):,}")
                              for col, v in row.items()])
    console.print(table)
    console.print(f"balanced (in = out + rejected): [bold]{rec.is_balanced()}[/]")
    if len(rec.rejected):
        rej = Table(title="Rejected rows by reason")
        for col in ("reason", "detail", "rows", "billed_cost"):
            rej.add_column(col, justify="right" if col in ("rows", "billed_cost") else "left")
        for r in rec.rejected.head(15).itertuples():
            rej.add_row(str(r.reason), "" if r.detail is None or r.detail != r.detail else str(r.detail),
                        f"{int(r.rows):,}", f"{r.billed_cost:,.2f}" if r.billed_cost == r.billed_cost else "-")
        console.print(rej)
    for note in rec.notes:
        console.print(f"note: {note}")


@app.command()
def report(
    quarter: Optional[str] = typer.Option(None, help="quarter to plan, e.g. 2027Q1 (default: the next one)"),
    usage: Optional[str] = typer.Option(None, help="usage table or FOCUS export (default: the bundled sample)"),
    pricing: Optional[str] = typer.Option(None, help="pricing override file(s), comma-separated"),
    params: Optional[Path] = typer.Option(None, "--params", help="YAML file of report parameters"),
    sample: bool = typer.Option(False, "--sample", help="report on the bundled sample fleet (the default usage)"),
    output: Path = typer.Option(Path("reports"), help="folder that holds one sub-folder per quarter"),
    progress: bool = typer.Option(False, help="show papermill's progress bar"),
):
    """Render the quarterly commitment report into OUTPUT/<quarter>/ (HTML, notebook, CSV, JSON)."""
    from finops_forecast.report.params import ReportParams
    from finops_forecast.report.render import ReportError, render_report

    try:
        values = ReportParams.from_yaml(params).to_dict() if params else {}
        if quarter:
            values["quarter"] = quarter
        if usage:
            values["usage"] = usage
        elif sample:
            values["usage"] = "sample"
        if pricing:
            values["pricing"] = pricing
        p = ReportParams.from_mapping(values)
        from finops_forecast._files import check_output_dir
        check_output_dir(output, "--output")
        with console.status("rendering the report (papermill) ..."), _sigterm_interrupts():
            result = render_report(p, output_root=output, progress=progress)
    except ReportError as exc:
        fail(exc, code=1)
    except FinopsError as exc:
        fail(exc)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM through _sigterm_interrupts
        signum = getattr(exc, "signum", signal.SIGINT)
        fail(f"interrupted by {signal.Signals(signum).name}: no report was written and the last good report in "
             f"{output} is unchanged.", code=128 + int(signum))
    console.print(f"[green]report written[/] in {result.seconds:.1f} s: {result.html}")
    for f in result.files:
        console.print(f"  {f}")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler stopping the run), raised like Ctrl-C so the same clean-up path handles it.

    Attributes
    ----------
    signum : int
        The signal received.
    """

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _sigterm_interrupts():
    """While inside, SIGTERM raises :class:`Terminated` in the main thread (Python's default is to die at once,
    leaving the report's temporary folder and the notebook's kernel behind)."""
    def handler(signum, frame):
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _register_stages() -> None:
    for stage in STAGE_CLIS:
        try:
            module = importlib.import_module(f"finops_forecast.{stage}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"finops_forecast.{stage}.cli":
                raise
            continue  # this stage adds no commands
        module.register(app)


_register_stages()


def main() -> None:
    """Entry point of the ``finops-forecast`` script."""
    try:
        app()
    except FinopsError as exc:  # a stage's command that let a user error through
        try:
            fail(exc)
        except typer.Exit as done:
            sys.exit(done.exit_code)


if __name__ == "__main__":
    main()
