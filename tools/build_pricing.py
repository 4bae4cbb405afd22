"""Build the bundled pricing catalog ``pricing/catalog_{aws,azure,gcp}.csv.gz`` from the real public sources.

Run from the repository root with ``../shared/datasets`` beside it (or FINOPS_SHARED_DATASETS set)::

    .venv/bin/python tools/build_pricing.py

The output is deterministic (sorted rows, round-trip float text, gzip without timestamp): running it twice
gives byte-identical files. Sources (see pricing/README.md and NOTICE):

AWS
    aws-vantage-2026-01      on-demand + 1-year no-upfront standard RI per region, 2026-01-21 (prices are facts)
    aws-ondemand-karpenter   on-demand history 2023-02..2026-07, us-east-1 and us-gov (Apache-2.0); cn-* rows
                             are in CNY and are left out
    aws-spot-advisor-2025-06 spot savings % and interruption bucket, 2025-06-28 (Apache-2.0)
    aws-ri-2017              ratios between RI terms / payment options / offering classes (MIT), used as
                             documented assumptions
GCP
    gcp-cyclenerd            monthly history 2022-02..2026-07 of on-demand, spot, 1y / 3y resource CUD
                             (Apache-2.0); the newest snapshot equals pricing_2026-07-30.yml
Azure
    azure-skypilot           on-demand and spot (SkyPilot catalog v6, Azure list prices)

Each catalog keeps one row per priced item and date at which its value changed (per source).
"""
from __future__ import annotations

import gzip
import io
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finops_forecast.pricing import assumptions as A  # noqa: E402
from finops_forecast.pricing.catalog import select_as_of  # noqa: E402
from finops_forecast.pricing.importers import (  # noqa: E402
    read_skypilot_csv, read_spot_advisor, spot_rows_from_advisor,
)
from finops_forecast.pricing.schema import CATALOG_COLUMNS, HOURS_PER_MONTH, PRICE_KEYS, validate_catalog  # noqa: E402

