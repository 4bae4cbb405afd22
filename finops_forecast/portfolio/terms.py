"""Why each purchase has its term: its utilization against the break-even of each term, at the outlook's prices.

The plan (:func:`finops_forecast.portfolio.optimize`) picks terms by expected cost; this module states, per
purchase line and with the plan's own numbers, why the term is right or where it is a bet:

* ``break_even``: the line's break-even utilization at today's prices (the plan's
  ``break_even_utilization``); ``other_break_even``: 1 - discount of the same family and scope at the other term.
* ``od_multiplier_term`` and ``od_multiplier_last_year``: the outlook's expected on-demand multiplier (mean over
  its scenarios and the pools the line covers, unweighted) over the line's term inside the plan's horizon and
  over the term's last year (1 with today's prices). A term bought today keeps its rate while on demand falls,
  so over its term it beats on demand only above ``break_even_outlook = break_even / od_multiplier_term``, and
  in its last year only above ``break_even_last_year = break_even / od_multiplier_last_year``. The verdict
  compares the line's utilization over its term (expected and worst 10%, the plan's numbers) with
  ``break_even_outlook``: ``outlives`` (even the worst 10% stays above: demand outlives the price decline),
  ``expected`` (only the expected utilization does: the term is a bet on demand holding), ``review`` (neither),
  ``short`` (a term under 36 months), ``dated`` (capacity reserved for a dated run).
* ``renewed_short_term``: what 1-year terms renewed every year cost per committed hour, as a share of today's on
  demand: each locks the new-commitment rate of its purchase (months 0, 12 and 24: ``other_break_even x`` the
  mean of the outlook's expected commitment multipliers then), against the 3-year rate (``1 - discount`` of the
  line's instrument, the same basis); on a shorter line, the line's own term renewed so over the 3-year term it
  is compared with (below ``other_break_even``, the 3-year rate, falling rates are why the line is short).
* ``flip_cut`` (3-year lines): the cut of new commitment rates (they follow on demand unless the outlook says
  otherwise), in effect at the first renewal (month 12), at which *waiting* costs as much as the 3-year term now: a 1-year term now, then a 3-year term
  at the new rate, against the 3-year term now and another at month 36 at that same new rate, per committed hour
  over the 48 months both cover (steady demand, no further cut): ``be_o + 3 be (1 - c) = 3 be + be (1 - c)``, so
  ``c = (be_o / be - 1) / 2`` (``be``, ``be_o``: the 3-year and 1-year rates as shares of today's on demand;
  0 when the 1-year rate is not dearer; both rates ``1 - discount`` of their instruments, so a spend plan is
  compared on its discount, not on its break-even against the mix it covered). Waiting a year costs ``be_o - be``
  for sure; a cut deeper than ``c`` repays it. ``flip_cut_probability``: the share of the outlook's scenarios
  whose new-commitment multiplier (mean over the line's pools; a CSV outlook's ``commitment`` rows, else on
  demand's) is ``1 - c`` or below at the first renewal, 12 months after the line's ``buy_date`` (NaN with
  today's prices or when ``c`` is 0; for a ``history``
  outlook :func:`plan_term_reasons` draws 4,000 scenarios of the fit for it, the plan's 16 being too few for a
  tail). A FinOps lead who expects a cut that large gives the plan an outlook that says so (a CSV
  ``price_outlook``). The plan itself decides on one purchase schedule for all price scenarios, so it weighs
  the cut at its expected size, not as an option to wait for.
* ``migration_per_year``: the demand share per year assumed to move to a newer generation (standard RIs,
  reservations and resource CUDs stay on the pool; spend plans follow the demand).

Without ``recourse`` the plan's ladder is one purchase schedule for every scenario, so a 1-year term gets no value
for the option to re-decide after a bad year: it wins only where the expected demand, the prices or the migration
make the 3-year term lose. With it (``PortfolioConfig(recourse=True)``, the report's ``recourse``) each scenario group
re-decides its 12-month terms from month 12 on, so a 1-year term bought now is worth its renewal option. The
``verdict`` column says which case a line is in; ``reason`` says it in one sentence with the numbers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.portfolio.migration import FLEXIBLE_FAMILIES

__all__ = ["term_reasons", "plan_term_reasons", "flip_cut", "renewal_draws", "REASON_COLUMNS"]

REASON_COLUMNS = ["instrument", "scope", "term_months", "expected_utilization", "utilization_p10", "break_even",
                  "other_term_months", "other_break_even", "od_multiplier_term", "break_even_outlook",
                  "od_multiplier_last_year", "break_even_last_year", "renewed_short_term", "flip_cut",
                  "flip_cut_probability", "migration_per_year", "verdict", "reason"]


def _other_term(instruments: pd.DataFrame | None, r) -> pd.Series | None:
    """The same family, scope and payment option at another term (the shortest other one), or None."""
    if instruments is None or not len(instruments):
        return None
    same = instruments[(instruments["family"] == r.family) & (instruments["scope"] == r.scope)
                       & (instruments["payment_option"] == r.payment_option)
                       & (instruments["term_months"] != r.term_months)]
    return same.sort_values("term_months").iloc[0] if len(same) else None


def _own_rate(instruments: pd.DataFrame | None, r, be: float) -> float:
    """The line's rate as a share of on demand, ``1 - discount`` of its instrument (the basis of the other
    term's ``other_break_even``); the line's break-even utilization when the instrument is not listed."""
    if instruments is None or not len(instruments) or "id" not in instruments:
        return be
    own = instruments[instruments["id"] == r.instrument]
    return 1.0 - float(own["discount"].iat[0]) if len(own) else be


def _bought_on(r) -> pd.Timestamp:
    """The line's purchase date: ``buy_date`` (the first quarter is bought month by month), else its quarter's
    start."""
    d = getattr(r, "buy_date", None)
    return pd.Timestamp(d) if d is not None and pd.notna(d) else pd.Timestamp(r.quarter_start)


def _line_pools(scope: str, pool_names, pool_gpu: dict | None) -> list:
    """Pool names a line covers: its own pool (scope = "provider region instance_type"), else the pools of its
    provider (and region, and GPU type when ``pool_gpu`` maps pool names to GPU types) the scope names."""
    names = list(pool_names)
    if scope in names:
        return [scope]
    words = scope.split()
    out = [n for n in names if n.split()[0] == words[0]]
    if len(words) >= 2 and any(n.split()[1] == words[1] for n in out):
        out = [n for n in out if n.split()[1] == words[1]]
    if pool_gpu and len(words) >= 3 and any(pool_gpu.get(n) == words[2] for n in out):
        out = [n for n in out if pool_gpu.get(n) == words[2]]
    return out


class _Prices:
    """A plan's price paths indexed once for the lookups of every purchase line: per period and pool, the sums
    and counts of the on-demand and new-commitment multipliers (means over any set of scenarios and pools are
    ratios of sums), each period's length in months, and each period's rows by scenario (for the odds).

    Parameters
    ----------
    price_paths : DataFrame
        quarter_start, pool, scenario, on_demand and (optional) commitment multipliers (``Plan.price_paths``); a
        frame without ``commitment`` gives new commitments the on-demand multiplier.
    """

    def __init__(self, price_paths: pd.DataFrame):
        q = pd.to_datetime(price_paths["quarter_start"])
        frame = price_paths.assign(quarter_start=q, rate=price_paths["commitment" if "commitment" in price_paths
                                                                     else "on_demand"])
        g = frame.groupby(["quarter_start", "pool"])
        od = g["on_demand"].sum().unstack(fill_value=0.0)
        self.starts, self.col = od.index, {p: j for j, p in enumerate(od.columns)}
        # (periods, pools) arrays: label lookups in pandas would cost more than the sums themselves
        self.od = od.to_numpy(float)
        self.rate = g["rate"].sum().unstack(fill_value=0.0).reindex_like(od).to_numpy(float)
        self.n = g.size().unstack(fill_value=0).reindex_like(od).to_numpy(float)
        self.months = _period_months(self.starts)
        self.rows = {k: v[["scenario", "pool", "rate"]].rename(columns={"rate": "commitment"})
                     for k, v in frame.groupby("quarter_start")}

    def at(self, when) -> pd.Timestamp:
        """``when`` in the time zone of the periods (a naive date taken in it)."""
        when = pd.Timestamp(when)
        return when.tz_localize(self.starts.tz) if when.tz is None and self.starts.tz is not None else when

    def _cols(self, pools: list) -> list:
        return [self.col[p] for p in pools if p in self.col]

    def _mean(self, table: np.ndarray, sel: np.ndarray, pools: list) -> float:
        cols = self._cols(pools)
        w = self.months[sel][:, None]
        num, den = (w * table[sel][:, cols]).sum(), (w * self.n[sel][:, cols]).sum()
        return float(num / den) if den > 0 else float("nan")

    def multipliers(self, pools: list, start, months: float) -> tuple[float, float]:
        """(mean on-demand multiplier over the last 12 months of a term of ``months`` from ``start`` inside the
        horizon, mean over the whole term inside it) for ``pools``, each period weighted by its months; (1, 1)
        when no period or pool is inside."""
        start = self.at(start)
        end = start + pd.DateOffset(months=int(months))
        sel = np.asarray((self.starts >= start) & (self.starts < end))
        if not sel.any() or not self._cols(pools):
            return 1.0, 1.0
        last = sel & np.asarray(self.starts >= min(end, self.starts[sel].max() + pd.DateOffset(months=3))
                                - pd.DateOffset(months=12))
        return self._mean(self.od, last, pools), self._mean(self.od, sel, pools)

    def next_period(self, when) -> int:
        """Index of the first period starting on or after ``when`` (the plan's next purchase date; the last
        period when none is left)."""
        return min(int(self.starts.searchsorted(self.at(when))), len(self.starts) - 1)

    def rate_at(self, pools: list, when) -> float:
        """Mean new-commitment multiplier over the scenarios and ``pools`` at :meth:`next_period` of ``when``; 1
        when no pool is priced."""
        k, cols = self.next_period(when), self._cols(pools)
        den = self.n[k, cols].sum()
        return float(self.rate[k, cols].sum() / den) if den > 0 else 1.0

    def renewal(self, when) -> pd.DataFrame:
        """(scenario, pool, commitment) at :meth:`next_period` of ``when``: what :func:`_cut_probability`
        reads."""
        return self.rows[self.starts[self.next_period(when)]]


def _period_months(starts: pd.DatetimeIndex) -> np.ndarray:
    """Calendar months of each period from its start to the next period's start (the last one a quarter; days
    as fractions of a 30.44-day month): the plan's first quarter is cut into months, so an unweighted mean would
    count each month as a quarter."""
    s = pd.Series(starts)
    ends = s.shift(-1)
    ends.iloc[-1] = s.iloc[-1] + pd.DateOffset(months=3)
    months = ((ends.dt.year - s.dt.year) * 12 + ends.dt.month - s.dt.month + (ends.dt.day - s.dt.day) / 30.4375)
    return months.to_numpy(float)


def flip_cut(be: float, be_other: float) -> float:
    """The cut of new commitment rates by the first renewal (month 12) at which waiting (a 1-year term now, then a
    3-year term at the new rate) costs as much as a 3-year term now (module docstring): ``(be_other / be - 1) / 2``,
    in [0, 1]; NaN without a 1-year price.

    Parameters
    ----------
    be, be_other : float
        The 3-year and 1-year rates as shares of today's on demand [-] (their break-even utilizations).
    """
    if not (np.isfinite(be) and np.isfinite(be_other)) or be <= 0:
        return float("nan")
    return float(np.clip((be_other / be - 1.0) / 2.0, 0.0, 1.0))


def _cut_probability(renewal: pd.DataFrame | None, pools: list, cut: float) -> float:
    """Share of scenarios whose new-commitment multiplier at the first renewal (``commitment``, mean over
    ``pools``) is at most ``1 - cut``; NaN with today's prices or without a cut to reach (``cut <= 0``: waiting does not need
    one)."""
    if renewal is None or not len(renewal) or not pools or not np.isfinite(cut) or cut <= 0:
        return float("nan")
    rows = renewal[renewal["pool"].isin(pools)]
    if rows.empty:
        return float("nan")
    per = rows.groupby("scenario")["commitment"].mean()
    return float((per <= 1.0 - cut + 1e-12).mean())


def _migration(migration: dict | None, scope: str) -> float:
    """Share per year for the line's instance type (``"*"`` for every pool), 0 when none is assumed."""
    if not migration:
        return 0.0
    it = scope.split()[-1]
    return float(migration.get(it, migration.get("*", 0.0)))


