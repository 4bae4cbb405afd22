"""``optimize(scenarios, catalog, inventory, config) -> Plan``: the orchestrator.

Steps: build the market from the catalog (:mod:`instruments`), cut the forecast horizon into calendar quarters,
compress each quarter's scenario hours (:mod:`compress`), build and solve the program (:mod:`model`), then bill
the solution with the billing engine on every scenario path (:mod:`billing`) to report expected cost, CVaR,
coverage, utilization (and its 10th percentile), break-even months, the savings-versus-commitment curve and the
cost-risk frontier (:mod:`plan`).
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from finops_forecast.errors import PortfolioError
from finops_forecast.portfolio.billing import bill_paths, bill_rows
from finops_forecast.portfolio.compress import Compressed, compress, full
from finops_forecast.portfolio.config import PortfolioConfig
from finops_forecast.portfolio.instruments import (
    HOURS_PER_MONTH,
    SERIES_KEYS,
    Market,
    SpotSettings,
    build_market,
    subset,
)
from finops_forecast.portfolio.inventory import active_quantities, match_instruments, validate_inventory
from finops_forecast.portfolio.ladder import compare_ladder
from finops_forecast.portfolio.model import CommitmentModel, Solution, UserConstraints, cvar
from finops_forecast.portfolio.plan import PURCHASE_COLUMNS, Plan
from finops_forecast.portfolio.risk import UNUSED_MEASURES

#: rows (paths x hours) billed at once by :func:`_bill_periods`: 10,000 keeps the bill's temporaries near 30 MB
#: (100,000 held ~230 MB on the sample report's 100 paths x a month) and is no slower (docs/performance.md)
_BILL_ROWS = 10_000
_CACHE_ELEMENTS = 20_000_000  # cache chunked periods below this many floats (~160 MB; the sample's 47M are
# re-chunked when billed: the same time, 350 MB less peak memory in the report, docs/performance.md)


@dataclass
class Scenarios:
    """Demand sample paths (the forecast's contract): ``paths`` (series x path x hour) [GPU-h per hour], or a
    ``generator(start, stop)`` returning that slice of hours, so a long horizon need not sit in memory."""

    keys: pd.DataFrame
    ds: pd.DatetimeIndex
    paths: np.ndarray | None = None
    generator: object = None
    n_paths: int | None = None

    def __post_init__(self):
        missing = [c for c in SERIES_KEYS if c not in self.keys.columns]
        if missing:
            raise PortfolioError(f"scenario keys: missing column(s) {missing}; expected {SERIES_KEYS}.")
        self.ds = pd.DatetimeIndex(self.ds)
        if self.ds.tz is None:
            self.ds = self.ds.tz_localize("UTC")
        if self.paths is not None:
            p = np.asarray(self.paths)
            if p.ndim != 3 or p.shape[0] != len(self.keys) or p.shape[2] != len(self.ds):
                raise PortfolioError(f"scenario paths must be (series={len(self.keys)}, paths, hours="
                                     f"{len(self.ds)}); got {p.shape}.")
            self.n_paths = p.shape[1]
        elif self.generator is None or self.n_paths is None:
            raise PortfolioError("Scenarios need paths, or a generator and n_paths.")

    def slice(self, a: int, b: int) -> np.ndarray:
        """Hours a..b of every path, as (paths, hours, series) [GPU-h per hour]."""
        return np.ascontiguousarray(np.transpose(self.slice_major(a, b), (1, 2, 0)), dtype=float)

    def slice_major(self, a: int, b: int) -> np.ndarray:
        """Hours a..b of every path, series-major as (series, paths, hours) [GPU-h per hour]: the stored
        layout, so no copy is made when the paths are in memory (float32 or float64 as given)."""
        p = self.paths[:, :, a:b] if self.paths is not None else self.generator(a, b)
        return np.asarray(p)


def as_scenarios(obj) -> Scenarios:
    """Accept a :class:`Scenarios` or anything with ``.keys``, ``.ds`` and ``.paths`` (a ForecastResult)."""
    if isinstance(obj, Scenarios):
        return obj
    for a in ("keys", "ds", "paths"):
        if not hasattr(obj, a):
            raise PortfolioError(f"scenarios need .keys, .ds and .paths (a forecast result); {type(obj).__name__} "
                                 f"has no .{a}.")
    return Scenarios(keys=obj.keys.reset_index(drop=True), ds=obj.ds, paths=np.asarray(obj.paths))


@dataclass
class Periods:
    """Periods of the plan: start, end, hours, the forecast hours (a, b) that stand for each, and the quarter
    each falls in (0: the quarter planned). Purchases are made at a period's start."""

    start: pd.DatetimeIndex
    end: pd.DatetimeIndex
    hours: np.ndarray
    src: list
    repeated: int
    quarter: np.ndarray | None = None

    def __post_init__(self):
        if self.quarter is None:
            self.quarter = np.arange(len(self.hours))
        self.quarter = np.asarray(self.quarter, int)

    @property
    def T(self) -> int:
        return len(self.hours)

    @property
    def n_quarters(self) -> int:
        return int(self.quarter.max()) + 1 if self.T else 0

    def in_quarter(self, q: int) -> np.ndarray:
        """Indices of the periods of quarter ``q``."""
        return np.flatnonzero(self.quarter == q)

    def quarter_weights(self, q: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices of quarter ``q``'s periods, their hour weights summing to 1), for a quarter's hour-weighted
        means."""
        ts = self.in_quarter(q)
        return ts, self.hours[ts] / self.hours[ts].sum()


def quarter_periods(ds: pd.DatetimeIndex, quarters: int) -> Periods:
    """Cut the forecast hours into calendar quarters; extend with the last full quarter when it is short."""
    naive = ds.tz_convert("UTC").tz_localize(None)
    q = naive.to_period("Q")
    change = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    bounds = list(zip(change, list(change[1:]) + [len(ds)]))[:quarters]
    start = [ds[a] for a, _ in bounds]
    end = [ds[b - 1] + pd.Timedelta(hours=1) for _, b in bounds]
    hours = [b - a for a, b in bounds]
    src = list(bounds)
    full_q = [k for k, (a, b) in enumerate(bounds)
              if (b - a) >= 0.9 * (q[a].end_time - q[a].start_time).total_seconds() / 3600]
    last = full_q[-1] if full_q else len(bounds) - 1
    repeated = 0
    while len(src) < quarters:
        nq = (q[bounds[-1][0]] + (len(src) - len(bounds) + 1))
        s = pd.Timestamp(nq.start_time).tz_localize("UTC")
        e = pd.Timestamp((nq + 1).start_time).tz_localize("UTC")
        start.append(s); end.append(e); hours.append(int((e - s).total_seconds() // 3600))
        src.append(bounds[last]); repeated += 1
    return Periods(start=pd.DatetimeIndex(start), end=pd.DatetimeIndex(end), hours=np.array(hours, float),
                   src=src, repeated=repeated)


def plan_periods(ds: pd.DatetimeIndex, quarters: int, splits=(), first_quarter_months: bool = True) -> Periods:
    """Calendar quarters (:func:`quarter_periods`) cut finer where the purchase date matters.

    The first quarter is cut into calendar months (``first_quarter_months``), so its purchases can be staggered,
    and every quarter is cut at each date of ``splits`` inside it (the expiry dates of owned commitments), so a
    replacement is bought on the day the commitment it replaces expires instead of pro rata over the quarter.
    Dates are floored to the hour. Each sub-period stands for the same hours of its quarter's forecast (for a
    repeated quarter, of the repeated quarter's hours, clipped to them).
    """
    q = quarter_periods(ds, quarters)
    cuts = [pd.Timestamp(c).tz_convert("UTC").floor("h") for c in splits]
    start, end, hours, src, qi = [], [], [], [], []
    for k in range(q.T):
        s0, e0 = q.start[k], q.end[k]
        inner = {c for c in cuts if s0 < c < e0}
        if k == 0 and first_quarter_months:
            m = (s0.tz_convert(None).to_period("M") + 1).start_time.tz_localize("UTC")
            while m < e0:
                inner.add(m)
                m = (m.tz_convert(None).to_period("M") + 1).start_time.tz_localize("UTC")
        bounds = sorted(inner | {s0, e0})
        a, b = q.src[k]
        for s, e in itertools.pairwise(bounds):
            off, n = int((s - s0) // pd.Timedelta(hours=1)), int((e - s) // pd.Timedelta(hours=1))
            sa = min(a + off, b - 1)
            start.append(s); end.append(e); hours.append(n); qi.append(k)
            src.append((sa, max(min(sa + n, b), sa + 1)))
    return Periods(start=pd.DatetimeIndex(start), end=pd.DatetimeIndex(end), hours=np.array(hours, float),
                   src=src, repeated=q.repeated, quarter=np.array(qi))


def term_cover(per: Periods, term_months) -> np.ndarray:
    """Share of each period's hours that a unit bought at the start of an earlier period holds.

    A term runs ``term_months`` calendar months from its purchase date. ``cover[k, t, i]`` is 1 for a period
    ``k`` wholly inside the term of instrument ``i`` bought at the start of period ``t``, the share of its hours
    for the period the term ends in (pro rata, as owned commitments that expire inside a period), 0 before the
    purchase and after the term. On a grid of calendar quarters it is the band of ``term_months / 3`` quarters.

    Returns
    -------
    ndarray (T, T, I)
    """
    term = np.asarray(term_months, int)
    T = per.T
    s = per.start.as_unit("ns").asi8 / 3.6e12  # [h since epoch]
    e = per.end.as_unit("ns").asi8 / 3.6e12
    out = np.zeros((T, T, len(term)))
    later = np.tril(np.ones((T, T), bool))  # k >= t
    for tau in np.unique(term):
        stop = np.array([(per.start[t] + pd.DateOffset(months=int(tau))).value / 3.6e12 for t in range(T)])
        hi = np.minimum(e[:, None], stop[None, :])
        lo = np.maximum(s[:, None], s[None, :])
        frac = np.where(later, np.clip((hi - lo) / (e - s)[:, None], 0.0, 1.0), 0.0)
        out[:, :, term == tau] = frac[:, :, None]
    return out


def tail_hours(per: Periods, cover: np.ndarray, term_months) -> np.ndarray:
    """Hours of each purchase's term after the planning horizon (T, I) [h]: the term (``term_months x 730``
    hours, the obligation's) less the hours it holds inside the horizon, never below 0."""
    inside = np.einsum("k,kti->ti", per.hours, cover)
    return np.maximum(np.asarray(term_months, float)[None, :] * HOURS_PER_MONTH - inside, 0.0)


@dataclass
class Prepared:
    """Everything built before the solve (reused by policies and benchmarks)."""

    scen: Scenarios
    market: Market
    periods: Periods
    comp: Compressed
    model: CommitmentModel
    inventory_active: np.ndarray
    #: (T, T, I) share of period k's hours held by a unit bought at the start of period t (:func:`term_cover`)
    cover: np.ndarray
    notes: list
    chunk_period: object
    config: PortfolioConfig
    build_s: float = 0.0
    #: price outlook (None: today's prices) and the (T, I) price multiplier of a purchase in each period
    prices: object = None
    commit_mult: np.ndarray | None = None
    #: (T, I) hours of each purchase's term after the horizon [h] (:func:`tail_hours`)
    tail_hours: np.ndarray | None = None


def prepare(scenarios, catalog: pd.DataFrame, inventory: pd.DataFrame | None = None,
            config: PortfolioConfig | None = None, *, compression: str = "compressed") -> Prepared:
    """Build market, periods, compressed scenarios and the program (no solve).

    ``compression="full"`` keeps every path and hour (the reference model for small checks).
    """
    config = config or PortfolioConfig()
    scen, catalog, mk, purch, inv, notes = _market(as_scenarios(scenarios), catalog, inventory, config)
    splits = inv["expires"] if config.split_at_expiry and len(inv) else ()
    per = plan_periods(scen.ds, config.quarters, splits, first_quarter_months=config.monthly_first_quarter)
    if per.repeated:
        notes.append(f"the forecast covers {config.quarters - per.repeated} quarter(s); the last {per.repeated} "
                     "planned quarter(s) repeat the last full forecast quarter's demand")
    inv_active, inv_notes = active_quantities(inv, mk, per.start, per.end)
    notes += inv_notes
    big = scen.n_paths * sum(b - a for a, b in set(per.src)) * mk.n_chunks > _CACHE_ELEMENTS
    cache = {}
    chunk_period = _chunk_source(scen, mk, per, cache, big)
    scores, Q, floor, providers = _period_stats(scen, mk, per, config, cache, big)
    renewals = _renewals(config, mk, per, purch) if compression != "full" else None
    # two-stage recourse: the groups are formed from the demand before the second stage, what is known then
    score = scores.sum(axis=0) if renewals is None else scores[: renewals.start].sum(axis=0)
    tf = mk.chunks_major if big else None
    if compression == "full":
        comp = full(lambda t: chunk_period(t)[0], per.hours, transform=tf)
    else:
        comp = compress(lambda t: chunk_period(t)[0], mk.chunk_value, per.hours, transform=tf,
                        n_groups=config.scenario_groups, strata=config.strata, levels=config.levels, score=score)
    term_months = mk.instruments["term_months"].to_numpy(float)
    cover = term_cover(per, term_months)
    tail = tail_hours(per, cover, term_months)
    user = _user_constraints(config, mk, per, purch, providers, Q, floor)
    pp, vm, cm = _price_outlook(config, catalog, mk, per, comp, notes)
    count = config.fees_after_horizon == "count" and bool(np.any(tail > 0))
    tail_inv = _owned_after(inv, mk, per, float(tail.max())) if count else None
    t0 = time.perf_counter()
    model = CommitmentModel(mk, comp, cover, inv_active, user, integer_pool=config.integer_ri,
                            risk_lambda=config.risk_lambda, alpha=config.alpha, risk_measure=config.risk_measure,
                            value_mult=vm, commit_mult=cm, fee_price=npv_price(mk, config.cost_of_capital),
                            tail_hours=tail if count else None, tail_inventory=tail_inv, renewals=renewals)
    if renewals is not None:
        notes.append(f"recourse: from {per.start[renewals.start]:%Y-%m-%d} each of the {comp.n_groups} scenario "
                     "groups (formed from the demand before that date) re-decides its 12-month terms; the ladder "
                     "shows the expected renewals, this quarter's purchases are the same in every scenario")
    return Prepared(scen=scen, market=mk, periods=per, comp=comp, model=model, inventory_active=inv_active,
                    cover=cover, notes=notes, chunk_period=chunk_period, config=config,
                    build_s=time.perf_counter() - t0, prices=pp, commit_mult=cm, tail_hours=tail)


def _renewals(config: PortfolioConfig, mk: Market, per: Periods, purch: np.ndarray):
    """The second stage of ``config.recourse`` (:class:`~finops_forecast.portfolio.model.Renewals`): from the
    first period 12 months or more after the start, single-pool instruments of at most 12 months' term; None
    without recourse or when the horizon is shorter."""
    from finops_forecast.portfolio.model import Renewals, direct_cover

    if not config.recourse:
        return None
    later = np.flatnonzero(pd.DatetimeIndex(per.start) >= pd.Timestamp(per.start[0]) + pd.DateOffset(months=12))
    direct, _ = direct_cover(mk)
    cols = np.flatnonzero(direct & np.asarray(purch, bool) & (mk.instruments["term_months"].to_numpy(float) <= 12))
    if not len(later) or not len(cols):
        return None
    return Renewals(start=int(later[0]), cols=cols)


def _owned_after(inv: pd.DataFrame, mk: Market, per: Periods, hours: float) -> np.ndarray:
    """Mean quantity of each instrument owned over the ``hours`` after the horizon (I,)."""
    end = per.end[-1:]
    act, _ = active_quantities(inv, mk, end, end + pd.Timedelta(hours=hours))
    return act[0]


def _market(scen: Scenarios, catalog: pd.DataFrame, inventory, config: PortfolioConfig):
    """Migration (if set), the market of the purchasable and owned instruments, and the validated inventory:
    (scenarios, catalog, market, purchasable (I,), inventory, notes)."""
    mig_notes = []
    if config.migration:
        from finops_forecast.portfolio.migration import apply_migration
        k2, p2, catalog, mig_notes = apply_migration(scen.keys, np.asarray(scen.slice_major(0, len(scen.ds))),
                                                     scen.ds, catalog, config.migration)
        scen = Scenarios(keys=k2, ds=scen.ds, paths=p2)
    spot = SpotSettings(classes=tuple(config.spot_classes), cap=config.spot_cap,
                        job_nodes=dict(config.spot_job_nodes or {}))
    mk = build_market(catalog, scen.keys, terms_months=tuple(sorted(set(catalog.get("term_months", []))
                                                                   - {0})) or (12, 36),
                      payment_options=("no_upfront", "partial_upfront", "all_upfront"), spot=spot)
    ins = mk.instruments
    purch = ins["term_months"].isin([int(t) for t in config.terms_months]).to_numpy() & \
        ins["payment_option"].isin(config.payment_options).to_numpy()
    if config.families is not None:
        purch &= ins["family"].isin(config.families).to_numpy()
    inv = validate_inventory(inventory)
    used = np.zeros(len(ins), bool)
    if len(inv):
        idx, _ = match_instruments(inv, mk)
        used[idx] = True
    keep = purch | used
    mk = subset(mk, keep)
    if not mk.n_instruments:
        raise PortfolioError("No commitment instrument is priced for these pools with the chosen "
                             f"terms_months={config.terms_months} and payment_options={config.payment_options}; "
                             "the catalog's commitment rows are needed.")
    return scen, catalog, mk, purch[keep], inv, list(mk.notes) + mig_notes


def _chunk_source(scen: Scenarios, mk: Market, per: Periods, cache: dict, big: bool):
    """``chunk_period(t)``: period t's data and the transform that makes it chunks: cached chunks for small
    inputs; series demand (chunked later, one group or batch of paths at a time) for large ones."""
    def chunk_period(t):
        key = per.src[t]
        if key in cache:
            return cache[key], None
        if big:
            return scen.slice_major(*key), mk.chunks_major
        X = mk.chunks_major(scen.slice_major(*key))
        cache[key] = X
        return X, None
    return chunk_period


def _period_stats(scen: Scenarios, mk: Market, per: Periods, config: PortfolioConfig, cache: dict, big: bool):
    """One pass over the periods' demand: path scores (T, N) (on-demand value of each path in each period [USD]),
    each provider's demand quantile (T, K) and each pool's floor quantile (T, P) [GPU-h per hour]; fills
    ``cache`` with the chunks of small inputs. Returns (scores, Q, floor, providers)."""
    T = per.T
    score = np.zeros((T, scen.n_paths))
    providers = sorted(mk.pools["provider"].unique())
    prov_of_series = mk.series["provider"].to_numpy()
    Q = np.zeros((T, len(providers)))
    floor = np.zeros((T, mk.n_pools))
    spool = mk.series["pool"].to_numpy(int)
    fl_series = mk.series["workload_class"].isin(config.floor_classes).to_numpy()
    seen = {}
    need_q = config.max_commitment_share is not None
    need_f = config.min_floor_coverage > 0
    for t in range(T):
        key = per.src[t]
        if key not in seen:
            S = scen.slice_major(*key)  # (series, paths, hours)
            if not big:
                cache[key] = mk.chunks_major(S)
            # path score: on-demand value of the path's demand [USD/h], no chunking needed
            w = mk.od_rate[spool].astype(S.dtype if S.dtype == np.float32 else np.float64)
            sc = np.tensordot(w, S, axes=(0, 0)).sum(axis=1, dtype=np.float64) / S.shape[2]
            q_t = [np.quantile(S[prov_of_series == pr].sum(0), config.max_commitment_quantile)
                   for pr in providers] if need_q else np.zeros(len(providers))
            f_t = [np.quantile(S[(spool == p) & fl_series].sum(0), config.floor_quantile)
                   if np.any((spool == p) & fl_series) else 0.0 for p in range(mk.n_pools)] if need_f else \
                np.zeros(mk.n_pools)
            seen[key] = (sc, q_t, f_t)
            del S
        sc, q_t, f_t = seen[key]
        score[t] = sc * per.hours[t]
        Q[t], floor[t] = q_t, f_t
    return score, Q, floor, providers


def _user_constraints(config: PortfolioConfig, mk: Market, per: Periods, purch: np.ndarray, providers: list,
                      Q: np.ndarray, floor: np.ndarray) -> UserConstraints:
    """The config's limits as right-hand sides of the program (the upfront budget is per quarter)."""
    user = UserConstraints(allow_on_demand=config.allow_on_demand, purchasable=purch, ladder=config.ladder,
                           min_util=config.min_utilization_p10, max_3y_share=config.max_three_year_share,
                           max_obligation=config.max_obligation_usd, period_quarter=per.quarter)
    b = config.budget_vector(config.quarters)
    if b is not None:
        user.budget = np.array(b, float)
    if config.max_commitment_share is not None:
        eq = np.zeros((mk.n_instruments, len(providers)))
        for i, r in enumerate(mk.instruments.itertuples(index=False)):
            k = providers.index(r.provider)
            if r.kind == "pool":
                eq[i, k] = r.gpu_per_unit
            else:
                rr = mk.rate[i][np.isfinite(mk.rate[i])]
                eq[i, k] = 1.0 / float(np.mean(rr))
        user.commit_equiv = eq
        user.max_commit = config.max_commitment_share * Q
    if config.min_floor_coverage > 0:
        user.floor = floor
        user.floor_share = config.min_floor_coverage
    return user


def _price_outlook(config: PortfolioConfig, catalog: pd.DataFrame, mk: Market, per: Periods, comp: Compressed,
                   notes: list):
    """(price paths or None, value multipliers (R, C) or None, commitment multipliers (T, I) or None)."""
    if config.price_outlook == "flat":
        return None, None, None
    from finops_forecast.portfolio import priced
    pp = priced.outlook_for(config.price_outlook, catalog, mk, per.start, per.end, comp.n_groups)
    notes += pp.notes
    if pp.is_flat:
        return None, None, None
    return pp, priced.value_multipliers(pp, mk, comp), priced.commit_multipliers(pp, mk)


def npv_price(market: Market, cost_of_capital: float) -> np.ndarray:
    """Equivalent hourly rate of one unit of each instrument at the cost of capital [USD/h per unit].

    The level monthly payment with the same present value as the instrument's upfront and recurring fees
    (:func:`finops_forecast.pricing.payment.equivalent_hourly_rate`): equal to the amortized ``price`` for
    no-upfront payment or a 0 rate, higher for upfront payment when the rate is positive.
    """
    from finops_forecast.pricing.payment import equivalent_hourly_rate

    ins = market.instruments
    if not len(ins):
        return np.zeros(0)
    return np.asarray(equivalent_hourly_rate(ins["upfront"].to_numpy(float), ins["recurring"].to_numpy(float),
                                             ins["term_months"].to_numpy(float), cost_of_capital), float)


def _solve(prep: Prepared, risk_lambda=None, relax: bool = False, warm_start: bool = True) -> Solution:
    c = prep.config
    return prep.model.solve(risk_lambda, c.alpha, solver=c.solver, fallback_solvers=c.fallback_solvers,
                            allow_inaccurate=c.allow_inaccurate, time_limit_s=c.time_limit_s,
                            mip_rel_gap=c.mip_rel_gap, relax=relax, warm_start=warm_start)


def bill_compressed(prep: Prepared, active: np.ndarray, fee_price: np.ndarray | None = None):
    """Bill the compressed rows under ``active`` (T, I): (expected cost [USD], group costs (M,) [USD], Bill)
    (:func:`finops_forecast.portfolio.billing.bill_rows` on the prepared program's rows).

    With a price outlook the uncovered chunks are priced at each row's scenario and period, and the fees at
    ``fee_price`` (T, I) [USD/h per unit] (:func:`paid_price`)."""
    if prep.prices is None:
        return bill_rows(prep.comp, prep.market, active)
    return bill_rows(prep.comp, prep.market, active, value_mult=prep.model.value_mult0,
                     fee_price=prep.market.price[None, :] if fee_price is None else fee_price)


def bill_plan(prep: Prepared, active: np.ndarray, x: np.ndarray):
    """:func:`bill_compressed` of a plan holding ``active`` (T, I) after buying ``x`` (T, I): with a price outlook
    each purchase pays the price of its period (:func:`paid_price`)."""
    if prep.commit_mult is None:
        return bill_compressed(prep, active)
    return bill_compressed(prep, active, paid_price(prep, x))


def paid_price(prep: Prepared, x: np.ndarray) -> np.ndarray:
    """(T, I) fee per held unit in each period under a price outlook [USD/h per unit]: purchases ``x`` (T, I) at
    the price of their period (``commit_mult``) for the share of each period they hold (``cover``), the
    inventory at today's price."""
    x = np.asarray(x, float)
    price = prep.market.price
    if prep.commit_mult is None:
        return np.broadcast_to(price, x.shape).copy()
    inv = prep.inventory_active
    paid = np.einsum("kti,ti->ki", prep.cover, x * prep.commit_mult)
    held = np.einsum("kti,ti->ki", prep.cover, x) + inv
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(held > 0, (paid + inv) / np.where(held > 0, held, 1.0), 1.0)
    return ratio * price[None, :]


def optimize(scenarios, catalog: pd.DataFrame, inventory: pd.DataFrame | None = None,
             config: PortfolioConfig | None = None) -> Plan:
    """Recommend commitments: what to buy this quarter and the ladder of the next quarters.

    Parameters
    ----------
    scenarios : ForecastResult or Scenarios
        Demand sample paths: ``.keys`` (provider, region, instance_type, workload_class), ``.ds`` (hourly
        DatetimeIndex), ``.paths`` (series x path x hour) [GPU-h per hour].
    catalog : DataFrame
        Pricing catalog (``finops_forecast.pricing.load_pricing()``).
    inventory : DataFrame, optional
        Commitments already owned (:mod:`finops_forecast.portfolio.inventory`).
    config : PortfolioConfig, optional

    Returns
    -------
    Plan

    Raises
    ------
    ProgramInfeasible
        The user constraints admit no plan; the message names the one(s) to relax.
    NumericalSolverError
        No solver returned an optimal plan (after trying the fallbacks).
    PortfolioError
        Unpriced pools, no instrument to buy, bad settings.
    """
    config = config or PortfolioConfig()
    prep = prepare(scenarios, catalog, inventory, config)
    sol = solve_plan(prep)
    return make_plan(prep, sol)


def solve_plan(prep: Prepared) -> Solution:
    """Solve the prepared program once for the plan (:func:`_solve`), then release what only that solve needed.

    A plan is solved once: after it, the frontier and the savings curve re-solve or bill the LP relaxation only,
    so the whole-unit rounding's compiled programs (~80 MB of canonicalized matrices on the sample report) are
    dropped before the frontier's re-solves allocate their own (:meth:`CommitmentModel.drop_rounding_programs`).
    """
    sol = _solve(prep)
    prep.model.drop_rounding_programs()
    return sol


def make_plan(prep: Prepared, sol: Solution, *, frontier: bool = True, curve: bool = True) -> Plan:
    """Bill a solution on every scenario path and assemble the :class:`Plan`.

    The frontier's re-solves run in a thread while this one bills the paths: HiGHS and numpy release the GIL, so
    the two overlap on a second core; the frontier only re-solves the program (its parameters and variables),
    which nothing else here reads.
    """
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1) if frontier else None
    try:
        front_job = pool.submit(_frontier, prep, sol) if pool is not None else None
        return _make_plan(prep, sol, front_job, curve)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


def _make_plan(prep: Prepared, sol: Solution, front_job, curve: bool) -> Plan:
    mk, per, cfg = prep.market, prep.periods, prep.config
    N = prep.scen.n_paths
    fee_price = paid_price(prep, sol.x) if prep.commit_mult is not None else None
    b = _bill_periods(prep, sol.active, fee_price, by_group=sol.active_by_group)
    model_cost, _, _ = bill_compressed(prep, _held(sol), fee_price)
    purchases = _purchases(prep, sol, b)
    q0, w0 = per.quarter_weights(0)
    d0 = float(w0 @ b["demand"][q0])
    cov0 = float(w0 @ b["covered"][q0].sum(axis=1)) / d0 if d0 > 0 else 0.0
    c0 = float(w0 @ b["committed_sum"][q0])
    util0 = float(w0 @ b["used_sum"][q0]) / c0 if c0 > 0 else float("nan")
    alloc = _allocation(prep, q0, w0 @ b["uncovered"][q0], w0 @ b["covered"][q0], float(per.hours[q0].sum()))
    curve_df = _curve(prep, sol) if curve else pd.DataFrame()
    front = front_job.result() if front_job is not None else pd.DataFrame()
    notes = list(prep.notes) + list(sol.notes)
    size = prep.model.size()
    size["full_equivalent"] = full_model_size(prep)
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()}
    expected, od_cost, unused = float(b["path_cost"].mean()), float(b["path_od"].mean()), b["unused_path"]
    return Plan(purchases=purchases, ladder=_ladder_table(prep, sol.active), quarters=_quarter_table(b["rows"]),
                periods=b["rows"], expected_cost_usd=expected,
                on_demand_cost_usd=od_cost, savings_usd=od_cost - expected,
                effective_savings_rate=(od_cost - expected) / od_cost if od_cost > 0 else 0.0, coverage=cov0,
                utilization=util0, cvar_usd=cvar(b["path_cost"], np.full(N, 1 / N), cfg.alpha), alpha=cfg.alpha,
                risk_lambda=cfg.risk_lambda, model_cost_usd=model_cost, allocation=alloc,
                savings_curve=curve_df, frontier=front, status=sol.status, solver=sol.solver, notes=notes,
                model_size=size, settings=settings, instruments=mk.instruments.copy(), **_plan_signing(purchases),
                fees_after_horizon_usd=fees_after_horizon(prep, sol.x),
                ladder_comparison=compare_ladder(
                    prep, sol, bill=lambda a, x: bill_plan(prep, a, x)) if curve else pd.DataFrame(),
                expected_unused_commitment_usd=float(unused.mean()),
                cvar_unused_commitment_usd=cvar(unused, np.full(N, 1 / N), cfg.alpha),
                price_paths=None if prep.prices is None else _price_paths(prep))


