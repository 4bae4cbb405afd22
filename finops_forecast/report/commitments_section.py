"""The report section "How your commitments performed": realized utilization, coverage, ESR and advice.

Reads the FOCUS export given as the report's ``commitments`` parameter with
:func:`finops_forecast.evaluate.commitments.commitment_performance`, and says, for every owned commitment that
ran below the utilization threshold, what to do about it. User strings (commitment ids, types) are
HTML-escaped before they reach Markdown.
"""
from __future__ import annotations

import html

import pandas as pd

TABLE_NAMES = {"commitment_discount_id": "commitment", "type": "type", "month": "month",
               "utilization": "utilization", "used_amount": "used", "unused_amount": "unused", "amount_unit": "unit",
               "unused_cost_usd": "unused cost [USD]", "effective_savings_rate": "ESR",
               "days_to_expiry": "days to expiry"}


def _is_focus(path: str) -> bool:
    if not path or not str(path).lower().endswith((".csv", ".csv.gz", ".parquet", ".pq")):
        return False
    try:
        cols = pd.read_parquet(path).columns if str(path).lower().endswith((".parquet", ".pq")) else \
            pd.read_csv(path, nrows=0).columns
    except (OSError, ValueError):
        return False
    return "CommitmentDiscountId" in cols


def _advice(row) -> str:
    """What to do with a commitment that ran below the threshold, by its type."""
    kind = str(row["type"]).lower()
    exp = row["expires"]
    when = f"it expires on {exp:%Y-%m-%d}" if pd.notna(exp) else "the export does not give its expiry"
    if "reserv" in kind or "resource" in kind:
        act = ("if it is a convertible reserved instance, exchange it for the instance type your workloads run "
               "now; otherwise move workloads into its scope (its region and instance type), or let it expire")
    else:
        act = "move eligible workloads into its scope (its provider and services) and do not renew it as is"
    return f"{act} ({when})."


def commitments_section(path: str, threshold: float = 0.9) -> tuple[str, pd.DataFrame | None]:
    """Markdown and table of the section "How your commitments performed".

    Parameters
    ----------
    path : str
        The report's ``commitments`` parameter: a FOCUS export (anything else, or empty: nothing to show).
    threshold : float, default 0.9
        Utilization below which a commitment is flagged, in [0, 1].

    Returns
    -------
    (markdown, table)
        The text (summary, then one line per commitment below the threshold with what to do) and one row per
        commitment x month (None when there is no FOCUS export).
    """
    from finops_forecast.evaluate.commitments import commitment_performance

    if not _is_focus(path):
        empty = ("No FOCUS export of owned commitments was given (parameter `commitments`): nothing to show. "
                 "Pass the bill to see each commitment's utilization, coverage and unused cost.")
        return empty, None
    perf = commitment_performance(path)
    s = perf.summary

    def pct(x):
        return "unknown" if x is None or pd.isna(x) else f"{x:.1%}"

    lines = [(f"Across **{s['commitments']} commitments** in the bill: utilization **{pct(s['utilization'])}**, "
              f"coverage of eligible usage **{pct(s['coverage'])}**, effective savings rate "
              f"**{pct(s['effective_savings_rate'])}**, unused commitment **{s['unused_cost_usd']:,.2f} USD**.")]
    per = perf.commitments
    low = per[per["utilization"] < threshold]
    for _, r in low.iterrows():
        lines.append(f"- `{html.escape(str(r['commitment_discount_id']))}` ({html.escape(str(r['type']))}) ran at "
                     f"**{r['utilization']:.1%}** in {r['month']:%Y-%m}, below {threshold:.0%}, leaving "
                     f"{r['unused_cost_usd']:,.2f} USD unused: {_advice(r)}")
    if per["utilization"].isna().any():
        lines.append(f"- {int(per['utilization'].isna().sum())} commitment-months have an unknown utilization "
                     "(the export gives neither CommitmentDiscountQuantity nor their cost).")
    lines += [f"- note: {html.escape(n)}" for n in perf.notes]
    table = per[list(TABLE_NAMES)].rename(columns=TABLE_NAMES)
    table["commitment"] = table["commitment"].map(lambda v: html.escape(str(v)))
    table["type"] = table["type"].map(lambda v: html.escape(str(v)))
    return "\n".join(lines), table
