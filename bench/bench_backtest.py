"""Benchmark of the policy backtest on the real traces (issue 8).

Runs :func:`finops_forecast.evaluate.backtest_trace` on the Philly training cluster (p4d.24xlarge, spot up to
30%) and the Alibaba DLRM inference fleet (g6.xlarge, no spot) with the settings of
``finops_forecast.evaluate.TRACE_SETTINGS``, all five policies. Prints the per-policy results, the median run
time and the savings-capture ratios, checks the floors of the issue, and writes
``bench/results/backtest_philly.json`` and ``bench/results/backtest_dlrm.json`` (the backtest's JSON plus a
``bench`` block).

The forecast policy chooses, at each decision, between its forecast and the lookback rule by the cost each
would have billed on the earlier windows (``settings.forecast_selection`` in the JSON; docs/backtest.md).

Floors: forecast savings capture >= lookback's on each trace; mean forecast capture over the traces >= 0.95;
hindsight never beaten. A floor that does not hold is reported (``floors`` in the JSON) and makes the exit code 1
only with ``--strict``: the numbers are the measurement, not a tuning target.

A third case times the held-out style run of issue 19: a 6-month hourly trace (the bundled sample's p5.48xlarge
training series, its last 183 days), weekly decisions, all five policies with their defaults; goal < 30 s
(``bench/results/six_month_backtest.json``). Every result records the commit it measured.

Run: ``python bench/bench_backtest.py [--repeat 3]``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
FILES = {"philly": "backtest_philly.json", "alibaba-dlrm": "backtest_dlrm.json"}
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402


def six_months(catalog, repeat: int) -> float:
    """The 6-month hourly trace with weekly decisions and every policy: median run time [s]; writes its result."""
    import pandas as pd

    from finops_forecast.evaluate import backtest
    from finops_forecast.usage.sample import load_sample

    u = load_sample()
    end = u["ts"].max() + pd.Timedelta(hours=1)
    trace = u[(u["ts"] >= end - pd.Timedelta(days=183)) & (u["instance_type"] == "p5.48xlarge")
              & (u["workload_class"] == "training")]
    times, res = [], None
    for _ in range(max(repeat, 1)):
        t0 = time.perf_counter()
        res = backtest(trace, catalog, decision_every="7D", term="7D", lookback="14D")
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    out = {"benchmark": "backtest of a 6-month hourly trace, weekly decisions, all policies",
           "case": "sample p5.48xlarge training, last 183 days", "seconds_median": med, "seconds": times,
           "windows": res.settings["windows"],
           "savings_capture": res.summary.set_index("policy")["savings_capture"].to_dict()}
    write_result("six_month_backtest", out, goals={"6-month backtest median [s]": (round(med, 2), 30.0, "s")})
    print(f"== 6-month trace: {res.settings['windows']} weekly windows, median {med:.1f} s over {len(times)} runs "
          f"(goal < 30 s)")
    return med


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per trace (median time)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a floor does not hold")
    args = ap.parse_args(argv)

    from finops_forecast.evaluate import backtest_trace
    from finops_forecast.pricing import load_pricing

    catalog = load_pricing()
    RESULTS.mkdir(exist_ok=True)
    captures, ok_all = {}, True
    for name, fname in FILES.items():
        times, res = [], None
        for _ in range(max(args.repeat, 1)):
            res = None
            t0 = time.perf_counter()
            res = backtest_trace(name, catalog)
            times.append(time.perf_counter() - t0)
        s = res.summary.set_index("policy")
        cap = s["savings_capture"]
        captures[name] = float(cap["forecast"])
        hs_cost = res.windows[res.windows["policy"] == "hindsight"].set_index("window")["cost_usd"]
        beaten = [(r.policy, int(r.window)) for r in res.windows.itertuples()
                  if r.cost_usd < hs_cost[r.window] * (1 - 1e-7) - 1e-6]
        floors = {"forecast_capture_ge_lookback": bool(cap["forecast"] >= cap["lookback"]),
                  "hindsight_never_beaten": not beaten}
        ok_all &= all(floors.values())
        out = res.to_dict()
        out["bench"] = {"seconds_median": statistics.median(times), "seconds": times, "repeats": len(times),
                        "python": sys.version.split()[0], "machine": platform.machine(), "cpus": os.cpu_count(),
                        "floors": floors, "beaten_windows": beaten,
                        "capture_ratio_forecast_over_lookback": float(cap["forecast"] / cap["lookback"])}
        write_result(Path(fname).stem, out, goals={"median run [s]": (round(statistics.median(times), 2), 60.0, "s")})
        print(f"== {name}: {res.settings['windows']} windows of {res.settings['decision_every']} h, "
              f"median {statistics.median(times):.2f} s over {len(times)} runs")
        cols = ["cost_usd", "on_demand_cost_usd", "savings_usd", "effective_savings_rate", "utilization",
                "coverage", "savings_capture", "commitment_capture"]
        print(s[cols].to_string(float_format=lambda v: f"{v:,.4f}" if abs(v) < 10 else f"{v:,.0f}"))
        print(f"   forecast / lookback capture ratio {cap['forecast'] / cap['lookback']:.4f}; floors {floors}")
        rules = [c["chosen"] for c in res.settings.get("forecast_selection", [])]
        print(f"   forecast policy's rule per window (settings.forecast_selection): {', '.join(rules)}")
    six_months(catalog, args.repeat)
    mean_cap = statistics.mean(captures.values())
    mean_ok = mean_cap >= 0.95
    ok_all &= mean_ok
    print(f"mean forecast savings capture over the traces {mean_cap:.4f} (floor 0.95: {'holds' if mean_ok else 'FAILS'})")
    for fname in FILES.values():
        p = RESULTS / fname
        d = json.loads(p.read_text())
        d["bench"]["mean_forecast_capture_over_traces"] = mean_cap
        d["bench"]["floors"]["mean_forecast_capture_ge_0.95"] = mean_ok
        tmp = p.with_name(f".{p.name}.tmp")
        tmp.write_text(json.dumps(d, indent=1, default=str))
        os.replace(tmp, p)
    return 0 if ok_all or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
