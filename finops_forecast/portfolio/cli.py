"""``finops-forecast optimize``: forecast usage, optimize commitments, print and export the plan."""
from __future__ import annotations

from pathlib import Path

import typer

from finops_forecast._cli_util import fail


def _config(quarters, risk_lambda, alpha, budget, payment, terms, spot_cap, integer_ri):
    """The optimizer's settings from the command's options; a bad value names its option."""
    from finops_forecast._files import check_finite
    from finops_forecast.errors import FinopsError, unknown_name
    from finops_forecast.portfolio.config import PortfolioConfig
    from finops_forecast.pricing.schema import PAYMENT_OPTIONS

    check_finite(risk_lambda, "--lambda", low=0.0)
    check_finite(alpha, "--alpha")
    check_finite(budget, "--budget", low=0.0, unit="[USD]")
    check_finite(spot_cap, "--spot-cap", low=0.0)
    payments = tuple(p.strip() for p in payment.split(",") if p.strip())
    for p in payments:
        if p not in PAYMENT_OPTIONS:
            raise unknown_name("payment option (--payment)", p, PAYMENT_OPTIONS)
    try:
        term_list = tuple(int(t) for t in terms.split(",") if t.strip())
    except ValueError:
        raise FinopsError(f"--terms '{terms}' must list terms in months, comma-separated, e.g. 12,36.") from None
    return PortfolioConfig(quarters=quarters, risk_lambda=risk_lambda, alpha=alpha, upfront_budget_usd=budget,
                           payment_options=payments, terms_months=term_list, spot_cap=spot_cap,
                           integer_ri=integer_ri)


def _check_paths(path, sample, pricing, inventory, csv, json_out) -> None:
    """Input files must be non-empty files and outputs writable, before any work is done (the usage PATH may be
    a folder: its reader checks it)."""
    from finops_forecast._files import check_input_file, check_output_file
    from finops_forecast.errors import FinopsError

    if not sample and path is None:
        raise FinopsError("give a usage PATH, or --sample.")
    for value, what in ((pricing, "--pricing"), (inventory, "--inventory")):
        if value is not None:
            check_input_file(value, what)
    for value, what in ((csv, "--csv"), (json_out, "--json")):
        if value is not None:
            check_output_file(value, what)


def register(app: typer.Typer) -> None:
    """Add ``optimize`` to the app."""

    @app.command("optimize")
    def optimize_cmd(
        path: Path | None = typer.Argument(None, help="usage table (.csv or .parquet)"),
        sample: bool = typer.Option(False, "--sample", help="use the bundled sample fleet"),
        pricing: Path | None = typer.Option(None, help="pricing catalog file (default: the bundled one)"),
        inventory: Path | None = typer.Option(None, help="CSV of commitments already owned "
                                                            "(docs/portfolio.md, 'Inventory')"),
        horizon: int = typer.Option(2208, help="forecast hours; quarters beyond repeat the last one"),
        n_paths: int = typer.Option(100, help="forecast sample paths per series"),
        quarters: int = typer.Option(12, help="quarters planned (the ladder)"),
        risk_lambda: float = typer.Option(0.0, "--lambda", help="weight of CVaR in the objective (>= 0)"),
        alpha: float = typer.Option(0.95, help="CVaR level in (0, 1)"),
        budget: float | None = typer.Option(None, help="upfront budget per quarter [USD]"),
        payment: str = typer.Option("no_upfront", help="payment options, comma-separated"),
        terms: str = typer.Option("12,36", help="terms in months, comma-separated"),
        spot_cap: float = typer.Option(0.5, help="largest share of a pool's demand on spot"),
        integer_ri: bool = typer.Option(False, "--integer-ri", help="whole reserved instances (MILP)"),
        seed: int = typer.Option(0, help="forecast random seed"),
        csv: Path | None = typer.Option(None, help="write the purchase table (CSV)"),
        json_out: Path | None = typer.Option(None, "--json", help="write the whole plan (JSON)"),
    ):
        """Recommend the GPU commitments to buy this quarter (and the ladder after it)."""
        import pandas as pd
        from rich.console import Console
        from rich.table import Table

        from finops_forecast.errors import FinopsError
        from finops_forecast.portfolio.api import optimize
        from finops_forecast.portfolio.inventory import read_inventory
        from finops_forecast.pricing import load_pricing

        console = Console()
        try:  # every cheap check first: a mistake must not cost a forecast
            cfg = _config(quarters, risk_lambda, alpha, budget, payment, terms, spot_cap, integer_ri)
            _check_paths(path, sample, pricing, inventory, csv, json_out)
            inv = read_inventory(inventory, "--inventory") if inventory else None
            catalog = load_pricing(path=pricing) if pricing else load_pricing()
            if sample:
                from finops_forecast.usage.sample import load_sample
                usage = load_sample()
            else:
                from finops_forecast.usage.readers import read_usage
                usage, _ = read_usage(path)
            from finops_forecast.forecast import forecast
            fc = forecast(usage, horizon, n_paths=n_paths, seed=seed)
            plan = optimize(fc, catalog, inventory=inv, config=cfg)
        except FinopsError as e:
            fail(e)
        t = Table(title="Buy this quarter")
        for c in ("instrument", "quantity", "unit", "upfront USD", "monthly USD", "util.", "util. p10",
                  "break-even month"):
            t.add_column(c)
        for r in plan.buy_now.itertuples():
            t.add_row(r.instrument, f"{r.quantity:,.2f}", r.unit, f"{r.upfront_usd:,.0f}",
                      f"{r.monthly_usd:,.0f}", f"{r.expected_utilization:.0%}", f"{r.utilization_p10:.0%}",
                      "never" if pd.isna(r.break_even_month) else f"{r.break_even_month:.0f}")
        console.print(t)
        console.print(plan.summary(), soft_wrap=True)
        for n in plan.notes:
            console.print(f"[yellow]note:[/] {n}", soft_wrap=True)
        if csv:
            plan.to_csv(csv)
        if json_out:
            plan.to_json(json_out)
