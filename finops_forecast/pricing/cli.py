"""``finops-forecast pricing list|show|diff``: read the catalog from the command line.

The lead's app calls :func:`register`; every command prints a rich table, prices per GPU-hour first, with the
source of each line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from finops_forecast._cli_util import fail
from rich.console import Console
from rich.table import Table

from finops_forecast.errors import FinopsError

_SHORT = {"on_demand": "on-demand", "spot": "spot", "reserved": "reserved", "cud": "CUD",
          "savings_plan": "savings plan"}


def _load(as_of, files, name=None, option="--as-of"):
    """The catalog as of a day given on the command line (``option`` names it in errors), with user files."""
    from finops_forecast._files import check_input_file, parse_day
    from finops_forecast.pricing.catalog import load_pricing

    day = parse_day(as_of, option)
    for f in files or ():
        check_input_file(f, "--file", fix="Give a price CSV (see finops_forecast.pricing.pricing_template).")
    return load_pricing(name=name, path=[Path(f) for f in files] if files else None, as_of=day)


def _check_model(model, allow_all: bool) -> None:
    """Refuse a pricing model that is not one of the catalog's (``--model``), with the closest one."""
    from finops_forecast.errors import unknown_name
    from finops_forecast.pricing.schema import PRICING_MODELS

    valid = PRICING_MODELS + (("all",) if allow_all else ())
    if model is not None and model not in valid:
        raise unknown_name("pricing model (--model)", model, valid)


def _option(r) -> str:
    if r.pricing_model in ("on_demand", "spot"):
        return _SHORT[r.pricing_model]
    fam = f" {r.commitment_family}" if r.commitment_family and r.commitment_family != r.pricing_model else ""
    return f"{_SHORT[r.pricing_model]}{fam} {int(r.term_months)}m {r.payment_option.replace('_', ' ')}"


def _cut(text: str, width: int) -> str:
    return text if width <= 0 or len(text) <= width else text[: width - 1] + "…"


def _print_notes(cat: pd.DataFrame) -> None:
    """Print the catalog's notes (files it skipped, prices it overrode) on stderr."""
    for note in cat.attrs.get("notes", []):
        Console(stderr=True).print(f"note: {note}", soft_wrap=True, highlight=False, markup=False)


def _filter_listing(cat: pd.DataFrame, provider, region, gpu, model: str) -> pd.DataFrame:
    """The catalog lines of ``pricing list``'s filters, cheapest per GPU-hour first; an unknown value fails."""
    sel = cat
    for col, val in (("provider", provider), ("region", region), ("gpu_type", gpu)):
        if val is not None:
            if val not in set(cat[col]):
                from finops_forecast.errors import unknown_name

                fail(unknown_name(col.replace("_", " "), val, cat[col].unique()))
            sel = sel[sel[col] == val]
    if model != "all":
        sel = sel[sel["pricing_model"] == model]
    return sel.sort_values(["usd_per_gpu_hour", "provider", "region", "instance_type"])


def _listing_table(sel: pd.DataFrame, as_of, limit: int, width: int) -> Table:
    """The table ``pricing list`` prints: the first ``limit`` lines, assumptions in yellow."""
    table = Table(title=f"GPU prices{' as of ' + as_of if as_of else ''} ({len(sel)} items, "
                        f"{min(limit, len(sel))} shown)")
    for c in ("provider", "region", "instance type", "GPUs", "option", "USD/GPU-h", "USD/h", "date",
              "source"):
        table.add_column(c, justify="right" if c.startswith(("USD", "GPUs")) else "left")
    for r in sel.head(limit).itertuples():
        table.add_row(r.provider, r.region, r.instance_type, f"{r.gpu_count:g} {r.gpu_type}", _option(r),
                      f"{r.usd_per_gpu_hour:.4f}", f"{r.usd_per_hour:.4f}", f"{r.effective_date:%Y-%m-%d}",
                      ("[yellow]" if r.is_assumption else "") + _cut(r.source, width)
                      + ("[/yellow]" if r.is_assumption else ""))
    return table