def _price_paths(prep: Prepared) -> pd.DataFrame:
    from finops_forecast.portfolio import priced
    return priced.paths_frame(prep.prices, prep.market, prep.periods.start)


def _bill_periods(prep: Prepared, active: np.ndarray, fee_price: np.ndarray | None, by_group=None) -> dict:
    """Bill every scenario path period by period under ``active`` (T, I) (:func:`_bill_paths`); with recourse,
    each scenario group's paths under what that group holds, ``by_group`` (M, T, I).

    Returns per path (N,): ``path_cost``, ``path_od`` (all on demand) and ``unused_path`` [USD]; per period:
    ``used``, ``committed`` (T, N, I) summed over the period's forecast hours [USD/h x h], ``displaced`` and
    ``used_mean`` (T, I) [USD/h], ``uncovered`` (T, C) and ``covered`` (T, P) [GPU-h per hour], ``demand`` (T,)
    [GPU-h per hour], ``used_sum`` and ``committed_sum`` (T,) [USD/h] means per hour, and ``rows``: one row per
    period (quarter, period, start, hours, costs [USD] and GPU-hours by how they were served)."""
    mk, per = prep.market, prep.periods
    T, I, N, C = per.T, mk.n_instruments, prep.scen.n_paths, mk.n_chunks
    is_spend, firm = mk.is_spend, mk.chunk_series < 0
    out = {"path_cost": np.zeros(N), "path_od": np.zeros(N), "unused_path": np.zeros(N),
           "used": np.zeros((T, N, I)), "committed": np.zeros((T, N, I)), "displaced": np.zeros((T, I)),
           "used_mean": np.zeros((T, I)), "uncovered": np.zeros((T, C)), "covered": np.zeros((T, mk.n_pools)),
           "demand": np.zeros(T), "used_sum": np.zeros(T), "committed_sum": np.zeros(T)}
    rows = []
    for t in range(T):
        X, transform = prep.chunk_period(t)
        n, H = X.shape[1:]
        f, h = per.hours[t] / H, per.hours[t]
        vm = None
        if prep.prices is not None:
            from finops_forecast.portfolio import priced
            vm = priced.path_multipliers(prep.prices, mk, prep.comp.group_of_path, t)
        acc = bill_paths(X, mk, active[t] if by_group is None else by_group[:, t], batch_rows=_BILL_ROWS,
                         transform=transform, vmult=vm, fee_price=None if fee_price is None else fee_price[t],
                         path_group=prep.comp.group_of_path)
        del X
        for k, a in (("unused_path", "unused"), ("path_cost", "path_cost"), ("path_od", "path_od")):
            out[k] += acc[a] * f
        out["used"][t], out["committed"][t] = acc["used"], acc["committed"]
        m = {k: acc[k] / (n * H) for k in ("displaced", "cover_gpu", "uncovered", "fee", "cost", "list_cost",
                                           "demand", "covered")}
        out["displaced"][t], out["uncovered"][t], out["covered"][t] = m["displaced"], m["uncovered"], m["covered"]
        out["used_mean"][t] = acc["used"].sum(axis=0) / (n * H)
        out["demand"][t] = m["demand"].sum()
        out["used_sum"][t], out["committed_sum"][t] = acc["used"].sum() / (n * H), acc["committed"].sum() / (n * H)
        cg, unc = m["cover_gpu"], m["uncovered"]
        rows.append(dict(quarter=int(per.quarter[t]), period=t, start=per.start[t], hours=h,
                         expected_cost_usd=float(m["cost"] * h), on_demand_cost_usd=float(m["list_cost"] * h),
                         demand_gpu_hours=float(m["demand"].sum() * h),
                         reserved_gpu_hours=float(cg[~is_spend].sum() * h),
                         savings_plan_gpu_hours=float(cg[is_spend].sum() * h),
                         spot_gpu_hours=float(unc[~firm].sum() * h), on_demand_gpu_hours=float(unc[firm].sum() * h),
                         commitment_fee_usd=float(m["fee"] * h)))
    out["rows"] = pd.DataFrame(rows)
    return out


