"""The quarterly report's presentation: text, tables and files over its results.

Every function here reads a :class:`~finops_forecast.report.results.QuarterlyAnalysis` (or one of its tables) and
computes nothing but formatting: Markdown paragraphs, styled tables (pandas Stylers) and the decision files
``recommendations.csv`` and ``plan.json``. User strings (teams, models, pools, instrument, run and file names)
reach Markdown only through :func:`~finops_forecast.report.safe.md_text` and tables only through
:func:`~finops_forecast.report.safe.safe_style`.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from finops_forecast._io import atomic_write_text, write_frame
from finops_forecast.report.safe import md_text, safe_style

#: purchase lines the recommendation's paragraph names, largest first (the table lists them all)
_LINES_NAMED = 6


def recommendation_text(analysis) -> str:
    """The recommendation in one paragraph (Markdown): the totals, the :data:`_LINES_NAMED` largest lines and
    what the rest add up to, signing numbers, savings and risk."""
    s = analysis.summary
    buy = analysis.purchases.sort_values("commitment_usd_per_hour", ascending=False)
    shown = buy.iloc[:_LINES_NAMED]
    items = [f"{_qty(r)} {md_text(r.instrument.split(':')[0].replace('_', ' '))} on {md_text(r.scope)} "
             f"({int(r.term_months)} months, {md_text(r.payment_option.replace('_', ' '))}{_on(r)})"
             for r in shown.itertuples()]
    rest = buy.iloc[_LINES_NAMED:]
    if len(rest):
        items.append(f"and {len(rest)} smaller line{'s' if len(rest) > 1 else ''} of "
                     f"{rest['commitment_usd_per_hour'].sum():,.0f} USD/h together (every line in the table below)")
    return (
        f"For **{analysis.quarter}**, buy **{s['n_purchases']} commitment lines** worth "
        f"**{s['commitment_usd_per_hour']:,.0f} USD/h** ({s['monthly_usd']:,.0f} USD a month, "
        f"{s['upfront_usd']:,.0f} USD upfront), an **obligation of {s['obligation_usd']:,.0f} USD** (every fee "
        f"still to pay over their terms, whatever the usage): {'; '.join(items) or 'nothing'}. "
        + signing_text(buy) + capacity_text(analysis.capacity_purchases) +
        f"Under the forecast, the quarter's GPU bill falls from **{s['quarter_on_demand_cost_usd']:,.0f} USD** "
        f"(all on-demand) to **{s['quarter_expected_cost_usd']:,.0f} USD**, a saving of "
        f"**{s['quarter_savings_usd']:,.0f} USD** (effective savings rate "
        f"**{s['quarter_effective_savings_rate']:.1%}**); over the {s['horizon_quarters']} quarters planned, "
        f"the savings rate is {s['horizon_effective_savings_rate']:.1%}. "
        f"Risk: the expected cost of the worst {1 - s['alpha']:.0%} of forecast paths (CVaR) over the horizon "
        f"is {s['cvar_usd']:,.0f} USD; commitments are expected to be {s['utilization']:.1%} used and to "
        f"cover {s['coverage']:.1%} of demand. The clouds' lookback rule would cost "
        f"{abs(s['plan_vs_lookback_usd']):,.0f} USD {'more' if s['plan_vs_lookback_usd'] >= 0 else 'less'} this "
        f"quarter under the same forecast.")


def _on(r) -> str:
    """", bought on 2027-02-01" for a line dated in the quarter (the plan buys monthly in its first quarter)."""
    d = getattr(r, "buy_date", None)
    return f", on {pd.Timestamp(d):%Y-%m-%d}" if d is not None and pd.notna(d) else ""


def recommendation_table(analysis):
    """The purchase table as shown in the report (a pandas Styler)."""
    cols = {"buy_date": "buy on", "instrument": "instrument", "scope": "scope", "term_months": "term [months]",
            "payment_option": "payment", "quantity": "quantity",
            "gpu_capacity": "GPUs covered", "commitment_usd_per_hour": "commitment [USD/h]",
            "upfront_usd": "upfront [USD]", "monthly_usd": "monthly [USD]",
            "obligation_usd": "obligation [USD]",
            "expected_utilization": "expected utilization", "utilization_p10": "utilization, worst 10%",
            "break_even_utilization": "break-even utilization", "walk_away_month": "pays off after [months]",
            "payback_month": "upfront paid back [month]"}
    bought = analysis.purchases.sort_values("commitment_usd_per_hour", ascending=False)
    if "buy_date" in bought:
        bought = bought.sort_values("buy_date", kind="stable")
    frame = bought[[c for c in cols if c in bought.columns]].rename(columns=cols)
    if "buy on" in frame:
        frame["buy on"] = pd.to_datetime(frame["buy on"], utc=True).dt.strftime("%Y-%m-%d")
    frame["instrument"] = frame["instrument"].str.split(":").str[0]
    frame["payment"] = frame["payment"].str.replace("_", " ")
    frame["quantity"] = [quantity_cell(r) for r in bought.itertuples()]
    fmt = {"GPUs covered": "{:,.0f}", "commitment [USD/h]": "{:,.2f}", "obligation [USD]": "{:,.0f}",
           "upfront [USD]": "{:,.0f}", "monthly [USD]": "{:,.0f}", "expected utilization": "{:.0%}",
           "utilization, worst 10%": "{:.0%}", "break-even utilization": "{:.0%}",
           "pays off after [months]": "{:.1f}", "upfront paid back [month]": "{:.0f}"}
    return safe_style(frame, fmt)


def comparison_table(analysis):
    """This plan vs the cloud lookback rule vs all on-demand on the quarter's forecast paths (a Styler)."""
    names = {"commitment_usd_per_hour": "commitments [USD/h]", "expected_cost_usd": "expected cost [USD]",
             "p95_cost_usd": "cost, 95th percentile [USD]", "savings_usd": "savings [USD]",
             "effective_savings_rate": "effective savings rate", "utilization": "utilization",
             "coverage": "coverage"}
    fmt = {"commitments [USD/h]": "{:,.2f}", "expected cost [USD]": "{:,.0f}",
           "cost, 95th percentile [USD]": "{:,.0f}", "savings [USD]": "{:,.0f}",
           "effective savings rate": "{:.1%}", "utilization": "{:.0%}", "coverage": "{:.0%}"}
    return safe_style(analysis.comparison.rename(columns=names), fmt)