def _reason(r, be, be_o, be_term, m_last, be_last, renewed, mig, pool_bound, cut=float("nan"),
            cut_p=float("nan"), m_alt=float("nan"), rate=float("nan"), yearly=1.0, m_renew=1.0) -> tuple[str, str]:
    """(verdict, one sentence) for one line; ``m_alt``: a short line's on-demand multiplier in the last year of
    the 3-year term it is compared with; ``rate``: the line's rate as a share of on demand (1 - discount);
    ``yearly``: the mean new-commitment multiplier at the three yearly purchases; ``m_renew``: the expected one at
    the first renewal."""
    rate = be if not np.isfinite(rate) else rate
    u, p10 = float(r.expected_utilization), float(r.utilization_p10)
    price = (f"on demand expected at x{m_last:.2f} of today's in the term's last year, where it needs "
             f"{be_last:.0%}" if m_last < 0.995 else "on demand at today's prices")
    move = (f"; {mig:.0%} of the pool's demand a year moves to a newer generation"
            + (" and this line stays on the pool" if pool_bound else ", which this line follows")) if mig > 0 else ""
    if not np.isfinite(float(r.term_months)):
        return "dated", "capacity reserved for a dated run: no term to choose"
    if r.term_months >= 36:
        alt = (f"; 1-year terms renewed yearly at the expected rates would cost {renewed:.0%} of today's on demand "
               f"per committed hour against {rate:.0%}") if np.isfinite(renewed) else ""
        wait = "waiting (a 1-year term now, then 3 years at the new rate)"
        if np.isfinite(cut) and cut >= 1:
            alt += f"; at steady demand {wait} would not win whatever the cut before the first renewal"
        elif np.isfinite(cut) and cut > 0:
            odds = ("" if not np.isfinite(cut_p) else " (none of the price outlook's scenarios has one that large)"
                    if cut_p == 0 else f" (the price outlook has one that large in {cut_p:.0%} of its scenarios)")
            alt += (f"; at steady demand {wait} would win only if new commitment rates fell by {cut:.0%} or more "
                    f"before the first renewal{odds}")
        if p10 >= be_term:
            return "outlives", (f"3-year: demand outlives the price decline: even the worst-10% utilization {p10:.0%} "
                                f"stays above the break-even {be_term:.0%} at the expected prices ({be:.0%} at "
                                f"today's, {price}){alt}{move}")
        if u >= be_term:
            return "expected", (f"3-year on expected demand: utilization {u:.0%} over the term is above the "
                                f"break-even {be_term:.0%} at the expected prices ({be:.0%} today, {price}), but "
                                f"the worst-10% utilization {p10:.0%} is below it: the term loses if demand falls"
                                f"{alt}{move}")
        return "review", (f"3-year although the utilization {u:.0%} over the term is below its break-even "
                          f"{be_term:.0%} at the expected prices ({be:.0%} today, {price}): review this line"
                          f"{alt}{move}")
    if np.isfinite(cut) and 0 < cut < 1 and 1.0 - m_renew >= cut:
        return "short", (f"{int(r.term_months)}-month: new commitment rates are expected at x{m_renew:.2f} of "
                         f"today's at the first renewal, a cut of {1 - m_renew:.0%}, deeper than the {cut:.0%} that "
                         f"makes waiting (this term now, then 3 years at the new rate) cheaper than 3 years now at "
                         f"{be_o:.0%} of today's on demand; this one needs {be:.0%} (expected {u:.0%}, worst 10% "
                         f"{p10:.0%}){move}")
    if np.isfinite(be_o) and np.isfinite(renewed) and renewed < be_o:
        return "short", (f"{int(r.term_months)}-month: commitment rates are expected to fall (new terms at "
                         f"x{yearly:.2f} of today's rate on average over the 3 yearly purchases; on demand at "
                         f"x{m_alt:.2f} in the third year), so {int(r.term_months)}-month terms renewed yearly cost "
                         f"{renewed:.0%} of today's on demand per committed hour against {be_o:.0%} for the 3-year "
                         f"term, which keeps today's rate; this one needs {be:.0%} (expected {u:.0%}, worst 10% "
                         f"{p10:.0%}){move}")
    if np.isfinite(be_o):
        return "short", (f"{int(r.term_months)}-month: the 3-year term (break-even {be_o:.0%} today, "
                         f"{be_o / m_alt:.0%} at the expected prices of its last year) would not be used enough "
                         f"after this term; this one needs {be:.0%} (expected {u:.0%}, worst 10% {p10:.0%}){move}")
    return "short", f"{int(r.term_months)}-month: the only term priced for this scope (break-even {be:.0%}){move}"


