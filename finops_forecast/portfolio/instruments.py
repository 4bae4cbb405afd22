"""Instruments as data: the market a portfolio is bought in.

A :class:`Market` is built once from a pricing catalog and the series to serve (pool x workload class). It holds
plain numpy arrays that the billing engine and the cvxpy model both read, so both price the same things:

* **pools** ``P``: (provider, region, instance_type) with the on-demand rate [USD/GPU-h] and GPUs per instance;
* **series** ``S``: pool x workload class, with the spot effective rate [USD/GPU-h] where spot is allowed;
* **instruments** ``I``: every commitment that can be bought, one row per
  (family, scope, term, payment option). Two kinds:

  - ``pool`` instruments (AWS standard RI, Azure reservation, generic ``reserved``/``cud``):
    cover one pool, counted in instances [instance]; one unit gives ``gpu_count`` GPU-h every hour;
  - ``gpu`` instruments (GCP resource CUDs, as GCP sells them): GPUs of one type in one region [GPU]; one unit
    gives one GPU-h every hour to any machine type with that GPU in the region (``rate[i, p] = 1``), billed
    like a spend instrument whose budget is in GPUs;
  - ``spend`` instruments (AWS Compute and EC2 Instance Savings Plans, Azure savings plan, GCP flexible CUD,
    generic ``savings_plan``): an hourly commitment [USD/h] that covers usage in many pools, each pool at its own
    discounted rate ``rate[i, p]`` [USD/GPU-h].

* **chunks** ``C``: each pool's hourly demand split into the parts a commitment can displace, in the order a
  commitment covers them: first the *firm* part (would run on demand, worth the on-demand rate), then the
  spot-eligible part of each spot-allowed class (worth its spot effective rate), highest value first. Work is
  in GPU-hours throughout; reserved quantities are converted to instances only at the edges (gpu_count).

Units: rates [USD/GPU-h]; instrument prices per unit [USD/h]; demand [GPU-h per hour].
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from finops_forecast.constants import HOURS_PER_MONTH, POOL_KEYS, SERIES_KEYS
from finops_forecast.errors import PortfolioError, suggest

#: families counted in instances of one pool (GCP resource CUDs are matched to a pool in inventories, but
#: bought and billed in GPUs of a type per region: :data:`GPU_FAMILIES`)
POOL_FAMILIES = ("aws_standard_ri", "azure_reservation", "gcp_resource_cud", "reserved", "cud")
#: families sold in GPUs of one type per region, covering every machine type with that GPU there
GPU_FAMILIES = ("gcp_resource_cud",)
#: families that are an hourly USD commitment, in the order the provider applies them after pool instruments
#: (AWS: EC2 Instance SP before Compute SP)
SPEND_FAMILIES = ("aws_convertible_ri", "aws_ec2_instance_sp", "aws_compute_sp", "azure_sp", "gcp_flex_cud",
                  "savings_plan")
#: AWS convertible RIs are exchangeable for any instance type of their region at equal or greater value, so
#: they are modelled as a value commitment [USD/h] of the region at each pool's convertible rate, applied before
#: the savings plans (RIs first); they follow demand to a newer generation (portfolio/migration.py)
#: assumed expected rework share per workload class when the pricing package gives no spot effective cost
DEFAULT_SPOT_REWORK = {"training": 0.10, "experimentation": 0.05}


def instance_family(instance_type: str) -> str:
    """Instance family of an instance type (AWS EC2 Instance SP scope): ``p5.48xlarge`` -> ``p5``."""
    return str(instance_type).split(".")[0]


@dataclass(frozen=True)
class SpotSettings:
    """Where spot may run and how much of it.

    Parameters
    ----------
    classes : tuple of str
        Workload classes allowed on spot (default training and experimentation; never inference).
    cap : float
        Largest share of a pool's hourly demand that spot may serve, in [0, 1] (GPU spot capacity is scarce).
    rework : dict
        Expected rework share per class, used only when the pricing package gives no spot effective cost.
    job_nodes : dict
        Typical job size per series, ``(provider, region, instance_type, workload_class) -> instances`` that
        fail together (from job records when known); a series not listed uses its class profile's size
        (:data:`finops_forecast.pricing.spot.SPOT_PROFILES`). Rework grows with it.
    """

    classes: tuple = ("training", "experimentation")
    cap: float = 0.5
    rework: dict = field(default_factory=lambda: dict(DEFAULT_SPOT_REWORK))
    job_nodes: dict = field(default_factory=dict)


@dataclass
class Market:
    """Pools, series, instruments and chunk structure, as arrays (see module docstring).

    Attributes
    ----------
    pools : DataFrame
        provider, region, instance_type, gpu_count, od_rate [USD/GPU-h].
    series : DataFrame
        SERIES_KEYS, pool (index into pools), spot_rate [USD/GPU-h] (NaN when spot is not allowed).
    instruments : DataFrame
        id, provider, family, kind (pool | gpu | spend), pool (index or -1), scope, term_months, payment_option,
        price [USD/h per unit], upfront [USD per unit], recurring [USD/h per unit], gpu_per_unit [GPU per
        instance, pool kind], unit ("instance" | "USD/h"), discount (mean vs on-demand), order (billing
        precedence), source.
    rate : ndarray (I, P)
        Rate at which instrument i covers one GPU-h of pool p [USD/GPU-h] (``gpu`` kind: [GPU per GPU-h], 1);
        NaN where it does not cover p.
    chunk_pool, chunk_series, chunk_value : ndarray (C,)
        Pool, series (-1 for the firm chunk) and value of an uncovered GPU-h [USD/GPU-h] of each chunk.
    spot_cap : float
        Share of a pool's hourly demand spot may serve.
    """

    pools: pd.DataFrame
    series: pd.DataFrame
    instruments: pd.DataFrame
    rate: np.ndarray
    chunk_pool: np.ndarray
    chunk_series: np.ndarray
    chunk_value: np.ndarray
    spot_cap: float
    notes: list = field(default_factory=list)

    # ---- sizes -------------------------------------------------------------------------------------------
    @property
    def n_pools(self) -> int:
        return len(self.pools)

    @property
    def n_series(self) -> int:
        return len(self.series)

    @property
    def n_instruments(self) -> int:
        return len(self.instruments)

    @property
    def n_chunks(self) -> int:
        return len(self.chunk_value)

    @property
    def od_rate(self) -> np.ndarray:
        """On-demand rate per pool [USD/GPU-h]."""
        return self.pools["od_rate"].to_numpy(float)

    @property
    def is_pool(self) -> np.ndarray:
        return (self.instruments["kind"] == "pool").to_numpy()

    @property
    def is_spend(self) -> np.ndarray:
        """Spend instruments (an hourly USD commitment); the others are reserved capacity (instances, GPUs)."""
        return (self.instruments["kind"] == "spend").to_numpy()

    @property
    def price(self) -> np.ndarray:
        """Effective price per unit of each instrument [USD/h per instance or per USD/h committed]."""
        return self.instruments["price"].to_numpy(float)

    def pool_gpu_matrix(self) -> np.ndarray:
        """(I, P): GPUs per unit that instrument i gives pool p (pool instruments only; 0 elsewhere)."""
        m = np.zeros((self.n_instruments, self.n_pools))
        ins = self.instruments
        for i in np.flatnonzero(self.is_pool):
            m[i, int(ins["pool"].iat[i])] = float(ins["gpu_per_unit"].iat[i])
        return m

    def chunk_pool_matrix(self) -> np.ndarray:
        """(C, P) 0/1 incidence of chunks in pools."""
        m = np.zeros((self.n_chunks, self.n_pools))
        m[np.arange(self.n_chunks), self.chunk_pool] = 1.0
        return m

    # ---- demand -> chunks ----------------------------------------------------------------------------------
    def chunks(self, demand: np.ndarray) -> np.ndarray:
        """Split series demand into chunks.

        Parameters
        ----------
        demand : ndarray (..., S)
            Demand per series [GPU-h per hour], >= 0.

        Returns
        -------
        ndarray (..., C)
            Firm and spot-eligible parts per pool [GPU-h per hour]; they sum to the pool's demand.
            Spot takes the cheapest spot classes first, up to ``spot_cap`` of the pool's demand.
        """
        demand = np.asarray(demand, dtype=float)
        if demand.shape[-1] != self.n_series:
            raise PortfolioError(f"demand has {demand.shape[-1]} series in its last axis; the market has "
                                 f"{self.n_series} ({self.series[SERIES_KEYS].to_dict('records')[:3]} ...).")
        lead = demand.shape[:-1]
        out = self.chunks_major(demand.reshape(-1, self.n_series).T)
        return np.ascontiguousarray(out.T).reshape(lead + (self.n_chunks,))

    def chunks_major(self, demand_t: np.ndarray) -> np.ndarray:
        """:meth:`chunks` on series-major demand: ``(S, ...)`` in, ``(C, ...)`` out (one contiguous row per
        series / chunk, the layout the compression and the billing engine work in).

        Parameters
        ----------
        demand_t : ndarray (S, ...)
            Demand per series [GPU-h per hour], >= 0.

        Returns
        -------
        ndarray (C, ...)
        """
        demand_t = np.asarray(demand_t)
        if demand_t.shape[0] != self.n_series:
            raise PortfolioError(f"demand has {demand_t.shape[0]} series in its first axis; the market has "
                                 f"{self.n_series} ({self.series[SERIES_KEYS].to_dict('records')[:3]} ...).")
        # two reductions, no temporary boolean arrays (min and max propagate NaN; an inf shows in one of them)
        if demand_t.size:
            lo, hi = demand_t.min(), demand_t.max()
            # a pool's total of finite values can still overflow: bound it by the largest value x the series
            top = float(np.finfo(np.float32 if demand_t.dtype == np.float32 else np.float64).max)
            if not lo >= 0 or not np.isfinite(hi) or float(hi) * demand_t.shape[0] > top:
                raise PortfolioError("demand must be finite and >= 0 [GPU-h per hour].")
        P, S, C = self.n_pools, self.n_series, self.n_chunks
        trail = demand_t.shape[1:]
        DT = demand_t.reshape(S, -1)
        # float32 in, float32 out (large scenario sets); anything else is computed in float64
        dtype = np.float32 if DT.dtype == np.float32 else np.float64
        DT = DT.astype(dtype, copy=False)
        spool = self.series["pool"].to_numpy(int)
        spot_s = self.series["spot_rate"].to_numpy(float)
        out = np.empty((C, DT.shape[1]), dtype=dtype)
        firm_cols = np.flatnonzero(self.chunk_series < 0)  # one per pool, in pool order
        # one pool at a time, each row of the data read and written a few times (the compression of large
        # scenario sets calls this on every group x quarter: bench/bench_optimizer.py)
        for p in range(P):
            members = np.flatnonzero(spool == p)
            firm = out[firm_cols[p]]
            if len(members) == 1:
                pool_d = DT[members[0]]
            else:
                pool_d = firm  # the pool's total, accumulated in its firm row
                pool_d[:] = 0
                for s in members:
                    pool_d += DT[s]
            # cheapest spot class of the pool takes the cap first
            spot = sorted((c for c in np.flatnonzero((self.chunk_series >= 0) & (self.chunk_pool == p))),
                          key=lambda c: spot_s[self.chunk_series[c]])
            if not spot:
                if firm is not pool_d:
                    firm[:] = pool_d
                continue
            left = pool_d * dtype(self.spot_cap)  # spot still allowed, >= 0
            taken = None if len(spot) == 1 else np.zeros_like(left)
            for k, c in enumerate(spot):
                e = out[c]
                np.minimum(DT[self.chunk_series[c]], left, out=e)
                if taken is not None:
                    taken += e
                    if k + 1 < len(spot):
                        left -= e
            # firm = what spot did not take, in one subtraction (the order of the sums of a reference split)
            np.subtract(pool_d, e if taken is None else taken, out=firm)
            np.maximum(firm, 0.0, out=firm)  # rounding of float32 subtractions
        return out.reshape((C,) + trail)

    def pool_demand(self, chunks: np.ndarray) -> np.ndarray:
        """Sum chunks (..., C) to pools (..., P)."""
        return chunks @ self.chunk_pool_matrix()

    def instrument_index(self, instrument_id: str) -> int:
        ids = list(self.instruments["id"])
        if instrument_id not in ids:
            raise PortfolioError(f"Invalid instrument '{instrument_id}'.{suggest(instrument_id, ids)} "
                                 f"Provide one of {ids[:20]}{' ...' if len(ids) > 20 else ''}.")
        return ids.index(instrument_id)


def spot_effective_rate(row: pd.Series, workload_class: str, spot: SpotSettings, nodes: int | None = None
                    ) -> tuple[float, bool]:
    """Spot effective rate [USD/GPU-h] for a class and whether it rests on an assumption.

    Uses :func:`finops_forecast.pricing.spot_effective_cost` (spot x (1 + expected rework) for the class's
    profile and the row's interruption bucket); a row without interruption information falls back to
    ``spot x (1 + spot.rework[class])``, flagged as an assumption (scaled to ``nodes`` when the job size is
    known: :func:`finops_forecast.pricing.spot.assumed_rework_at_scale`).
    """
    base = float(row["usd_per_gpu_hour"])
    label = row.get("interruption_label", "")
    pct = row.get("interruption_max_pct", np.nan)
    interruption = label if isinstance(label, str) and label.strip() else (
        float(pct) / 100.0 if pd.notna(pct) else None)
    if interruption is not None:
        from finops_forecast.pricing.spot import spot_effective_cost

        return float(spot_effective_cost(base, interruption, workload_class, nodes=nodes)), False
    from finops_forecast.pricing.spot import assumed_rework_at_scale

    return base * (1.0 + assumed_rework_at_scale(float(spot.rework.get(workload_class, 0.0)), workload_class,
                                                 nodes)), True


def build_market(catalog: pd.DataFrame, series_keys: pd.DataFrame, *, terms_months=(12, 36),
                 payment_options=("no_upfront",), families=None, spot: SpotSettings | None = None,
                 ) -> Market:
    """Build the :class:`Market` for the given series from a pricing catalog.

    Parameters
    ----------
    catalog : DataFrame
        Pricing catalog (docs/CONTRACTS.md): provider, region, instance_type, gpu_count, pricing_model,
        commitment_family, term_months, payment_option, usd_per_hour [USD/h], usd_per_gpu_hour [USD/GPU-h],
        upfront_usd [USD], recurring_usd_per_hour [USD/h]. When several effective dates price an item, the
        latest is used.
    series_keys : DataFrame
        One row per series: provider, region, instance_type, workload_class.
    terms_months : tuple of int
        Terms to consider [months].
    payment_options : tuple of str
        Payment options to consider.
    families : tuple of str, optional
        Commitment families to consider (default: every family the catalog has).
    spot : SpotSettings, optional

    Returns
    -------
    Market

    Raises
    ------
    PortfolioError
        A series' pool has no on-demand price in the catalog (never priced at 0).
    """
    spot = spot or SpotSettings()
    if not 0.0 <= spot.cap <= 1.0:
        raise PortfolioError(f"spot cap must be in [0, 1] (a share of a pool's demand); got {spot.cap}.")
    cat = _latest_prices(catalog)
    sk = series_keys[SERIES_KEYS].astype(str).reset_index(drop=True)
    pools = _priced_pools(cat, sk)
    pool_index = {tuple(k): i for i, k in enumerate(pools[POOL_KEYS].itertuples(index=False))}
    series, notes = _series_spot_rates(cat, sk, pools, pool_index, spot)
    cpool, cser, cval = _chunks(pools, series["spot_rate"].tolist(), series["pool"].to_numpy())
    com = _commitments(cat, pool_index, terms_months, payment_options, families)
    rows, rate_rows = _pool_instruments(com, pool_index, len(pools))
    g_rows, g_rates, g_notes = _gpu_instruments(com[com["commitment_family"].isin(GPU_FAMILIES)], pools,
                                                pool_index)
    rows += g_rows
    rate_rows += g_rates
    notes += g_notes
    s_rows, s_rates = _spend_instruments(com, pool_index, len(pools))
    rows += s_rows
    rate_rows += s_rates
    ins, rate = _billing_order(rows, rate_rows, pools["od_rate"].to_numpy(float))
    odr = pools["od_rate"].to_numpy(float)
    usd_rate = np.where((ins["kind"] == "gpu").to_numpy()[:, None], rate * ins["price"].to_numpy(float)[:, None],
                        rate)  # [USD/GPU-h]
    if np.any(usd_rate >= odr[None, :]):
        bad = np.argwhere(usd_rate >= odr[None, :])[0]
        notes.append(f"instrument {ins['id'].iat[bad[0]]} is not cheaper than on demand in pool {bad[1]}")
    return Market(pools=pools, series=series, instruments=ins, rate=rate, chunk_pool=np.array(cpool, int),
                  chunk_series=np.array(cser, int), chunk_value=np.array(cval, float), spot_cap=spot.cap,
                  notes=notes)


# the steps of build_market, in order


def _latest_prices(catalog: pd.DataFrame) -> pd.DataFrame:
    """The catalog with text keys, a commitment family on every commitment row, the derived price columns
    filled, and only the latest price of each item (when it is dated)."""
    cat = catalog.copy()
    for c in ("provider", "region", "instance_type", "pricing_model", "payment_option"):
        cat[c] = cat[c].astype(str)
    if "commitment_family" not in cat.columns:
        cat["commitment_family"] = ""
    cat["commitment_family"] = cat["commitment_family"].fillna("").astype(str)
    cat.loc[(cat["commitment_family"] == "") & (cat["pricing_model"] != "on_demand")
            & (cat["pricing_model"] != "spot"), "commitment_family"] = cat["pricing_model"]
    if "usd_per_gpu_hour" not in cat.columns or cat["usd_per_gpu_hour"].isna().any():
        cat["usd_per_gpu_hour"] = cat["usd_per_hour"] / cat["gpu_count"]
    if "upfront_usd" not in cat.columns:
        cat["upfront_usd"] = 0.0
    cat["upfront_usd"] = cat["upfront_usd"].fillna(0.0)
    if "recurring_usd_per_hour" not in cat.columns:
        cat["recurring_usd_per_hour"] = cat["usd_per_hour"]
    cat["recurring_usd_per_hour"] = cat["recurring_usd_per_hour"].fillna(cat["usd_per_hour"])
    if "effective_date" in cat.columns:  # latest price of each item
        cat = cat.sort_values("effective_date", kind="stable")
        keys = POOL_KEYS + ["pricing_model", "commitment_family", "term_months", "payment_option"]
        cat = cat.drop_duplicates(keys, keep="last")
    if "source" not in cat.columns:
        cat["source"] = ""
    return cat


def _priced_pools(cat: pd.DataFrame, sk: pd.DataFrame) -> pd.DataFrame:
    """The pools of the series with GPUs per instance, GPU type and on-demand rate [USD/GPU-h]; a pool without
    an on-demand price is an error (never billed at 0)."""
    pools = sk[POOL_KEYS].drop_duplicates().reset_index(drop=True)
    od = cat[cat["pricing_model"] == "on_demand"].set_index(POOL_KEYS)
    od_rate, gpus, gtype = [], [], []
    known = [" ".join(k) for k in od.index]
    for key in pools.itertuples(index=False):
        key = tuple(key)
        if key not in od.index:
            raise PortfolioError(
                f"The catalog has no on-demand price for pool {' '.join(key)}: an unpriced pool is never billed "
                f"at 0.{suggest(' '.join(key), known)} Add its on_demand row to the pricing catalog or drop the "
                "pool from the demand.")
        row = od.loc[[key]].iloc[0]
        od_rate.append(float(row["usd_per_gpu_hour"]))
        gpus.append(float(row["gpu_count"]))
        g = row.get("gpu_type", "")
        gtype.append(str(g) if isinstance(g, str) and g.strip() else key[2])  # unknown: its own machine type
    pools["gpu_count"] = gpus
    pools["gpu_type"] = gtype
    pools["od_rate"] = od_rate
    return pools


def _series_spot_rates(cat: pd.DataFrame, sk: pd.DataFrame, pools: pd.DataFrame, pool_index: dict,
                       spot: SpotSettings) -> tuple[pd.DataFrame, list]:
    """The series with their pool and spot effective rate [USD/GPU-h] (NaN where spot is not allowed, not
    priced, or not cheaper than on demand once rework is counted), and a note when the rate is assumed."""
    series = sk.copy()
    series["pool"] = [pool_index[tuple(k)] for k in sk[POOL_KEYS].itertuples(index=False)]
    spot_rows = cat[cat["pricing_model"] == "spot"].set_index(POOL_KEYS)
    srate, sassumed = [], False
    for s in series.itertuples(index=False):
        key = (s.provider, s.region, s.instance_type)
        r = np.nan
        if s.workload_class in spot.classes and spot.cap > 0 and key in spot_rows.index:
            r, assumed = spot_effective_rate(spot_rows.loc[[key]].iloc[0], s.workload_class, spot,
                                         spot.job_nodes.get(key + (s.workload_class,)))
            sassumed |= assumed
            if r >= pools["od_rate"].iat[pool_index[key]]:
                r = np.nan  # spot not cheaper than on demand once rework is counted: never used
        srate.append(r)
    series["spot_rate"] = srate
    notes = []
    if sassumed:
        notes.append(f"spot effective cost = spot price x (1 + rework) with assumed rework {spot.rework} "
                     "(the pricing package gave none)")
    return series, notes


def _chunks(pools: pd.DataFrame, srate: list, series_pool: np.ndarray) -> tuple[list, list, list]:
    """Chunks (pool, series or -1 for the firm part, value [USD/GPU-h]): each pool's firm part first, then its
    spot classes by value (highest first)."""
    cpool, cser, cval = [], [], []
    for p in range(len(pools)):
        cpool.append(p); cser.append(-1); cval.append(pools["od_rate"].iat[p])
        ss = [i for i in np.flatnonzero(series_pool == p) if np.isfinite(srate[i])]
        for i in sorted(ss, key=lambda i: -srate[i]):
            cpool.append(p); cser.append(i); cval.append(srate[i])
    return cpool, cser, cval


def _commitments(cat: pd.DataFrame, pool_index: dict, terms_months, payment_options, families) -> pd.DataFrame:
    """Commitment rows of the terms, payment options and families asked for, in the market's pools."""
    com = cat[cat["pricing_model"].isin(["reserved", "cud", "savings_plan"])]
    com = com[com["term_months"].astype(int).isin([int(t) for t in terms_months])
              & com["payment_option"].isin(payment_options)]
    if families is not None:
        com = com[com["commitment_family"].isin(families)]
    pkeys = set(pool_index)
    return com[[tuple(k) in pkeys for k in com[POOL_KEYS].itertuples(index=False)]]


def _pool_instruments(com: pd.DataFrame, pool_index: dict, P: int) -> tuple[list, list]:
    """Instruments counted in instances of one pool (:data:`POOL_FAMILIES` but not :data:`GPU_FAMILIES`):
    their rows and rate rows (the pool's rate [USD/GPU-h], NaN elsewhere)."""
    rows, rate_rows = [], []
    for r in com[com["commitment_family"].isin(POOL_FAMILIES)
                 & ~com["commitment_family"].isin(GPU_FAMILIES)].itertuples(index=False):
        p = pool_index.get((r.provider, r.region, r.instance_type))
        if p is None:
            continue
        rt = np.full(P, np.nan)
        rt[p] = float(r.usd_per_gpu_hour)
        rows.append(dict(
            id=f"{r.commitment_family}:{r.region}:{r.instance_type}:{int(r.term_months)}m:{r.payment_option}",
            provider=r.provider, family=r.commitment_family, kind="pool", pool=p,
            scope=f"{r.provider} {r.region} {r.instance_type}", term_months=int(r.term_months),
            payment_option=r.payment_option, price=float(r.usd_per_hour), upfront=float(r.upfront_usd),
            recurring=float(r.recurring_usd_per_hour), gpu_per_unit=float(r.gpu_count), unit="instance",
            source=str(r.source)))
        rate_rows.append(rt)
    return rows, rate_rows


def _spend_instruments(com: pd.DataFrame, pool_index: dict, P: int) -> tuple[list, list]:
    """Hourly USD commitments (:data:`SPEND_FAMILIES`), one per family x scope x term x payment option: their
    rows (price 1 USD/h per unit) and rate rows (each covered pool's discounted rate [USD/GPU-h])."""
    rows, rate_rows = [], []
    sp = com[com["commitment_family"].isin(SPEND_FAMILIES)].copy()
    if not len(sp):
        return rows, rate_rows
    sp["scope"] = [
        f"{r.provider} {r.region} {instance_family(r.instance_type)}" if r.commitment_family ==
        "aws_ec2_instance_sp" else f"{r.provider} {r.region} convertible" if r.commitment_family ==
        "aws_convertible_ri" else f"{r.provider} all regions"
        for r in sp.itertuples(index=False)]
    for (fam, scope, term, pay), g in sp.groupby(["commitment_family", "scope", "term_months",
                                                  "payment_option"], sort=True):
        rt = np.full(P, np.nan)
        for r in g.itertuples(index=False):
            p = pool_index.get((r.provider, r.region, r.instance_type))
            if p is not None:
                rt[p] = float(r.usd_per_gpu_hour)
        if not np.isfinite(rt).any():
            continue
        share = float(np.clip((g["upfront_usd"] / (g["usd_per_hour"] * HOURS_PER_MONTH * term)).mean(),
                              0, 1))
        th = HOURS_PER_MONTH * int(term)
        rows.append(dict(
            id=f"{fam}:{scope.replace(' ', ':')}:{int(term)}m:{pay}", provider=g["provider"].iat[0],
            family=fam, kind="spend", pool=-1, scope=scope, term_months=int(term), payment_option=pay,
            price=1.0, upfront=share * th, recurring=1.0 - share, gpu_per_unit=np.nan, unit="USD/h",
            source="; ".join(sorted(set(g["source"].astype(str))))[:200]))
        rate_rows.append(rt)
    return rows, rate_rows


def _billing_order(rows: list, rate_rows: list, odr: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The instruments table with its mean ``discount`` off on demand, in billing precedence: pool instruments
    first, then GPU ones, then spend families in provider order, deeper discount first (``order``); and the rate
    matrix (instrument, pool) in that order."""
    P = len(odr)
    ins = pd.DataFrame(rows, columns=["id", "provider", "family", "kind", "pool", "scope", "term_months",
                                      "payment_option", "price", "upfront", "recurring", "gpu_per_unit", "unit",
                                      "source"])
    rate = np.array(rate_rows).reshape(len(rows), P)
    with np.errstate(invalid="ignore"):
        disc = np.nanmean(np.where(np.isfinite(rate), 1 - rate / odr, np.nan), axis=1) if len(rows) else []
    ins["discount"] = disc
    gk = (ins["kind"] == "gpu").to_numpy()
    if gk.any():
        for i in np.flatnonzero(gk):
            ok = np.isfinite(rate[i])
            ins.loc[i, "discount"] = float(np.mean(1 - ins["price"].iat[i] / odr[ok]))
    fam_rank = {f: i for i, f in enumerate(SPEND_FAMILIES)}
    ins["_k"] = [0 if k == "pool" else 0.5 if k == "gpu" else 1 + fam_rank.get(f, len(fam_rank))
                 for k, f in zip(ins["kind"], ins["family"])]
    order = np.lexsort((ins["id"].to_numpy(), -ins["discount"].to_numpy(float), ins["_k"].to_numpy()))
    ins = ins.iloc[order].drop(columns="_k").reset_index(drop=True)
    rate = rate[order]
    ins["order"] = np.arange(len(ins))
    return ins, rate


def _gpu_instruments(rows: pd.DataFrame, pools: pd.DataFrame, pool_index: dict) -> tuple[list, list, list]:
    """GCP resource CUDs as sold: GPUs of one type in one region, covering every machine type with that GPU there.

    One instrument per (region, GPU type, term, payment option): unit "GPU", ``rate[i, p] = 1`` GPU of commitment
    per GPU-h of every pool with that GPU in the region, price per GPU [USD/h] the catalog's CUD rate per GPU-h
    of those machine types (which prices the vCPU and memory that go with the GPU); where the machine types'
    rates differ, the highest is used and a note says so.

    Returns
    -------
    rows, rate rows, notes
    """
    out, rates, notes = [], [], []
    if not len(rows):
        return out, rates, notes
    P = len(pools)
    rows = rows.assign(_p=[pool_index.get((r.provider, r.region, r.instance_type), -1)
                           for r in rows.itertuples(index=False)])
    rows = rows[rows["_p"] >= 0]
    rows = rows.assign(gpu_type=pools["gpu_type"].to_numpy()[rows["_p"].to_numpy(int)],
                       _up=rows["upfront_usd"] / rows["gpu_count"], _rec=rows["recurring_usd_per_hour"] /
                       rows["gpu_count"])
    for (prov, reg, gt, term, pay), g in rows.groupby(["provider", "region", "gpu_type", "term_months",
                                                      "payment_option"], sort=True):
        rt = np.full(P, np.nan)
        rt[g["_p"].to_numpy(int)] = 1.0  # one GPU of commitment covers one GPU-h of any machine type
        k = int(np.argmax(g["usd_per_gpu_hour"].to_numpy(float)))
        if g["usd_per_gpu_hour"].nunique() > 1:
            notes.append(f"gcp_resource_cud {reg} {gt} {int(term)}m {pay}: the machine types' CUD rates per GPU "
                         f"differ ({g['usd_per_gpu_hour'].min():.4f}-{g['usd_per_gpu_hour'].max():.4f} USD/GPU-h); "
                         "the highest is used")
        out.append(dict(id=f"{g['commitment_family'].iat[0]}:{reg}:{gt}:{int(term)}m:{pay}", provider=prov,
                        family=g["commitment_family"].iat[0], kind="gpu", pool=-1, scope=f"{prov} {reg} {gt}",
                        term_months=int(term), payment_option=pay, price=float(g["usd_per_gpu_hour"].iat[k]),
                        upfront=float(g["_up"].iat[k]), recurring=float(g["_rec"].iat[k]), gpu_per_unit=1.0,
                        unit="GPU", source="; ".join(sorted(set(g["source"].astype(str))))[:200]))
        rates.append(rt)
    return out, rates, notes


def subset(market: Market, keep) -> Market:
    """The market with only the instruments where ``keep`` (bool, (I,)) is True (pools and chunks unchanged)."""
    keep = np.asarray(keep, bool)
    ins = market.instruments[keep].reset_index(drop=True)
    ins["order"] = np.arange(len(ins))
    return Market(pools=market.pools, series=market.series, instruments=ins, rate=market.rate[keep],
                  chunk_pool=market.chunk_pool, chunk_series=market.chunk_series,
                  chunk_value=market.chunk_value, spot_cap=market.spot_cap, notes=list(market.notes))
