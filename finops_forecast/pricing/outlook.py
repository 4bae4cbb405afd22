"""Price outlook: how on-demand, spot and new-commitment rates may move over a plan's horizon.

GPU prices fall in steps when a generation ages (AWS cut p5.48xlarge on demand from 98.32 to 55.04 USD/h on
2025-06-23) and spot prices swing (GCP H100 spot fell to a quarter of its 2024 price, then rose again). A plan that
holds today's prices until 2032 over-buys 3-year terms. Three outlooks:

* ``flat``: today's prices (multiplier 1 everywhere);
* ``history``: scenarios fitted on the bundled price history (:func:`fit_history`): on-demand cuts of training
  GPUs arrive at a constant monthly hazard with sizes drawn from the observed cuts, spot moves by the observed
  monthly relative changes; one price scenario per demand scenario group (drawn jointly, never a cross product);
  ``history:hazard=0.05,cut=0.45`` is the same model with the user's monthly hazard and / or cut size in place of
  the fitted ones (:func:`parse_outlook`): a view that cuts come sooner or deeper than the history shows;
* a CSV file ``provider,instance_type,pricing_model,effective_from,multiplier``: a multiplier of today's rate
  from that date on (``instance_type`` may be ``*``; ``pricing_model`` on_demand, spot or commitment), one
  deterministic scenario.

Commitments lock the rate of the period they are bought in; rates of *new* commitments follow on demand (the
providers re-derive them after a cut, as the catalog does), unless the CSV gives ``commitment`` rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from finops_forecast.errors import PricingError

#: GPU types whose on-demand price has been cut in the history: data-centre training GPUs
TRAINING_GPUS = ("A100", "A100-80GB", "H100", "H200", "B200", "B300", "GB200", "MI300X")
#: last snapshot of each source with history (docs/pricing.md): the end of the exposure
HISTORY_END = {"aws": "2026-07-20", "gcp": "2026-07-30"}
#: smallest relative drop counted as a cut
CUT_THRESHOLD = 0.05
OUTLOOK_COLUMNS = ["provider", "instance_type", "pricing_model", "effective_from", "multiplier"]
#: settings of the ``history:`` form: the fit's monthly hazard and the size of every cut
HISTORY_SETTINGS = ("hazard", "cut")
#: what every error about an outlook setting tells the user to give
OUTLOOK_FORMS = ("'flat', 'history', 'history:hazard=0.05,cut=0.45' (the history's model with your monthly "
                 "probability of a cut and / or cut size) or the path of an outlook CSV (columns "
                 "provider,instance_type,pricing_model,effective_from,multiplier; docs/pricing.md 'Price outlook')")


@dataclass(frozen=True)
class OutlookFit:
    """What :func:`fit_history` learned from the price history.

    Attributes
    ----------
    hazard_per_month : float
        Probability that a training GPU generation's on-demand price is cut in a given month.
    cut_sizes : ndarray
        Observed cuts, as shares of the price before (0.44 = 44% cheaper).
    exposure_months : float
        Generation-months observed (training GPUs, providers with history).
    spot_log_changes : ndarray
        Observed monthly log changes of spot relative to on demand (training GPUs, GCP).
    events : DataFrame
        provider, gpu_type, date, age_months (since the generation's first price), ratio.
    """

    hazard_per_month: float
    cut_sizes: np.ndarray
    exposure_months: float
    spot_log_changes: np.ndarray
    events: pd.DataFrame = field(default_factory=pd.DataFrame)


@lru_cache(maxsize=1)
def bundled_history() -> pd.DataFrame:
    """The bundled catalog with every dated row (``load_pricing(history=True)``), read once per process
    (about 1 s); callers must not modify it."""
    from finops_forecast.pricing import load_pricing
    return load_pricing(history=True)


def _median_relative(rows: pd.DataFrame) -> pd.Series:
    """Median over a GPU type's items of each price relative to the item's first, per date (forward filled)."""
    rows = rows.sort_values("effective_date")
    key = rows["region"].astype(str) + " " + rows["instance_type"].astype(str)
    wide = rows.pivot_table(index="effective_date", columns=key, values="usd_per_gpu_hour", aggfunc="last")
    wide = wide.sort_index().ffill()
    return (wide / wide.bfill().iloc[0]).median(axis=1)


@lru_cache(maxsize=1)
def bundled_fit() -> OutlookFit:
    """:func:`fit_history` of the bundled history, fitted once per process (the plan, the backtest and every
    planned run's capacity decision use it); callers must not modify it."""
    return fit_history()


def fit_history(history: pd.DataFrame | None = None) -> OutlookFit:
    """Fit the ``history`` outlook on the dated catalog.

    Parameters
    ----------
    history : DataFrame, optional
        Catalog with every dated row (``load_pricing(history=True)``, the default).

    Returns
    -------
    OutlookFit
        Cuts: drops of at least ``CUT_THRESHOLD`` of a GPU type's median on-demand price per GPU-h between two
        dates; hazard = cuts / generation-months of exposure (first price to ``HISTORY_END``).
    """
    if history is None:
        history = bundled_history()
    h = history[history["provider"].isin(list(HISTORY_END)) & history["gpu_type"].isin(TRAINING_GPUS)].copy()
    h["effective_date"] = pd.to_datetime(h["effective_date"])
    events, exposure, spot_changes = [], 0.0, []
    for (prov, gpu), g in h.groupby(["provider", "gpu_type"]):
        od = g[g["pricing_model"] == "on_demand"]
        if od.empty:
            continue
        first = od["effective_date"].min()
        exposure += (pd.Timestamp(HISTORY_END[prov]) - first).days / 30.44
        rel = _median_relative(od)
        ratio = rel / rel.shift(1)
        for d, r in ratio[ratio <= 1 - CUT_THRESHOLD].items():
            events.append(dict(provider=prov, gpu_type=gpu, date=d.date().isoformat(),
                               age_months=round((d - first).days / 30.44, 1), ratio=round(float(r), 4)))
        spot = g[g["pricing_model"] == "spot"]
        if spot["effective_date"].nunique() > 2:
            s = _median_relative(spot).resample("MS").last().ffill()
            o = rel.resample("MS").last().ffill().reindex(s.index).ffill().bfill()
            spot_changes.append(np.diff(np.log((s / o).to_numpy(float))))
    ev = pd.DataFrame(events, columns=["provider", "gpu_type", "date", "age_months", "ratio"])
    sizes = 1.0 - ev["ratio"].to_numpy(float)
    lc = np.concatenate(spot_changes) if spot_changes else np.zeros(1)
    return OutlookFit(hazard_per_month=len(ev) / max(exposure, 1.0), cut_sizes=sizes, exposure_months=exposure,
                      spot_log_changes=lc[np.isfinite(lc)], events=ev)


def parse_outlook(outlook) -> dict | None:
    """The ``history`` settings of an outlook, or None for ``flat`` and CSV outlooks.

    Parameters
    ----------
    outlook : str
        ``"history"`` or ``"history:hazard=H,cut=C"`` (either key or both): ``H`` the monthly probability that a
        training GPU's on-demand price is cut, in [0, 1] [1/month], ``C`` the size of every cut, in (0, 1)
        (0.45 = 45% cheaper); keys left out keep the fitted values (:func:`fit_history`).

    Returns
    -------
    dict or None
        ``{}`` for the fitted history, ``{"hazard": H, "cut": C}`` (keys given) for the user's variant.

    Raises
    ------
    PricingError
        A ``history:`` form with an unknown key, a value that is not a number or out of its range.
    """
    text = str(outlook).strip()
    if text == "history":
        return {}
    if not text.startswith("history:"):
        return None
    out = {}
    for part in text[len("history:"):].split(","):
        key, sep, val = part.partition("=")
        key = key.strip()
        if not sep or key not in HISTORY_SETTINGS:
            raise PricingError(f"price_outlook '{text}': '{part.strip()}' is not <setting>=<number> with a "
                               f"setting among {', '.join(HISTORY_SETTINGS)}; give e.g. "
                               "'history:hazard=0.05,cut=0.45'.")
        try:
            v = float(val)
        except ValueError:
            v = float("nan")
        ok = 0 <= v <= 1 if key == "hazard" else 0 < v < 1
        if not ok:
            what = ("a monthly probability of a cut in [0, 1], e.g. 0.05 (the history's is about 0.013)"
                    if key == "hazard" else "a cut's size in (0, 1), e.g. 0.45 for 45% cheaper")
            raise PricingError(f"price_outlook '{text}': {key} = {val.strip()!r} must be {what}.")
        out[key] = v
    return out


def check_outlook(outlook) -> str:
    """``outlook`` as given if it names an outlook: ``flat``, ``history``, a ``history:`` variant
    (:func:`parse_outlook`) or a readable outlook CSV (:func:`read_outlook_csv`).

    Raises
    ------
    PricingError
        Not a string, an unknown name or missing file (the message lists the forms), or the CSV's or the
        ``history:`` form's fault.
    """
    if not isinstance(outlook, (str, Path)) or not str(outlook).strip():
        raise PricingError(f"price_outlook must be {OUTLOOK_FORMS}; got {outlook!r}.")
    text = str(outlook)
    if text == "flat" or parse_outlook(text) is not None:
        return text
    if not Path(text).is_file():
        raise PricingError(f"price_outlook '{text}' is not an outlook: give {OUTLOOK_FORMS}.")
    read_outlook_csv(text)
    return text


def check_outlook_option(outlook: str, option: str = "--price-outlook") -> str:
    """:func:`check_outlook` of a command-line option: a value that is not a named outlook must be a readable,
    non-empty file (the message names ``option``)."""
    from finops_forecast._files import check_input_file

    if outlook != "flat" and parse_outlook(outlook) is None:
        check_input_file(Path(outlook), option, fix="Give flat, history, history:hazard=0.05,cut=0.45 or an "
                                                    "outlook CSV.")
    return check_outlook(outlook)


def fit_for(outlook, fit: OutlookFit | None = None) -> OutlookFit:
    """The fit a ``history`` outlook draws from: ``fit`` (default the bundled history's, :func:`bundled_fit`)
    with the ``history:`` form's hazard and cut size in place of the fitted ones (:func:`parse_outlook`)."""
    fit = fit or bundled_fit()
    given = parse_outlook(outlook) or {}
    if "hazard" in given:
        fit = replace(fit, hazard_per_month=given["hazard"])
    if "cut" in given:
        fit = replace(fit, cut_sizes=np.array([given["cut"]]))
    return fit


def read_outlook_csv(path) -> pd.DataFrame:
    """Read and validate an outlook CSV (columns ``OUTLOOK_COLUMNS``).

    Raises
    ------
    PricingError
        Naming the file, row and column: a missing column, an unknown pricing_model, a bad date, a
        multiplier that is not > 0.
    """
    try:
        df = pd.read_csv(path, dtype={"provider": str, "instance_type": str, "pricing_model": str})
    except (OSError, pd.errors.ParserError) as e:
        raise PricingError(f"cannot read the price outlook ({e}); give a CSV with columns "
                           f"{OUTLOOK_COLUMNS} or 'flat' / 'history'.", path=path) from None
    missing = [c for c in OUTLOOK_COLUMNS if c not in df.columns]
    if missing:
        raise PricingError(f"missing column(s) {missing}; expected {OUTLOOK_COLUMNS}, found {list(df.columns)}.",
                           path=path)
    for i, r in enumerate(df.itertuples(index=False), start=1):
        if r.pricing_model not in ("on_demand", "spot", "commitment"):
            raise PricingError(f"pricing_model '{r.pricing_model}' is not one of on_demand, spot, commitment.",
                               path=path, row=i, column="pricing_model")
        if not (isinstance(r.multiplier, (int, float)) and np.isfinite(r.multiplier) and r.multiplier > 0):
            raise PricingError(f"multiplier {r.multiplier!r} must be a number > 0 (0.55 = 45% cheaper).",
                               path=path, row=i, column="multiplier")
        try:
            pd.Timestamp(r.effective_from)
        except (ValueError, TypeError):
            raise PricingError(f"effective_from '{r.effective_from}' is not a date (YYYY-MM-DD).", path=path,
                               row=i, column="effective_from") from None
    return df


@dataclass
class PricePaths:
    """Price multipliers per scenario, period and pool (1 = today's rate).

    Attributes
    ----------
    od, spot, commitment : ndarray (K, T, P)
        Mean multiplier over each period of the on-demand, spot and new-commitment rates.
    name : str
    notes : list of str
    """

    od: np.ndarray
    spot: np.ndarray
    commitment: np.ndarray
    name: str
    notes: list = field(default_factory=list)

    @property
    def is_flat(self) -> bool:
        return bool(np.all(self.od == 1) and np.all(self.spot == 1) and np.all(self.commitment == 1))


def csv_hourly(df: pd.DataFrame, pools: pd.DataFrame, hours) -> np.ndarray:
    """(3, H, P) multipliers of on_demand, spot, commitment in each hour, from validated outlook CSV rows.

    Parameters
    ----------
    df : DataFrame
        Outlook rows (:func:`read_outlook_csv`); later ``effective_from`` rows win.
    pools : DataFrame
        provider, instance_type of each pool.
    hours : DatetimeIndex (H,)
        Hour starts (UTC).

    Returns
    -------
    ndarray (3, H, P)
        1 before a pool's first row; new commitments follow on demand unless the CSV has ``commitment`` rows.
    """
    hours = pd.DatetimeIndex(hours)
    if hours.tz is None:
        hours = hours.tz_localize("UTC")
    out = np.ones((3, len(hours), len(pools)))
    has_commitment = bool((df["pricing_model"] == "commitment").any())
    for p, pool in enumerate(pools.itertuples(index=False)):
        for j, m in enumerate(("on_demand", "spot", "commitment")):
            src = "on_demand" if m == "commitment" and not has_commitment else m
            rows = df[(df["provider"] == pool.provider) & df["instance_type"].isin([pool.instance_type, "*"])
                      & (df["pricing_model"] == src)]
            for r in rows.sort_values("effective_from").itertuples(index=False):
                out[j, hours >= pd.Timestamp(r.effective_from, tz="UTC"), p] = float(r.multiplier)
    return out


def _csv_paths(df: pd.DataFrame, pools: pd.DataFrame, starts, ends) -> np.ndarray:
    """(3, T, P) hour-weighted multipliers of on_demand, spot, commitment from CSV rows."""
    out = np.ones((3, len(starts), len(pools)))
    for t in range(len(starts)):
        hours = pd.date_range(starts[t], ends[t], freq="h", inclusive="left")
        if len(hours):
            out[:, t, :] = csv_hourly(df, pools, hours).mean(axis=1)
    return out


def _history_paths(fit: OutlookFit, pools: pd.DataFrame, starts, n: int, seed: int, months: int) -> np.ndarray:
    """(3, n, months, P) monthly multipliers drawn from the fit; one draw per GPU type, shared by its pools."""
    rng = np.random.default_rng(seed)
    gpus = sorted(set(pools["gpu_type"].astype(str)))
    od = np.ones((n, months, len(gpus)))
    spot = np.ones((n, months, len(gpus)))
    for j, g in enumerate(gpus):
        cut = rng.random((n, months)) < fit.hazard_per_month
        cut[:, 0] = False  # today's price in the first month
        size = rng.choice(fit.cut_sizes, (n, months)) if len(fit.cut_sizes) else np.zeros((n, months))
        if g in TRAINING_GPUS:
            od[:, :, j] = np.cumprod(np.where(cut, 1.0 - size, 1.0), axis=1)
        steps = rng.choice(fit.spot_log_changes, (n, months))
        steps[:, 0] = 0.0
        spot[:, :, j] = od[:, :, j] * np.exp(np.clip(np.cumsum(steps, axis=1), np.log(0.2), np.log(3.0)))
    col = [gpus.index(str(g)) for g in pools["gpu_type"]]
    return np.stack([od[:, :, col], spot[:, :, col], od[:, :, col]])


def price_paths(outlook: str, pools: pd.DataFrame, starts, ends, n_scenarios: int = 16, seed: int = 0,
                fit: OutlookFit | None = None) -> PricePaths:
    """Multipliers of today's rates for the plan's periods.

    Parameters
    ----------
    outlook : str
        ``"flat"``, ``"history"``, ``"history:hazard=H,cut=C"`` (:func:`parse_outlook`) or the path of an
        outlook CSV.
    pools : DataFrame
        provider, instance_type, gpu_type of each pool.
    starts, ends : DatetimeIndex (T,)
        Period bounds (UTC).
    n_scenarios : int
        Price scenarios for ``history`` (one per demand scenario group).
    seed : int
    fit : OutlookFit, optional
        Default: :func:`fit_history` on the bundled history; a ``history:`` form's settings replace its hazard
        and cut sizes (:func:`fit_for`).

    Returns
    -------
    PricePaths
        K = 1 for ``flat`` and CSV outlooks, ``n_scenarios`` for ``history``.
    """
    T, P = len(starts), len(pools)
    if outlook == "flat":
        one = np.ones((1, T, P))
        return PricePaths(one, one.copy(), one.copy(), "flat")
    given = parse_outlook(outlook)
    if given is not None:
        fit = fit_for(outlook, fit)
        # months drawn: the horizon's calendar months + 3 (3 T + 3 for T quarters), so the draws do not depend
        # on how the horizon is cut into periods (months of the first quarter, cuts at expiry dates)
        s0, e = pd.Timestamp(starts[0]), pd.Timestamp(ends[-1])
        months = (e.year - s0.year) * 12 + e.month - s0.month + 3
        m = _history_paths(fit, pools, starts, n_scenarios, seed, months)
        # mean over each period's months (months since the first period's start)
        idx = [((pd.Timestamp(a).year - s0.year) * 12 + pd.Timestamp(a).month - s0.month,
                (pd.Timestamp(b).year - s0.year) * 12 + pd.Timestamp(b).month - s0.month) for a, b in
               zip(starts, ends)]
        per = np.stack([m[:, :, a:max(b, a + 1)].mean(axis=2) for a, b in idx], axis=2)
        mean_cut = np.mean(fit.cut_sizes) if len(fit.cut_sizes) else 0
        what = (f"{len(fit.events)} on-demand cuts of training GPUs in {fit.exposure_months:.0f} generation-months "
                f"(hazard {fit.hazard_per_month:.2%}/month, mean cut {mean_cut:.0%})") if not given else (
            f"the history's model with the user's {' and '.join(sorted(given))}: hazard "
            f"{fit.hazard_per_month:.2%}/month, {'cut' if 'cut' in given else 'mean cut'} {mean_cut:.0%}")
        return PricePaths(per[0], np.minimum(per[1], per[0] * 3.0), per[2], str(outlook),
                          [f"price outlook '{outlook}': {what}; {n_scenarios} price scenarios, one per demand "
                           "scenario group"])
    if not Path(outlook).exists():
        raise PricingError(f"price_outlook '{outlook}' is not an outlook: give {OUTLOOK_FORMS}.")
    m = _csv_paths(read_outlook_csv(outlook), pools, starts, ends)
    return PricePaths(m[0][None], m[1][None], m[2][None], Path(outlook).name,
                      [f"price outlook from {Path(outlook).name}: on demand x {m[0].min():.2f}..{m[0].max():.2f}"])