def term_reasons(purchases: pd.DataFrame, instruments: pd.DataFrame | None, price_paths: pd.DataFrame | None = None,
                 *, migration: dict | None = None, pool_gpu: dict | None = None,
                 renewal_prices: pd.DataFrame | None = None) -> pd.DataFrame:
    """Why each purchase line has its term, with numbers (module docstring).

    Parameters
    ----------
    purchases : DataFrame
        The plan's purchase lines (``Plan.purchases`` or ``Plan.buy_now``): instrument, family, scope,
        term_months, payment_option, quarter_start, expected_utilization, utilization_p10, break_even_utilization.
    instruments : DataFrame or None
        The plan's market instruments (``Plan.instruments``: id, family, scope, term_months, payment_option,
        discount) for the other term's break-even.
    price_paths : DataFrame, optional
        ``Plan.price_paths`` (quarter_start, pool, scenario, on_demand); None: today's prices.
    migration : dict, optional
        ``{instance_type or "*": demand share per year moving to a newer generation}`` (the plan's
        ``migration`` setting, resolved: :func:`~finops_forecast.portfolio.migration.rule_shares` for
        ``"rule"``).
    pool_gpu : dict, optional
        ``{pool name "provider region instance_type": gpu_type}``: lets a GPU-scoped line (GCP resource CUD) find
        its pools.
    renewal_prices : DataFrame, optional
        scenario, pool, commitment: the new-commitment multipliers at the first renewal (12 months after
        purchase) for ``flip_cut_probability``; default: the plan's ``price_paths`` in the period holding that
        date (one scenario per demand group: coarse; :func:`plan_term_reasons` draws 4,000 from a ``history``
        outlook).

    Returns
    -------
    DataFrame
        One row per purchase line, :data:`REASON_COLUMNS`; utilizations and break-evens in [0, 1],
        ``od_multiplier_last_year`` [-] and ``renewed_short_term`` (share of today's on demand).
    """
    names = [] if price_paths is None or not len(price_paths) else list(dict.fromkeys(price_paths["pool"]))
    prices = _Prices(price_paths) if names else None
    rows = []
    for r in purchases.itertuples(index=False):
        months = float(r.term_months) if pd.notna(r.term_months) else float("nan")
        other = _other_term(instruments, r) if np.isfinite(months) else None
        be = float(r.break_even_utilization)
        be_o = 1.0 - float(other["discount"]) if other is not None else float("nan")
        # the two terms compared on one basis: each instrument's rate as a share of on demand (a spend plan's
        # break_even_utilization is against the mix it covered, not its discount)
        rate = _own_rate(instruments, r, be)
        start = _bought_on(r)
        pools = _line_pools(str(r.scope), names, pool_gpu)
        m_last, m_mean = prices.multipliers(pools, start, months) if prices and np.isfinite(months) else (1.0, 1.0)
        be_last = be / m_last if m_last > 0 else float("nan")
        be_term = be / m_mean if m_mean > 0 else float("nan")
        # a 1-year term renewed yearly locks the new-commitment rate of each renewal (months 0, 12, 24)
        rates = [prices.rate_at(pools, start + pd.DateOffset(months=12 * k)) for k in range(3)] if prices else [1.0] * 3
        yearly = float(np.mean(rates))
        renewed, m_alt = float("nan"), m_last
        if other is not None and months >= 36:
            renewed = be_o * yearly
        elif other is not None and months < 36 <= float(other["term_months"]):
            # a short line against the 3-year term: this term renewed yearly, in the 3-year term's years
            m_alt, _ = prices.multipliers(pools, start, float(other["term_months"])) if prices else (1.0, 1.0)
            renewed = rate * yearly
        mig = _migration(migration, str(r.scope))
        pool_bound = r.family not in FLEXIBLE_FAMILIES  # migration moves only the flexible families
        # the cut that makes waiting (a 1-year term now, then 3 years at the new rate) beat 3 years now
        long_vs_short = (rate, be_o) if months >= 36 else (be_o, rate) if other is not None and \
            float(other["term_months"]) >= 36 else (float("nan"), float("nan"))
        cut = flip_cut(*long_vs_short)
        renew = start + pd.DateOffset(months=12)
        renewal = renewal_prices if renewal_prices is not None else prices.renewal(renew) if prices else None
        cut_p = _cut_probability(renewal, pools, cut)
        verdict, why = _reason(r, be, be_o, be_term, m_last, be_last, renewed, mig, pool_bound, cut, cut_p, m_alt,
                               rate, yearly, rates[1])
        rows.append(dict(instrument=r.instrument, scope=r.scope, term_months=months,
                         expected_utilization=float(r.expected_utilization), utilization_p10=float(r.utilization_p10),
                         break_even=be, other_term_months=float(other["term_months"]) if other is not None
                         else float("nan"), other_break_even=be_o, od_multiplier_term=m_mean,
                         break_even_outlook=be_term, od_multiplier_last_year=m_last,
                         break_even_last_year=be_last, renewed_short_term=renewed, flip_cut=cut,
                         flip_cut_probability=cut_p, migration_per_year=mig,
                         verdict=verdict, reason=why))
    return pd.DataFrame(rows, columns=REASON_COLUMNS)


