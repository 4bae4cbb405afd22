"""Capacity products as data: what holds GPUs for a planned run, its rules and its price.

The price catalog (:mod:`finops_forecast.pricing.catalog`) prices *discounts* (reserved instances, savings plans,
CUDs): none of them reserves capacity. This module prices the products that do, one row per product x pool
pattern, in ``pricing/capacity_products.csv`` (bundled, every row sourced) and in user files:

========================== ============ =======================================================================
product                    kind         what it is
========================== ============ =======================================================================
aws_capacity_block         prepaid      EC2 Capacity Blocks for ML: a fixed window, paid upfront, not cancellable
aws_odcr                   reservation  On-Demand Capacity Reservation (future-dated): on-demand rate, used or not
gcp_calendar_reservation   prepaid      DWS calendar mode: GPU VMs reserved for 1-90 days from a delivery date
gcp_flex_start             queued       DWS flex-start: discounted, queued, not guaranteed, up to 7 days
gcp_reservation_cud        reservation  a reservation (capacity) paid at the VM's rate (a CUD gives the price)
azure_capacity_reservation reservation  on-demand capacity reservation at the pay-as-you-go rate
reserved_contract          prepaid      a neocloud's reserved capacity (weeks), entered by the user
========================== ============ =======================================================================

``kind``: *prepaid* products are paid for the whole booked window and hold the capacity; *reservation* products
are billed at a rate (``on_demand_multiple`` of the pool's on-demand rate, to which commitments' discounts
apply) for the whole window, used or not; *queued* products are discounted but their capacity is not guaranteed.

Columns: provider, region, instance_type (``fnmatch`` patterns: ``*``, ``p5*.48xlarge``), product, kind,
rate_basis (``on_demand_multiple`` or ``usd_per_gpu_hour``), rate, durations_days (allowed booked durations,
``"1-14/1;21-182/7"`` = 1..14 days by 1, then 21..182 by 7), max_instances (per purchase), max_purchases,
lead_min_days / lead_max_days (how long before the start it can be booked), hold_ahead_days (paid before the run
starts), guaranteed, effective_date, is_assumption, source. Rates that are not published say so in ``source``
(``ASSUMPTION: ...``) and have ``is_assumption`` true.

A user file adds a neocloud's reserved contract with the short form ``provider, region, instance_type,
term_weeks, usd_per_gpu_hour, effective_date, source`` (product ``reserved_contract``: booked in whole
multiples of the term).
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd

from finops_forecast.errors import PricingError, suggest

PRODUCTS = {
    "aws_capacity_block": ("aws", "prepaid"),
    "aws_odcr": ("aws", "reservation"),
    "gcp_calendar_reservation": ("gcp", "prepaid"),
    "gcp_flex_start": ("gcp", "queued"),
    "gcp_reservation_cud": ("gcp", "reservation"),
    "azure_capacity_reservation": ("azure", "reservation"),
    "reserved_contract": (None, "prepaid"),
}
KINDS = ("prepaid", "reservation", "queued")
RATE_BASES = ("on_demand_multiple", "usd_per_gpu_hour")
CAPACITY_COLUMNS = ["provider", "region", "instance_type", "product", "kind", "rate_basis", "rate",
                    "durations_days", "max_instances", "max_purchases", "lead_min_days", "lead_max_days",
                    "hold_ahead_days", "guaranteed", "effective_date", "is_assumption", "source"]
#: longest contract a user row may book, in terms [-]
MAX_CONTRACT_TERMS = 52
BUNDLED_FILE = "capacity_products.csv"


def parse_durations(text: str) -> np.ndarray:
    """Allowed booked durations [days] from ``"a-b/s;c-d/t"`` (ranges with steps), sorted and unique.

    Raises
    ------
    PricingError
        For a malformed text (the message shows the expected form).
    """
    out = []
    try:
        for part in str(text).split(";"):
            span, step = part.split("/")
            lo, hi = (float(v) for v in span.split("-"))
            step = float(step)
            if not (0 < lo <= hi and step > 0):
                raise ValueError
            out.append(np.arange(lo, hi + 1e-9, step))
    except ValueError:
        raise PricingError(f"durations_days '{text}' is not 'min-max/step[;min-max/step]' in days, e.g. "
                           "'1-14/1;21-182/7'.", column="durations_days") from None
    return np.unique(np.concatenate(out))


def _bool(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def _from_contract_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Short neocloud form (term_weeks, usd_per_gpu_hour) -> capacity rows of product ``reserved_contract``."""
    out = df.copy()
    weeks = pd.to_numeric(out["term_weeks"], errors="coerce")
    bad = ~(weeks > 0) | (weeks != np.round(weeks))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise PricingError("term_weeks must be a whole number of weeks > 0 (e.g. 4 for a 4-week contract).",
                           path=df.attrs.get("path"), row=row, column="term_weeks")
    days = (weeks * 7).astype(int)
    out["durations_days"] = [f"{d}-{d * MAX_CONTRACT_TERMS}/{d}" for d in days]
    out["product"], out["kind"], out["rate_basis"] = "reserved_contract", "prepaid", "usd_per_gpu_hour"
    out["rate"] = out["usd_per_gpu_hour"]
    for c, v in (("max_instances", np.nan), ("max_purchases", np.nan), ("lead_min_days", 0),
                 ("lead_max_days", np.nan), ("hold_ahead_days", 0), ("guaranteed", True),
                 ("is_assumption", False)):
        if c not in out.columns:
            out[c] = v
    return out