def _quarter_table(periods: pd.DataFrame) -> pd.DataFrame:
    """The periods' rows summed by quarter (start: the quarter's first period's start)."""
    g = periods.drop(columns=["period"]).groupby("quarter", as_index=False, sort=True)
    return g.agg({c: ("first" if c == "start" else "sum") for c in periods.columns
                  if c not in ("quarter", "period")})


def _ladder_table(prep: Prepared, active: np.ndarray) -> pd.DataFrame:
    """Quarter x instrument: owned, planned and held quantities, each the hour-weighted mean over the quarter's
    periods (a commitment bought or expiring inside the quarter counts pro rata)."""
    per, ins = prep.periods, prep.market.instruments
    lad = []
    for q in range(per.n_quarters):
        ts, w = per.quarter_weights(q)
        held, own = w @ active[ts], w @ prep.inventory_active[ts]
        for i in np.flatnonzero(held > 1e-9):
            lad.append(dict(quarter=q, quarter_start=per.start[ts[0]], instrument=ins["id"].iat[i],
                            family=ins["family"].iat[i], unit=ins["unit"].iat[i], owned=float(own[i]),
                            planned=float(held[i] - own[i]), held=float(held[i])))
    return pd.DataFrame(lad, columns=["quarter", "quarter_start", "instrument", "family", "unit", "owned",
                                      "planned", "held"])