def plan_term_reasons(plan, catalog: pd.DataFrame | None = None, migration=None,
                      price_outlook: str | None = None) -> pd.DataFrame:
    """:func:`term_reasons` of a plan's purchases of this quarter (``plan.buy_now``), with the plan's instruments
    and price paths.

    Parameters
    ----------
    plan : Plan
    catalog : DataFrame, optional
        The catalog the plan was priced with: GPU types of the pools (GPU-scoped lines) and the ``"rule"``
        migration's shares. Without it GPU-scoped lines use every pool of their provider and region.
    migration : str or dict, optional
        The plan's migration setting (``"0"``, ``"rule"``, ``"p5.48xlarge:0.3"`` or a dict); None: none.
    price_outlook : str, optional
        The plan's ``price_outlook``: with ``"history"`` or a ``history:`` variant (and ``catalog``) the odds of
        each 3-year line's ``flip_cut`` come from :data:`RENEWAL_DRAWS` draws of that fit (:func:`renewal_draws`)
        instead of the plan's price scenarios.
    """
    from finops_forecast.constants import POOL_KEYS
    from finops_forecast.portfolio.migration import parse_migration, rule_shares
    from finops_forecast.portfolio.priced import pool_gpu_types
    from finops_forecast.pricing.outlook import fit_for, parse_outlook

    pp = plan.price_paths
    if pp is not None and len(pp):
        names = list(dict.fromkeys(pp["pool"]))
    else:
        ins = plan.instruments if plan.instruments is not None else pd.DataFrame(columns=["kind", "scope"])
        names = list(dict.fromkeys(ins.loc[ins["kind"] == "pool", "scope"]))
    pools = pd.DataFrame([n.split(" ", 2) for n in names], columns=POOL_KEYS) if names else \
        pd.DataFrame(columns=POOL_KEYS)
    shares = parse_migration(migration) if isinstance(migration, str) or migration is None else dict(migration)
    if shares == "rule":
        shares = rule_shares(catalog, pools) if catalog is not None else {}
    pool_gpu = None
    if catalog is not None and len(pools):
        g = pool_gpu_types(catalog, pools)
        pool_gpu = {" ".join(k[:3]): k[3] for k in g[POOL_KEYS + ["gpu_type"]].itertuples(index=False)}
    renewal = None
    if parse_outlook(price_outlook) is not None and catalog is not None and len(pools) and len(plan.buy_now):
        # the fit's hazard is constant in time: one set of draws serves the lines bought in any month of the quarter
        start = pd.to_datetime(plan.buy_now["quarter_start"]).min()
        renewal = renewal_draws(g, start, fit=fit_for(price_outlook))
    return term_reasons(plan.buy_now, plan.instruments, pp, migration=shares or None, pool_gpu=pool_gpu,
                        renewal_prices=renewal)