SHARED = Path(os.environ.get("FINOPS_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))
SRC = SHARED / "pricing"
OUT = ROOT / "pricing"

VANTAGE = SRC / "aws-vantage-2026-01" / "aws_gpu_instances_2026-01-21.csv"
KARPENTER = SRC / "aws-ondemand-karpenter" / "aws_gpu_ondemand_price_history.csv"
ADVISOR = SRC / "aws-spot-advisor-2025-06" / "aws_spot_advisor_gpu_2025-06-28.csv"
GCP_HISTORY = SRC / "gcp-cyclenerd" / "gcp_gpu_machine_prices_monthly_history.csv"
AZURE = SRC / "azure-skypilot" / "azure_gpu_vms_skypilot_v6.csv"

VANTAGE_SRC = "aws-vantage-2026-01 (instances.vantage.sh / ec2instances.info via tsaol/aws-gpu 77fcd9f, 2026-01-21)"
VANTAGE_RI_SRC = VANTAGE_SRC + " reserved_usd_per_hour (1y no-upfront standard RI)"
KARPENTER_SRC = "aws-ondemand-karpenter (aws/karpenter-provider-aws {file} commit {commit}, Apache-2.0)"
ADVISOR_SRC = "aws-spot-advisor-2025-06 (AWS Spot Advisor via alexei-led/spotinfo 5eedf20, 2025-06-28, Apache-2.0):"
ADVISOR_DATE = "2025-06-28"
GCP_SRC = "gcp-cyclenerd (Cyclenerd pricing.yml commit {commit}, {date}, Apache-2.0)"
#: the SkyPilot v6 Azure catalog carries no date; v6 was the current SkyPilot schema in 2024 (v7 followed).
AZURE_DATE = "2024-06-01"
AZURE_SRC = ("azure-skypilot (skypilot-org/skypilot-catalog catalogs/v6/azure/vms.csv commit 098741e; "
             "Azure list prices; file undated, effective_date 2024-06-01 estimated)")


def registry() -> dict[tuple[str, str], tuple[str, float]]:
    reg = pd.read_csv(OUT / "instance_types.csv")
    return {(r.provider, r.instance_type): (r.gpu_type, float(r.gpu_count)) for r in reg.itertuples()}


def _rows_from_derived(base: dict, derived, origin: str) -> list[dict]:
    return [dict(base, pricing_model=d.pricing_model, commitment_family=d.commitment_family,
                 term_months=d.term_months, payment_option=d.payment_option, usd_per_hour=d.usd_per_hour,
                 source=d.source, is_assumption=d.is_assumption, origin=origin) for d in derived]


def changes_only(df: pd.DataFrame) -> pd.DataFrame:
    """Keep, per priced item and origin (source dataset), only the rows where the price changed."""
    df = df.sort_values(PRICE_KEYS + ["origin", "effective_date"], kind="stable")
    prev = df.groupby(PRICE_KEYS + ["origin"], sort=False)["usd_per_hour"].shift()
    keep = prev.isna() | ~np.isclose(df["usd_per_hour"], prev, rtol=1e-12, atol=0)
    return df[keep]


# --------------------------------------------------------------------------------------------------- AWS

def build_aws() -> pd.DataFrame:
    reg = registry()
    van = pd.read_csv(VANTAGE)
    kar = pd.read_csv(KARPENTER)
    kar = kar[~kar["region"].str.startswith("cn-")]  # CNY prices
    od_rows = []
    for r in van.itertuples():
        if ("aws", r.instance_type) not in reg or not (r.on_demand_usd_per_hour > 0):
            continue
        od_rows.append(dict(region=r.region, instance_type=r.instance_type, usd_per_hour=r.on_demand_usd_per_hour,
                            effective_date="2026-01-21", source=VANTAGE_SRC, origin="vantage",
                            ri=(r.reserved_usd_per_hour if r.reserved_usd_per_hour > 0 else None)))
    for r in kar.itertuples():
        if ("aws", r.instance_type) not in reg or not (r.ondemand_usd_per_hour > 0):
            continue
        od_rows.append(dict(region=r.region, instance_type=r.instance_type, usd_per_hour=r.ondemand_usd_per_hour,
                            effective_date=r.commit_date, origin="karpenter", ri=None,
                            source=KARPENTER_SRC.format(file=r.source_file, commit=r.git_commit)))
    od = pd.DataFrame(od_rows)
    od["provider"], od["pricing_model"], od["commitment_family"] = "aws", "on_demand", ""
    od["term_months"], od["payment_option"] = 0, "no_upfront"
    od["effective_date"] = pd.to_datetime(od["effective_date"])
    od = changes_only(od)

    # published RI / on-demand ratio per pool (vantage), used to carry RI rates back over the on-demand history
    van_ratio = {(r.region, r.instance_type): r.reserved_usd_per_hour / r.on_demand_usd_per_hour
                 for r in van.itertuples() if r.reserved_usd_per_hour > 0 and r.on_demand_usd_per_hour > 0}
    rows = []
    for r in od.itertuples():
        gpu_type, count = reg[("aws", r.instance_type)]
        base = dict(provider="aws", region=r.region, instance_type=r.instance_type, gpu_type=gpu_type,
                    gpu_count=count, effective_date=r.effective_date)
        rows.append(dict(base, pricing_model="on_demand", commitment_family="", term_months=0,
                         payment_option="no_upfront", usd_per_hour=r.usd_per_hour, source=r.source,
                         is_assumption=False, origin=r.origin))
        if r.ri is not None and not pd.isna(r.ri):
            derived = A.aws_commitment_rates(r.usd_per_hour, r.ri, VANTAGE_RI_SRC)
        elif (r.region, r.instance_type) in van_ratio:
            ratio = van_ratio[(r.region, r.instance_type)]
            derived = A.aws_commitment_rates(
                r.usd_per_hour, anchor_ratio=ratio,
                anchor_ratio_source=f"this pool's published RI/on-demand in {VANTAGE_SRC}")
        else:
            derived = A.aws_commitment_rates(r.usd_per_hour)
        rows += _rows_from_derived(base, derived, r.origin + "-derived")

    cat = pd.DataFrame(rows)
    # spot: Spot Advisor savings against the on-demand rate in effect on the advisor's date
    adv = read_spot_advisor(ADVISOR)
    od_cat = validate_catalog(cat[cat["pricing_model"] == "on_demand"].drop(columns="origin"))
    od_then = select_as_of(od_cat, ADVISOR_DATE)
    spot = spot_rows_from_advisor(adv, od_then, effective_date=ADVISOR_DATE, source=ADVISOR_SRC)
    spot["origin"] = "advisor"
    cat = pd.concat([cat, spot], ignore_index=True)
    return finish(cat)


# --------------------------------------------------------------------------------------------------- GCP

def build_gcp() -> pd.DataFrame:
    reg = registry()
    h = pd.read_csv(GCP_HISTORY)
    rows = []
    for r in h.itertuples():
        gpu_type, count = reg[("gcp", r.machine_type)]
        src = GCP_SRC.format(commit=r.git_commit, date=r.snapshot_date)
        base = dict(provider="gcp", region=r.region, instance_type=r.machine_type, gpu_type=gpu_type,
                    gpu_count=count, effective_date=r.snapshot_date, payment_option="no_upfront",
                    is_assumption=False, origin="cyclenerd")
        items = [("on_demand", "", 0, r.hour, src + " hour"),
                 ("spot", "", 0, r.hour_spot, src + " hour_spot")]
        # where no CUD is sold, pricing.yml repeats the on-demand month as month_1y / month_3y (A2 ultra
        # until 2024-07, then leaves them out): not a commitment price, so it is skipped
        for term, value in ((12, r.month_1y), (36, r.month_3y)):
            if pd.notna(value) and not np.isclose(value, r.month, rtol=1e-9):
                items.append(("cud", "gcp_resource_cud", term, value / HOURS_PER_MONTH,
                              src + f" month_{term // 12}y / 730 h"))
        for model, fam, term, value, s in items:
            if pd.notna(value) and value > 0:
                rows.append(dict(base, pricing_model=model, commitment_family=fam, term_months=term,
                                 usd_per_hour=float(value), source=s))
        if pd.notna(r.hour) and r.hour > 0:
            rows += _rows_from_derived(base, A.gcp_flex_cud_rates(float(r.hour)), "cyclenerd-derived")
    cat = pd.DataFrame(rows)
    cat["effective_date"] = pd.to_datetime(cat["effective_date"])
    cat = finish(cat)
    # items the newest snapshots no longer list are withdrawn: end_date = first snapshot without them
    snaps = np.sort(pd.to_datetime(h["snapshot_date"]).unique())
    seen = pd.DataFrame(rows)[PRICE_KEYS + ["effective_date"]]
    seen["effective_date"] = pd.to_datetime(seen["effective_date"])
    last_seen = seen.groupby(PRICE_KEYS)["effective_date"].max()
    gone = last_seen[last_seen < snaps[-1]]
    ends = pd.Series([snaps[np.searchsorted(snaps, d, side="right")] for d in gone], index=gone.index,
                     name="end")
    cat = cat.merge(ends.reset_index(), on=PRICE_KEYS, how="left")
    is_last = ~cat.duplicated(PRICE_KEYS, keep="last")
    cat["end_date"] = cat["end"].where(is_last)
    return validate_catalog(cat.drop(columns="end"))[CATALOG_COLUMNS]


# --------------------------------------------------------------------------------------------------- Azure

def build_azure() -> pd.DataFrame:
    sky = read_skypilot_csv(AZURE, "azure", effective_date=AZURE_DATE, source=AZURE_SRC)
    # Promo sizes are discounted legacy offers without spot or reservations: keep their on-demand only.
    rows = [r._asdict() for r in sky.itertuples(index=False)]
    od = sky[sky["pricing_model"] == "on_demand"]
    for r in od.itertuples():
        base = dict(provider="azure", region=r.region, instance_type=r.instance_type, gpu_type=r.gpu_type,
                    gpu_count=r.gpu_count, effective_date=r.effective_date)
        # sizes whose source shows SpotPrice == Price (the H100 sizes) have no spot discount: they get no spot
        # row (not spot-eligible) rather than a ratio borrowed from another GPU
        if r.instance_type.endswith("_Promo"):
            continue
        rows += [dict(base, pricing_model=d.pricing_model, commitment_family=d.commitment_family,
                      term_months=d.term_months, payment_option=d.payment_option, usd_per_hour=d.usd_per_hour,
                      source=d.source + f"; on-demand from {AZURE_SRC}", is_assumption=True)
                 for d in A.azure_commitment_rates(r.usd_per_hour)]
    cat = pd.DataFrame(rows)
    cat["origin"] = "skypilot"
    return finish(cat)


# --------------------------------------------------------------------------------------------------- output

#: where two sources price the same item on the same day, the snapshot with published RI rates wins
ORIGIN_PRIORITY = {"vantage": 0, "vantage-derived": 0, "advisor": 0, "karpenter": 1, "karpenter-derived": 1}


def finish(cat: pd.DataFrame) -> pd.DataFrame:
    cat = changes_only(cat)
    cat = cat.assign(_prio=cat["origin"].map(ORIGIN_PRIORITY).fillna(0))
    cat = cat.sort_values(PRICE_KEYS + ["effective_date", "_prio"], kind="stable")
    cat = cat.drop_duplicates(PRICE_KEYS + ["effective_date"], keep="first").drop(columns=["origin", "_prio"])
    cat = validate_catalog(cat)
    return cat.sort_values(PRICE_KEYS + ["effective_date", "source"], kind="stable").reset_index(drop=True)[
        CATALOG_COLUMNS]


def write(cat: pd.DataFrame, path: Path) -> None:
    out = cat.copy()
    out["effective_date"] = out["effective_date"].dt.strftime("%Y-%m-%d")
    out["is_assumption"] = out["is_assumption"].map({True: "true", False: "false"})
    out["gpu_count"] = out["gpu_count"].map("{:g}".format)
    out["end_date"] = out["end_date"].dt.strftime("%Y-%m-%d")
    text = out.to_csv(index=False, lineterminator="\n")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode())
    path.write_bytes(buf.getvalue())


def main() -> int:
    if not SRC.is_dir():
        print(f"shared datasets not found at {SRC}; set FINOPS_SHARED_DATASETS", file=sys.stderr)
        return 1
    for name, build in (("aws", build_aws), ("gcp", build_gcp), ("azure", build_azure)):
        cat = build()
        path = OUT / f"catalog_{name}.csv.gz"
        write(cat, path)
        counts = cat.groupby("pricing_model").size().to_dict()
        print(f"{path.relative_to(ROOT)}: {len(cat)} rows, {path.stat().st_size / 1e3:.0f} kB, {counts}, "
              f"{int(cat['is_assumption'].sum())} assumption rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