def validate_capacity(df: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
    """Check capacity rows and return them with canonical dtypes (columns :data:`CAPACITY_COLUMNS`).

    Parameters
    ----------
    df : pandas.DataFrame
        Rows in the full form (:data:`CAPACITY_COLUMNS`) or the neocloud short form (provider, region,
        instance_type, term_weeks, usd_per_gpu_hour, effective_date, source).
    source : str, optional
        File name for the messages.

    Raises
    ------
    PricingError
        Naming the file, row and column at fault and the fix.
    """
    if "term_weeks" in df.columns and "product" not in df.columns:
        df = _from_contract_rows(df)
    missing = [c for c in CAPACITY_COLUMNS if c not in df.columns and c not in ("is_assumption", "guaranteed")]
    if missing:
        raise PricingError(f"missing column(s) {missing}. Expected {CAPACITY_COLUMNS} (or, for a neocloud's "
                           "reserved contract, provider, region, instance_type, term_weeks, usd_per_gpu_hour, "
                           f"effective_date, source); found {list(df.columns)}.", path=source)
    out = df.copy()
    out["is_assumption"] = out.get("is_assumption", False)
    out["guaranteed"] = out.get("guaranteed", True)

    def fail(mask, column, msg):
        row = int(np.flatnonzero(np.asarray(mask))[0]) + 1
        raise PricingError(msg, path=source, row=row, column=column)

    for c in ("provider", "region", "instance_type", "product", "kind", "rate_basis", "source"):
        empty = out[c].isna() | (out[c].astype(str).str.strip() == "")
        if empty.any():
            fail(empty, c, f"'{c}' is empty; every capacity row needs one.")
        out[c] = out[c].astype(str).str.strip()
    out["provider"] = out["provider"].str.lower()
    for c, valid in (("product", PRODUCTS), ("kind", KINDS), ("rate_basis", RATE_BASES)):
        bad = ~out[c].isin(valid)
        if bad.any():
            name = out.loc[bad, c].iloc[0]
            fail(bad, c, f"invalid {c} '{name}'.{suggest(name, valid)} Provide one of {list(valid)}.")
    want = out["product"].map(lambda p: PRODUCTS[p][1])
    bad = want != out["kind"]
    if bad.any():
        fail(bad, "kind", f"product '{out.loc[bad, 'product'].iloc[0]}' is of kind '{want[bad].iloc[0]}'.")
    prov = out["product"].map(lambda p: PRODUCTS[p][0])
    bad = prov.notna() & (prov != out["provider"])
    if bad.any():
        fail(bad, "provider", f"product '{out.loc[bad, 'product'].iloc[0]}' belongs to provider "
                              f"'{prov[bad].iloc[0]}'; use reserved_contract for another provider.")
    out["rate"] = pd.to_numeric(out["rate"], errors="coerce")
    bad = ~(out["rate"] > 0) | ~np.isfinite(out["rate"])
    if bad.any():
        fail(bad, "rate", "rate must be a number > 0 (USD per GPU-hour, or a multiple of the on-demand rate); "
                          "a capacity product is never free.")
    bad = (out["rate_basis"] == "usd_per_gpu_hour") & ~out["rate"].between(1e-4, 1e3)
    if bad.any():
        fail(bad, "rate", "a rate per GPU-hour must be in [0.0001, 1000] USD/GPU-h: check the unit.")
    for i, text in enumerate(out["durations_days"]):
        try:
            parse_durations(text)
        except PricingError as e:
            raise PricingError(str(e), path=source, row=i + 1, column="durations_days") from None
    for c in ("max_instances", "max_purchases", "lead_min_days", "lead_max_days", "hold_ahead_days"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    out["hold_ahead_days"] = out["hold_ahead_days"].fillna(0.0)
    out["lead_min_days"] = out["lead_min_days"].fillna(0.0)
    dates = pd.to_datetime(out["effective_date"], errors="coerce")
    if dates.isna().any():
        fail(dates.isna(), "effective_date", "effective_date must be a date (YYYY-MM-DD).")
    out["effective_date"] = dates.dt.normalize()
    out["is_assumption"] = out["is_assumption"].map(_bool)
    out["guaranteed"] = out["guaranteed"].map(_bool)
    return out[CAPACITY_COLUMNS].reset_index(drop=True)


def load_capacity(path: str | PathLike | pd.DataFrame | list | None = None, *, bundled: bool = True
                  ) -> pd.DataFrame:
    """The capacity products: the bundled rows, then the user's (a user's rows come first when matching).

    Parameters
    ----------
    path : path, DataFrame or list of them, optional
        User capacity file(s) (CSV), full or neocloud short form (see the module docstring).
    bundled : bool, default True
        False loads only the user file(s).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CAPACITY_COLUMNS`; user rows first (they win over bundled rows of the same product).
    """
    from finops_forecast._data import pricing_file

    paths = [] if path is None else (list(path) if isinstance(path, (list, tuple)) else [path])
    frames = []
    for p in paths:
        if isinstance(p, pd.DataFrame):
            frames.append(validate_capacity(p, "user frame"))
        else:
            frames.append(validate_capacity(pd.read_csv(p), str(p)))
    if bundled:
        f = pricing_file(BUNDLED_FILE)
        frames.append(validate_capacity(pd.read_csv(f), f"bundled {f.name}"))
    if not frames:
        raise PricingError("nothing to load: bundled=False and no path given.")
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class CapacityOffer:
    """One capacity product that matches a pool, with its rate resolved [USD/GPU-h]."""

    product: str
    kind: str
    usd_per_gpu_hour: float
    durations_days: np.ndarray
    max_instances: float
    max_purchases: float
    lead_min_days: float
    lead_max_days: float
    hold_ahead_days: float
    guaranteed: bool
    is_assumption: bool
    source: str


def offers(capacity: pd.DataFrame, provider: str, region: str, instance_type: str,
           od_usd_per_gpu_hour: float) -> list[CapacityOffer]:
    """Capacity products for one pool (first matching row per product wins), rates in [USD/GPU-h].

    Parameters
    ----------
    capacity : pandas.DataFrame
        From :func:`load_capacity`.
    provider, region, instance_type : str
        The pool.
    od_usd_per_gpu_hour : float
        The pool's on-demand rate [USD/GPU-h] (``on_demand_multiple`` rows are priced from it).
    """
    out, seen = [], set()
    for r in capacity.itertuples(index=False):
        if r.product in seen or r.provider != provider or not fnmatch.fnmatchcase(region, r.region) \
                or not fnmatch.fnmatchcase(instance_type, r.instance_type):
            continue
        seen.add(r.product)
        rate = r.rate * od_usd_per_gpu_hour if r.rate_basis == "on_demand_multiple" else r.rate
        out.append(CapacityOffer(r.product, r.kind, float(rate), parse_durations(r.durations_days),
                                 r.max_instances, r.max_purchases, r.lead_min_days, r.lead_max_days,
                                 r.hold_ahead_days, bool(r.guaranteed), bool(r.is_assumption), r.source))
    return out