def _purchases(prep: Prepared, sol: Solution, b: dict) -> pd.DataFrame:
    """One row per purchase (:data:`~finops_forecast.portfolio.plan.PURCHASE_COLUMNS`) from the plan's own
    billing ``b`` (:func:`_bill_periods`), no new billing. A line's utilization and value are over the periods
    its term holds, each weighted by the share of it held (:func:`term_cover`)."""
    mk, per = prep.market, prep.periods
    ins = mk.instruments
    fee_eq = npv_price(mk, prep.config.cost_of_capital)
    used, committed, displaced, used_mean = b["used"], b["committed"], b["displaced"], b["used_mean"]
    rows = []
    for t, i in zip(*np.nonzero(sol.x > 1e-9)):
        q = float(sol.x[t, i])
        r = ins.iloc[i]
        c = prep.cover[:, t, i]
        u_path = np.tensordot(c, used[:, :, i], axes=1) / np.maximum(np.tensordot(c, committed[:, :, i], axes=1),
                                                                    1e-12)
        w = per.hours * c
        u_mean = float(np.mean(u_path))
        held_h = float(sol.active[:, i] @ w)
        used_h = float(used_mean[:, i] @ w)
        per_used = float(displaced[:, i] @ w) / used_h if used_h > 0 else float("nan")
        sign = signing_numbers(mk, i, fee_eq[i], u_mean, displaced_per_used=per_used,
                               value_per_unit=float(displaced[:, i] @ w) / max(held_h, 1e-12))
        upfront_u, recurring_u = float(r["upfront"]), float(r["recurring"])
        # price outlook: a purchase locks its period's price (commit_mult), so it signs for that
        lock = 1.0 if prep.commit_mult is None else float(prep.commit_mult[t, i])
        qt = int(per.quarter[t])
        rows.append(dict(quarter=qt, quarter_start=per.start[per.in_quarter(qt)[0]], buy_date=per.start[t],
                         instrument=r["id"], family=r["family"],
                         provider=r["provider"], scope=r["scope"], term_months=int(r["term_months"]),
                         payment_option=r["payment_option"], quantity=q, unit=r["unit"],
                         gpu_capacity=q * r["gpu_per_unit"] if r["kind"] != "spend" else float("nan"),
                         commitment_usd_per_hour=q * float(r["price"]), upfront_usd=q * upfront_u,
                         monthly_usd=q * recurring_u * HOURS_PER_MONTH,
                         obligation_usd=q * lock * (upfront_u + recurring_u * HOURS_PER_MONTH
                                                    * float(r["term_months"])),
                         expected_utilization=u_mean, utilization_p10=float(np.quantile(u_path, 0.10)),
                         break_even_utilization=sign["break_even_utilization"],
                         walk_away_month=sign["walk_away_month"], payback_month=sign["payback_month"]))
    return pd.DataFrame(rows, columns=PURCHASE_COLUMNS)


