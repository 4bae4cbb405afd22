"""How each planned run is held: a small decision per run, on top of the commitment plan.

A planned run (``gpus`` GPUs of one pool for ``duration_hours`` from ``start``) needs the GPUs *to be there*.
Per run, every way of holding it is priced in closed form by its expected cost [USD]::

    prepaid (capacity block, calendar reservation, neocloud contract):  rate x GPUs x booked hours
    reservation (ODCR, GCP reservation, Azure capacity reservation):     rate x GPUs x (booked + held-ahead hours)
    on_demand:                              od x GPUs x run hours             + (1 - p_od(GPUs))   x delay cost
    spot (at the run's own scale):          spot x (1 + rework(nodes)) x ...  + (1 - p_spot(GPUs)) x delay cost
    queued (GCP flex-start, <= 7 days):     rate x GPUs x run hours           + (1 - p_flex(GPUs)) x delay cost

and the cheapest feasible one is chosen. Booked hours are the shortest allowed duration covering the run
(a Capacity Block of 28 days for a 28-day run; a 4-week neocloud contract for a 3-week run); a product that
cannot cover the run (too long, too many instances, booked too late) is infeasible and says why. A product
is bought only over the run's own window: the hours it holds are the run's hours, nothing outside it
(:func:`held_run_hours`).

Availability ``p(G) = 0.5 ** (G / half_gpus)``: the probability that ``G`` GPUs of on-demand (or spot, or
flex-start) capacity can be had at the run's start, halving every ``half_gpus`` GPUs (per model, overridable per
pool). A run that does not get its capacity is delayed ``delay_days`` and the delay costs
``delay_cost_usd_per_day`` (default: the run's own on-demand cost per day: a day of slip is worth at least a day
of the cluster). All defaults are assumptions, documented in docs/portfolio.md ("Capacity for planned runs").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from finops_forecast.errors import PortfolioError

#: GPUs at which the chance of getting on-demand / spot / flex-start capacity at once is one half [GPU]
#: (ASSUMPTION: no provider publishes obtainability; 512 GPUs = 64 8-GPU instances on demand, 64 GPUs on spot,
#: 1,024 GPUs for a queued flex-start request)
DEFAULT_HALF_GPUS = {"on_demand": 512.0, "spot": 64.0, "queued": 1024.0}


@dataclass(frozen=True)
class AvailabilitySettings:
    """Availability risk of capacity that is not reserved, and the cost of a delayed run.

    Parameters
    ----------
    half_gpus : dict
        Model (``on_demand``, ``spot``, ``queued``) -> GPUs at which P(capacity) is 0.5 [GPU].
    probability : dict
        Per-pool overrides ``(provider, region, instance_type, model) -> P(capacity for the run)`` in [0, 1].
    delay_days : float
        Days a run waits when its capacity is not there [d].
    delay_cost_usd_per_day : float or None
        Cost of one day of delay [USD/d]; None: the run's on-demand cost per day.
    decided_on : pandas.Timestamp or None
        Day of the decision (for booking lead times); None: no lead-time check.
    """

    half_gpus: dict = field(default_factory=lambda: dict(DEFAULT_HALF_GPUS))
    probability: dict = field(default_factory=dict)
    delay_days: float = 7.0
    delay_cost_usd_per_day: float | None = None
    decided_on: pd.Timestamp | None = None

    def __post_init__(self):
        if not self.delay_days >= 0:
            raise PortfolioError(f"AvailabilitySettings.delay_days must be >= 0 [d] (got {self.delay_days}).")
        if self.delay_cost_usd_per_day is not None and not self.delay_cost_usd_per_day >= 0:
            raise PortfolioError("AvailabilitySettings.delay_cost_usd_per_day must be >= 0 [USD/d] or None (the "
                                 f"run's on-demand cost per day); got {self.delay_cost_usd_per_day}.")
        for k, v in {**self.half_gpus}.items():
            if not v > 0:
                raise PortfolioError(f"AvailabilitySettings.half_gpus['{k}'] must be > 0 [GPU] (got {v}).")
        for k, v in self.probability.items():
            if not 0 <= v <= 1:
                raise PortfolioError(f"AvailabilitySettings.probability[{k}] must be in [0, 1] (got {v}).")

    def p(self, pool: tuple, model: str, gpus: float) -> float:
        """P(``gpus`` GPUs of ``model`` capacity in ``pool`` at the run's start) [-]."""
        if pool + (model,) in self.probability:
            return float(self.probability[pool + (model,)])
        return float(0.5 ** (gpus / self.half_gpus[model]))


OPTION_COLUMNS = ["run", "option", "kind", "feasible", "why_not", "instances", "purchases", "booked_hours",
                  "usd_per_gpu_hour", "fee_usd", "p_capacity", "expected_delay_usd", "expected_cost_usd",
                  "is_assumption", "source"]


def _booked(durations_days: np.ndarray, hours: float) -> float | None:
    fits = durations_days[durations_days * 24 >= hours - 1e-9]
    return float(fits[0] * 24) if len(fits) else None


def _capacity_option(run, offer, gpus_per_instance: float, decided_on) -> dict:
    """Price one capacity product for one run (fee, or why it cannot hold the run)."""
    inst = int(np.ceil(run.gpus / gpus_per_instance - 1e-9))
    booked = _booked(offer.durations_days, float(run.duration_hours))
    why = ""
    n_buy = 1
    if booked is None:
        why = f"the run ({run.duration_hours / 24:g} d) is longer than the longest booking " \
              f"({offer.durations_days[-1]:g} d)"
    elif np.isfinite(offer.max_instances):
        n_buy = int(np.ceil(inst / offer.max_instances))
        if np.isfinite(offer.max_purchases) and n_buy > offer.max_purchases:
            why = f"{inst} instances need {n_buy} purchases of at most {offer.max_instances:g}; the limit is " \
                  f"{offer.max_purchases:g}"
    if not why and decided_on is not None:
        lead = (pd.Timestamp(run.start) - pd.Timestamp(decided_on)) / pd.Timedelta(days=1)
        if lead < offer.lead_min_days:
            why = f"must be booked at least {offer.lead_min_days:g} d ahead; the run starts in {lead:.0f} d"
    booked = booked or 0.0
    held = booked + 24 * offer.hold_ahead_days
    return dict(option=offer.product, kind=offer.kind, feasible=not why, why_not=why, instances=inst,
                purchases=n_buy, booked_hours=held, usd_per_gpu_hour=offer.usd_per_gpu_hour,
                fee_usd=offer.usd_per_gpu_hour * run.gpus * held, is_assumption=offer.is_assumption,
                source=offer.source, guaranteed=offer.guaranteed, lead_max_days=offer.lead_max_days,
                hold_ahead_days=offer.hold_ahead_days)


def run_options(run, od_usd_per_gpu_hour: float, gpus_per_instance: float, offers: list,
                spot_usd_per_gpu_hour: float | None, settings: AvailabilitySettings,
                discount: dict | None = None) -> pd.DataFrame:
    """Every way to hold one planned run, with its expected cost [USD] (closed form, no solver).

    Parameters
    ----------
    run : namedtuple
        A planned run: ``start``, ``duration_hours`` [h], ``gpus`` [GPU], provider, region, instance_type.
    od_usd_per_gpu_hour : float
        On-demand rate of the pool [USD/GPU-h].
    gpus_per_instance : float
        GPUs per instance of the pool [GPU].
    offers : list of CapacityOffer
        Capacity products of the pool (:func:`finops_forecast.pricing.capacity.offers`).
    spot_usd_per_gpu_hour : float or None
        Spot effective rate at the run's own scale [USD/GPU-h] (None: not spot-eligible).
    settings : AvailabilitySettings
    discount : dict, optional
        A discount instrument of the pool with headroom over the run's window (:func:`discount_for`):
        ``usd_per_gpu_hour`` [USD/GPU-h], ``gpus`` [GPU] it can cover (inf: all), ``source``. Reservation
        products are billed at the pool's rate, to which the discount applies: the covered GPUs pay the
        discounted rate, the others the reservation's rate.

    Returns
    -------
    pandas.DataFrame
        One row per option (:data:`OPTION_COLUMNS`).
    """
    pool = (run.provider, run.region, run.instance_type)
    hours, gpus = float(run.duration_hours), float(run.gpus)
    od_fee = od_usd_per_gpu_hour * gpus * hours
    per_day = settings.delay_cost_usd_per_day
    delay_cost = settings.delay_days * (od_usd_per_gpu_hour * gpus * 24 if per_day is None else per_day)
    inst = int(np.ceil(gpus / gpus_per_instance - 1e-9))
    rows = []
    for model, rate in (("on_demand", od_usd_per_gpu_hour), ("spot", spot_usd_per_gpu_hour)):
        if rate is None or not np.isfinite(rate):
            rows.append(dict(option=model, kind=model, feasible=False, why_not="no spot discount in the "
                             "catalog for this pool, or rework at this job size exceeds it", instances=inst))
            continue
        p = settings.p(pool, model, gpus)
        rows.append(dict(option=model, kind=model, feasible=True, why_not="", instances=inst, purchases=0,
                         booked_hours=hours, usd_per_gpu_hour=rate, fee_usd=rate * gpus * hours, p_capacity=p,
                         is_assumption=True, source="availability p(G) = 0.5 ** (G / half_gpus) (ASSUMPTION)"))
    for offer in offers:
        r = _capacity_option(run, offer, gpus_per_instance, settings.decided_on)
        if offer.kind == "queued":
            r["booked_hours"], r["fee_usd"] = hours, offer.usd_per_gpu_hour * gpus * hours
            r["p_capacity"] = settings.p(pool, "queued", gpus)
        else:
            r["p_capacity"] = 1.0 if offer.guaranteed else settings.p(pool, "on_demand", gpus)
        if offer.kind == "reservation" and discount is not None:
            r.update(_discounted(r, gpus, discount))
        rows.append(r)
    out = pd.DataFrame(rows)
    out["run"] = getattr(run, "name", f"{run.gpus:g} GPUs {run.instance_type}")
    out["p_capacity"] = out["p_capacity"].astype(float)
    out["expected_delay_usd"] = (1.0 - out["p_capacity"]) * delay_cost
    out["expected_cost_usd"] = out["fee_usd"] + out["expected_delay_usd"]
    out.attrs["on_demand_fee_usd"] = od_fee
    return out[[c for c in OPTION_COLUMNS + ["lead_max_days", "hold_ahead_days"] if c in out.columns]]


def _discounted(r: dict, gpus: float, discount: dict) -> dict:
    """A reservation option's rate and fee where a discount instrument covers ``discount['gpus']`` of its GPUs:
    ``(covered x min(discounted, rate) + (gpus - covered) x rate) x held hours`` [USD]."""
    covered = float(min(gpus, discount["gpus"]))
    rate = float(r["usd_per_gpu_hour"])
    blended = (covered * min(float(discount["usd_per_gpu_hour"]), rate) + (gpus - covered) * rate) / gpus
    return dict(usd_per_gpu_hour=blended, fee_usd=blended * gpus * r["booked_hours"],
                source=f"{r['source']}; {covered:,.0f} of {gpus:,.0f} GPUs billed at "
                       f"{float(discount['usd_per_gpu_hour']):,.2f} USD/GPU-h by {discount['source']}")


#: columns of the discount instruments that can cover a reservation (:func:`discount_for`)
DISCOUNT_COLUMNS = ["provider", "region", "instance_type", "usd_per_gpu_hour", "gpus", "source"]


def discount_for(discounts: pd.DataFrame | None, pool: tuple) -> dict | None:
    """The lowest-rate discount instrument of ``pool`` that has headroom, or None.

    Parameters
    ----------
    discounts : pandas.DataFrame or None
        Owned or planned discount instruments (reserved instances, savings plans, CUDs, Azure reservations) with
        headroom over the planned runs' windows, one row per instrument and pool (:data:`DISCOUNT_COLUMNS`):
        ``usd_per_gpu_hour`` the rate it bills a GPU-hour of the pool at [USD/GPU-h], ``gpus`` the GPUs it can
        still cover, beyond the demand it already serves [GPU] (NaN: all), ``source`` what it is.

    Raises
    ------
    PortfolioError
        For missing columns or a rate / headroom that is not >= 0.
    """
    if discounts is None or len(discounts) == 0:
        return None
    missing = [c for c in DISCOUNT_COLUMNS if c not in discounts.columns]
    if missing:
        raise PortfolioError(f"the discounts table lacks {missing}; expected {DISCOUNT_COLUMNS} (one row per owned "
                             f"or planned discount instrument and pool), found {list(discounts.columns)}.")
    d = discounts[(discounts["provider"] == pool[0]) & (discounts["region"] == pool[1])
                  & (discounts["instance_type"] == pool[2])]
    rate = pd.to_numeric(d["usd_per_gpu_hour"], errors="coerce")
    gpus = pd.to_numeric(d["gpus"], errors="coerce").fillna(np.inf)
    if not ((rate >= 0).all() and (gpus >= 0).all()):
        raise PortfolioError(f"a discount of {' '.join(pool)} has a usd_per_gpu_hour or gpus that is not a number "
                             ">= 0; give the instrument's rate [USD/GPU-h] and the GPUs it can still cover.")
    d = d.assign(usd_per_gpu_hour=rate, gpus=gpus)[gpus > 0].sort_values("usd_per_gpu_hour", kind="stable")
    return None if d.empty else d.iloc[0][["usd_per_gpu_hour", "gpus", "source"]].to_dict()


DECISION_COLUMNS = ["run", "provider", "region", "instance_type", "workload_class", "gpus", "run_start", "run_end", "held_by", "kind",
                    "window_start", "window_end", "book_from", "instances", "purchases", "usd_per_gpu_hour",
                    "cost_usd", "on_demand_cost_usd", "on_demand_expected_usd", "expected_cost_usd",
                    "saving_vs_on_demand_usd", "p_capacity", "expected_delay_usd", "runner_up", "given_up",
                    "is_assumption", "source"]


def _given_up(best: pd.Series, second: pd.Series | None) -> str:
    """What the chosen option gives up, in words."""
    if best["kind"] == "prepaid":
        text = (f"prepaid and not cancellable: {best['fee_usd']:,.0f} USD are spent even if the run slips or ends "
                "early")
    elif best["kind"] == "reservation":
        text = (f"billed for the {best['booked_hours'] / 24:g} days held whether used or not, at "
                f"{best['usd_per_gpu_hour']:,.2f} USD/GPU-h (the pool's rate, less the discount of commitments "
                "with headroom where given)")
    else:
        text = (f"no capacity guarantee: {1 - best['p_capacity']:.0%} chance of a delay, expected "
                f"{best['expected_delay_usd']:,.0f} USD")
    if second is not None:
        text += f"; next best {second['option']} at {second['expected_cost_usd']:,.0f} USD expected"
    return text


def decide_capacity(planned_runs: pd.DataFrame, catalog: pd.DataFrame, capacity: pd.DataFrame,
                    settings: AvailabilitySettings | None = None, *, discounts: pd.DataFrame | None = None,
                    price_outlook: str = "flat", seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decide how each planned run is held (the cheapest expected cost per run).

    Parameters
    ----------
    planned_runs : pandas.DataFrame
        One row per run: start (UTC), duration_hours [h], gpus [GPU], provider, region, instance_type,
        workload_class; ``name`` optional.
    catalog : pandas.DataFrame
        Pricing catalog (:func:`finops_forecast.pricing.load_pricing`): on-demand and spot rows of the pools
        (the latest ``effective_date`` of each is today's rate).
    capacity : pandas.DataFrame
        Capacity products (:func:`finops_forecast.pricing.capacity.load_capacity`).
    settings : AvailabilitySettings, optional
    discounts : pandas.DataFrame, optional
        Owned or planned discount instruments with headroom (:func:`discount_for`): reservation products
        (AWS ODCR, GCP reservation, Azure capacity reservation) billed at their discounted rate where they
        cover the reserved GPUs. None: reservations at the pool's on-demand rate.
    price_outlook : str, default "flat"
        ``"flat"``, ``"history"`` or an outlook CSV (:func:`finops_forecast.pricing.outlook.price_paths`):
        on-demand and spot rates, and the capacity products priced as a multiple of on demand (reservations
        billed at the on-demand rate; the bundled Capacity Block and calendar-mode rows, whose price is assumed
        to be on demand's at the time), follow the outlook's mean multiplier over each run's window, from
        ``settings.decided_on`` (else from the run's start). Quotes in USD per GPU-hour do not move.
    seed : int
        Seed of the ``history`` outlook's scenarios (the plan's: 0).

    Returns
    -------
    decisions : pandas.DataFrame
        One row per run (:data:`DECISION_COLUMNS`): what holds it, its window, price, cost against on demand,
        the risk left and what was given up.
    options : pandas.DataFrame
        Every option of every run with its expected cost (:data:`OPTION_COLUMNS`).

    Raises
    ------
    PortfolioError
        A run's pool has no on-demand price (naming the run and the fix).
    """
    from finops_forecast.pricing.capacity import offers as pool_offers

    settings = settings or AvailabilitySettings()
    cat = catalog.sort_values("effective_date", kind="stable") if "effective_date" in catalog.columns else catalog
    decisions, options = [], []
    for i, run in enumerate(planned_runs.itertuples(index=False)):
        pool = (run.provider, run.region, run.instance_type)
        gpi, od_rate, spot_rate = _run_rates(i, run, cat, price_outlook, settings.decided_on, seed)
        opts = run_options(run, od_rate, gpi, pool_offers(capacity, *pool, od_rate), spot_rate, settings,
                           discount_for(discounts, pool))
        options.append(opts)
        decisions.append(_decision(run, opts))
    return (pd.DataFrame(decisions, columns=DECISION_COLUMNS),
            pd.concat(options, ignore_index=True) if options else pd.DataFrame(columns=OPTION_COLUMNS))


def _run_rates(i: int, run, cat: pd.DataFrame, price_outlook: str, decided_on, seed: int
               ) -> tuple[float, float, float | None]:
    """GPUs per instance, on-demand rate and spot effective rate at the run's scale [USD/GPU-h] (None: not
    spot-eligible) of one run's pool, each today's times the outlook's mean multiplier over the run's window."""
    from finops_forecast.portfolio.instruments import SpotSettings, spot_effective_rate
    from finops_forecast.pricing.spot import job_nodes

    pool = (run.provider, run.region, run.instance_type)
    rows = cat[(cat["provider"] == run.provider) & (cat["region"] == run.region)
               & (cat["instance_type"] == run.instance_type)]
    od = rows[rows["pricing_model"] == "on_demand"]
    if od.empty:
        raise PortfolioError(f"planned run {i + 1} ({' '.join(pool)}): the catalog has no on-demand price for "
                             "this pool; add it in a pricing file (load_pricing(path=...)).")
    od_mult, spot_mult = outlook_multipliers(price_outlook, rows, run, decided_on, seed)
    gpi = float(od["gpu_count"].iloc[-1])
    od_rate = float(od["usd_per_hour"].iloc[-1]) / gpi * od_mult
    spot = rows[rows["pricing_model"] == "spot"]
    wclass = getattr(run, "workload_class", "training")
    if spot.empty or wclass == "inference":
        return gpi, od_rate, None
    # the market's spot rule (interruption bucket, else the assumed rework), at the run's size
    s = spot.iloc[-1]
    rate, _ = spot_effective_rate(s.to_dict() | {"usd_per_gpu_hour": float(s["usd_per_hour"]) / gpi}, wclass,
                                  SpotSettings(), nodes=job_nodes(run.gpus, gpi))
    rate *= spot_mult
    return gpi, od_rate, (rate if rate < od_rate else None)


def outlook_multipliers(price_outlook: str, rows: pd.DataFrame, run, decided_on=None, seed: int = 0,
                        n_scenarios: int = 2000) -> tuple[float, float]:
    """Mean multipliers of today's on-demand and spot rates over one run's window [-].

    The outlook (:func:`finops_forecast.pricing.outlook.price_paths`, the plan's) is laid from ``decided_on``
    (today's rates; the run's start when None) to the run's end; the run's window is its second period, and
    the multipliers are the mean over ``n_scenarios`` of the outlook's scenarios (expected costs are linear in
    the rates; one pool, so many scenarios cost nothing and the mean does not depend on how few months the window
    spans: 16 draws over a 3-month window often hold no cut at all).
    ``rows`` are the catalog rows of the run's pool (their ``gpu_type`` chooses the GPU type's path).
    """
    if price_outlook == "flat":
        return 1.0, 1.0
    from finops_forecast.pricing.outlook import price_paths

    start = pd.Timestamp(run.start)
    start = start.tz_localize("UTC") if start.tzinfo is None else start
    end = start + pd.Timedelta(hours=float(run.duration_hours))
    t0 = start if decided_on is None else pd.Timestamp(decided_on)
    t0 = min(t0.tz_localize("UTC") if t0.tzinfo is None else t0, start)
    from finops_forecast.portfolio.priced import pool_gpu_types

    pools = pool_gpu_types(rows, pd.DataFrame([dict(provider=run.provider, region=run.region,
                                                    instance_type=run.instance_type)]))
    if t0 < start:
        pp = price_paths(price_outlook, pools, pd.DatetimeIndex([t0, start]), pd.DatetimeIndex([start, end]),
                         n_scenarios=n_scenarios, seed=seed)
        t = 1
    else:
        pp = price_paths(price_outlook, pools, pd.DatetimeIndex([start]), pd.DatetimeIndex([end]),
                         n_scenarios=n_scenarios, seed=seed)
        t = 0
    return float(pp.od[:, t, 0].mean()), float(pp.spot[:, t, 0].mean())


def _decision(run, opts: pd.DataFrame) -> dict:
    """The chosen option of one run as a decision row."""
    ok = opts[opts["feasible"]].sort_values("expected_cost_usd", kind="stable")
    best = ok.iloc[0]
    second = ok.iloc[1] if len(ok) > 1 else None
    od = opts[opts["option"] == "on_demand"].iloc[0]
    start = pd.Timestamp(run.start)
    end = start + pd.Timedelta(hours=float(run.duration_hours))
    held = best["kind"] in ("prepaid", "reservation")
    ahead = pd.Timedelta(days=float(np.nan_to_num(best.get("hold_ahead_days", 0.0))))
    lead_max = best.get("lead_max_days", np.nan)
    return dict(
        run=best["run"], provider=run.provider, region=run.region, instance_type=run.instance_type,
        workload_class=str(getattr(run, "workload_class", "training")), gpus=float(run.gpus), run_start=start, run_end=end, held_by=best["option"], kind=best["kind"],
        window_start=start - ahead if held else start,
        window_end=(start - ahead + pd.Timedelta(hours=float(best["booked_hours"]))) if held else end,
        book_from=(start - pd.Timedelta(days=float(lead_max))) if held and pd.notna(lead_max) else pd.NaT,
        instances=int(best["instances"]), purchases=int(best["purchases"]),
        usd_per_gpu_hour=float(best["usd_per_gpu_hour"]), cost_usd=float(best["fee_usd"]),
        on_demand_cost_usd=float(od["fee_usd"]), on_demand_expected_usd=float(od["expected_cost_usd"]),
        expected_cost_usd=float(best["expected_cost_usd"]),
        saving_vs_on_demand_usd=float(od["expected_cost_usd"] - best["expected_cost_usd"]),
        p_capacity=float(best["p_capacity"]), expected_delay_usd=float(best["expected_delay_usd"]),
        runner_up="" if second is None else str(second["option"]), given_up=_given_up(best, second),
        is_assumption=bool(best["is_assumption"]), source=str(best["source"]))



def held_run_hours(decisions: pd.DataFrame, keys: pd.DataFrame, ds: pd.DatetimeIndex,
                   kinds=("prepaid",)) -> np.ndarray:
    """GPU-hours per series and step that capacity purchases hold, inside each run's own window only.

    The commitment plan then serves the demand net of these hours: a run held by a prepaid product (capacity
    block, calendar reservation, neocloud contract) is paid by that product, and nothing outside the run's
    window is ever attributed to it.

    Parameters
    ----------
    decisions : pandas.DataFrame
        From :func:`decide_capacity` (run_start, run_end, gpus, the pool, ``kind``).
    keys : pandas.DataFrame
        Series keys (provider, region, instance_type, workload_class) of the demand.
    ds : pandas.DatetimeIndex
        The demand's time grid (hours or days).
    kinds : tuple of str
        Kinds of holding whose hours leave the commitment plan's demand.

    Returns
    -------
    ndarray (len(keys), len(ds))
        Held GPU-hours per step [GPU-h]; 0 outside every run's window.
    """
    from finops_forecast.forecast.api import planned_run_hours

    sel = decisions[decisions["kind"].isin(kinds)]
    if sel.empty:
        return np.zeros((len(keys), len(ds)))
    runs = pd.DataFrame({"start": sel["run_start"], "gpus": sel["gpus"],
                         "duration_hours": (sel["run_end"] - sel["run_start"]) / pd.Timedelta(hours=1),
                         "provider": sel["provider"], "region": sel["region"],
                         "instance_type": sel["instance_type"],
                         "workload_class": sel["workload_class"]})
    k2, extra = planned_run_hours(runs, keys, ds)
    if len(k2) != len(keys):
        raise PortfolioError("a capacity decision names a series that is not in the demand; pass the keys the "
                             "planned runs were forecast with.")
    return extra
