"""``finops-forecast optimize``: forecast usage, optimize commitments, print and export the plan;
``finops-forecast whatif``: bill a purchase list the user types on the forecast paths."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from finops_forecast._cli_util import fail


def _config(quarters, risk_lambda, alpha, budget, payment, terms, spot_cap, integer_ri, cost_of_capital=0.08, *,
            risk_measure="expected_unused", price_outlook="history", min_utilization_p10=None, max_three_year_share=None,
            max_obligation=None, recourse=False):
    """The optimizer's settings from the command's options; a bad value names its option."""
    from finops_forecast._files import check_finite
    from finops_forecast.errors import FinopsError, unknown_name
    from finops_forecast.portfolio.config import PortfolioConfig
    from finops_forecast.pricing.schema import PAYMENT_OPTIONS

    check_finite(risk_lambda, "--lambda", low=0.0)
    check_finite(alpha, "--alpha")
    check_finite(budget, "--budget", low=0.0, unit="[USD]")
    check_finite(spot_cap, "--spot-cap", low=0.0)
    check_finite(cost_of_capital, "--cost-of-capital", low=0.0, unit="[1/year]")
    for value, what in ((min_utilization_p10, "--min-utilization-p10"),
                        (max_three_year_share, "--max-three-year-share")):
        check_finite(value, what, low=0.0)
        if value is not None and value > 1:
            raise FinopsError(f"{what} = {value} must be a share in [0, 1].")
    check_finite(max_obligation, "--max-obligation", low=0.0, unit="[USD]")
    if min_utilization_p10 and recourse:
        raise FinopsError("--min-utilization-p10 needs --no-recourse (the minimum utilization is checked on one "
                          "purchase schedule for every scenario); add --no-recourse or drop the limit.")
    from finops_forecast.portfolio.risk import RISK_MEASURES
    if risk_measure not in RISK_MEASURES:
        raise unknown_name("risk measure (--risk-measure)", risk_measure, RISK_MEASURES)
    from finops_forecast.pricing.outlook import check_outlook_option
    check_outlook_option(price_outlook)
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
                           integer_ri=integer_ri, cost_of_capital=cost_of_capital, risk_measure=risk_measure,
                           price_outlook=price_outlook, min_utilization_p10=min_utilization_p10,
                           max_three_year_share=max_three_year_share, max_obligation_usd=max_obligation,
                           recourse=recourse)


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


def optimize_cmd(
    path: Path | None = typer.Argument(None, help="usage table (.csv or .parquet)"),
    sample: bool = typer.Option(False, "--sample", help="use the bundled sample fleet"),
    pricing: Path | None = typer.Option(None, help="pricing catalog file (default: the bundled one)"),
    inventory: Path | None = typer.Option(None, help="CSV of commitments already owned "
                                                        "(docs/portfolio.md, 'Inventory')"),
    horizon: int = typer.Option(2208, help="forecast hours; quarters beyond repeat the last one"),
    n_paths: int = typer.Option(100, help="forecast sample paths per series"),
    quarters: int = typer.Option(12, help="quarters planned (the ladder)"),
    risk_lambda: float = typer.Option(0.0, "--lambda", help="weight of the risk term, by default the "
                                                              "expected unused commitment (--risk-measure; >= 0)"),
    risk_measure: str = typer.Option("expected_unused", help="what --lambda weighs: expected_unused (expected "
                                                             "unused commitment), unused (its CVaR) or cost "
                                                             "(CVaR of total cost)"),
    price_outlook: str = typer.Option("history", help="future prices: flat, history, "
                                                      "history:hazard=0.05,cut=0.45 (the history's model with "
                                                      "your monthly odds and size of a cut), or a CSV "
                                                      "provider,instance_type,pricing_model,effective_from,"
                                                      "multiplier"),
    min_utilization_p10: float | None = typer.Option(None, help="least 10th-percentile utilization of "
                                                                 "every purchase, in [0, 1]"),
    max_three_year_share: float | None = typer.Option(None, help="largest share of 36-month terms bought"),
    max_obligation: float | None = typer.Option(None, help="largest total obligation of the plan [USD]"),
    recourse: bool = typer.Option(False, "--recourse/--no-recourse",
                                  help="two-stage plan: from month 12 each demand scenario re-decides its 12-month "
                                       "terms (a 1-year term is valued with its option to renew or not)"),
    alpha: float = typer.Option(0.95, help="CVaR level in (0, 1)"),
    budget: float | None = typer.Option(None, help="upfront budget per quarter [USD]"),
    payment: str = typer.Option("no_upfront", help="payment options, comma-separated"),
    terms: str = typer.Option("12,36", help="terms in months, comma-separated"),
    spot_cap: float = typer.Option(0.5, help="largest share of a pool's demand on spot"),
    integer_units: bool = typer.Option(True, "--integer-units/--fractional-units",
                                       help="whole units (instances, GPUs, USD/h) as bought, or fractional "
                                            "quantities for exploration"),
    cost_of_capital: float = typer.Option(0.08, help="annual rate discounting upfront against monthly "
                                                     "payments when payment options are compared [1/year]"),
    seed: int = typer.Option(0, help="forecast random seed"),
    csv: Path | None = typer.Option(None, help="write the purchase table (CSV)"),
    json_out: Path | None = typer.Option(None, "--json", help="write the whole plan (JSON)"),
):
    """Recommend the GPU commitments to buy this quarter (and the ladder after it)."""
    from rich.console import Console

    from finops_forecast.errors import FinopsError
    from finops_forecast.portfolio.api import optimize
    from finops_forecast.portfolio.config import with_job_sizes
    from finops_forecast.portfolio.inventory import read_inventory
    from finops_forecast.portfolio.terms import plan_term_reasons
    from finops_forecast.pricing import load_pricing

    console = Console()
    try:  # every cheap check first: a mistake must not cost a forecast
        cfg = _config(quarters, risk_lambda, alpha, budget, payment, terms, spot_cap, integer_units,
                      cost_of_capital, risk_measure=risk_measure, price_outlook=price_outlook,
                      min_utilization_p10=min_utilization_p10, max_three_year_share=max_three_year_share,
                      max_obligation=max_obligation, recourse=recourse)
        _check_paths(path, sample, pricing, inventory, csv, json_out)
        inv = read_inventory(inventory, "--inventory") if inventory else None
        catalog = load_pricing(path=pricing) if pricing else load_pricing()
        usage = _read_usage(path, sample)
        from finops_forecast.forecast import PLAN_SELECTION, forecast
        fc = forecast(usage, horizon, n_paths=n_paths, seed=seed, **PLAN_SELECTION)
        cfg, spot_notes = with_job_sizes(cfg, usage, catalog, fc.keys)
        plan = optimize(fc, catalog, inventory=inv, config=cfg)
        why = plan_term_reasons(plan, catalog, cfg.migration, price_outlook)
    except FinopsError as e:
        fail(e)
    console.print(_buy_table(plan, integer_units))
    console.print(_terms_table(why))
    console.print(plan.summary(), soft_wrap=True)
    for n in list(plan.notes) + spot_notes:
        console.print(f"[yellow]note:[/] {n}", soft_wrap=True)
    if csv:
        plan.to_csv(csv)
    if json_out:
        # through pandas' JSON: a missing number (no price outlook: no odds) is null, not the invalid token NaN
        plan.to_json(json_out, extra={"term_reasons": json.loads(why.to_json(orient="records"))})


def _terms_table(why):
    """The table ``optimize`` prints after the purchases: each line's term, verdict and the cut of new
    commitment rates that would make waiting a year win, with its odds under the price outlook (the reasons in
    full are in ``--json`` under ``term_reasons``)."""
    import pandas as pd
    from rich.table import Table

    def pct(v, fmt="{:.0%}"):
        return fmt.format(v) if pd.notna(v) else "-"

    t = Table(title="Why these terms")
    for c in ("instrument", "term [months]", "verdict", "util. p10", "break-even at expected prices",
              "waiting wins if new commitment rates fall by", "odds (outlook)"):
        t.add_column(c)
    for r in why.itertuples():
        t.add_row(r.instrument, pct(r.term_months, "{:.0f}"), r.verdict, pct(r.utilization_p10),
                  pct(r.break_even_outlook), pct(r.flip_cut), pct(r.flip_cut_probability))
    return t


def _buy_table(plan, integer_units: bool):
    """The table ``optimize`` prints: what to buy this quarter, its cost, utilization and break-even."""
    import pandas as pd
    from rich.table import Table

    t = Table(title="Buy this quarter")
    for c in ("instrument", "quantity", "unit", "upfront USD", "monthly USD", "obligation USD", "util.",
              "util. p10", "break-even util.", "pays off after [months]"):
        t.add_column(c)
    for r in plan.buy_now.itertuples():
        t.add_row(r.instrument, f"{r.quantity:,.0f}" if integer_units else f"{r.quantity:,.2f}", r.unit,
                  f"{r.upfront_usd:,.0f}", f"{r.monthly_usd:,.0f}", f"{r.obligation_usd:,.0f}",
                  f"{r.expected_utilization:.0%}", f"{r.utilization_p10:.0%}",
                  f"{r.break_even_utilization:.0%}",
                  "never" if pd.isna(r.walk_away_month) else f"{r.walk_away_month:.1f}")
    return t


def whatif_cmd(
    path: Path | None = typer.Argument(None, help="usage table (.csv or .parquet)"),
    buy: list[str] = typer.Option(..., "--buy", help="INSTRUMENT=QUANTITY, repeatable, e.g. "
                                                     "aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront=40"),
    sample: bool = typer.Option(False, "--sample", help="use the bundled sample fleet"),
    pricing: Path | None = typer.Option(None, help="pricing catalog file (default: the bundled one)"),
    inventory: Path | None = typer.Option(None, help="CSV of commitments already owned"),
    horizon: int = typer.Option(2208, help="forecast hours billed (at most the shortest term)"),
    n_paths: int = typer.Option(100, help="forecast sample paths per series"),
    cost_of_capital: float = typer.Option(0.08, help="annual rate for the break-even numbers [1/year]"),
    seed: int = typer.Option(0, help="forecast random seed"),
):
    """Bill a purchase list on the forecast paths: cost, coverage, utilization, obligation, break-even."""
    from rich.console import Console

    from finops_forecast._files import check_finite
    from finops_forecast.errors import FinopsError
    from finops_forecast.portfolio.config import PortfolioConfig
    from finops_forecast.portfolio.inventory import read_inventory
    from finops_forecast.portfolio.whatif import parse_buy, whatif

    console = Console()
    try:
        pairs = [parse_buy(b) for b in buy]  # bad strings fail before the forecast runs
        check_finite(cost_of_capital, "--cost-of-capital", low=0.0, unit="[1/year]")
        _check_paths(path, sample, pricing, inventory, None, None)
        usage = _read_usage(path, sample)
        from finops_forecast.forecast import PLAN_SELECTION, forecast
        from finops_forecast.pricing import load_pricing
        catalog = load_pricing(path=pricing) if pricing else load_pricing()
        fc = forecast(usage, horizon, n_paths=n_paths, seed=seed, **PLAN_SELECTION)
        inv = read_inventory(inventory, "--inventory") if inventory else None
        w = whatif(fc, catalog, dict(pairs), inventory=inv,
                   config=PortfolioConfig(cost_of_capital=cost_of_capital))
    except FinopsError as e:
        fail(e)
    console.print(_whatif_table(w))
    console.print(f"expected cost {w.expected_cost_usd:,.0f} USD (no new commitments {w.no_purchase_cost_usd:,.0f}, "
                  f"all on demand {w.on_demand_cost_usd:,.0f}): saving {w.savings_usd:,.0f} USD; coverage "
                  f"{w.coverage:.1%}; utilization {w.utilization:.1%} (10th percentile {w.utilization_p10:.1%}); "
                  f"obligation {w.obligation_usd:,.0f} USD.", soft_wrap=True)


def _whatif_table(w):
    """The table ``whatif`` prints: each line's obligation, utilization and break-even."""
    import pandas as pd
    from rich.table import Table

    t = Table(title=f"What if you buy this ({w.hours} forecast hours, {len(w.path_cost_usd)} paths)")
    for c in ("instrument", "quantity", "unit", "obligation USD", "util.", "util. p10", "break-even util.",
              "pays off after [months]"):
        t.add_column(c)
    for r in w.lines.itertuples():
        t.add_row(r.instrument, f"{r.quantity:,.2f}", r.unit, f"{r.obligation_usd:,.0f}",
                  f"{r.expected_utilization:.0%}", f"{r.utilization_p10:.0%}", f"{r.break_even_utilization:.0%}",
                  "never" if pd.isna(r.walk_away_month) else f"{r.walk_away_month:.1f}")
    return t


def register(app: typer.Typer) -> None:
    """Add ``whatif`` and ``optimize`` to the app (in that order, the order ``--help`` lists them)."""
    app.command("whatif")(whatif_cmd)
    app.command("optimize")(optimize_cmd)


def _read_usage(path, sample: bool):
    from finops_forecast.errors import FinopsError
    from finops_forecast.usage.load import load_usage

    if sample or path is not None:
        return load_usage("sample" if sample else path, kind="usage")[0]
    raise FinopsError("give a usage PATH, or --sample.")