def fees_after_horizon(prep: Prepared, x: np.ndarray) -> float:
    """Fees of the planned purchases ``x`` (T, I) that fall after the planning horizon [USD].

    A purchase pays for its whole term (``term_months x 730`` hours) whatever the horizon; the hours of its term
    inside the horizon are billed in the plan's expected cost, the rest (:func:`tail_hours`) is counted here, so
    the plan's cost with every fee it signs is ``expected_cost_usd + fees_after_horizon_usd``. With
    ``fees_after_horizon="count"`` (default) the optimizer's objective counts them too.
    """
    cm = 1.0 if prep.commit_mult is None else prep.commit_mult  # price outlook: locked at purchase
    return float((np.asarray(x, float) * prep.market.price[None, :] * cm * prep.tail_hours).sum())


def _plan_signing(purchases: pd.DataFrame) -> dict:
    """Plan totals of this quarter's purchases: ``obligation_usd`` [USD] and ``break_even_utilization`` (the
    lines' break-even utilizations weighted harmonically by commitment [USD/h]: the utilization at which the
    fees equal what the lines displace, all lines used alike)."""
    now = purchases[purchases["quarter"] == 0]
    c, be = now["commitment_usd_per_hour"].to_numpy(float), now["break_even_utilization"].to_numpy(float)
    ok = np.isfinite(be) & (be > 0)
    beu = float(c[ok].sum() / (c[ok] / be[ok]).sum()) if ok.any() else float("nan")
    return {"obligation_usd": float(now["obligation_usd"].sum()), "break_even_utilization": beu}


