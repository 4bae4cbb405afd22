"""Ingestion benchmark: a generated 10-million-row FOCUS Parquet export read into the usage table.

The export is the bundled sample fleet rendered as FOCUS (``usage_to_focus``) at the catalog's on-demand prices,
replicated across resources so that it holds 10 million GPU rows, plus non-GPU rows (storage) that the reader
must reject with a reason. Generating it is timed apart (``generate_seconds``), never in the medians. Each
repetition runs ``read_focus`` in a fresh process so peak memory (the process's VmHWM) is measured per read.

``--baseline REF`` also times the package as it was at git revision REF (``git archive`` of ``finops_forecast/``
and ``pricing/`` into a temporary folder: the reader spans ``usage/focus*.py``, ``reconcile.py`` and more) on the
same file, alternating baseline and current runs so that both see the same machine load, reports the ratio of the
medians and checks that both give the same result (usage rows, GPU-hours and costs in / out / rejected).

Floors (issue 8): median < 15 s and peak RSS < 2 GB on the 2-core machine. Writes ``bench/results/ingest.json``.

``--realistic`` reads instead an export shaped like a real FOCUS 1.2 bill (:func:`make_realistic_export`): about
50 columns (FOCUS 1.2 names and provider ``x_`` columns), the sample fleet's usage spread over about a million
distinct resource ids, about 500 tag combinations (team x class x project), a fifth of the resources billed at
daily grain beside hourly rows, and non-GPU rows. Goal (issue 19): median < 10 s and peak RSS < 1 GB; writes
``bench/results/ingest_realistic.json``.

    python bench/bench_ingest.py [--rows 10000000] [--repeat 3] [--baseline REF] [--no-prices] [--untagged]
    python bench/bench_ingest.py --realistic [--rows 10000000] [--repeat 3] [--baseline REF]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: what ``--baseline`` takes from the other revision
BASELINE_PATHS = ("finops_forecast", "pricing")

CHILD = r"""
import json, sys, time
import finops_forecast  # from the working directory: this checkout, or a baseline revision's copy
from finops_forecast.usage import readers
assert finops_forecast.__file__.startswith(sys.argv[2]), finops_forecast.__file__
t0 = time.perf_counter()
usage, rec = readers.read_focus(sys.argv[1])
seconds = time.perf_counter() - t0
t = rec.totals.fillna(0.0)
# VmHWM: this process's own peak. ru_maxrss would also count the parent's RSS at fork (Linux keeps the larger
# across exec), i.e. the generator's memory.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_rss_mb": hwm / 1024,
                  "rows_in": int(t.loc["input", "rows"]), "usage_rows": len(usage),
                  "rejected_rows": int(t.loc["rejected", "rows"]), "balanced": rec.is_balanced(),
                  "max_abs_difference": float(rec.differences().abs().max()),
                  "totals": {f"{col}_{where}": float(t.loc[where, col]) for where in ("input", "output", "rejected")
                             for col in ("gpu_hours", "billed_cost", "effective_cost", "list_cost")}}))
