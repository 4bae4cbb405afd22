"""Ingestion benchmark: a generated 10-million-row FOCUS Parquet export read into the usage table.

The export is the bundled sample fleet rendered as FOCUS (``usage_to_focus``) at the catalog's on-demand prices,
replicated across resources so that it holds 10 million GPU rows, plus non-GPU rows (storage) that the reader
must reject with a reason. Generating it is timed apart (``generate_seconds``), never in the medians. Each
repetition runs ``read_focus`` in a fresh process so peak memory (the process's VmHWM) is measured per read.

``--baseline REF`` also times ``finops_forecast/usage/readers.py`` as it was at git revision REF on the same file,
alternating baseline and current runs so that both see the same machine load, reports the ratio of the medians
and checks that both give the same result (usage rows, GPU-hours and costs in / out / rejected).

Floors (issue 8): median < 15 s and peak RSS < 2 GB on the 2-core machine. Writes ``bench/results/ingest.json``.

    python bench/bench_ingest.py [--rows 10000000] [--repeat 3] [--baseline REF] [--no-prices] [--untagged]
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
READERS = "finops_forecast/usage/readers.py"

CHILD = r"""
import importlib.util, json, sys, time
if len(sys.argv) > 2:  # a baseline readers.py from another revision
    spec = importlib.util.spec_from_file_location("readers_baseline", sys.argv[2])
    readers = importlib.util.module_from_spec(spec)
    sys.modules["readers_baseline"] = readers
    spec.loader.exec_module(readers)
else:
    from finops_forecast.usage import readers
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


def read_once(path: Path, readers_file: Path | None = None) -> dict:
    cmd = [sys.executable, "-c", CHILD, str(path)] + ([str(readers_file)] if readers_file else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=HERE.parent).stdout
    return json.loads(out.strip().splitlines()[-1])


def same_result(a: dict, b: dict, rtol: float = 1e-9) -> bool:
    """Same rows in / out / rejected and the same GPU-hours and costs (relative tolerance ``rtol``)."""
    if (a["rows_in"], a["usage_rows"], a["rejected_rows"]) != (b["rows_in"], b["usage_rows"], b["rejected_rows"]):
        return False
    return all(abs(a["totals"][k] - b["totals"][k]) <= rtol * max(1.0, abs(a["totals"][k])) for k in a["totals"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", metavar="REF", help=f"git revision whose {READERS} to time alongside")
    ap.add_argument("--no-prices", action="store_true", help="all costs 0 (the export before 2026-11-24)")
    ap.add_argument("--untagged", action="store_true", help="no Tags on GPU rows: every run classified by "
                                                            "the heuristic")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "focus_export.parquet"
        t0 = time.perf_counter()
        info = make_export(path, args.rows, priced=not args.no_prices, tagged=not args.untagged)
        info["generate_seconds"] = time.perf_counter() - t0
        baseline_file = None
        if args.baseline:
            baseline_file = Path(tmp) / "readers_baseline.py"
            baseline_file.write_text(subprocess.run(["git", "show", f"{args.baseline}:{READERS}"], cwd=HERE.parent,
                                                    capture_output=True, text=True, check=True).stdout)
        runs, base_runs = [], []
        for _ in range(args.repeat):  # alternate, so both see the same load
            if baseline_file:
                base_runs.append(read_once(path, baseline_file))
            runs.append(read_once(path))
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
        base_med = statistics.median(r["seconds"] for r in base_runs)
        result["baseline"] = {
            "ref": args.baseline, "median_seconds": base_med, "seconds": [r["seconds"] for r in base_runs],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in base_runs), "ratio_median": med / base_med,
            "max_abs_difference": max(r["max_abs_difference"] for r in base_runs),
            "same_result": all(same_result(b, r) for b in base_runs for r in runs)}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "ingest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"read_focus: {result['rows']:,} rows ({info['file_mb']:.0f} MB parquet) in median {med:.1f} s "
          f"({result['rows_per_second'] / 1e6:.2f} M rows/s), peak RSS {peak:.0f} MB; floor 15 s / 2048 MB: "
          f"{'met' if result['meets_floor'] else 'NOT met'}; balanced: {result['balanced']}")
    if base_runs:
        b = result["baseline"]
        print(f"baseline {b['ref']}: median {b['median_seconds']:.1f} s, peak RSS {b['peak_rss_mb']:.0f} MB; "
              f"ratio current / baseline {b['ratio_median']:.2f}; same result: {b['same_result']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
