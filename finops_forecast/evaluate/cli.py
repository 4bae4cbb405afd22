"""``finops-forecast backtest``: rolling backtest of purchasing policies on a usage table."""
from __future__ import annotations

from pathlib import Path

import typer

from finops_forecast._cli_util import fail


def register(app: typer.Typer) -> None:
    """Add ``backtest`` and ``commitments`` to the app."""
    from finops_forecast.evaluate import commitments_cli

    commitments_cli.register(app)

    @app.command("backtest")
    def backtest_cmd(
        usage_path: Path = typer.Argument(..., help="canonical usage table (.csv or .parquet) [GPU-h]"),
        instance_type: str | None = typer.Option(None, help="bill every row on this instance type (with "
                                                               "--provider and --region): maps a trace onto a pool"),
        provider: str | None = typer.Option(None, help="... provider of that pool"),
        region: str | None = typer.Option(None, help="... region of that pool"),
        policies: str = typer.Option("forecast,lookback,stable,hindsight,on_demand",
                                     help="policies to compare, comma-separated"),
        decision_every: str = typer.Option("7D", help="time between purchase decisions (window length)"),
        term: str = typer.Option("7D", help="how long a purchase is held (simulation setting; the rate "
                                            "stays the catalog's 1-year rate)"),
        lookback: str = typer.Option("14D", help="history of the lookback policy"),
        warmup: str | None = typer.Option(None, help="history before the first decision (default: the "
                                                        "lookback, at least 14D)"),
        spot_cap: float = typer.Option(0.5, help="largest share of a pool's hourly demand on spot "
                                                 "(training and experimentation only)"),
        n_paths: int = typer.Option(100, help="forecast sample paths per series"),
        seed: int = typer.Option(0, help="forecast random seed"),
        forecast_candidates: str = typer.Option(
            "forecast,lookback", help="rules the forecast policy chooses among by their cost on the earlier "
                                      "windows (the first decides until another proves cheaper); "
                                      "'forecast' alone: no selection"),
        calibration: str = typer.Option("spread", help="'spread': scale the forecast paths' spread by the "
                                                        "factor that billed least on the earlier windows; "
                                                        "'none': the paths as forecast"),
        price_outlook: str = typer.Option("flat", help="prices over the backtest: flat (the catalog's), history "
                                                       "(expected path of the fitted price history; "
                                                       "history:hazard=0.05,cut=0.45 with your monthly odds and "
                                                       "size of a cut) or an outlook CSV (docs/pricing.md)"),
        pricing: Path | None = typer.Option(None, help="pricing override file (default: the bundled "
                                                          "catalog)"),
        json_out: Path | None = typer.Option(None, "--json", help="write the results (JSON)"),
    ):
        """Backtest commitment purchasing policies against the realized demand of USAGE_PATH."""
        from rich.console import Console

        from finops_forecast.errors import FinopsError
        from finops_forecast.evaluate.rolling import backtest

        console = Console()
        try:
            usage, catalog = _inputs(usage_path, pricing, json_out, (provider, region, instance_type),
                                     price_outlook)
            with console.status("backtesting ..."):
                res = backtest(usage, catalog, policies, decision_every=decision_every, term=term,
                               lookback=lookback, warmup=warmup, spot_cap=spot_cap, n_paths=n_paths, seed=seed,
                               forecast_candidates=tuple(c.strip() for c in forecast_candidates.split(",")
                                                         if c.strip()),
                               calibration=None if calibration.strip().lower() in ("", "none") else calibration,
                               price_outlook=price_outlook)
        except (FinopsError, FileNotFoundError) as e:
            fail(e)
        _print_result(console, res)
        if json_out:
            res.to_json(json_out)
            console.print(f"wrote {json_out}")


def _inputs(usage_path: Path, pricing: Path | None, json_out: Path | None, pool: tuple, price_outlook: str):
    """The usage table (mapped onto ``pool`` = (provider, region, instance_type) when given) and the catalog,
    after checking every path the command reads or writes.

    Raises
    ------
    FinopsError
        A missing or unreadable file, a partial pool, a bad ``--price-outlook``.
    """
    from finops_forecast._files import check_input_file, check_output_file
    from finops_forecast.evaluate.rolling import EvaluateError
    from finops_forecast.pricing.outlook import check_outlook_option
    from finops_forecast.pricing import load_pricing
    from finops_forecast.usage.load import load_usage

    if not usage_path.exists():
        raise EvaluateError(f"usage file {usage_path} does not exist: pass a usage table (.csv or .parquet), e.g. "
                            "one written by `finops-forecast ingest --out`.")
    if pricing is not None:
        check_input_file(pricing, "--pricing")
    if json_out is not None:
        check_output_file(json_out, "--json")
    check_outlook_option(price_outlook)
    if any(pool) and not all(pool):
        raise EvaluateError("--provider, --region and --instance-type go together: give all three to bill the "
                            "usage on one pool, or none.")
    # a table mapped onto one pool may name pools of its own (a trace's cluster): checked after mapping
    usage, _ = load_usage(usage_path, kind="usage", instance_types=False if all(pool) else None)
    if all(pool):
        provider, region, instance_type = pool
        usage = usage.assign(provider=provider, region=region, instance_type=instance_type)
    return usage, (load_pricing(path=pricing) if pricing else load_pricing())


def _print_result(console, res) -> None:
    """The summary table and the notes of a :class:`~finops_forecast.evaluate.rolling.BacktestResult`."""
    from rich.table import Table

    s = res.settings
    t = Table(title=f"Policy backtest: {s['windows']} windows of {s['decision_every']} h from "
                    f"{s['first_decision'][:16]}, term {s['term']} h")
    for c in ("policy", "cost USD", "on-demand USD", "savings USD", "ESR", "utilization", "coverage",
              "savings capture"):
        t.add_column(c, justify="left" if c == "policy" else "right")
    for r in res.summary.itertuples():
        t.add_row(r.policy, f"{r.cost_usd:,.0f}", f"{r.on_demand_cost_usd:,.0f}", f"{r.savings_usd:,.0f}",
                  f"{r.effective_savings_rate:.1%}",
                  "-" if r.utilization != r.utilization else f"{r.utilization:.1%}", f"{r.coverage:.1%}",
                  "-" if r.savings_capture != r.savings_capture else f"{r.savings_capture:.3f}")
    console.print(t)
    for n in res.notes:
        console.print(f"[yellow]note:[/] {n}", soft_wrap=True)
