"""The analysis behind the quarterly commitment report: :func:`quarterly_analysis` computes every result once.

:func:`quarterly_analysis` is the thin orchestrator the notebook calls: it loads usage, forecasts demand paths to
the end of the planned quarter, prices each pool from the catalog and recommends a commitment per pool, and
returns a :class:`~finops_forecast.report.results.QuarterlyAnalysis` that :mod:`finops_forecast.report.present`
shows (it computes nothing more).

The recommendation is the portfolio optimizer's plan (:func:`finops_forecast.portfolio.optimize`): first-stage
purchases for the quarter and a ladder for the quarters after it, over the forecast's sample paths, minimizing
expected cost plus ``risk_lambda`` x CVaR. Beside it the report bills, under the same forecast paths and on the
market the plan was built on, what the clouds' own lookback rule would buy (the commitment that would have saved
most over the last ``lookback_days``), and all on-demand.
"""
from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

from finops_forecast.errors import FinopsError, suggest
from finops_forecast.report.params import ReportParams, ReportParamsError, next_quarter, quarter_bounds
from finops_forecast.report.results import QuarterlyAnalysis, forecast_fan, headline_numbers, showback_period
from finops_forecast.report.safe import md_text
from finops_forecast.usage.schema import POOL_KEYS

__all__ = ["QuarterlyAnalysis", "compare_policies", "load_inventory", "load_report_usage", "quarterly_analysis",
           "scenarios_net_of_capacity", "start_track_record", "track_record"]


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


#: history before the track record's first decision [days]: eight weeks for the forecast to fit on
TRACK_WARMUP_DAYS = 56


