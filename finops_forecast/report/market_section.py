"""The report's GPU-market section: price outlook, generation turnover, stranded-commitment risk, term choice.

Small functions the notebook's one cell calls (no I/O on import):

* :func:`market_settings`: the report parameters as ``PortfolioConfig`` fields;
* :func:`market_text`: what the plan assumed and the risk of unused commitments, in words;
* :func:`outlook_chart`: the on-demand price paths the plan was priced with;
* :func:`term_reasons`: why each purchase of this quarter has its term;
* :func:`evidence_table`: 1-year vs 3-year vs laddered terms on the real price history of the fleet's pools;
* :func:`styled`: either table as the report shows it (escaped, no index, the reasons in full).
"""
from __future__ import annotations

import pandas as pd

from finops_forecast.constants import POOL_KEYS
from finops_forecast.report.safe import md_text, safe_style

#: number formats of the two tables in the report
_FORMATS = {"commitment [USD/h]": "{:,.2f}", "term [months]": "{:.0f}", "1-year": "{:.3f}", "3-year": "{:.3f}",
            "laddered": "{:.3f}", "winner's margin": "{:.3f}"}


def market_settings(params) -> dict:
    """``PortfolioConfig`` fields from the report parameters (0 / 1 / "" mean no limit)."""
    from finops_forecast.portfolio.migration import parse_migration

    return {"price_outlook": params.price_outlook, "migration": parse_migration(params.migration),
            "min_utilization_p10": params.min_utilization_p10 or None,
            "max_three_year_share": None if params.max_three_year_share >= 1 else params.max_three_year_share,
            "max_obligation_usd": params.max_obligation_usd or None, "recourse": bool(params.recourse)}


def long_share(purchases: pd.DataFrame) -> float:
    """Share of the commitment USD/h of ``purchases`` with a term of 36 months or more."""
    usd = purchases["commitment_usd_per_hour"]
    return float(usd[purchases["term_months"] >= 36].sum() / usd.sum()) if usd.sum() > 0 else float("nan")


def market_text(plan) -> str:
    """Markdown: the outlook and migration the plan assumed, the unused commitment and the 3-year share."""
    s = plan.settings
    # the outlook (a name, a history: form or a CSV path) and the migration note (instance types) are user text
    out = [f"**Price outlook:** {md_text(s.get('price_outlook', 'flat'))}. Commitments keep the rate of the quarter "
           "they are bought in; on demand and spot follow the outlook in the plan, its bill and the frontier."]
    mig = [n for n in plan.notes if str(n).startswith("migration:")]
    out.append("**Generation turnover:** " + (md_text(mig[0].removeprefix("migration: ")) if mig else "none assumed")
               + ".")
    out.append(f"**Unused commitment** (fees of commitments that cover nothing, over the plan): "
               f"{plan.expected_unused_commitment_usd:,.0f} USD expected, {plan.cvar_unused_commitment_usd:,.0f} "
               f"USD in the worst {1 - plan.alpha:.0%} of paths. Raising `risk_lambda` lowers it (frontier below: "
               "`expected_unused_usd`).")
    now = plan.buy_now
    if len(now):
        out.append(f"**3-year share** of this quarter's purchases: {long_share(now):.0%} of the commitment USD/h; "
                   f"over the whole ladder {long_share(plan.purchases):.0%}.")
    f = plan.frontier
    if f is not None and len(f) and "three_year_share_now" in f:
        f = f.sort_values("risk_lambda")
        share = f["three_year_share_now"].to_numpy(float)
        held = f["commitment_usd_per_hour"].to_numpy(float) if "commitment_usd_per_hour" in f else None
        # from the smallest weight to the largest: half a point of 3-year share, 0.5% of the commitment
        terms = ("shortens its terms" if share[-1] < share[0] - 0.005 else
                 "lengthens its terms" if share[-1] > share[0] + 0.005 else "keeps its terms")
        size = ("" if held is None else "buys less and " if held[-1] < held[0] * 0.995 else
                "buys more and " if held[-1] > held[0] * 1.005 else "buys as much and ")
        lead = f"With more weight on unused commitment the plan {size}{terms}: "
        out.append(lead + "; ".join(
            f"`risk_lambda` {r.risk_lambda:g}: 3-year share {r.three_year_share_now:.0%}, expected unused "
            f"{r.expected_unused_usd / 1e6:,.1f} M USD" for r in f.itertuples(index=False)) + ".")
    return "\n\n".join(out)