def signing_numbers(mk: Market, i: int, fee_eq: float, utilization: float, *, displaced_per_used: float = np.nan,
                    value_per_unit: float = np.nan) -> dict:
    """The numbers a buyer signs on, for one unit of instrument ``i``.

    Parameters
    ----------
    mk : Market
    i : int
        Instrument index.
    fee_eq : float
        Equivalent hourly rate of one unit at the cost of capital [USD/h per unit] (:func:`npv_price`).
    utilization : float
        Expected utilization of the line, in [0, 1].
    displaced_per_used : float, optional
        Spend plans: what a used committed dollar displaced in the plan's billing [USD per USD]; NaN: the mean
        of on-demand rate / plan rate over the pools in scope.
    value_per_unit : float, optional
        What one held unit displaced per hour on average [USD/h per unit] (payback of an upfront payment).

    Returns
    -------
    dict
        ``break_even_utilization``: utilization below which the line loses money against on demand at today's
        prices, ``fee_eq / value of the unit fully used`` (a pool line fully used displaces ``gpu_per_unit x``
        the on-demand rate); ``walk_away_month`` [months]: months of use at the expected utilization after
        which the line has paid for its whole term, ``term x break_even_utilization / utilization`` (NaN when
        it never does within the term); ``payback_month`` [months]: months until the savings repay an upfront
        payment (NaN without upfront, or never within the term).
    """
    r = mk.instruments.iloc[i]
    price, term = float(r["price"]), float(r["term_months"])
    if r["kind"] == "pool":
        full_value = float(r["gpu_per_unit"]) * float(mk.od_rate[int(r["pool"])])  # [USD/h per unit]
    elif r["kind"] == "gpu":  # one GPU-h of the machine types in scope, at their mean on-demand rate
        full_value = float(np.mean(mk.od_rate[np.isfinite(mk.rate[i])]))
    else:
        rate = mk.rate[i]
        ok = np.isfinite(rate)
        ratio = displaced_per_used if np.isfinite(displaced_per_used) and displaced_per_used > 0 else \
            float(np.mean(mk.od_rate[ok] / rate[ok]))
        full_value = price * ratio
    be_u = fee_eq / full_value if full_value > 0 else float("nan")
    walk = term * be_u / utilization if utilization > 0 else float("nan")
    if not np.isfinite(walk) or walk > term:
        walk = float("nan")
    upfront, recurring = float(r["upfront"]), float(r["recurring"])
    payback = float("nan")
    net_month = (value_per_unit - recurring) * HOURS_PER_MONTH
    if upfront > 0 and np.isfinite(net_month) and net_month > 0:
        payback = max(1.0, math.ceil(upfront / net_month))
        if payback > term:
            payback = float("nan")
    return {"break_even_utilization": float(be_u), "walk_away_month": float(walk), "payback_month": payback}