def track_record(usage: pd.DataFrame, catalog: pd.DataFrame, params: ReportParams):
    """Replay the method on the last ``params.track_record_weeks`` weeks of usage.

    Every week, the forecast-driven rule (the optimizer on the forecast's paths of the week) and the clouds'
    lookback rule (``lookback_days``) buy commitments from the usage before that week only; the billing engine
    bills the week's realized usage. Commitments are held one week at the catalog's 1-year rate (the backtest's
    simulation setting), so the numbers measure decision quality, not the quarter's bill. Each series' model is
    selected once, at the first replayed week from the usage before it, and refit on the growing history every
    later week (``reselect_every``). The replayed decisions are a week long, so the models are compared over a
    week ahead (the forecast's default), not over the plan's quarter (``forecast.PLAN_SELECTION``); eight weeks of
    warm-up history would cap a quarter's backtest at 18 days anyway.

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
    recent = track_rows(usage, params)
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
    # only the rows and columns the replay reads travel to the worker
    cols = ["ts", "provider", "region", "instance_type", "workload_class", "team", "gpu_hours"]
    recent = track_rows(usage, params)
    return Beside(track_record, recent[[c for c in cols if c in recent.columns]], catalog, params, workers=workers)


def track_rows(usage: pd.DataFrame, params: ReportParams) -> pd.DataFrame:
    """The usage the track record replays: its last ``track_record_weeks`` weeks and the warm-up before them
    (idempotent: cutting a cut table changes nothing)."""
    warm = max(TRACK_WARMUP_DAYS, int(params.lookback_days))
    end = usage["ts"].max() + pd.Timedelta(hours=1)
    return usage[usage["ts"] >= end - pd.Timedelta(days=7 * int(params.track_record_weeks) + warm)]


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


#: allocations of this size and more get pages of their own, given back to the system when freed [bytes]
MMAP_THRESHOLD = 16 * 2**20


def map_large_allocations() -> None:
    """Have glibc's malloc map every allocation of :data:`MMAP_THRESHOLD` bytes or more on pages of its own,
    which go back to the system as soon as the allocation is freed.

    By default glibc raises that threshold to the largest block freed so far (up to 32 MB); from then on the
    report's large temporaries (per-series paths and their hourly shapes, the solver's matrices) are carved from
    the heap, and pages freed there stay in the process, mostly in the arena of the thread that freed them:
    ~40-80 MB of the report kernel's peak (docs/performance.md). This sets the threshold of the whole process,
    for good (``MALLOC_MMAP_THRESHOLD_`` in the environment does the same at start-up, and is left alone when
    set); it does nothing where the C library is not glibc.
    """
    import ctypes
    import os
    import sys

    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-3, MMAP_THRESHOLD)  # -3: M_MMAP_THRESHOLD


def release_free_memory() -> None:
    """Give back to the system the memory the allocators keep after a stage has freed it (nothing live is touched).

    glibc keeps the freed heap of temporary arrays (a stage's freed pages stay in the process: ~200 MB after the
    report's optimization, docs/performance.md); ``malloc_trim(0)`` returns every whole free page. Pandas' text operations run on Arrow-backed text, whose freed buffers pyarrow's pool (mimalloc) keeps
    (~60 MB after loading the sample). Called between the report's stages, so that the next stage's temporaries
    do not add to what the last one left. Where neither allocator is there (not glibc, no pyarrow), it does nothing.
    """
    import ctypes
    import sys

    with contextlib.suppress(ImportError):
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


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


def optimize_with_market(scenarios, catalog: pd.DataFrame, inventory: pd.DataFrame, config, *,
                         frontier_later: bool = False):
    """The optimizer's plan with the market and scenarios it was built on.

    The same steps as :func:`finops_forecast.portfolio.optimize` (prepare, solve, bill and assemble the plan), keeping
    what the report's comparison must bill on: the plan's own market (its instruments, inventory included, in
    billing order) and its scenarios (with migrated demand when ``config.migration`` moves some).

    With ``frontier_later`` the cost-risk frontier's re-solves keep running in a thread after the plan is
    returned (HiGHS releases the GIL), so the report's next steps overlap them; the fourth element is the
    future of the frontier table (``Plan.frontier``), to be joined with :func:`with_frontier`.

    Returns
    -------
    (Plan, Market, Scenarios) or (Plan, Market, Scenarios, Future)
    """
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from finops_forecast.portfolio.api import _frontier, make_plan, prepare, solve_plan

    prep = prepare(scenarios, catalog, inventory, config)
    sol = solve_plan(prep)
    release_free_memory()  # the solve's freed temporaries, before the frontier's thread allocates its own
    if not frontier_later:
        return make_plan(prep, sol), prep.market, prep.scen
    pool = ThreadPoolExecutor(max_workers=1)
    # the frontier re-solves the program only: it does not hold the scenarios, which the caller may then free
    job = pool.submit(_frontier, replace(prep, scen=None, chunk_period=None), sol)
    pool.shutdown(wait=False)  # the thread ends with its one job
    return make_plan(prep, sol, frontier=False), prep.market, prep.scen, job


def first_hours(scenarios, hours: int):
    """The first ``hours`` of ``scenarios`` as scenarios of their own (a copy, float32 as the forecast's paths):
    what :func:`compare_policies` bills, kept so that the whole horizon's paths can be freed."""
    from finops_forecast.portfolio import Scenarios

    return Scenarios(keys=scenarios.keys, ds=scenarios.ds[:hours],
                     paths=np.array(scenarios.slice_major(0, hours), copy=True))


def with_frontier(plan, job):
    """The plan with the frontier computed beside it (:func:`optimize_with_market` with ``frontier_later``)."""
    from dataclasses import replace

    return replace(plan, frontier=job.result())


def lookback_purchase(market, history: np.ndarray, held: np.ndarray, config) -> np.ndarray:
    """What the clouds' lookback rule buys: the commitment that would have cost least over ``history``
    ((hours, series) [GPU-h per hour]), solved as the exact LP and, when the plan is in whole units
    (``config.integer_ri``), rounded to whole units as the providers' recommendations are (nearest unit, no
    proof of optimality: that is the rule, not our optimizer)."""
    from dataclasses import replace

    from finops_forecast.portfolio.policies import decide

    q = decide("lookback", market, history=history, held=held, config=replace(config, integer_ri=False))
    return np.round(q) if config.integer_ri else q


def plan_quantities(purchases: pd.DataFrame, market) -> np.ndarray:
    """Quantities of ``purchases`` per instrument of ``market`` (I,) [instance, GPU or USD/h].

    ``market`` must be the market the plan was built on (:func:`optimize_with_market`): every purchase is one of
    its instruments, and one that is not is an error, never dropped.
    """
    pos = pd.Index(market.instruments["id"]).get_indexer(purchases["instrument"])
    if (pos < 0).any():
        missing = sorted(set(purchases["instrument"][pos < 0]))
        raise FinopsError(f"purchases of instruments {missing} are not in the market they are billed on; bill a "
                          "plan on the market it was built on (optimize_with_market).")
    out = np.zeros(market.n_instruments)
    np.add.at(out, pos, purchases["quantity"].to_numpy(float))
    return out


def compare_policies(plan, usage: pd.DataFrame, scenarios, market, config, *,
                     inventory: pd.DataFrame | None = None, lookback_days: int = 30) -> pd.DataFrame:
    """Bill this plan, the clouds' lookback rule and no new commitments on the first quarter's forecast paths.

    Commitments already owned are held (and paid) in all three; the plan's lines are held from their buy date
    (:func:`plan_segments`), the lookback rule buys on the quarter's first day.

    The lookback rule buys the commitments that would have minimized the cost of the last ``lookback_days``
    of realized demand (AWS Cost Explorer and Azure Advisor style: no forecast). All three are billed by the
    same billing engine on the same forecast paths of the quarter, at the quarter's expected prices under the
    plan's price outlook (:func:`~finops_forecast.portfolio.priced.bill_at_outlook`: owned commitments at their
    rate, new ones at the rate locked this quarter, on demand and spot at the expected multipliers).

    Parameters
    ----------
    plan : Plan
    usage : pandas.DataFrame
        Realized usage; its last ``lookback_days`` are what the lookback rule sees [GPU-h].
    scenarios, market : Scenarios, Market
        The scenarios and the market the plan was built on (:func:`optimize_with_market`).
    config : PortfolioConfig
    inventory : pandas.DataFrame, optional
        Commitments already owned.
    lookback_days : int
        The lookback rule's window [days].

    Returns
    -------
    pandas.DataFrame
        One row per policy: commitment_usd_per_hour [USD/h], expected_cost_usd and p95_cost_usd over the
        quarter [USD], savings_usd and effective_savings_rate against all demand at on-demand list prices,
        utilization, coverage.
    """
    from finops_forecast.portfolio.inventory import active_quantities

    q0 = plan.quarters.iloc[0]
    hours = int(q0["hours"])
    x = scenarios.slice(0, hours)  # (paths, hours, series)
    starts = pd.DatetimeIndex([q0["start"]])
    owned, _ = active_quantities(inventory, market, starts, starts + pd.Timedelta(hours=hours))
    owned = owned[0]
    history = _series_matrix(usage, market.series, lookback_days * 24)
    buy_lookback = lookback_purchase(market, history, owned, config)
    rows = []
    for name, segments in (("this plan", plan_segments(plan.buy_now, market, q0["start"], hours)),
                           ("cloud lookback rule", [(0, hours, buy_lookback)]),
                           ("no new commitments (spot where allowed, else on-demand)",
                            [(0, hours, np.zeros_like(owned))])):
        rows.append({"policy": name, **_bill_segments(x, market, owned, segments, plan.price_paths, q0["start"])})
    return pd.DataFrame(rows)


def plan_segments(buy_now: pd.DataFrame, market, start: pd.Timestamp, hours: int) -> list:
    """The quarter cut at the plan's buy dates: ``[(first hour, end hour, quantities bought by then (I,))]``; a
    line dated inside the quarter (the first quarter's monthly purchases) is held from its ``buy_date`` on."""
    dates = pd.to_datetime(buy_now["buy_date"], utc=True) if "buy_date" in buy_now else \
        pd.Series(start, index=buy_now.index)
    offs = ((dates - start) // pd.Timedelta(hours=1)).clip(0, hours).astype(int)
    cuts = sorted(set(offs) | {0})
    return [(a, b, plan_quantities(buy_now[offs.to_numpy() <= a], market))
            for a, b in zip(cuts, cuts[1:] + [hours]) if b > a]


def _bill_segments(x: np.ndarray, market, owned: np.ndarray, segments: list, price_paths, start,
                   rows: int = 10_000) -> dict:
    """Bill the forecast paths ``x`` (paths, hours, series) segment by segment (:func:`plan_segments`) at the
    quarter's expected prices (:func:`~finops_forecast.portfolio.priced.bill_at_outlook`), a block of paths of
    about ``rows`` path-hours at a time (the bill holds ~3 kB per path-hour: 100 paths x 2,160 hours at once held
    ~330 MB; 10,000 path-hours ~35 MB, at the same speed); the comparison's row."""
    from finops_forecast.portfolio.priced import bill_at_outlook

    n_paths = x.shape[0]
    cost, od = np.zeros(n_paths), np.zeros(n_paths)
    used = committed = covered = demand = 0.0
    for a, b, bought in segments:
        block = max(1, rows // (b - a))
        for p in range(0, n_paths, block):  # a block of paths at a time: the bill's arrays stay small
            q = min(p + block, n_paths)
            bl = bill_at_outlook(x[p:q, a:b].reshape(-1, x.shape[2]), market, owned, bought, price_paths, start)
            cost[p:q] += bl.cost.reshape(q - p, b - a).sum(axis=1)
            od[p:q] += bl.list_cost.reshape(q - p, b - a).sum(axis=1)
            used, committed = used + bl.used.sum(), committed + bl.committed.sum()
            covered, demand = covered + bl.covered.sum(), demand + bl.demand.sum()
    fee = float(bl.fee[0]) if len(bl.fee) else float(((owned + bought) * market.instruments["price"]).sum())
    return {"commitment_usd_per_hour": fee, "expected_cost_usd": float(cost.mean()),
            "p95_cost_usd": float(np.quantile(cost, 0.95)), "savings_usd": float((od - cost).mean()),
            "effective_savings_rate": float(1 - cost.mean() / od.mean()),
            "utilization": float(used / committed) if committed > 0 else np.nan,
            "coverage": float(covered / demand) if demand > 0 else 0.0}


def planned_quarter(params: ReportParams, last: pd.Timestamp) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    """The quarter to plan (``params.quarter``, or the one after the usage's ``last`` hour for ``"next"``) and its
    bounds [UTC, end exclusive]; a quarter that starts before the usage ends is refused."""
    quarter = params.quarter if params.quarter != "next" else next_quarter(last)
    start, end = quarter_bounds(quarter)
    if start <= last:
        raise FinopsError(f"parameter 'quarter': {quarter} starts on {start:%Y-%m-%d}, before the usage ends "
                          f"({last:%Y-%m-%d %H:%M}); plan a quarter after the history, e.g. {next_quarter(last)}.")
    return quarter, start, end


def report_catalog(params: ReportParams, usage: pd.DataFrame, catalog: pd.DataFrame | None = None) -> pd.DataFrame:
    """The pricing catalog (bundled, with ``params.pricing`` overrides, unless given), checked to price every
    pool of the usage."""
    from finops_forecast.pricing import check_pools, load_pricing

    if catalog is None:
        files = params.pricing_files()
        catalog = load_pricing(path=files) if files else load_pricing()
    check_pools(catalog, usage[POOL_KEYS].drop_duplicates())
    return catalog


def portfolio_config(params: ReportParams):
    """The optimizer's settings from the report's parameters (:class:`~finops_forecast.portfolio.PortfolioConfig`)."""
    from finops_forecast.portfolio import PortfolioConfig
    from finops_forecast.report.market_section import market_settings

    return PortfolioConfig(quarters=params.quarters, terms_months=tuple(params.term_list()),
                           risk_lambda=params.risk_lambda, alpha=params.cvar_alpha,
                           upfront_budget_usd=params.budget_usd or None, integer_ri=params.integer_units,
                           payment_options=tuple(params.payment_list()), cost_of_capital=params.cost_of_capital,
                           **market_settings(params),
                           frontier_lambdas=(0.0, 0.5, 1.0, 4.0),
                           curve_factors=(0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0))


def forecast_to_horizon(usage: pd.DataFrame, params: ReportParams, start: pd.Timestamp, planned):
    """Total demand paths per series from the hour after the usage to the end of the ``params.quarters``
    planned (planned runs added to the burst)."""
    from finops_forecast.forecast import PLAN_SELECTION, forecast

    horizon_end = start + pd.DateOffset(months=3 * params.quarters)
    horizon = int((horizon_end - usage["ts"].max()) / pd.Timedelta(hours=1)) - 1
    # total demand only: the optimizer consumes total paths, which are the same with or without a baseline
    # forecast beside them (the history chart shows the baseline/burst split of the realized usage)
    # models are compared over a quarter ahead (PLAN_SELECTION), the span of the purchases made now
    return forecast(usage, horizon, models=params.forecast_model, n_paths=params.n_paths, seed=params.seed,
                    planned_runs=planned, progress=False, components="total", **PLAN_SELECTION)


def pricing_provenance(catalog: pd.DataFrame, usage: pd.DataFrame, plan) -> pd.DataFrame:
    """Every catalog price the plan can use on the usage's pools (on demand, spot, and the families, terms and
    payment options it buys), with source, effective date and assumption flag."""
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
    return prov.sort_values(["provider", "instance_type", "pricing_model"]).reset_index(drop=True)


def selection_note(selection: pd.DataFrame) -> str:
    """How the forecast's models were chosen, from its ``selection`` (the backtests actually run: a short history
    shortens them), and how many series each model got; empty when no model was selected by backtest."""
    if "cv_windows" not in selection:
        return ""
    runs = selection[selection["cv_windows"] > 0]
    if not len(runs):
        return ""
    days = sorted(set(runs["cv_h"].astype(int)))
    span = f"{days[0]}" if len(days) == 1 else f"{days[0]}-{days[-1]}"
    chosen = selection["model"].value_counts()
    return (f" Models compared per series by backtests {span} days ahead ({int(runs['cv_windows'].max())} windows "
            f"at most); "
            f"chosen: {', '.join(f'{m} for {k}' for m, k in chosen.items())}.")


def analysis_notes(params: ReportParams, fc, start: pd.Timestamp, plan, planned) -> list[str]:
    """What the reader must know about the forecast, the optimizer's run and the planned runs."""
    notes = [(f"Forecast: {params.forecast_model} with {params.n_paths} sample paths per series from "
              f"{fc.ds[0]:%Y-%m-%d} to {fc.ds[-1]:%Y-%m-%d}; the plan uses the {params.quarters} quarters from "
              f"{start:%Y-%m-%d}." + selection_note(fc.selection)),
             f"Optimizer: status {plan.status}, solver {plan.solver}."]
    notes += [str(n) for n in plan.notes]
    if planned is not None and len(planned):
        notes.append(f"{len(planned)} planned runs added to the burst forecast: "
                     + "; ".join(f"{r.name} ({r.gpus} GPUs on {r.instance_type} from {r.start:%Y-%m-%d}, "
                                 f"{r.duration_hours / 24:.0f} days)" for r in planned.itertuples()
                                 if hasattr(r, "name")))
    return notes


def quarterly_analysis(params: ReportParams, *, catalog: pd.DataFrame | None = None) -> QuarterlyAnalysis:
    """Compute everything the report shows, once: usage -> forecast -> optimize -> compare, the track record
    (on a Dask worker beside, ``params.workers``), unit economics and capacity decisions.

    Parameters
    ----------
    params : ReportParams
        Validated report parameters.
    catalog : pandas.DataFrame, optional
        Pricing catalog; default :func:`finops_forecast.pricing.load_pricing` with ``params.pricing`` overrides.

    Returns
    -------
    QuarterlyAnalysis
        The results; :mod:`finops_forecast.report.present` shows them. Its forecast has no paths: they are freed
        once the plan and the comparison are billed, and the fan chart's quantiles are kept instead.

    Notes
    -----
    To keep the process under 1 GB on the sample (docs/performance.md), it sets glibc's mmap threshold for the
    whole process (:func:`map_large_allocations`) and gives freed memory back between its steps
    (:func:`release_free_memory`).
    """
    from dataclasses import replace

    from finops_forecast.forecast.engines import Beside
    from finops_forecast.portfolio import Scenarios
    from finops_forecast.portfolio.config import with_job_sizes
    from finops_forecast.portfolio.terms import plan_term_reasons
    from finops_forecast.report.capacity_section import (
        capacity_purchase_lines,
        decide_report_capacity,
        report_planned_runs,
    )
    from finops_forecast.showback import report_section
    from finops_forecast.usage.decompose import decompose

    map_large_allocations()
    usage = load_report_usage(params)
    last = usage["ts"].max()
    quarter, start, end = planned_quarter(params, last)
    catalog = report_catalog(params, usage, catalog)
    inventory = load_inventory(params.commitments)
    release_free_memory()
    # the track record needs only the usage and the catalog: replay it on the second core meanwhile
    track = start_track_record(usage, catalog, params, workers=int(params.workers))
    planned = report_planned_runs(params)
    fc = forecast_to_horizon(usage, params, start, planned)
    fan = forecast_fan(fc)  # what the fan chart shows of the paths, before they are freed
    release_free_memory()
    i0 = int(np.searchsorted(fc.ds, start))
    # planned runs held by prepaid capacity (a capacity block, a calendar reservation) are paid by it: the
    # commitments serve the demand net of their hours (the forecast chart still shows them)
    capacity = decide_report_capacity(params, catalog, planned, decided_on=last)
    scen = scenarios_net_of_capacity(Scenarios(keys=fc.keys, ds=fc.ds[i0:], paths=fc.paths[:, :, i0:]),
                                     None if capacity is None else capacity[0])
    config, spot_notes = with_job_sizes(portfolio_config(params), usage, catalog, fc.keys)
    plan, market, plan_scen, front = optimize_with_market(scen, catalog, inventory, config, frontier_later=True)
    quarter0 = first_hours(plan_scen, int(plan.quarters.iloc[0]["hours"]))
    # the plan is billed: the horizon's paths (~190 MB) are not needed any more, only the quarter's copy
    fc, scen, plan_scen = replace(fc, paths=None), None, None
    release_free_memory()
    comparison = compare_policies(plan, usage, quarter0, market, config, inventory=inventory,
                                  lookback_days=params.lookback_days)
    cap_lines = capacity_purchase_lines(None if capacity is None else capacity[0])
    period = showback_period(usage)
    unit_economics = report_section(usage, catalog, period=period)
    plan = with_frontier(plan, front)
    release_free_memory()
    return QuarterlyAnalysis(
        params=params, quarter=quarter, start=start, end=end, usage=usage, history=decompose(usage), forecast=fc,
        plan=plan, market=market, comparison=comparison, inventory=inventory, catalog=catalog,
        provenance=pricing_provenance(catalog, usage, plan), notes=analysis_notes(params, fc, start, plan, planned) + spot_notes,
        capacity=capacity, capacity_purchases=cap_lines, track=track.result() if isinstance(track, Beside) else track,
        unit_economics=unit_economics, showback_period=period, forecast_fan=fan,
        summary=headline_numbers(quarter, plan, comparison, cap_lines),
        term_reasons=plan_term_reasons(plan, catalog, params.migration, params.price_outlook))
