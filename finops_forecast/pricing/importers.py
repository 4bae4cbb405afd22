"""Importers: real public price formats -> catalog rows (validated by :func:`validate_catalog`).

=============================  ==========================================================================
format                         reader
=============================  ==========================================================================
Cyclenerd ``pricing.yml``      :func:`read_cyclenerd_yml` (GCP on-demand, spot, 1y / 3y resource CUD)
SkyPilot catalog ``vms.csv``   :func:`read_skypilot_csv` (on-demand and spot, any cloud; v5-v8 columns)
ec2instances.info JSON         :func:`read_ec2instances_json` (AWS on-demand and RI, ``www/instances.json``)
AWS Spot Advisor JSON          :func:`read_spot_advisor` (``spot-advisor-data.json``; also its CSV derivative)
                               + :func:`spot_rows_from_advisor` (spot price = on-demand x (1 - savings))
plain CSV template             :func:`read_price_csv` (the catalog columns; see :func:`pricing_template`)
=============================  ==========================================================================

Each reader takes the source's own units and returns USD per instance-hour; GPU type and count come from the
source where it has them, corrected by the bundled instance registry (``pricing/instance_types.csv``) where the
source is known to be wrong (Azure ND96isr_H100_v5 has 8 GPUs, not 12).
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from functools import cache
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from finops_forecast._data import pricing_file
from finops_forecast.errors import PricingError
from finops_forecast.pricing.schema import HOURS_PER_MONTH, validate_catalog

#: GPU keys of Cyclenerd's pricing.yml machine entries -> GPU type of the instance registry
CYCLENERD_GPU_KEYS = {"a100": "A100", "a100-80gb": "A100-80GB", "h100-80gb": "H100", "h100-80gb-mega": "H100",
                      "l4": "L4", "rtx6000": "RTX-PRO-6000", "h200-141gb": "H200", "b200": "B200"}
_NOT_GPU_KEYS = {"cost", "cpu", "ram", "local-ssd", "bandwidth", "description"}

#: Spot Advisor interruption ranges as published in spot-advisor-data.json ("ranges")
SPOT_ADVISOR_RANGES = [
    {"index": 0, "label": "<5%", "dots": 0, "max": 5},
    {"index": 1, "label": "5-10%", "dots": 1, "max": 11},
    {"index": 2, "label": "10-15%", "dots": 2, "max": 16},
    {"index": 3, "label": "15-20%", "dots": 3, "max": 22},
    {"index": 4, "label": ">20%", "dots": 4, "max": 100},
]


@cache
def _registry() -> pd.DataFrame:
    return pd.read_csv(pricing_file("instance_types.csv"))


def _registry_lookup(provider: str) -> dict[str, tuple[str, float]]:
    reg = _registry()
    reg = reg[reg["provider"] == provider]
    return {r.instance_type: (r.gpu_type, float(r.gpu_count)) for r in reg.itertuples()}


def _as_date(value) -> pd.Timestamp:
    if value is None:
        raise PricingError("an effective_date is needed: pass effective_date=YYYY-MM-DD (the date of the price "
                           "list) so every price is dated.")
    return pd.Timestamp(value).normalize()


# ---------------------------------------------------------------------------------------------------- Cyclenerd

def _cyclenerd_blocks(text: str, prefixes) -> tuple[dict, str | None]:
    """Cut the ``compute.instance`` entries whose names start with ``prefixes`` out of pricing.yml text.

    pricing.yml is ~4 MB, almost all of it non-GPU machines, disks and network; parsing only the GPU blocks
    keeps the import under a second.
    """
    lines = text.splitlines()
    generated = None
    for line in lines[:40]:
        m = re.match(r"\s+timestamp:\s*(\d+)", line)
        if m:
            generated = datetime.fromtimestamp(int(m.group(1)), tz=timezone.utc).date().isoformat()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.rstrip() == "compute:")
        start = next(i for i in range(start, len(lines)) if lines[i].rstrip() == "  instance:")
    except StopIteration:
        raise PricingError("not a Cyclenerd pricing.yml: no 'compute: instance:' section. Give the pricing.yml "
                           "of github.com/Cyclenerd/google-cloud-pricing-cost-calculator.") from None
    keep, cur = [], None
    for ln in lines[start + 1:]:
        if ln.strip() == "":
            continue
        indent = len(ln) - len(ln.lstrip(" "))
        if indent <= 2:
            break
        if indent == 4:
            name = ln.strip().rstrip(":")
            cur = name if (not prefixes or name.startswith(tuple(prefixes))) else None
        if cur is not None:
            keep.append(ln[4:])
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    blocks = yaml.load("\n".join(keep), Loader=loader) if keep else {}
    return blocks or {}, generated


def read_cyclenerd_yml(path: str | PathLike, *, prefixes=("a2-", "a3-", "g2-", "g4-"), effective_date=None,
                       source: str | None = None) -> pd.DataFrame:
    """Read GCP GPU machine prices from Cyclenerd's ``pricing.yml``.

    Per machine type and region: ``hour`` -> on_demand, ``hour_spot`` -> spot, ``month_1y / 730`` and
    ``month_3y / 730`` -> 12- and 36-month resource-based CUD (``gcp_resource_cud``, billed monthly, so
    ``no_upfront``). Regions with a missing or zero price for an item are left out for that item.

    Parameters
    ----------
    path : path
        A pricing.yml (github.com/Cyclenerd/google-cloud-pricing-cost-calculator, Apache-2.0).
    prefixes : tuple of str
        Machine-type prefixes to read (GPU families); ``()`` reads every machine that has a GPU key.
    effective_date : date-like, optional
        Date of the price list; default: the file's ``about.timestamp``.
    source : str, optional
        Text for the ``source`` column; default names the file and its generation date.

    Returns
    -------
    pandas.DataFrame
        Validated catalog rows (provider ``gcp``).
    """
    path = Path(path)
    blocks, generated = _cyclenerd_blocks(path.read_text(), prefixes)
    eff = _as_date(effective_date or generated)
    src = source or f"Cyclenerd pricing.yml {path.name} (generated {generated}, Apache-2.0)"
    rows = []
    for machine, spec in sorted(blocks.items()):
        if not isinstance(spec, dict):
            continue
        gpus = {k: v for k, v in spec.items() if k not in _NOT_GPU_KEYS and isinstance(v, (int, float))}
        if not gpus:
            continue
        key, count = next(iter(gpus.items()))
        gpu_type = CYCLENERD_GPU_KEYS.get(key, key.upper())
        if machine.startswith("a2-ultragpu"):
            gpu_type = "A100-80GB"
        for region, cost in sorted((spec.get("cost") or {}).items()):
            items = [("on_demand", 0, cost.get("hour"), 1.0),
                     ("spot", 0, cost.get("hour_spot"), 1.0),
                     ("cud", 12, cost.get("month_1y"), 1.0 / HOURS_PER_MONTH),
                     ("cud", 36, cost.get("month_3y"), 1.0 / HOURS_PER_MONTH)]
            for model, term, value, scale in items:
                if value is None or not np.isfinite(float(value)) or float(value) <= 0:
                    continue
                rows.append(dict(provider="gcp", region=region, instance_type=machine, gpu_type=gpu_type,
                                 gpu_count=float(count), pricing_model=model,
                                 commitment_family="gcp_resource_cud" if model == "cud" else "",
                                 term_months=term, payment_option="no_upfront",
                                 usd_per_hour=float(value) * scale, effective_date=eff,
                                 source=src + ("" if model != "cud" else f"; month_{term // 12}y / 730 h"),
                                 is_assumption=False))
    if not rows:
        raise PricingError(f"no GPU machine prices found for prefixes {list(prefixes)}.", path=path)
    return validate_catalog(pd.DataFrame(rows), source=str(path))


# ---------------------------------------------------------------------------------------------------- SkyPilot

def read_skypilot_csv(path: str | PathLike, provider: str, *, effective_date, source: str | None = None,
                      spot_equal_to_price: str = "drop") -> pd.DataFrame:
    """Read on-demand and spot prices of GPU instances from a SkyPilot catalog ``vms.csv``.

    Rows without an accelerator or without a price are skipped. Where the file has one row per availability
    zone, the region's on-demand price is the zones' median and so is its spot price.

    Parameters
    ----------
    path : path
        A SkyPilot catalog CSV (github.com/skypilot-org/skypilot-catalog, ``catalogs/v*/<cloud>/vms.csv``).
    provider : str
        The cloud the catalog is for (``azure``, ``aws``, ``gcp``, ``lambda`` ...); the file does not say.
    effective_date : date-like
        Date of the catalog (the commit date).
    source : str, optional
        Text for the ``source`` column.
    spot_equal_to_price : {'drop', 'keep'}
        A SpotPrice equal to Price is a known fault of the Azure H100 rows (no spot discount recorded);
        ``drop`` leaves those spot rows out so a documented assumption can fill them.

    Returns
    -------
    pandas.DataFrame
        Validated catalog rows; ``df.attrs["dropped_spot"]`` lists the (region, instance_type) pairs whose
        spot price was dropped.
    """
    path = Path(path)
    raw = pd.read_csv(path)
    need = ["InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "SpotPrice", "Region"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise PricingError(f"not a SkyPilot vms.csv: missing column(s) {missing}; expected {need}, found "
                           f"{list(raw.columns)}.", path=path)
    provider = provider.lower()
    raw = raw[raw["AcceleratorName"].notna() & (raw["AcceleratorName"].astype(str).str.strip() != "")]
    raw = raw.assign(Price=pd.to_numeric(raw["Price"], errors="coerce"),
                     SpotPrice=pd.to_numeric(raw["SpotPrice"], errors="coerce"))
    agg = (raw.groupby(["InstanceType", "Region"], sort=True)
           .agg(AcceleratorName=("AcceleratorName", "first"), AcceleratorCount=("AcceleratorCount", "first"),
                Price=("Price", "median"), SpotPrice=("SpotPrice", "median")).reset_index())
    reg = _registry_lookup(provider)
    eff = _as_date(effective_date)
    src = source or f"SkyPilot catalog {path.name}"
    rows, dropped = [], []
    for r in agg.itertuples():
        gpu_type, count = reg.get(r.InstanceType, (str(r.AcceleratorName), float(r.AcceleratorCount)))
        note = ""
        if r.InstanceType in reg and float(r.AcceleratorCount) != count:
            note = f"; GPU count {count:g} from the instance registry (source says {float(r.AcceleratorCount):g})"
        base = dict(provider=provider, region=r.Region, instance_type=r.InstanceType, gpu_type=gpu_type,
                    gpu_count=count, commitment_family="", term_months=0, payment_option="no_upfront",
                    effective_date=eff, is_assumption=False)
        if np.isfinite(r.Price) and r.Price > 0:
            rows.append(dict(base, pricing_model="on_demand", usd_per_hour=float(r.Price), source=src + note))
        if np.isfinite(r.SpotPrice) and r.SpotPrice > 0:
            if np.isfinite(r.Price) and np.isclose(r.SpotPrice, r.Price) and spot_equal_to_price == "drop":
                dropped.append((r.Region, r.InstanceType))
                continue
            rows.append(dict(base, pricing_model="spot", usd_per_hour=float(r.SpotPrice), source=src + note))
    out = validate_catalog(pd.DataFrame(rows), source=str(path))
    out.attrs["dropped_spot"] = dropped
    return out


# ---------------------------------------------------------------------------------------------------- ec2instances

_RI_KEY = re.compile(r"yrTerm(?P<years>[13])(?P<cls>Standard|Convertible)\.(?P<pay>noUpfront|partialUpfront|allUpfront)")
_PAY = {"noUpfront": "no_upfront", "partialUpfront": "partial_upfront", "allUpfront": "all_upfront"}


def read_ec2instances_json(path: str | PathLike, *, effective_date, os: str = "linux", regions=None,
                           include_convertible: bool = False, source: str | None = None) -> pd.DataFrame:
    """Read AWS GPU instance prices from ec2instances.info's ``instances.json``.

    The file is a list of instance objects; GPU instances have ``"GPU" > 0``. Prices sit under
    ``pricing[region][os]``: ``ondemand`` and ``reserved[<yrTermNClass.payment>]`` (effective hourly rates,
    upfront amortized, as strings or numbers).

    Parameters
    ----------
    path : path
        An instances.json of github.com/vantage-sh/ec2instances.info (MIT).
    effective_date : date-like
        Date of the file.
    os : str, default 'linux'
        Operating-system key of the pricing entries.
    regions : iterable of str, optional
        Keep only these regions.
    include_convertible : bool, default False
        Also return convertible RIs (commitment_family ``aws_convertible_ri``); the bundled catalog prices
        Compute Savings Plans instead, which track convertible RI rates.
    source : str, optional
        Text for the ``source`` column.

    Returns
    -------
    pandas.DataFrame
        Validated catalog rows: on_demand and reserved (``aws_standard_ri``, 12 / 36 months, three payment
        options; the upfront part is not in the file, so it is split with
        :data:`~finops_forecast.pricing.payment.PARTIAL_UPFRONT_SHARE` for partial upfront).
    """
    path = Path(path)
    data = _load_instances_json(path)
    eff = _as_date(effective_date)
    src = source or f"ec2instances.info {path.name}"
    reg = _registry_lookup("aws")
    keep = None if regions is None else set(regions)
    rows = []
    for inst in data:
        name = inst.get("instance_type")
        count = float(inst.get("GPU") or 0)
        if not name or count <= 0:
            continue
        gpu_type = reg.get(name, (inst.get("GPU_model") or "GPU", count))[0]
        for region, by_os in sorted((inst.get("pricing") or {}).items()):
            if keep is not None and region not in keep:
                continue
            base = dict(provider="aws", region=region, instance_type=name, gpu_type=gpu_type, gpu_count=count,
                        effective_date=eff, source=src, is_assumption=False)
            rows += _ec2_price_rows(base, (by_os or {}).get(os) or {}, include_convertible)
    if not rows:
        raise PricingError(f"no GPU instance with a '{os}' price found.", path=path)
    return validate_catalog(pd.DataFrame(rows), source=str(path))


def _load_instances_json(path: Path) -> list:
    """The instance objects of an ec2instances.info ``instances.json`` (a list, or a dict of them)."""
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PricingError(f"not a JSON file ({exc}). Give ec2instances.info's www/instances.json.",
                           path=path) from None
    if isinstance(data, dict):
        data = list(data.values())
    if not isinstance(data, list):
        raise PricingError("expected a JSON list of instance objects (ec2instances.info instances.json).",
                           path=path)
    return data


def _ec2_price_rows(base: dict, prices: dict, include_convertible: bool) -> list[dict]:
    """Catalog rows of one instance type in one region: on-demand and each reserved term x payment option.

    ``base`` holds the pool's columns; ``prices`` is ``pricing[region][os]`` of instances.json (effective hourly
    rates [USD/h]).
    """
    from finops_forecast.pricing.payment import split_payment

    rows = []
    od = _num(prices.get("ondemand"))
    if od:
        rows.append(dict(base, pricing_model="on_demand", commitment_family="", term_months=0,
                         payment_option="no_upfront", usd_per_hour=od))
    for key, value in sorted((prices.get("reserved") or {}).items()):
        m = _RI_KEY.fullmatch(key)
        rate = _num(value)
        if not m or not rate:
            continue
        if m["cls"] == "Convertible" and not include_convertible:
            continue
        term = 12 * int(m["years"])
        pay = _PAY[m["pay"]]
        up, rec = split_payment(rate, term, pay)
        rows.append(dict(base, pricing_model="reserved",
                         commitment_family="aws_standard_ri" if m["cls"] == "Standard" else "aws_convertible_ri",
                         term_months=term, payment_option=pay, usd_per_hour=rate, upfront_usd=float(up),
                         recurring_usd_per_hour=float(rec), source=base["source"] + f"; {key} effective hourly"))
    return rows


def _num(v) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) and x > 0 else None


# ---------------------------------------------------------------------------------------------------- Spot Advisor

def read_spot_advisor(path: str | PathLike, *, os: str = "Linux", instance_types=None) -> pd.DataFrame:
    """Read the AWS Spot Instance Advisor feed (``spot-advisor-data.json``) or its CSV derivative.

    JSON shape (as served at spot-bid-advisor.s3.amazonaws.com and embedded in alexei-led/spotinfo):
    ``{"ranges": [{"index", "label", "max"}...], "instance_types": {...},
    "spot_advisor": {region: {"Linux": {instance_type: {"s": savings %, "r": range index}}}}}``.
    CSV shape: ``region, instance_type, savings_pct, interruption_label, interruption_max_pct``.

    Returns
    -------
    pandas.DataFrame
        ``region, instance_type, savings_pct`` [%], ``interruption_label``, ``interruption_max_pct`` [%].
    """
    path = Path(path)
    cols = ["region", "instance_type", "savings_pct", "interruption_label", "interruption_max_pct"]
    if path.suffix.lower() == ".csv":
        df = pd.read_csv(path)
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise PricingError(f"missing column(s) {missing}; expected {cols}.", path=path)
        df = df[cols]
    else:
        data = json.loads(path.read_text())
        if "spot_advisor" not in data:
            raise PricingError("not a Spot Advisor feed: no 'spot_advisor' key. Give spot-advisor-data.json.",
                               path=path)
        ranges = {r["index"]: r for r in data.get("ranges") or SPOT_ADVISOR_RANGES}
        rows = []
        for region, by_os in data["spot_advisor"].items():
            for itype, v in (by_os.get(os) or {}).items():
                rng = ranges.get(int(v["r"]))
                if rng is None:
                    raise PricingError(f"range index {v['r']} of {region} {itype} is not in 'ranges'.", path=path)
                rows.append((region, itype, float(v["s"]), rng["label"], float(rng["max"])))
        df = pd.DataFrame(rows, columns=cols)
    if instance_types is not None:
        df = df[df["instance_type"].isin(set(instance_types))]
    return df.sort_values(["region", "instance_type"]).reset_index(drop=True)


def spot_rows_from_advisor(advisor: pd.DataFrame, on_demand: pd.DataFrame, *, effective_date,
                           source: str) -> pd.DataFrame:
    """Spot catalog rows from Spot Advisor savings and on-demand rows: ``on_demand x (1 - savings_pct / 100)``.

    Parameters
    ----------
    advisor : pandas.DataFrame
        From :func:`read_spot_advisor`.
    on_demand : pandas.DataFrame
        Catalog on_demand rows (one per region and instance type: the on-demand rate the savings refer to).
    effective_date : date-like
        Date of the advisor snapshot.
    source : str
        Text for the ``source`` column (the on-demand row's source is appended).

    Returns
    -------
    pandas.DataFrame
        Validated spot rows with ``spot_savings_pct``, ``interruption_label``, ``interruption_max_pct``;
        advisor rows without an on-demand rate are left out, and so are rows whose saving is <= 0 (spot at or
        above on-demand: no spot discount, so not spot-eligible); ``attrs["dropped_spot"]`` lists the latter as
        (region, instance_type).
    """
    od = on_demand[on_demand["pricing_model"] == "on_demand"]
    m = advisor.merge(od[["region", "instance_type", "provider", "gpu_type", "gpu_count", "usd_per_hour",
                          "source"]], on=["region", "instance_type"], how="inner", validate="one_to_one")
    m = m.sort_values(["region", "instance_type"])
    rate = m["usd_per_hour"] * (1.0 - m["savings_pct"] / 100.0)
    out = pd.DataFrame(dict(
        provider=m["provider"], region=m["region"], instance_type=m["instance_type"], gpu_type=m["gpu_type"],
        gpu_count=m["gpu_count"], pricing_model="spot", commitment_family="", term_months=0,
        payment_option="no_upfront", usd_per_hour=rate, effective_date=_as_date(effective_date),
        source=source + " savings " + m["savings_pct"].map("{:g}%".format) + " x on-demand "
        + m["usd_per_hour"].map("{:g}".format) + " (" + m["source"] + ")",
        is_assumption=False, spot_savings_pct=m["savings_pct"], interruption_label=m["interruption_label"],
        interruption_max_pct=m["interruption_max_pct"]))
    # a saving <= 0 means spot at or above the on-demand price: no spot discount in the source, so the pool is
    # not spot-eligible (the rows are left out and listed in attrs["dropped_spot"], never replaced by a ratio)
    no_discount = (m["savings_pct"] <= 0).to_numpy()
    dropped = list(zip(out["region"][no_discount], out["instance_type"][no_discount]))
    out = out[~no_discount & (out["usd_per_hour"] > 0)]
    res = validate_catalog(out.reset_index(drop=True), source=source)
    res.attrs["dropped_spot"] = dropped
    return res


# ---------------------------------------------------------------------------------------------------- CSV template

TEMPLATE_COLUMNS = ["provider", "region", "instance_type", "gpu_type", "gpu_count", "pricing_model",
                    "commitment_family", "term_months", "payment_option", "usd_per_hour", "upfront_usd",
                    "recurring_usd_per_hour", "effective_date", "source", "is_assumption"]


def pricing_template() -> pd.DataFrame:
    """The empty plain-CSV template for negotiated or other prices (write it with ``.to_csv(path)``).

    Required per row: provider, region, instance_type, pricing_model, usd_per_hour (or upfront_usd +
    recurring_usd_per_hour for a commitment), effective_date. gpu_type and gpu_count may be left empty for an
    instance type the bundled registry knows; term_months and payment_option default to 0 / 12 and
    no_upfront; source defaults to the file name.
    """
    return pd.DataFrame(columns=TEMPLATE_COLUMNS)


def read_price_csv(path: str | PathLike | pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    """Read a plain CSV of prices (the template's columns, or a full catalog file) into catalog rows.

    Parameters
    ----------
    path : path or DataFrame
        The CSV (optionally .gz) or a frame with the template columns.
    source : str, optional
        Default ``source`` for rows whose source is empty; default ``"user file <name>"``.

    Returns
    -------
    pandas.DataFrame
        Validated catalog rows.

    Raises
    ------
    PricingError
        Naming the file, row and column at fault.
    """
    if isinstance(path, pd.DataFrame):
        df, name = path.copy(), source or "user frame"
    else:
        from finops_forecast._files import input_file_problem, read_csv_checked

        p = Path(path)
        if not p.exists():
            raise PricingError(f"price file not found: {p}. Check the path, or write a template with "
                               "finops_forecast.pricing.pricing_template().to_csv(path).")
        if input_file_problem(p):
            raise PricingError(f"price file '{p}' {input_file_problem(p)}. Give a CSV with a header row; start "
                               "from finops_forecast.pricing.pricing_template().to_csv(path).")
        df = read_csv_checked(p, "price file", PricingError, dtype=str, keep_default_na=False, na_values=[""])
        name = source or f"user file {p.name}"
    df.columns = [str(c).strip() for c in df.columns]
    need = ["provider", "region", "instance_type", "pricing_model", "effective_date"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise PricingError(f"missing column(s) {missing}. The plain CSV needs at least {need} and usd_per_hour "
                           f"(or upfront_usd + recurring_usd_per_hour); found {list(df.columns)}. Start from "
                           "pricing_template().", path=None if isinstance(path, pd.DataFrame) else path)
    for col in TEMPLATE_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
    df["provider"] = df["provider"].astype(str).str.strip().str.lower()
    df["pricing_model"] = df["pricing_model"].astype(str).str.strip()
    commit = df["pricing_model"].isin(["reserved", "cud", "savings_plan"])
    term = pd.to_numeric(df["term_months"], errors="coerce")
    df["term_months"] = term.where(term.notna(), np.where(commit, 12, 0))
    df["payment_option"] = df["payment_option"].where(df["payment_option"].notna(), "no_upfront")
    src = df["source"].astype(object)
    df["source"] = src.where(src.notna() & (src.astype(str).str.strip() != ""), name)
    # gpu_type / gpu_count from the registry where empty
    reg = _registry()
    look = {(r.provider, r.instance_type): (r.gpu_type, r.gpu_count) for r in reg.itertuples()}
    gt, gc = [], []
    for i, r in enumerate(df.itertuples(index=False), start=1):
        known = look.get((r.provider, r.instance_type))
        t = r.gpu_type if isinstance(r.gpu_type, str) and r.gpu_type.strip() else (known[0] if known else None)
        c = pd.to_numeric(r.gpu_count, errors="coerce")
        c = c if pd.notna(c) else (known[1] if known else None)
        if t is None or c is None:
            raise PricingError(f"gpu_type and gpu_count are empty and {r.provider} {r.instance_type} is not in "
                               "the bundled instance registry: fill both (e.g. H100, 8) for a new machine.",
                               path=None if isinstance(path, pd.DataFrame) else path, row=i, column="gpu_count")
        gt.append(t)
        gc.append(c)
    df["gpu_type"], df["gpu_count"] = gt, gc
    # usd_per_hour from upfront + recurring where empty
    rate = pd.to_numeric(df["usd_per_hour"], errors="coerce")
    up = pd.to_numeric(df["upfront_usd"], errors="coerce")
    rec = pd.to_numeric(df["recurring_usd_per_hour"], errors="coerce")
    th = pd.to_numeric(df["term_months"], errors="coerce") * HOURS_PER_MONTH
    derived = rec.fillna(0.0) + up.fillna(0.0) / th.where(th > 0, np.nan)
    df["usd_per_hour"] = rate.where(rate.notna(), derived.where(up.notna() | rec.notna()))
    df["upfront_usd"], df["recurring_usd_per_hour"] = up, rec
    out = validate_catalog(df, source=None if isinstance(path, pd.DataFrame) else str(path))
    out.attrs["path"] = None if isinstance(path, pd.DataFrame) else str(path)
    return out