def _allocation(prep: Prepared, ts, unc: np.ndarray, covered: np.ndarray, hours: float) -> pd.DataFrame:
    """GPU-hours per workload class on commitments, spot and on demand over periods ``ts`` (commitments and on
    demand are shared within a pool in proportion to each class's non-spot demand). ``unc`` (C,) and ``covered``
    (P,) are mean uncovered chunks and covered pool demand per hour over those periods [GPU-h per hour]."""
    mk, per = prep.market, prep.periods
    ts = np.atleast_1d(ts)
    dem = np.zeros(mk.n_series)
    for t in ts:
        a, bnd = per.src[t]
        X = prep.scen.slice_major(a, bnd)  # (series, paths, hours); a view when the paths are in memory
        dem += X.sum(axis=(1, 2), dtype=np.float64) / (X.shape[1] * X.shape[2]) * per.hours[t]
        del X
    dem /= per.hours[ts].sum()  # per series [GPU-h per hour]
    spot = np.zeros(mk.n_series)
    for c in np.flatnonzero(mk.chunk_series >= 0):
        spot[mk.chunk_series[c]] += unc[c]
    firm_unc = np.array([unc[(mk.chunk_pool == p) & (mk.chunk_series < 0)].sum() for p in range(mk.n_pools)])
    spool = mk.series["pool"].to_numpy(int)
    nonspot = dem - spot
    pool_ns = np.bincount(spool, weights=nonspot, minlength=mk.n_pools)
    share = np.where(pool_ns[spool] > 0, nonspot / np.where(pool_ns[spool] > 0, pool_ns[spool], 1), 0)
    df = pd.DataFrame({"workload_class": mk.series["workload_class"], "demand_gpu_hours": dem * hours,
                       "committed_gpu_hours": share * covered[spool] * hours, "spot_gpu_hours": spot * hours,
                       "on_demand_gpu_hours": share * firm_unc[spool] * hours})
    g = df.groupby("workload_class", as_index=False).sum()
    for c in ("committed", "spot", "on_demand"):
        g[f"{c}_share"] = g[f"{c}_gpu_hours"] / g["demand_gpu_hours"].where(g["demand_gpu_hours"] > 0)
    return g