#: price scenarios drawn from a ``history`` outlook for the odds of a line's ``flip_cut``
RENEWAL_DRAWS = 4000


def renewal_draws(pools: pd.DataFrame, start, n: int = RENEWAL_DRAWS, seed: int = 1, fit=None) -> pd.DataFrame:
    """New-commitment rate multipliers in the month of the first renewal (12 months after ``start``), drawn ``n``
    times from the price history's fit (:func:`finops_forecast.pricing.outlook.price_paths`, ``"history"``; new
    commitments follow on demand there).

    Parameters
    ----------
    pools : DataFrame
        provider, region, instance_type, gpu_type.
    start : Timestamp
        The purchase date (UTC).
    fit : OutlookFit, optional
        Default: the bundled history's (:func:`finops_forecast.pricing.outlook.fit_history`).

    Returns
    -------
    DataFrame
        scenario, pool ("provider region instance_type"), commitment [-].
    """
    from finops_forecast.pricing.outlook import price_paths

    start = pd.Timestamp(start)
    renew = start + pd.DateOffset(months=12)
    pp = price_paths("history", pools, pd.DatetimeIndex([start, renew]),
                     pd.DatetimeIndex([renew, renew + pd.DateOffset(months=1)]), n_scenarios=n, seed=seed, fit=fit)
    names = [" ".join(map(str, k)) for k in pools[["provider", "region", "instance_type"]].itertuples(index=False)]
    cm = pp.commitment[:, 1, :]  # (n, P): the renewal month
    return pd.DataFrame({"scenario": np.repeat(np.arange(cm.shape[0]), cm.shape[1]),
                         "pool": np.tile(names, cm.shape[0]), "commitment": cm.ravel()})