def ladder_text(analysis) -> str:
    """Signing the plan at once versus a ladder of monthly rungs toward it (Markdown)."""
    plan = analysis.plan
    lc = plan.ladder_comparison
    if lc is None or len(lc) < 2:
        return "No ladder comparison for this plan."
    opt, lad = lc.iloc[0], lc.iloc[1]
    diff = float(lad["expected_cost_usd"] - opt["expected_cost_usd"])
    return (f"The plan's purchases of the quarter's first day commit **{opt['obligation_now_usd']:,.0f} USD** "
            f"(the quarter's lines, bought month by month: {analysis.summary['obligation_usd']:,.0f} USD) and "
            f"{opt['largest_expiry_share']:.0%} of the plan's commitments expire in a single month. "
            f"A ladder that buys a twelfth of the same target every month signs "
            f"**{lad['obligation_now_usd']:,.0f} USD** in its first month and lets at most "
            f"{lad['largest_expiry_share']:.0%} expire in any month; under the same forecast it is expected to "
            f"cost **{abs(diff):,.0f} USD {'more' if diff >= 0 else 'less'}** over the "
            f"{len(plan.quarters)} quarters (on the optimizer's compressed forecast rows), the price of "
            f"that flexibility. Fees the plan's purchases owe after the horizon: "
            f"{plan.fees_after_horizon_usd:,.0f} USD (the optimizer weighs them against the demand they are "
            f"expected to cover after the horizon; they are not in the horizon's expected cost).")


def ladder_table(analysis):
    """The plan and the ladder policy side by side (a Styler)."""
    names = {"policy": "policy", "expected_cost_usd": "expected cost [USD]", "cvar_usd": "CVaR [USD]",
             "obligation_now_usd": "signed in the first month [USD]",
             "first_quarter_usd_per_hour": "held in the first quarter [USD/h]",
             "largest_expiry_share": "largest share expiring in one month"}
    fmt = {"expected cost [USD]": "{:,.0f}", "CVaR [USD]": "{:,.0f}", "signed in the first month [USD]": "{:,.0f}",
           "held in the first quarter [USD/h]": "{:,.0f}", "largest share expiring in one month": "{:.0%}"}
    return safe_style(analysis.plan.ladder_comparison.rename(columns=names), fmt)