def _quarter0_usd(prep: Prepared, active: np.ndarray) -> float:
    """Commitments held in the first quarter, the hour-weighted mean over its periods [USD/h]."""
    per = prep.periods
    ts = per.in_quarter(0)
    return float((per.hours[ts] @ active[ts] @ prep.market.price) / per.hours[ts].sum())


def _curve(prep: Prepared, sol: Solution) -> pd.DataFrame:
    """Savings versus commitment: this quarter's purchases scaled by each factor, billed on the compressed rows."""
    q0 = prep.periods.in_quarter(0)
    first = np.einsum("kti,ti->ki", prep.cover[:, q0, :], sol.x[q0])  # held from this quarter's purchases
    od, _, _ = bill_compressed(prep, np.zeros_like(sol.active))
    rows = []
    for f in prep.config.curve_factors:
        act = np.maximum(_held(sol) + (f - 1.0) * first, 0.0)
        e, grp, b = bill_compressed(prep, act)
        cv = cvar(grp, prep.comp.prob, prep.config.alpha)
        risk = cv
        if prep.config.risk_measure in UNUSED_MEASURES:  # the program's risk term
            comp = prep.comp
            unused = np.bincount(comp.group, weights=np.maximum(b.committed - b.used, 0).sum(1) * comp.row_hours(),
                                 minlength=comp.n_groups)
            risk = cvar(unused, comp.prob, prep.config.alpha) if prep.config.risk_measure == "unused" else \
                float(comp.prob @ unused)
        rows.append(dict(factor=f, commitment_usd_per_hour=_quarter0_usd(prep, act if act.ndim == 2 else act[0]),
                         expected_cost_usd=e,
                         cvar_usd=cv, objective_usd=e + prep.config.risk_lambda * risk,
                         savings_usd=od - e, savings_rate=(od - e) / od if od > 0 else 0.0,
                         recommended=bool(abs(f - 1.0) < 1e-12)))
    return pd.DataFrame(rows)


def _held(sol: Solution) -> np.ndarray:
    """What the plan holds: (T, I), or (M, T, I) per scenario group with recourse [units]."""
    return sol.active if sol.active_by_group is None else sol.active_by_group


def _frontier(prep: Prepared, sol: Solution) -> pd.DataFrame:
    """Cost-risk frontier: re-solve (no recompile) for each risk weight.

    The plan's own point is the plan (in whole units when ``integer_ri``); the other points are the LP relaxation
    at their risk weight (fractional quantities, within the integer gap of a whole-unit plan), which shows the
    trade-off at a fifth of the work of proving a whole-unit plan at every weight.
    """
    cfg = prep.config
    rows = []
    for lam in cfg.frontier_lambdas:
        # the plan's own risk weight is the plan's solution: the same program, no second solve
        s = sol if float(lam) == float(cfg.risk_lambda) else _solve(prep, lam, relax=True)
        prob = prep.comp.prob
        rows.append(dict(risk_lambda=lam, expected_cost_usd=s.expected_usd, cvar_usd=s.cvar_usd,
                         commitment_usd_per_hour=_quarter0_usd(prep, s.active),
                         expected_unused_usd=s.expected_unused_usd(prob),
                         cvar_unused_usd=cvar(s.unused_group_usd, prob, cfg.alpha)
                         if s.unused_group_usd is not None else float("nan"),
                         three_year_share_now=_long_share(prep, s)))
    prep.model.risk_term.set(cfg.risk_lambda, cfg.alpha)
    return pd.DataFrame(rows)


def _long_share(prep: Prepared, s: Solution) -> float:
    """Share of the commitment USD/h bought this quarter with a term of 36 months or more."""
    usd = s.x[prep.periods.in_quarter(0)].sum(axis=0) * prep.market.price
    long = prep.market.instruments["term_months"].to_numpy(float) >= 36
    return float(usd[long].sum() / usd.sum()) if usd.sum() > 0 else float("nan")


def full_model_size(prep: Prepared) -> dict:
    """Size of the uncompressed program: every path is a scenario and every hour a row."""
    mk, per = prep.market, prep.periods
    rows = int(prep.scen.n_paths * per.hours.sum())
    spend = ~mk.is_pool
    J = int(np.isfinite(mk.rate[spend]).sum())
    T, I = per.T, mk.n_instruments
    nvar = rows * (mk.n_chunks + J) + T * I + prep.scen.n_paths + 1
    ncon = rows * (mk.n_pools + int(spend.sum()) + mk.n_chunks) + prep.scen.n_paths
    return {"rows": rows, "variables": nvar, "constraints": ncon}