"""


def make_export(path: Path, rows: int, priced: bool = True, tagged: bool = True) -> dict:
    """Write a FOCUS Parquet export of about ``rows`` rows with DuckDB (bounded memory)."""
    import duckdb

    from finops_forecast.pricing.catalog import load_pricing, price
    from finops_forecast.usage.sample import load_sample, usage_to_focus

    sample = load_sample()
    prices = {}
    if priced:
        catalog = load_pricing()
        pools = sample[["provider", "region", "instance_type"]].drop_duplicates().itertuples(index=False)
        prices = {tuple(p): price(catalog, *p, "on_demand") for p in pools}
    focus = usage_to_focus(sample, prices=prices)
    n_gpu = len(focus)
    copies = max(1, round(rows * 0.99 / n_gpu))
    non_gpu = max(0, rows - copies * n_gpu)
    tags = "" if tagged else ", NULL::VARCHAR AS Tags"  # untagged: every resource classified by the heuristic
    con = duckdb.connect()
    con.register("f", focus)
    con.execute(f"""
        COPY (
          SELECT * REPLACE (ResourceId || '#' || CAST(k AS VARCHAR) AS ResourceId{tags})
          FROM f, range({copies}) t(k)
          UNION ALL
          SELECT * REPLACE ('Storage' AS ServiceCategory, 'GB-Months' AS ConsumedUnit, NULL AS x_InstanceType,
                            'S3 standard storage' AS ChargeDescription, 'bucket-' || CAST(k AS VARCHAR) AS ResourceId)
          FROM (SELECT * FROM f LIMIT 1), range({non_gpu}) t(k)
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 200000)""")
    con.close()
    return {"gpu_rows": copies * n_gpu, "non_gpu_rows": non_gpu, "file_mb": path.stat().st_size / 1e6,
            "priced": priced, "tagged": tagged}


#: FOCUS 1.2 columns the realistic export adds (constant or derived values), beside the sample's 22
_FOCUS12_EXTRA = {
    "BillingAccountName": "'Example AI Inc.'", "BillingAccountType": "'Billing Account'",
    "SubAccountId": "'sub-' || CAST(hash(team) % 40 AS VARCHAR)", "SubAccountName": "'team account ' || team",
    "SubAccountType": "'Account'", "BillingPeriodStart": "date_trunc('month', CAST(ChargePeriodStart AS TIMESTAMP))",
    "BillingPeriodEnd": "date_trunc('month', CAST(ChargePeriodStart AS TIMESTAMP)) + INTERVAL 1 MONTH",
    "InvoiceId": "'INV-' || strftime(CAST(ChargePeriodStart AS TIMESTAMP), '%Y%m')",
    "InvoiceIssuerName": "ProviderName", "PublisherName": "ProviderName", "PricingCurrency": "'USD'",
    "ServiceName": "'Virtual Machines'", "ServiceSubcategory": "'Virtual Machines'", "ChargeClass": "NULL",
    "ResourceName": "ResourceId", "ResourceType": "'Virtual Machine'", "RegionName": "RegionId",
    "AvailabilityZone": "RegionId || 'a'", "SkuId": "'sku-' || x_InstanceType",
    "SkuPriceId": "'price-' || x_InstanceType || '-' || RegionId", "SkuMeter": "'Compute Usage'",
    "SkuPriceDetails": "'{\"InstanceType\": \"' || x_InstanceType || '\"}'",
    "ContractedUnitPrice": "ListUnitPrice", "ContractedCost": "ListCost",
    "CommitmentDiscountId": "NULL", "CommitmentDiscountName": "NULL", "CommitmentDiscountCategory": "NULL",
    "CommitmentDiscountType": "NULL", "CommitmentDiscountStatus": "NULL", "CommitmentDiscountQuantity": "NULL",
    "CommitmentDiscountUnit": "NULL", "CapacityReservationId": "NULL", "CapacityReservationStatus": "NULL",
    "x_UsageType": "'BoxUsage:' || x_InstanceType", "x_Operation": "'RunInstances'",
    "x_CostCategories": "'{}'", "x_Discounts": "NULL",
}


def make_realistic_export(path: Path, rows: int, resources: int = 1_000_000, projects: int = 64,
                          daily_share: float = 0.2) -> dict:
    """Write a FOCUS 1.2-shaped Parquet export of about ``rows`` rows with DuckDB (bounded memory).

    Each hourly row of the sample fleet (hour x pool x class x team) is split evenly over ``k`` resources, so the
    export's GPU-hours and costs equal the sample's (the reader's balance is checkable). A resource's id comes
    from its row and copy, modulo ``resources``; its ``project`` tag from the copy (``projects`` values x the
    sample's team/class pairs = about 500 tag combinations). Copies whose index falls in the first
    ``daily_share`` are billed at daily grain: their hours are summed into one row per resource and day.
    """
    import duckdb

    from finops_forecast.pricing.catalog import load_pricing, price
    from finops_forecast.usage.sample import load_sample, usage_to_focus

    sample = load_sample()
    catalog = load_pricing()
    pools = sample[["provider", "region", "instance_type"]].drop_duplicates().itertuples(index=False)
    focus = usage_to_focus(sample, prices={tuple(p): price(catalog, *p, "on_demand") for p in pools})
    n0 = len(focus)
    k = max(2, round(rows * 0.98 / n0 / (1 - daily_share + daily_share / 24)))
    k_daily = max(1, round(k * daily_share))
    con = duckdb.connect(config={"memory_limit": "2GB"})
    con.execute("SET TimeZone = 'UTC'")
    con.register("f0", focus)
    con.execute("CREATE TEMP TABLE f AS SELECT *, row_number() OVER () AS rn, "
                "json_extract_string(Tags, '$.team') AS team, "
                "json_extract_string(Tags, '$.workload_class') AS cls FROM f0")
    extra = ", ".join(f"{expr} AS {name}" for name, expr in _FOCUS12_EXTRA.items())
    share = f"1.0 / {k}"
    money = ", ".join(f"{c} * {share} AS {c}" for c in ("ConsumedQuantity", "PricingQuantity", "ListCost",
                                                         "BilledCost", "EffectiveCost"))
    tags = ("'{\"workload_class\": \"' || cls || '\", \"team\": \"' || team || '\", \"project\": \"p' "
            "|| CAST(c % " + str(projects) + " AS VARCHAR) || '\", \"env\": \"prod\"}'")
    hourly = (f"SELECT * EXCLUDE (ConsumedQuantity, PricingQuantity, ListCost, BilledCost, EffectiveCost, "
              f"ResourceId, Tags, rn, team, cls, c), {money}, "
              f"'i-' || CAST(((rn * {k} + c) % {resources}) AS VARCHAR) AS ResourceId, {tags} AS Tags, team "
              f"FROM f, range({k_daily}, {k}) t(c)")
    daily = (f"SELECT any_value(BillingAccountId) AS BillingAccountId, any_value(ProviderName) AS ProviderName, "
             f"RegionId, any_value(ServiceCategory) AS ServiceCategory, 'Usage' AS ChargeCategory, "
             f"'Usage-Based' AS ChargeFrequency, strftime(day, '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodStart, "
             f"strftime(day + INTERVAL 1 DAY, '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodEnd, "
             f"any_value(ChargeDescription) AS ChargeDescription, 'Hours' AS ConsumedUnit, 'Hours' AS PricingUnit, "
             f"'Standard' AS PricingCategory, any_value(ListUnitPrice) AS ListUnitPrice, 'USD' AS BillingCurrency, "
             f"x_InstanceType, sum(ConsumedQuantity) * {share} AS ConsumedQuantity, "
             f"sum(PricingQuantity) * {share} AS PricingQuantity, sum(ListCost) * {share} AS ListCost, "
             f"sum(BilledCost) * {share} AS BilledCost, sum(EffectiveCost) * {share} AS EffectiveCost, "
             f"'d-' || CAST(hash(RegionId, x_InstanceType, team, cls, c) % {resources} AS VARCHAR) AS ResourceId, "
             f"any_value({tags}) AS Tags, team "
             f"FROM (SELECT *, date_trunc('day', CAST(ChargePeriodStart AS TIMESTAMP)) AS day FROM f), "
             f"range({k_daily}) t(c) GROUP BY RegionId, x_InstanceType, team, cls, c, day")
    con.execute(f"CREATE TEMP VIEW usage_rows AS SELECT * FROM ({hourly}) UNION ALL BY NAME ({daily})")
    con.execute(f"""COPY (
        SELECT * EXCLUDE (team), {extra} FROM usage_rows
        UNION ALL BY NAME
        SELECT * EXCLUDE (team) REPLACE ('Storage' AS ServiceCategory, 'GB-Months' AS ConsumedUnit,
                          NULL AS x_InstanceType, 'Object storage' AS ChargeDescription,
                          'bucket-' || CAST(c AS VARCHAR) AS ResourceId), {extra}
        FROM (SELECT * FROM usage_rows LIMIT 1), range({max(0, rows // 50)}) t(c)
      ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 200000)""")
    stats = con.execute(f"SELECT count(*), count(DISTINCT ResourceId), count(DISTINCT Tags), count(*) FILTER "
                        f"(WHERE CAST(ChargePeriodEnd AS TIMESTAMP) - CAST(ChargePeriodStart AS TIMESTAMP) "
                        f"> INTERVAL 1 HOUR) FROM read_parquet('{path}')").fetchone()
    n_cols = len(con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall())
    con.close()
    return {"rows_written": int(stats[0]), "columns": n_cols, "distinct_resources": int(stats[1]), "tag_combinations": int(stats[2]),
            "daily_rows": int(stats[3]), "file_mb": path.stat().st_size / 1e6, "priced": True, "tagged": True,
            "copies_per_sample_row": k, "daily_copies": k_daily,
            "expected_gpu_hours": float(sample["gpu_hours"].sum())}


def read_once(path: Path, root: Path | None = None) -> dict:
    """Run ``read_focus`` on ``path`` in a fresh process, with the package of ``root`` (default: this checkout)."""
    root = (root or HERE.parent).resolve()
    cmd = [sys.executable, "-c", CHILD, str(path), str(root)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=root).stdout
    return json.loads(out.strip().splitlines()[-1])


def extract_baseline(ref: str, folder: Path) -> Path:
    """``finops_forecast/`` and ``pricing/`` as they were at git revision ``ref``, unpacked into ``folder``."""
    import io
    import tarfile

    tar = subprocess.run(["git", "archive", "--format=tar", ref, *BASELINE_PATHS], cwd=HERE.parent,
                         capture_output=True, check=True).stdout
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(folder, filter="data")
    return folder


def timed_runs(path: Path, repeat: int, baseline: str | None, tmp: Path) -> tuple[list, list]:
    """``repeat`` reads of the current package and, with ``baseline``, of that revision's, alternated."""
    root = extract_baseline(baseline, tmp / "baseline") if baseline else None
    runs, base_runs = [], []
    for _ in range(repeat):  # alternate, so both see the same load
        if root:
            base_runs.append(read_once(path, root))
        runs.append(read_once(path))
    return runs, base_runs


def baseline_summary(ref: str, runs: list, base_runs: list) -> dict:
    """The baseline's median, peak and ratio to the current median, and whether both read the same."""
    med = statistics.median(r["seconds"] for r in runs)
    base_med = statistics.median(r["seconds"] for r in base_runs)
    return {"ref": ref, "median_seconds": base_med, "seconds": [r["seconds"] for r in base_runs],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in base_runs), "ratio_median": med / base_med,
            "max_abs_difference": max(r["max_abs_difference"] for r in base_runs),
            "same_result": all(same_result(b, r) for b in base_runs for r in runs)}


def same_result(a: dict, b: dict, rtol: float = 1e-9) -> bool:
    """Same rows in / out / rejected and the same GPU-hours and costs (relative tolerance ``rtol``)."""
    if (a["rows_in"], a["usage_rows"], a["rejected_rows"]) != (b["rows_in"], b["usage_rows"], b["rejected_rows"]):
        return False
    return all(abs(a["totals"][k] - b["totals"][k]) <= rtol * max(1.0, abs(a["totals"][k])) for k in a["totals"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", metavar="REF", help="git revision whose package to time alongside")
    ap.add_argument("--no-prices", action="store_true", help="all costs 0 (the export before 2026-11-24)")
    ap.add_argument("--untagged", action="store_true", help="no Tags on GPU rows: every run classified by "
                                                            "the heuristic")
    ap.add_argument("--realistic", action="store_true", help="a FOCUS 1.2-shaped export with realistic "
                                                             "cardinality (issue 19's goal: < 10 s, < 1 GB)")
    args = ap.parse_args()
    if args.realistic:
        return realistic(args.rows, args.repeat, args.baseline)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "focus_export.parquet"
        t0 = time.perf_counter()
        info = make_export(path, args.rows, priced=not args.no_prices, tagged=not args.untagged)
        info["generate_seconds"] = time.perf_counter() - t0
        runs, base_runs = timed_runs(path, args.repeat, args.baseline, Path(tmp))
    med = statistics.median(r["seconds"] for r in runs)
    peak = max(r["peak_rss_mb"] for r in runs)
    result = {"benchmark": "read_focus 10M-row FOCUS Parquet", "rows": runs[0]["rows_in"], **info,
              "median_seconds": med, "seconds": [r["seconds"] for r in runs], "peak_rss_mb": peak,
              "usage_rows": runs[0]["usage_rows"], "rejected_rows": runs[0]["rejected_rows"],
              "balanced": all(r["balanced"] for r in runs),
              "max_abs_difference": max(r["max_abs_difference"] for r in runs),
              "totals": runs[0]["totals"],
              "floor_seconds": 15.0, "floor_peak_rss_mb": 2048.0,
              "rows_per_second": runs[0]["rows_in"] / med,
              "meets_floor": med < 15.0 and peak < 2048.0}
    if base_runs:
        result["baseline"] = baseline_summary(args.baseline, runs, base_runs)
    (HERE / "results").mkdir(exist_ok=True)
    sys.path.insert(0, str(HERE))
    from _results import write_result

    write_result("ingest", result, goals={"median [s]": (round(med, 2), 15.0, "s"),
                                          "peak RSS [MB]": (round(peak), 2048.0, "MB")})
    print(f"read_focus: {result['rows']:,} rows ({info['file_mb']:.0f} MB parquet) in median {med:.1f} s "
          f"({result['rows_per_second'] / 1e6:.2f} M rows/s), peak RSS {peak:.0f} MB; floor 15 s / 2048 MB: "
          f"{'met' if result['meets_floor'] else 'NOT met'}; balanced: {result['balanced']}")
    if base_runs:
        b = result["baseline"]
        print(f"baseline {b['ref']}: median {b['median_seconds']:.1f} s, peak RSS {b['peak_rss_mb']:.0f} MB; "
              f"ratio current / baseline {b['ratio_median']:.2f}; same result: {b['same_result']}")
    return 0


def realistic(rows: int, repeat: int, baseline: str | None = None) -> int:
    """Time ``read_focus`` on :func:`make_realistic_export`; write ``bench/results/ingest_realistic.json``."""
    sys.path.insert(0, str(HERE))
    from _results import write_result

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "focus_1_2_export.parquet"
        t0 = time.perf_counter()
        info = make_realistic_export(path, rows)
        info["generate_seconds"] = time.perf_counter() - t0
        print(f"generated {info['rows_written']:,} rows x {info['columns']} columns, "
              f"{info['distinct_resources']:,} resources, {info['tag_combinations']} tag combinations, "
              f"{info['daily_rows']:,} daily rows in {info['generate_seconds']:.0f} s", flush=True)
        runs, base_runs = timed_runs(path, repeat, baseline, Path(tmp))
    med = statistics.median(r["seconds"] for r in runs)
    peak = max(r["peak_rss_mb"] for r in runs)
    gpu_out = runs[0]["totals"]["gpu_hours_output"]
    result = {"benchmark": "read_focus on a realistic FOCUS 1.2 export", **info, "median_seconds": med,
              "seconds": [r["seconds"] for r in runs], "peak_rss_mb": peak, "usage_rows": runs[0]["usage_rows"],
              "rejected_rows": runs[0]["rejected_rows"], "balanced": all(r["balanced"] for r in runs),
              "gpu_hours_out": gpu_out,
              "gpu_hours_match_sample": abs(gpu_out - info["expected_gpu_hours"]) <= 1e-6 * info["expected_gpu_hours"],
              "totals": runs[0]["totals"]}
    if base_runs:
        result["baseline"] = baseline_summary(baseline, runs, base_runs)
    out = write_result("ingest_realistic", result, goals={"median [s]": (round(med, 2), 10.0, "s"),
                                                          "peak RSS [MB]": (round(peak), 1024.0, "MB")})
    print(f"read_focus (realistic): {info['rows_written']:,} rows in median {med:.1f} s, peak RSS {peak:.0f} MB; "
          f"balanced {result['balanced']}; GPU-hours equal the sample's: {result['gpu_hours_match_sample']}; "
          f"wrote {out}")
    if base_runs:
        b = result["baseline"]
        print(f"baseline {b['ref']}: median {b['median_seconds']:.1f} s, peak RSS {b['peak_rss_mb']:.0f} MB; "
              f"ratio current / baseline {b['ratio_median']:.3f}; same result: {b['same_result']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