def track_record_text(analysis) -> str:
    """The track record in one paragraph (Markdown), or the sentence saying why there is none."""
    r = analysis.track
    if isinstance(r, str):
        return r
    s = r.summary.set_index("policy")
    f, lb = s.loc["forecast"], s.loc["lookback"]
    weeks = int(r.settings["windows"])
    diff = float(lb["cost_usd"] - f["cost_usd"])
    verdict = (f"the forecast-driven rule would have cost **{diff:,.0f} USD less** than the lookback rule"
               if diff >= 0 else
               f"the lookback rule would have cost **{-diff:,.0f} USD less** than the forecast-driven rule: "
               "on this usage the forecast has not earned its place yet, so weigh this quarter's "
               "recommendation against the lookback rule's row above")
    return (f"Replayed on the last **{weeks} weeks** of usage (a decision every week from the usage before it "
            f"only; commitments held one week at the 1-year rate), the forecast-driven rule captured "
            f"**{f['savings_capture']:.1%}** of the savings perfect foresight would have made, the clouds' "
            f"lookback rule ({int(analysis.params.lookback_days)} days) **{lb['savings_capture']:.1%}**; "
            f"{verdict}.")


def track_record_table(analysis):
    """The track record per rule (a Styler), or None when there is none."""
    r = analysis.track
    if isinstance(r, str):
        return None
    names = {"forecast": "forecast-driven (this method)", "lookback": "cloud lookback rule",
             "hindsight": "perfect foresight (the limit)", "on_demand": "no commitments (spot where allowed)"}
    cols = {"policy": "rule", "cost_usd": "cost [USD]", "on_demand_cost_usd": "all on-demand [USD]",
            "savings_usd": "savings [USD]", "effective_savings_rate": "effective savings rate",
            "utilization": "utilization", "coverage": "coverage", "savings_capture": "savings capture"}
    order = [p for p in ("forecast", "lookback", "hindsight", "on_demand") if p in set(r.summary["policy"])]
    frame = r.summary.set_index("policy").loc[order].reset_index()[list(cols)].rename(columns=cols)
    frame["rule"] = frame["rule"].map(names).fillna(frame["rule"])
    fmt = {"cost [USD]": "{:,.0f}", "all on-demand [USD]": "{:,.0f}", "savings [USD]": "{:,.0f}",
           "effective savings rate": "{:.1%}", "utilization": "{:.0%}", "coverage": "{:.0%}",
           "savings capture": "{:.1%}"}
    return safe_style(frame, fmt)


def top_drivers_table(tables: dict):
    """The showback's largest cost drivers as shown in the report (a Styler): GPU-hours and cost in whole
    units, the unit cost in cents, the share of the month's GPU cost in percent."""
    names = {"instance_type": "instance type", "workload_class": "class", "gpu_hours": "GPU-hours",
             "gpu_cost": "cost [USD]", "usd_per_gpu_hour": "USD/GPU-h", "share": "share of cost"}
    frame = tables["top_drivers"].rename(columns=names)
    fmt = {"GPU-hours": "{:,.0f}", "cost [USD]": "{:,.0f}", "USD/GPU-h": "{:,.2f}", "share of cost": "{:.1%}"}
    return safe_style(frame, fmt)


def statements_text(tables: dict, period: str, n: int = 6) -> str:
    """The unit-economics paragraph (Markdown): the period and the first ``n`` statements, team and model
    names shown as text."""
    return f"Period: **{md_text(period)}**. " + " ".join(md_text(t) for t in tables["statements"]["text"].head(n))


def flags_text(tables: dict) -> str:
    """The guardrail flags as a Markdown list (names shown as text), or a sentence when there are none."""
    if tables["flags"].empty:
        return "No guardrail flags."
    return "\n".join("- " + md_text(m) for m in tables["flags"]["message"])


def notes_text(analysis) -> str:
    """The analysis notes as a Markdown list (pool, instrument and run names shown as text)."""
    return "\n".join(f"- {md_text(note)}" for note in analysis.notes)


def backtest_table(analysis):
    """Per series: the model chosen for total demand and each candidate's backtest MASE (a Styler)."""
    sel = analysis.forecast.selection
    if "component" in sel.columns:
        sel = sel[sel["component"] == "total"]
    mase = [c for c in sel.columns if c.startswith("mase_")]
    frame = sel[["provider", "instance_type", "workload_class", "model"] + mase].rename(
        columns={c: c.replace("mase_", "MASE ") for c in mase} | {"instance_type": "instance type",
                                                                   "workload_class": "class"})
    return safe_style(frame, {c.replace("mase_", "MASE "): "{:.2f}" for c in mase})


