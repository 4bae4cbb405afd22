"""``finops-forecast commitments``: how the commitments in a FOCUS bill performed."""
from __future__ import annotations

from pathlib import Path

import typer

from finops_forecast._cli_util import fail


def _pct(x) -> str:
    return "-" if x is None or x != x else f"{x:.1%}"


def register(app: typer.Typer) -> None:
    """Add ``commitments`` to the app."""

    @app.command("commitments")
    def commitments_cmd(
        path: Path = typer.Argument(..., help="FOCUS 1.0-1.3 cost and usage export (file, folder or glob)"),
        period: str | None = typer.Option(None, help="month to report, e.g. 2026-10 (default: every month)"),
        json_out: Path | None = typer.Option(None, "--json", help="write the results (JSON)"),
    ):
        """Realized utilization, coverage, effective savings rate and unused cost of owned commitments."""
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        from finops_forecast.errors import FinopsError
        from finops_forecast.evaluate.commitments import commitment_performance

        from finops_forecast._files import check_output_file

        console = Console()
        try:
            if json_out:
                check_output_file(json_out, "--json")
            perf = commitment_performance(str(path), period=period)
        except (FinopsError, FileNotFoundError) as e:
            fail(e)
        t = Table(title=f"Commitments in {escape(str(path))}" + (f", {period}" if period else ""))
        for c in ("commitment", "type", "month", "utilization", "used", "unused", "unit", "unused cost USD",
                  "ESR", "days to expiry"):
            t.add_column(c, justify="left" if c in ("commitment", "type", "unit") else "right")
        for r in perf.commitments.itertuples():
            t.add_row(escape(str(r.commitment_discount_id)[-40:]), escape(str(r.type)), f"{r.month:%Y-%m}",
                      _pct(r.utilization), f"{r.used_amount:,.2f}", f"{r.unused_amount:,.2f}",
                      escape(str(r.amount_unit)), f"{r.unused_cost_usd:,.2f}", _pct(r.effective_savings_rate),
                      "-" if r.days_to_expiry != r.days_to_expiry else f"{r.days_to_expiry:,.0f}")
        console.print(t)
        s = perf.summary
        console.print(f"summary: utilization {_pct(s['utilization'])}, coverage {_pct(s['coverage'])}, "
                      f"effective savings rate {_pct(s['effective_savings_rate'])}, unused cost "
                      f"{s['unused_cost_usd']:,.2f} USD")
        for n in perf.notes:
            console.print(f"[yellow]note:[/] {escape(n)}", soft_wrap=True)
        if json_out:
            try:
                perf.to_json(json_out)
            except FinopsError as e:
                fail(e)
            console.print(f"wrote {escape(str(json_out))}")