def outlook_chart(plan):
    """Altair chart of the on-demand multipliers per pool (one thin line per price scenario, the mean bold);
    None when the plan used today's prices."""
    import altair as alt

    pp = plan.price_paths
    if pp is None or pp.empty:
        return None
    moving = pp.groupby("pool")["on_demand"].transform(lambda v: v.max() - v.min()) > 1e-9
    pp = pp[moving] if moving.any() else pp
    pools = pp["pool"].unique()[:6]
    pp = pp[pp["pool"].isin(pools)].assign(quarter_start=lambda f: pd.to_datetime(f["quarter_start"]))
    mean = pp.groupby(["pool", "quarter_start"], as_index=False)["on_demand"].mean()
    base = alt.Chart(pp).mark_line(opacity=0.25, strokeWidth=1).encode(
        x=alt.X("quarter_start:T", title="quarter"), y=alt.Y("on_demand:Q", title="on-demand price x today's"),
        color=alt.Color("pool:N", legend=alt.Legend(labelLimit=0, symbolOpacity=1, symbolStrokeWidth=3)),
        detail="scenario:N")  # names in full, symbols as the bold mean lines
    bold = alt.Chart(mean).mark_line(strokeWidth=3).encode(x="quarter_start:T", y="on_demand:Q", color="pool:N")
    return (base + bold).properties(width=620, height=240, title="Price outlook: on demand, per scenario (mean bold)")


def term_reasons(plan, catalog: pd.DataFrame | None = None, migration=None,
                 price_outlook: str | None = None) -> pd.DataFrame:
    """Why each purchase of this quarter has its term, for the report
    (:func:`finops_forecast.portfolio.terms.plan_term_reasons`: both terms' break-even utilization at today's and
    at the outlook's expected prices, the worst-10% and expected utilization, migration).

    Parameters
    ----------
    plan : Plan
    catalog : pandas.DataFrame, optional
        The catalog the plan was priced with (GPU types of GPU-scoped lines, the ``"rule"`` migration).
    migration : str or dict, optional
        The report's ``migration`` parameter.
    price_outlook : str, optional
        The report's ``price_outlook`` (with ``"history"``, the odds of the cut that would make 1-year terms win
        are drawn from the fit: :func:`finops_forecast.portfolio.terms.renewal_draws`).

    Returns
    -------
    pandas.DataFrame
        instrument (family), scope, term [months], commitment [USD/h], verdict and "why this term".
    """
    from finops_forecast.portfolio.terms import plan_term_reasons

    return shown_reasons(plan, plan_term_reasons(plan, catalog, migration, price_outlook))


def shown_reasons(plan, why: pd.DataFrame) -> pd.DataFrame:
    """The term reasons ``why`` of ``plan``'s purchases of this quarter (``QuarterlyAnalysis.term_reasons``, in
    the order of ``plan.buy_now``) as the report shows them: instrument (family), scope, term [months],
    commitment [USD/h], verdict and "why this term"."""
    buy = plan.buy_now.reset_index(drop=True)
    return pd.DataFrame({"instrument": buy["instrument"].str.split(":").str[0], "scope": buy["scope"],
                         "term [months]": buy["term_months"],
                         "commitment [USD/h]": buy["commitment_usd_per_hour"].astype(float).round(2),
                         "verdict": why["verdict"].to_numpy(), "why this term": why["reason"].to_numpy()})


def evidence_table(usage: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """1-year vs 3-year vs laddered on the real price history, for p4d / p5 (us-east-1) and the usage's pools
    (:func:`finops_forecast.evaluate.term_evidence.term_evidence`); costs relative to all on demand."""
    from finops_forecast.evaluate.term_evidence import term_evidence

    pools = [("aws", "us-east-1", "p4d.24xlarge"), ("aws", "us-east-1", "p5.48xlarge")]
    pools += [tuple(k) for k in usage[POOL_KEYS].drop_duplicates().itertuples(index=False)]
    t = term_evidence(list(dict.fromkeys(pools)), history)
    return t.rename(columns={"cost_1_year": "1-year", "cost_3_year": "3-year", "cost_laddered": "laddered",
                             "margin": "winner's margin"})


def styled(frame: pd.DataFrame):
    """:func:`term_reasons` or :func:`evidence_table` as the report shows it: a Styler with every cell
    HTML-escaped, no row index, numbers formatted, and text in full (pandas would cut a reason at 50
    characters), left-aligned so that a sentence reads as one."""
    style = safe_style(frame, _FORMATS)
    text = [c for c in ("why this term",) if c in frame.columns]
    return style.set_properties(subset=text, **{"text-align": "left", "min-width": "28em"}) if text else style