def provenance_table(analysis):
    """Every price used, with its source, date and whether it is published or an assumption (a Styler)."""
    prov = analysis.provenance
    frame = prov.assign(is_assumption=prov["is_assumption"].map({True: "assumption", False: "published"}))
    frame = frame.rename(columns={"instance_type": "instance type", "pricing_model": "pricing model",
                                  "commitment_family": "family", "term_months": "term [months]",
                                  "payment_option": "payment", "usd_per_hour": "USD/h",
                                  "usd_per_gpu_hour": "USD/GPU-h", "effective_date": "effective date",
                                  "is_assumption": "kind"})
    return (safe_style(frame, {"USD/h": "{:,.4f}", "USD/GPU-h": "{:,.4f}"})
            .set_properties(subset=["source"], **{"text-align": "left", "max-width": "26em",
                                                  "font-size": ".85em"}))


def plan_document(analysis) -> dict:
    """``plan.json``'s content: the quarter, the parameters run (quarter resolved), the headline numbers, the
    plan, the policy comparison, the capacity lines, why each purchase has its term and the notes (JSON-ready but
    for timestamps)."""
    return {
        "quarter": analysis.quarter, "start": analysis.start.isoformat(), "end": analysis.end.isoformat(),
        "parameters": analysis.params.to_dict() | {"quarter": analysis.quarter}, "summary": analysis.summary,
        "plan": analysis.plan.to_dict(), "comparison": json.loads(analysis.comparison.to_json(orient="records")),
        "capacity": json.loads(analysis.capacity_purchases.to_json(orient="records", date_format="iso")),
        "term_reasons": json.loads(analysis.term_reasons.to_json(orient="records")),
        "notes": analysis.notes}


def write_outputs(analysis, folder: str | Path = ".") -> list[Path]:
    """Write ``recommendations.csv`` (this quarter's purchases, then the capacity lines) and ``plan.json``
    (:func:`plan_document`) into ``folder``, each atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cap = analysis.capacity_purchases
    lines = analysis.purchases if cap.empty else pd.concat([analysis.purchases, cap], ignore_index=True)
    csv = write_frame(lines, folder / "recommendations.csv")
    plan = atomic_write_text(folder / "plan.json", json.dumps(plan_document(analysis), indent=2, default=str))
    return [csv, plan]


def capacity_text(lines: pd.DataFrame) -> str:
    """The capacity bought for planned runs, in one sentence (Markdown); empty when none."""
    if lines.empty:
        return ""
    items = [f"{r.quantity:,.0f} x {md_text(r.instance_type if hasattr(r, 'instance_type') else r.scope)} on "
             f"{md_text(r.family.replace('_', ' '))} for {md_text(r.run)} ({r.window_start:%Y-%m-%d} to "
             f"{r.window_end:%Y-%m-%d}, {r.obligation_usd:,.0f} USD)" for r in lines.itertuples()]
    return (f"For the planned runs, also hold capacity: {'; '.join(items)}; their GPU-hours are paid by it and "
            f"left out of the commitments' demand (section \"Capacity for planned runs\"). ")


def signing_text(buy: pd.DataFrame) -> str:
    """What the lines need to pay off: their break-even utilizations and walk-away months (Markdown)."""
    if buy.empty:
        return ""
    be = buy["break_even_utilization"].dropna()
    walk = buy["walk_away_month"]
    text = ""
    if len(be):
        text += (f"Each line loses money against on demand below its break-even utilization, "
                 f"{be.min():.0%} to {be.max():.0%} at today's prices. ")
    if walk.notna().any():
        text += (f"At their expected utilization the lines pay for their whole term after "
                 f"{walk.min():.0f} to {walk.max():.0f} months of use")
        never = int(walk.isna().sum())
        text += (f"; {never} line{'s' if never != 1 else ''} would not within {'their' if never != 1 else 'its'} "
                 f"term. " if never else ". ")
    return text


def quantity_cell(r) -> str:
    """The quantity as bought: whole instances, GPUs or USD/h (fractional only with integer_units=False)."""
    whole = float(r.quantity).is_integer()
    num = f"{r.quantity:,.0f}" if whole else f"{r.quantity:,.2f}"
    return num if r.unit == "instance" else f"{num} {r.unit}"


def _qty(r) -> str:
    if r.unit == "instance":
        return f"{r.quantity:,.0f} x"
    if r.unit == "GPU":
        return f"{r.quantity:,.0f} GPUs of"
    return f"{r.quantity:,.0f} USD/h of"