def list_cmd(
    provider: Optional[str] = typer.Option(None, help="aws, azure, gcp or a provider of your file."),
    region: Optional[str] = typer.Option(None, help="e.g. us-east-1, us-central1, eastus."),
    gpu: Optional[str] = typer.Option(None, help="GPU type, e.g. H100, A100-80GB, L4."),
    model: str = typer.Option("on_demand", help="on_demand, spot, reserved, cud, savings_plan or all."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Price as of this day (YYYY-MM-DD)."),
    file: Optional[list[str]] = typer.Option(None, "--file", help="User price file(s) overriding the bundled."),
    limit: int = typer.Option(40, help="Show at most this many lines (cheapest per GPU-hour first)."),
    width: int = typer.Option(70, help="Cut sources to this many characters (0: no cut)."),
):
    """List priced items, cheapest per GPU-hour first."""
    try:
        _check_model(model, allow_all=True)
        cat = _load(as_of, file)
    except FinopsError as exc:
        fail(exc)
    _print_notes(cat)
    sel = _filter_listing(cat, provider, region, gpu, model)
    Console(width=250).print(_listing_table(sel, as_of, limit, width))


def _select_instance(cat: pd.DataFrame, instance_type: str, region) -> tuple[pd.DataFrame, str]:
    """The lines of ``pricing show``: one instance type, or every instance type of one GPU type (then one region
    must be named when it is priced in several), and a label for the title."""
    if instance_type in set(cat["instance_type"]):
        sel = cat[cat["instance_type"] == instance_type]
        what = instance_type
    elif instance_type in set(cat["gpu_type"]):
        sel = cat[cat["gpu_type"] == instance_type]
        what = f"{instance_type} machines"
    else:
        from finops_forecast.errors import unknown_name

        fail(unknown_name("instance type or GPU type", instance_type,
                          list(cat["instance_type"].unique()) + list(cat["gpu_type"].unique())))
    if region is not None:
        if region not in set(sel["region"]):
            from finops_forecast.errors import unknown_name

            fail(unknown_name(f"region for {what}", region, sel["region"].unique()))
        sel = sel[sel["region"] == region]
    elif sel["region"].nunique() > 1 and what.endswith("machines"):
        fail(FinopsError(f"{what} are priced in {sel['region'].nunique()} regions: pass --region, e.g. "
                         f"--region {sel['region'].mode().iloc[0]}."))
    return sel.sort_values(["region", "usd_per_gpu_hour"]), what


def _options_table(sel: pd.DataFrame, title: str, width: int) -> Table:
    """The table ``pricing show`` prints: every option with its change against on-demand."""
    table = Table(title=title)
    for c in ("provider", "region", "instance type", "option", "USD/GPU-h", "USD/h", "vs on-demand",
              "upfront USD", "date", "source"):
        table.add_column(c, justify="right" if c.startswith(("USD", "vs", "upfront")) else "left")
    od = sel[sel["pricing_model"] == "on_demand"].set_index(["provider", "region", "instance_type"])
    for r in sel.itertuples():
        key = (r.provider, r.region, r.instance_type)
        rel = f"{r.usd_per_hour / od.loc[key, 'usd_per_hour'] - 1:+.0%}" if key in od.index else ""
        src = _cut(r.source, width)
        table.add_row(r.provider, r.region, r.instance_type, _option(r), f"{r.usd_per_gpu_hour:.4f}",
                      f"{r.usd_per_hour:.4f}", rel, f"{r.upfront_usd:,.0f}" if r.upfront_usd else "",
                      f"{r.effective_date:%Y-%m-%d}",
                      f"[yellow]{src}[/yellow]" if r.is_assumption else src)
    return table


def show_cmd(
    instance_type: str = typer.Argument(..., help="Instance type, e.g. p5.48xlarge, or a GPU type, e.g. H100."),
    region: Optional[str] = typer.Option(None, help="Region (default: every region that prices it)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Price as of this day (YYYY-MM-DD)."),
    file: Optional[list[str]] = typer.Option(None, "--file", help="User price file(s) overriding the bundled."),
    width: int = typer.Option(0, help="Cut sources to this many characters (0: no cut)."),
):
    """Every option of one instance type (or of every instance type with one GPU type), per GPU-hour."""
    try:
        cat = _load(as_of, file)
    except FinopsError as exc:
        fail(exc)
    sel, what = _select_instance(cat, instance_type, region)
    title = f"{what}{' in ' + region if region else ''}{' as of ' + as_of if as_of else ''}: {len(sel)} options"
    Console(width=300).print(_options_table(sel, title, width))


def _changed_prices(old: pd.DataFrame, new: pd.DataFrame, provider, model) -> pd.DataFrame:
    """Lines added, removed or repriced between two catalogs, largest relative change first."""
    from finops_forecast.pricing.schema import PRICE_KEYS

    m = old.merge(new, on=PRICE_KEYS, how="outer", suffixes=("_old", "_new"), indicator="state")
    changed = m[(m["state"] != "both") | ((m["usd_per_hour_old"] - m["usd_per_hour_new"]).abs()
                                           > 1e-9 * m["usd_per_hour_old"].abs())]
    if provider:
        changed = changed[changed["provider"] == provider]
    if model:
        changed = changed[changed["pricing_model"] == model]
    return changed.assign(
        change=(changed["usd_per_hour_new"] / changed["usd_per_hour_old"] - 1).fillna(0.0)
    ).sort_values("change", key=lambda s: -s.abs())


def _diff_table(changed: pd.DataFrame, title: str, limit: int, width: int) -> Table:
    """The table ``pricing diff`` prints: old and new price per GPU-hour, the change and the new source."""
    table = Table(title=title)
    for c in ("provider", "region", "instance type", "option", "old USD/GPU-h", "new USD/GPU-h", "change",
              "new source"):
        table.add_column(c, justify="right" if c.endswith(("GPU-h", "change")) else "left")
    for r in changed.head(limit).itertuples():
        opt = _option(pd.Series(dict(pricing_model=r.pricing_model, commitment_family=r.commitment_family,
                                     term_months=r.term_months, payment_option=r.payment_option)))
        o = "" if pd.isna(r.usd_per_gpu_hour_old) else f"{r.usd_per_gpu_hour_old:.4f}"
        n = "" if pd.isna(r.usd_per_gpu_hour_new) else f"{r.usd_per_gpu_hour_new:.4f}"
        ch = {"left_only": "removed", "right_only": "new"}.get(r.state, f"{r.change:+.1%}")
        src = r.source_new if isinstance(r.source_new, str) else r.source_old
        table.add_row(r.provider, r.region, r.instance_type, opt, o, n, ch, _cut(str(src), width))
    return table


def diff_cmd(
    before: Optional[str] = typer.Option(None, "--before", help="Day of the old prices (YYYY-MM-DD)."),
    after: Optional[str] = typer.Option(None, "--after", help="Day of the new prices (default: newest)."),
    file: Optional[list[str]] = typer.Option(None, "--file",
                                             help="User price file(s): compare them with the bundled prices."),
    provider: Optional[str] = typer.Option(None, help="Only this provider."),
    model: Optional[str] = typer.Option(None, help="Only this pricing model."),
    limit: int = typer.Option(40, help="Show at most this many lines (largest change first)."),
    width: int = typer.Option(70, help="Cut sources to this many characters (0: no cut)."),
):
    """Prices that differ between two days, or between the bundled catalog and your file(s)."""
    if before is None and not file:
        fail(FinopsError("give --before YYYY-MM-DD (price changes since that day) or --file <your prices> "
                         "(your prices against the bundled ones)."))
    try:
        _check_model(model, allow_all=False)
        old = _load(before, None, option="--before")
        new = _load(after, file, option="--after")
    except FinopsError as exc:
        fail(exc)
    changed = _changed_prices(old, new, provider, model)
    label_old = before or "bundled"
    label_new = (after or "newest") + (" + " + ", ".join(Path(f).name for f in file) if file else "")
    title = f"{len(changed)} prices differ: {label_old} -> {label_new} ({min(limit, len(changed))} shown)"
    Console(width=250).print(_diff_table(changed, title, limit, width))


def register(app: typer.Typer) -> None:
    """Add the ``pricing`` command group (list, show, diff) to a typer app."""
    group = typer.Typer(help="Browse the GPU pricing catalog: per GPU-hour, with the source of every price.",
                        no_args_is_help=True)
    group.command("list")(list_cmd)
    group.command("show")(show_cmd)
    group.command("diff")(diff_cmd)
    app.add_typer(group, name="pricing")
