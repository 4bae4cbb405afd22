"""The analysis behind the quarterly commitment report (everything the notebook shows is computed here).

:func:`quarterly_analysis` is the thin orchestrator the notebook calls: it loads usage, forecasts demand paths to
the end of the planned quarter, prices each pool from the catalog and recommends a commitment per pool.

The recommendation is the portfolio optimizer's plan (:func:`finops_forecast.portfolio.optimize`): first-stage
purchases for the quarter and a ladder for the quarters after it, over the forecast's sample paths, minimizing
expected cost plus ``risk_lambda`` x CVaR. Beside it the report bills, under the same forecast paths, what the
clouds' own lookback rule would buy (the commitment that would have saved most over the last
``lookback_days``), and all on-demand.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from finops_forecast._io import atomic_write_text, write_frame
from finops_forecast.errors import FinopsError, suggest
from finops_forecast.report.params import ReportParams, ReportParamsError, next_quarter, quarter_bounds
from finops_forecast.report.safe import md_text, safe_style
from finops_forecast.usage.schema import POOL_KEYS



def load_report_usage(params: ReportParams) -> pd.DataFrame:
    """Load the usage the report is about: the sample, a usage table, or a FOCUS export (detected by columns).

    Through :func:`~finops_forecast.usage.load.load_usage`; a provider the usage does not have is refused first
    (a typo, with "did you mean"), then the filters apply and an empty result is an error naming them.
    """
    from finops_forecast.usage.load import filter_usage, load_usage

    usage, _ = load_usage(params.usage)
    if params.provider_list():
        have = sorted(usage["provider"].unique())
        for name in params.provider_list():
            if name not in have:
                raise ReportParamsError(f"parameter 'providers': no usage of provider '{name}'."
                                        f"{suggest(name, have)} The usage has: {', '.join(have)}.")
    return filter_usage(usage, providers=params.providers, workload_classes=params.workload_classes)


@dataclass
class QuarterlyAnalysis:
    """Everything the report shows. Built by :func:`quarterly_analysis`.

    Attributes
    ----------
    params : ReportParams
    quarter : str
    start, end : pandas.Timestamp
        The planned quarter [UTC, end exclusive].
    usage : pandas.DataFrame
        The usage table analysed.
    history : pandas.DataFrame
        Baseline / burst decomposition per series and hour [GPU-h].
    forecast : ForecastResult
        Demand forecast per series from the hour after the history to the end of the planning horizon.
    plan : Plan
        The optimizer's plan (purchases, ladder, quarters, savings curve, frontier).
    comparison : pandas.DataFrame
        The plan, the clouds' lookback rule and all on-demand, billed on the same forecast paths of the quarter.
    inventory : pandas.DataFrame
        Commitments already owned (empty when none).
    provenance : pandas.DataFrame
        Every price the plan uses: source, effective date, assumption flag.
    instrument_prices : pandas.Series
        Price of one unit of each instrument of the market [USD/h per instance, or 1 per USD/h].
    catalog : pandas.DataFrame
        The pricing catalog the analysis used.
    notes : list of str
    capacity : (DataFrame, DataFrame) or None
        How each planned run is held (:func:`finops_forecast.portfolio.capacity.decide_capacity`: decisions and
        every option), None without planned runs.
    """

    params: ReportParams
    quarter: str
    start: pd.Timestamp
    end: pd.Timestamp
    usage: pd.DataFrame
    history: pd.DataFrame
    forecast: object
    plan: object
    comparison: pd.DataFrame
    inventory: pd.DataFrame
    provenance: pd.DataFrame
    instrument_prices: pd.Series = field(default_factory=pd.Series)
    catalog: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    notes: list[str] = field(default_factory=list)
    capacity: tuple | None = None
    _track: object = field(default=None, repr=False)

    @property
    def showback_period(self) -> str:
        """The last full calendar month of usage, e.g. ``2026-10`` (the unit-economics section's period)."""
        after = (self.usage["ts"].max() + pd.Timedelta(hours=1)).tz_convert(None)
        return str(after.to_period("M") - 1)  # the month holding `after` is not complete

    def unit_economics(self) -> tuple[dict, dict]:
        """Showback of the last full month: tables and charts (see :func:`finops_forecast.showback.report_section`)."""
        from finops_forecast.showback import report_section

        return report_section(self.usage, self.catalog, period=self.showback_period)

    @property
    def purchases(self) -> pd.DataFrame:
        """What to buy this quarter (the plan's first-stage purchases)."""
        return self.plan.buy_now

    @property
    def summary(self) -> dict:
        """Headline numbers: the quarter's expected cost, savings and risk under the plan."""
        q0 = self.plan.quarters.iloc[0]
        buy = self.purchases
        fc = self.comparison.set_index("policy")
        return {
            "quarter": self.quarter, "n_purchases": int(len(buy)),
            "commitment_usd_per_hour": float(buy["commitment_usd_per_hour"].sum()),
            "upfront_usd": float(buy["upfront_usd"].sum()), "monthly_usd": float(buy["monthly_usd"].sum()),
            "obligation_usd": float(self.plan.obligation_usd),
            "break_even_utilization": float(self.plan.break_even_utilization),
            "quarter_expected_cost_usd": float(q0["expected_cost_usd"]),
            "quarter_on_demand_cost_usd": float(q0["on_demand_cost_usd"]),
            "quarter_savings_usd": float(q0["on_demand_cost_usd"] - q0["expected_cost_usd"]),
            "quarter_effective_savings_rate": float(1 - q0["expected_cost_usd"] / q0["on_demand_cost_usd"]),
            "horizon_quarters": int(len(self.plan.quarters)),
            "horizon_expected_cost_usd": float(self.plan.expected_cost_usd),
            "horizon_savings_usd": float(self.plan.savings_usd),
            "horizon_effective_savings_rate": float(self.plan.effective_savings_rate),
            "coverage": float(self.plan.coverage), "utilization": float(self.plan.utilization),
            "cvar_usd": float(self.plan.cvar_usd), "alpha": float(self.plan.alpha),
            "risk_lambda": float(self.plan.risk_lambda),
            "lookback_quarter_cost_usd": float(fc.loc["cloud lookback rule", "expected_cost_usd"]),
            "plan_vs_lookback_usd": float(fc.loc["cloud lookback rule", "expected_cost_usd"]
                                          - fc.loc["this plan", "expected_cost_usd"]),
            "status": str(self.plan.status), "solver": str(self.plan.solver),
            "capacity_purchases": int(len(self.capacity_purchases)),
            "capacity_obligation_usd": float(self.capacity_purchases["obligation_usd"].sum()),
            "total_obligation_usd": float(self.plan.obligation_usd
                                          + self.capacity_purchases["obligation_usd"].sum()),
        }

    @property
    def capacity_purchases(self) -> pd.DataFrame:
        """Capacity bought for planned runs (capacity blocks, calendar or capacity reservations) as purchase lines:
        the recommendation's columns where they apply, plus the window the capacity is held."""
        from finops_forecast.report.capacity_section import capacity_purchase_lines

        return capacity_purchase_lines(None if self.capacity is None else self.capacity[0])

    def recommendation_text(self) -> str:
        """The recommendation in one paragraph (Markdown)."""
        s = self.summary
        buy = self.purchases.sort_values("commitment_usd_per_hour", ascending=False)
        items = [f"{_qty(r)} {md_text(r.instrument.split(':')[0].replace('_', ' '))} on {md_text(r.scope)} "
                 f"({int(r.term_months)} months, {md_text(r.payment_option.replace('_', ' '))})"
                 for r in buy.itertuples()]
        return (
            f"For **{self.quarter}**, buy **{s['n_purchases']} commitments** worth "
            f"**{s['commitment_usd_per_hour']:,.0f} USD/h** ({s['monthly_usd']:,.0f} USD a month, "
            f"{s['upfront_usd']:,.0f} USD upfront), an **obligation of {s['obligation_usd']:,.0f} USD** (every fee "
            f"still to pay over their terms, whatever the usage): {'; '.join(items) or 'nothing'}. "
            + _signing_text(buy) + _capacity_text(self.capacity_purchases) +
            f"Under the forecast, the quarter's GPU bill falls from **{s['quarter_on_demand_cost_usd']:,.0f} USD** "
            f"(all on-demand) to **{s['quarter_expected_cost_usd']:,.0f} USD**, a saving of "
            f"**{s['quarter_savings_usd']:,.0f} USD** (effective savings rate "
            f"**{s['quarter_effective_savings_rate']:.1%}**); over the {s['horizon_quarters']} quarters planned, "
            f"the savings rate is {s['horizon_effective_savings_rate']:.1%}. "
            f"Risk: the expected cost of the worst {1 - s['alpha']:.0%} of forecast paths (CVaR) over the horizon "
            f"is {s['cvar_usd']:,.0f} USD; commitments are expected to be {s['utilization']:.1%} used and to "
            f"cover {s['coverage']:.1%} of demand. The clouds' lookback rule would cost "
            f"{s['plan_vs_lookback_usd']:,.0f} USD more this quarter under the same forecast.")

    def recommendation_table(self):
        """The purchase table as shown in the report (a pandas Styler)."""
        cols = {"instrument": "instrument", "scope": "scope", "term_months": "term [months]",
                "payment_option": "payment", "quantity": "quantity",
                "gpu_capacity": "GPUs covered", "commitment_usd_per_hour": "commitment [USD/h]",
                "upfront_usd": "upfront [USD]", "monthly_usd": "monthly [USD]",
                "obligation_usd": "obligation [USD]",
                "expected_utilization": "expected utilization", "utilization_p10": "utilization, worst 10%",
                "break_even_utilization": "break-even utilization", "walk_away_month": "pays off after [months]",
                "payback_month": "upfront paid back [month]"}
        frame = self.purchases.sort_values("commitment_usd_per_hour", ascending=False)
        frame = frame[[c for c in cols if c in frame.columns]].rename(columns=cols)
        frame["instrument"] = frame["instrument"].str.split(":").str[0]
        frame["payment"] = frame["payment"].str.replace("_", " ")
        frame["quantity"] = [_quantity_cell(r) for r in self.purchases.sort_values(
            "commitment_usd_per_hour", ascending=False).itertuples()]
        fmt = {"GPUs covered": "{:,.0f}", "commitment [USD/h]": "{:,.2f}", "obligation [USD]": "{:,.0f}",
               "upfront [USD]": "{:,.0f}", "monthly [USD]": "{:,.0f}", "expected utilization": "{:.0%}",
               "utilization, worst 10%": "{:.0%}", "break-even utilization": "{:.0%}",
               "pays off after [months]": "{:.1f}", "upfront paid back [month]": "{:.0f}"}
        return safe_style(frame, fmt)

    def comparison_table(self):
        """This plan vs the cloud lookback rule vs all on-demand on the quarter's forecast paths (a Styler)."""
        names = {"commitment_usd_per_hour": "commitments [USD/h]", "expected_cost_usd": "expected cost [USD]",
                 "p95_cost_usd": "cost, 95th percentile [USD]", "savings_usd": "savings [USD]",
                 "effective_savings_rate": "effective savings rate", "utilization": "utilization",
                 "coverage": "coverage"}
        fmt = {"commitments [USD/h]": "{:,.2f}", "expected cost [USD]": "{:,.0f}",
               "cost, 95th percentile [USD]": "{:,.0f}", "savings [USD]": "{:,.0f}",
               "effective savings rate": "{:.1%}", "utilization": "{:.0%}", "coverage": "{:.0%}"}
        return safe_style(self.comparison.rename(columns=names), fmt)

    def ladder_text(self) -> str:
        """Signing the plan at once versus a ladder of monthly rungs toward it (Markdown)."""
        lc = self.plan.ladder_comparison
        if lc is None or len(lc) < 2:
            return "No ladder comparison for this plan."
        opt, lad = lc.iloc[0], lc.iloc[1]
        diff = float(lad["expected_cost_usd"] - opt["expected_cost_usd"])
        return (f"Signed at once, this quarter's purchases commit **{opt['obligation_now_usd']:,.0f} USD** on one "
                f"day and {opt['largest_expiry_share']:.0%} of the plan's commitments expire in a single month. "
                f"A ladder that buys a twelfth of the same target every month signs "
                f"**{lad['obligation_now_usd']:,.0f} USD** in its first month and lets at most "
                f"{lad['largest_expiry_share']:.0%} expire in any month; under the same forecast it is expected to "
                f"cost **{abs(diff):,.0f} USD {'more' if diff >= 0 else 'less'}** over the "
                f"{len(self.plan.quarters)} quarters (on the optimizer's compressed forecast rows), the price of "
                f"that flexibility. Fees the plan's purchases owe after the horizon: "
                f"{self.plan.fees_after_horizon_usd:,.0f} USD (not in the horizon's expected cost).")

    def ladder_table(self):
        """The plan and the ladder policy side by side (a Styler)."""
        names = {"policy": "policy", "expected_cost_usd": "expected cost [USD]", "cvar_usd": "CVaR [USD]",
                 "obligation_now_usd": "signed in the first month [USD]",
                 "first_quarter_usd_per_hour": "held in the first quarter [USD/h]",
                 "largest_expiry_share": "largest share expiring in one month"}
        fmt = {"expected cost [USD]": "{:,.0f}", "CVaR [USD]": "{:,.0f}", "signed in the first month [USD]": "{:,.0f}",
               "held in the first quarter [USD/h]": "{:,.0f}", "largest share expiring in one month": "{:.0%}"}
        return safe_style(self.plan.ladder_comparison.rename(columns=names), fmt)


    def track_record(self):
        """Replay the method on the last ``params.track_record_weeks`` weeks of usage (computed once).

        A rolling backtest (:func:`finops_forecast.backtest`, see :func:`track_record`); started by
        :func:`quarterly_analysis` on a Dask worker beside the plan's computation (``params.workers``) and
        collected here.

        Returns
        -------
        BacktestResult or str
            The result, or a sentence saying why there is none (the section is off, or the usage is too short).
        """
        from finops_forecast.forecast.engines import Beside

        if self._track is None:
            self._track = start_track_record(self.usage, self.catalog, self.params, workers=1)
        if isinstance(self._track, Beside):
            self._track = self._track.result()
        return self._track

    def track_record_text(self) -> str:
        """The track record in one paragraph (Markdown)."""
        r = self.track_record()
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
                f"lookback rule ({int(self.params.lookback_days)} days) **{lb['savings_capture']:.1%}**; "
                f"{verdict}.")

    def track_record_table(self):
        """The track record per rule (a Styler), or None when there is none."""
        r = self.track_record()
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

    @staticmethod
    def top_drivers_table(tables: dict):
        """The showback's largest cost drivers as shown in the report (a Styler): GPU-hours and cost in whole
        units, the unit cost in cents, the share of the month's GPU cost in percent."""
        names = {"instance_type": "instance type", "workload_class": "class", "gpu_hours": "GPU-hours",
                 "gpu_cost": "cost [USD]", "usd_per_gpu_hour": "USD/GPU-h", "share": "share of cost"}
        frame = tables["top_drivers"].rename(columns=names)
        fmt = {"GPU-hours": "{:,.0f}", "cost [USD]": "{:,.0f}", "USD/GPU-h": "{:,.2f}", "share of cost": "{:.1%}"}
        return safe_style(frame, fmt)

    @staticmethod
    def statements_text(tables: dict, period: str, n: int = 6) -> str:
        """The unit-economics paragraph (Markdown): the period and the first ``n`` statements, team and model
        names shown as text."""
        return f"Period: **{md_text(period)}**. " + " ".join(md_text(t) for t in tables["statements"]["text"].head(n))

    @staticmethod
    def flags_text(tables: dict) -> str:
        """The guardrail flags as a Markdown list (names shown as text), or a sentence when there are none."""
        if tables["flags"].empty:
            return "No guardrail flags."
        return "\n".join("- " + md_text(m) for m in tables["flags"]["message"])

    def notes_text(self) -> str:
        """The analysis notes as a Markdown list (pool, instrument and run names shown as text)."""
        return "\n".join(f"- {md_text(note)}" for note in self.notes)

    def backtest_table(self):
        """Per series: the model chosen for total demand and each candidate's backtest MASE (a Styler)."""
        sel = self.forecast.selection
        if "component" in sel.columns:
            sel = sel[sel["component"] == "total"]
        mase = [c for c in sel.columns if c.startswith("mase_")]
        frame = sel[["provider", "instance_type", "workload_class", "model"] + mase].rename(
            columns={c: c.replace("mase_", "MASE ") for c in mase} | {"instance_type": "instance type",
                                                                       "workload_class": "class"})
        return safe_style(frame, {c.replace("mase_", "MASE "): "{:.2f}" for c in mase})

    def provenance_table(self):
        """Every price used, with its source, date and whether it is published or an assumption (a Styler)."""
        frame = self.provenance.assign(
            is_assumption=self.provenance["is_assumption"].map({True: "assumption", False: "published"}))
        frame = frame.rename(columns={"instance_type": "instance type", "pricing_model": "pricing model",
                                      "commitment_family": "family", "term_months": "term [months]",
                                      "payment_option": "payment", "usd_per_hour": "USD/h",
                                      "usd_per_gpu_hour": "USD/GPU-h", "effective_date": "effective date",
                                      "is_assumption": "kind"})
        return (safe_style(frame, {"USD/h": "{:,.4f}", "USD/GPU-h": "{:,.4f}"})
                .set_properties(subset=["source"], **{"text-align": "left", "max-width": "26em",
                                                      "font-size": ".85em"}))

    def write_outputs(self, folder: str | Path = ".") -> list[Path]:
        """Write ``recommendations.csv`` (this quarter's purchases) and ``plan.json`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        lines = self.purchases if self.capacity_purchases.empty else pd.concat(
            [self.purchases, self.capacity_purchases], ignore_index=True)
        csv = write_frame(lines, folder / "recommendations.csv")
        plan = atomic_write_text(folder / "plan.json", json.dumps({
            "quarter": self.quarter, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "parameters": self.params.to_dict(), "summary": self.summary, "plan": self.plan.to_dict(),
            "comparison": json.loads(self.comparison.to_json(orient="records")),
            "capacity": json.loads(self.capacity_purchases.to_json(orient="records", date_format="iso")),
            "notes": self.notes}, indent=2, default=str))
        return [csv, plan]


#: history before the track record's first decision [days]: eight weeks for the forecast to fit on
TRACK_WARMUP_DAYS = 56


def track_record(usage: pd.DataFrame, catalog: pd.DataFrame, params: ReportParams):
    """Replay the method on the last ``params.track_record_weeks`` weeks of usage.

    Every week, the forecast-driven rule (the optimizer on the forecast's paths of the week) and the clouds'
    lookback rule (``lookback_days``) buy commitments from the usage before that week only; the billing engine
    bills the week's realized usage. Commitments are held one week at the catalog's 1-year rate (the backtest's
    simulation setting), so the numbers measure decision quality, not the quarter's bill. Each series' model is
    selected once, at the first replayed week from the usage before it, and refit on the growing history every
    later week (``reselect_every``).

    Returns
    -------
    BacktestResult or str
        The result, or a sentence saying why there is none (the section is off, or the usage is too short).
    """
    weeks = int(params.track_record_weeks)
    if weeks == 0:
        return "The track record is off (track_record_weeks = 0)."
    from finops_forecast.evaluate import backtest

    warm = max(TRACK_WARMUP_DAYS, int(params.lookback_days))
    end = usage["ts"].max() + pd.Timedelta(hours=1)
    recent = usage[usage["ts"] >= end - pd.Timedelta(days=7 * weeks + warm)]
    try:
        return backtest(recent, catalog, policies="forecast,lookback,hindsight,on_demand", decision_every="7D",
                        term="7D", lookback=f"{int(params.lookback_days)}D", warmup=f"{warm}D",
                        forecast_candidates=("forecast",), n_paths=min(int(params.n_paths), 50),
                        models=params.forecast_model, calibration=None, seed=int(params.seed),
                        reselect_every=f"{7 * weeks}D")  # the report's own forecast, as the plan uses it
    except FinopsError as e:
        return f"No track record: {md_text(e)}"


def start_track_record(usage: pd.DataFrame, catalog: pd.DataFrame, params: ReportParams, workers: int = 2):
    """Start :func:`track_record` on a Dask worker beside this process (``workers >= 2``) or prepare it to run
    here; ``.result()`` gives its result. The section off, it is the sentence that says so."""
    from finops_forecast.forecast.engines import Beside

    if int(params.track_record_weeks) == 0:
        return track_record(usage, catalog, params)
    # only the columns the replay reads travel to the worker; track_record cuts the weeks it replays
    cols = ["ts", "provider", "region", "instance_type", "workload_class", "team", "gpu_hours"]
    return Beside(track_record, usage[[c for c in cols if c in usage.columns]], catalog, params, workers=workers)


def scenarios_net_of_capacity(scen, decisions: pd.DataFrame | None):
    """The scenarios less the GPU-hours that prepaid capacity holds (inside each run's window), clipped at 0.

    Computed per slice of hours when the optimizer asks for it, so no second copy of the paths is made.
    """
    from finops_forecast.portfolio import Scenarios
    from finops_forecast.portfolio.capacity import held_run_hours

    if decisions is None or decisions.empty:
        return scen
    held = held_run_hours(decisions, scen.keys, scen.ds)
    if not held.any():
        return scen
    paths = scen.paths
    held = held.astype(paths.dtype)  # the paths' own precision (float32): no float64 copy of a quarter's paths

    def net(a: int, b: int) -> np.ndarray:
        part = paths[:, :, a:b]
        if not held[:, a:b].any():  # no held run in these hours: the paths themselves (a view)
            return part
        return np.maximum(part - held[:, None, a:b], 0.0)

    return Scenarios(keys=scen.keys, ds=scen.ds, generator=net, n_paths=paths.shape[1])


def _capacity_text(lines: pd.DataFrame) -> str:
    """The capacity bought for planned runs, in one sentence (Markdown); empty when none."""
    if lines.empty:
        return ""
    items = [f"{r.quantity:,.0f} x {md_text(r.instance_type if hasattr(r, 'instance_type') else r.scope)} on "
             f"{md_text(r.family.replace('_', ' '))} for {md_text(r.run)} ({r.window_start:%Y-%m-%d} to "
             f"{r.window_end:%Y-%m-%d}, {r.obligation_usd:,.0f} USD)" for r in lines.itertuples()]
    return (f"For the planned runs, also hold capacity: {'; '.join(items)}; their GPU-hours are paid by it and "
            f"left out of the commitments' demand (section \"Capacity for planned runs\"). ")


def _signing_text(buy: pd.DataFrame) -> str:
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


def _quantity_cell(r) -> str:
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


def load_inventory(path: str) -> pd.DataFrame:
    """Commitments already owned, from a CSV (see :mod:`finops_forecast.portfolio.inventory`) or FOCUS export."""
    from finops_forecast.portfolio.inventory import read_inventory, validate_inventory

    if not path:
        return validate_inventory(None)
    return read_inventory(path, "parameter 'commitments'")


def _series_matrix(usage: pd.DataFrame, keys: pd.DataFrame, hours: int) -> np.ndarray:
    """The last ``hours`` of realized demand as an (hours, series) matrix in the order of ``keys`` [GPU-h]."""
    from finops_forecast.usage.demand import hourly_demand

    return hourly_demand(usage).select(keys).last(hours).hours_major()


def build_report_market(catalog: pd.DataFrame, keys: pd.DataFrame, config):
    """The optimizer's market (instruments in billing order) for these series and settings."""
    from finops_forecast.portfolio.instruments import SpotSettings, build_market

    return build_market(catalog, keys, terms_months=config.terms_months, payment_options=config.payment_options,
                        families=config.families,
                        spot=SpotSettings(classes=tuple(config.spot_classes), cap=config.spot_cap))


def lookback_purchase(market, history: np.ndarray, held: np.ndarray, config) -> np.ndarray:
    """What the clouds' lookback rule buys: the commitment that would have cost least over ``history``
    ((hours, series) [GPU-h per hour]), solved as the exact LP and, when the plan is in whole units
    (``config.integer_ri``), rounded to whole units as the providers' recommendations are (nearest unit, no
    proof of optimality: that is the rule, not our optimizer)."""
    from dataclasses import replace

    from finops_forecast.portfolio.policies import decide

    q = decide("lookback", market, history=history, held=held, config=replace(config, integer_ri=False))
    return np.round(q) if config.integer_ri else q


def compare_policies(plan, usage: pd.DataFrame, scenarios, market, config, *,
                     inventory: pd.DataFrame | None = None, lookback_days: int = 30) -> pd.DataFrame:
    """Bill this plan, the clouds' lookback rule and no new commitments on the first quarter's forecast paths.

    Commitments already owned are held (and paid) in all three.

    The lookback rule buys the commitments that would have minimized the cost of the last ``lookback_days``
    of realized demand (AWS Cost Explorer and Azure Advisor style: no forecast). All three are billed by the
    same billing engine on the same forecast paths of the quarter.

    Returns
    -------
    pandas.DataFrame
        One row per policy: commitment_usd_per_hour [USD/h], expected_cost_usd and p95_cost_usd over the
        quarter [USD], savings_usd and effective_savings_rate against all demand at on-demand list prices,
        utilization, coverage.
    """
    from finops_forecast.portfolio.billing import bill
    from finops_forecast.portfolio.inventory import active_quantities
    from finops_forecast.portfolio.policies import decide

    q0 = plan.quarters.iloc[0]
    hours = int(q0["hours"])
    x = scenarios.slice(0, hours)  # (paths, hours, series)
    n_paths = x.shape[0]
    flat = x.reshape(-1, x.shape[2])
    starts = pd.DatetimeIndex([q0["start"]])
    owned, _ = active_quantities(inventory, market, starts, starts + pd.Timedelta(hours=hours))
    owned = owned[0]
    ids = market.instruments["id"].tolist()
    buy_plan = np.zeros(len(ids))
    for r in plan.buy_now.itertuples():
        if r.instrument in ids:
            buy_plan[ids.index(r.instrument)] += r.quantity
    history = _series_matrix(usage, market.series, lookback_days * 24)
    buy_lookback = lookback_purchase(market, history, owned, config)
    rows = []
    for name, held in (("this plan", owned + buy_plan), ("cloud lookback rule", owned + buy_lookback),
                       ("no new commitments (spot where allowed, else on-demand)", owned)):
        b = bill(flat, market, held)
        per_path = b.cost.reshape(n_paths, hours).sum(axis=1)
        od = b.list_cost.reshape(n_paths, hours).sum(axis=1)
        committed = b.committed.sum()
        rows.append({
            "policy": name, "commitment_usd_per_hour": float((held * market.instruments["price"].to_numpy()).sum()),
            "expected_cost_usd": float(per_path.mean()), "p95_cost_usd": float(np.quantile(per_path, 0.95)),
            "savings_usd": float((od - per_path).mean()),
            "effective_savings_rate": float(1 - per_path.mean() / od.mean()),
            "utilization": float(b.used.sum() / committed) if committed > 0 else np.nan,
            "coverage": float(b.covered.sum() / b.demand.sum()) if b.demand.sum() > 0 else 0.0})
    return pd.DataFrame(rows)


def quarterly_analysis(params: ReportParams, *, catalog: pd.DataFrame | None = None) -> QuarterlyAnalysis:
    """Run the report's analysis: usage -> forecast -> optimize -> compare.

    Parameters
    ----------
    params : ReportParams
        Validated report parameters.
    catalog : pandas.DataFrame, optional
        Pricing catalog; default :func:`finops_forecast.pricing.load_pricing` with ``params.pricing`` overrides.

    Returns
    -------
    QuarterlyAnalysis
    """
    from finops_forecast.forecast import forecast
    from finops_forecast.portfolio import PortfolioConfig, Scenarios, optimize
    from finops_forecast.pricing import check_pools, load_pricing
    from finops_forecast.report.market_section import market_settings
    from finops_forecast.usage.decompose import decompose

    usage = load_report_usage(params)
    last = usage["ts"].max()
    quarter = params.quarter if params.quarter != "next" else next_quarter(last)
    start, end = quarter_bounds(quarter)
    if start <= last:
        raise FinopsError(f"parameter 'quarter': {quarter} starts on {start:%Y-%m-%d}, before the usage ends "
                          f"({last:%Y-%m-%d %H:%M}); plan a quarter after the history, e.g. {next_quarter(last)}.")
    if catalog is None:
        files = params.pricing_files()
        catalog = load_pricing(path=files) if files else load_pricing()
    check_pools(catalog, usage[POOL_KEYS].drop_duplicates())
    inventory = load_inventory(params.commitments)
    # the track record needs only the usage and the catalog: replay it on the second core meanwhile
    track = start_track_record(usage, catalog, params, workers=int(params.workers))

    history = decompose(usage)
    horizon_end = start + pd.DateOffset(months=3 * params.quarters)
    horizon = int((horizon_end - last) / pd.Timedelta(hours=1)) - 1
    from finops_forecast.report.capacity_section import decide_report_capacity, report_planned_runs

    planned = report_planned_runs(params)
    # total demand only: the optimizer consumes total paths, which are the same with or without a baseline
    # forecast beside them (the history chart shows the baseline/burst split of the realized usage)
    fc = forecast(usage, horizon, models=params.forecast_model, n_paths=params.n_paths, seed=params.seed,
                  planned_runs=planned, progress=False, components="total")
    i0 = int(np.searchsorted(fc.ds, start))
    # planned runs held by prepaid capacity (a capacity block, a calendar reservation) are paid by it: the
    # commitments serve the demand net of their hours (the forecast chart still shows them)
    capacity = decide_report_capacity(params, catalog, planned, decided_on=last)
    scen = scenarios_net_of_capacity(Scenarios(keys=fc.keys, ds=fc.ds[i0:], paths=fc.paths[:, :, i0:]),
                                     None if capacity is None else capacity[0])
    config = PortfolioConfig(quarters=params.quarters, terms_months=tuple(params.term_list()),
                             risk_lambda=params.risk_lambda, alpha=params.cvar_alpha,
                             upfront_budget_usd=params.budget_usd or None, integer_ri=params.integer_units,
                             payment_options=tuple(params.payment_list()), cost_of_capital=params.cost_of_capital,
                             **market_settings(params),
                             frontier_lambdas=(0.0, 0.5, 1.0, 4.0),
                             curve_factors=(0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0))
    plan = optimize(scen, catalog, inventory, config)
    market = build_report_market(catalog, scen.keys, config)
    comparison = compare_policies(plan, usage, scen, market, config, inventory=inventory,
                                  lookback_days=params.lookback_days)

    used = plan.purchases[["provider", "scope", "family", "term_months", "payment_option"]].drop_duplicates()
    prov = catalog[catalog["provider"].isin(usage["provider"].unique())
                   & catalog.set_index(POOL_KEYS).index.isin(usage.set_index(POOL_KEYS).index.unique())
                   & ((catalog["pricing_model"].isin(["on_demand", "spot"]))
                      | (catalog["commitment_family"].isin(used["family"])
                         & catalog["term_months"].isin(used["term_months"])
                         & catalog["payment_option"].isin(used["payment_option"])))]
    prov = prov[["provider", "region", "instance_type", "pricing_model", "commitment_family", "term_months",
                 "payment_option", "usd_per_hour", "usd_per_gpu_hour", "effective_date", "source",
                 "is_assumption"]].assign(effective_date=lambda f: f["effective_date"].astype(str).str[:10])
    notes = [f"Forecast: {params.forecast_model} with {params.n_paths} sample paths per series from "
             f"{fc.ds[0]:%Y-%m-%d} to {fc.ds[-1]:%Y-%m-%d}; the plan uses the {params.quarters} quarters from "
             f"{start:%Y-%m-%d}.", f"Optimizer: status {plan.status}, solver {plan.solver}."]
    notes += [str(n) for n in plan.notes]
    if planned is not None and len(planned):
        notes.append(f"{len(planned)} planned runs added to the burst forecast: "
                     + "; ".join(f"{r.name} ({r.gpus} GPUs on {r.instance_type} from {r.start:%Y-%m-%d}, "
                                 f"{r.duration_hours / 24:.0f} days)" for r in planned.itertuples()
                                 if hasattr(r, "name")))
    return QuarterlyAnalysis(params=params, quarter=quarter, start=start, end=end, usage=usage, history=history,
                             forecast=fc, plan=plan, comparison=comparison, inventory=inventory,
                             instrument_prices=market.instruments.set_index("id")["price"], catalog=catalog,
                             provenance=prov.sort_values(["provider", "instance_type", "pricing_model"])
                             .reset_index(drop=True), notes=notes, capacity=capacity, _track=track)
