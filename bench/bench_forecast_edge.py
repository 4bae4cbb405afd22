"""Does the forecast earn its place on its own? (issue 20)

Backtests, on the Philly and Alibaba DLRM traces (their ``TRACE_SETTINGS``) and on two seeded synthetic trend
traces on Philly's pool and settings (``trend_usage``: +1% and -1% of the first day's level per day, 70 days,
8 weekly windows), the forecast alone and the forecast policy in these variants, with the lookback rule and
hindsight beside them:

=================  ==========================================================================================
variant            ``forecast_candidates`` / settings
=================  ==========================================================================================
alone              ``("forecast",)`` with the defaults: the ``recovery`` model's paths, decision-calibrated
                   (``calibration="spread"``): the forecast alone since issue 20
alone_uncal        the same without calibration (``calibration=None``)
alone_auto         ``("forecast",)``, ``models="auto"``, ``calibration=None``: the forecast alone before
policy             ``("forecast", "lookback")`` with the defaults: the forecast decides until the lookback rule
                   proves cheaper
policy_lbdef       the same with the lookback rule as the default rule (``select_default="lookback"``)
policy_auto        ``models="auto"``, ``calibration=None``, lookback rule as default: the default policy before
=================  ==========================================================================================

Each variant on each first-decision offset of the trace (0-6 days for weekly windows, 0-2 for DLRM's 3-day
windows) with ``--grids``; savings capture is reported per grid and as the mean over grids. Writes
``bench/results/forecast_edge.json`` through :func:`bench._results.write_result` (commit measured included).

Run: ``python bench/bench_forecast_edge.py [--grids] [--traces philly,alibaba-dlrm,growth,decline]``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result

BEFORE = dict(models="auto", calibration=None)
VARIANTS = {
    "alone": dict(forecast_candidates=("forecast",)),
    "alone_uncal": dict(forecast_candidates=("forecast",), calibration=None),
    "alone_auto": dict(forecast_candidates=("forecast",), **BEFORE),
    "policy": dict(forecast_candidates=("forecast", "lookback")),
    "policy_lbdef": dict(forecast_candidates=("forecast", "lookback"), select_default="lookback"),
    "policy_auto": dict(forecast_candidates=("forecast", "lookback"), select_default="lookback", **BEFORE),
}
SYNTHETIC = {"growth": 0.01, "decline": -0.01}


def run(trace: str, variant: str, offset_days: int, catalog) -> dict:
    """One backtest; returns the captures of forecast, lookback, the rules chosen and the time [s]."""
    from finops_forecast.evaluate import TRACE_MAPPINGS, TRACE_SETTINGS, backtest, trace_usage, trend_usage
    from finops_forecast.evaluate.rolling import parse_hours

    if trace in SYNTHETIC:
        usage = trend_usage(SYNTHETIC[trace], days=70, seed=1 if trace == "growth" else 2)
        st, cap = dict(TRACE_SETTINGS["philly"]), TRACE_MAPPINGS["philly"].spot_cap
    else:
        usage = trace_usage(trace)
        st, cap = dict(TRACE_SETTINGS[trace]), TRACE_MAPPINGS[trace].spot_cap
    st["warmup"] = parse_hours(st["warmup"]) + 24 * offset_days
    t0 = time.perf_counter()
    res = backtest(usage, catalog, "forecast,lookback,hindsight", spot_cap=cap, **st, **VARIANTS[variant])
    sec = time.perf_counter() - t0
    s = res.summary.set_index("policy")
    sel = res.settings["forecast_selection"]
    return dict(forecast=float(s.at["forecast", "savings_capture"]),
                lookback=float(s.at["lookback", "savings_capture"]),
                forecast_commitment=float(s.at["forecast", "commitment_capture"]),
                lookback_commitment=float(s.at["lookback", "commitment_capture"]),
                windows=int(res.settings["windows"]), seconds=sec,
                chosen=[c["chosen"] for c in sel], spread_scale=[c.get("spread_scale") for c in sel])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", default="philly,alibaba-dlrm,growth,decline")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--grids", action="store_true", help="every first-decision offset, not only the official")
    args = ap.parse_args(argv)
    from finops_forecast.pricing import load_pricing

    catalog = load_pricing()
    out = {}
    for trace in args.traces.split(","):
        n_off = (3 if trace == "alibaba-dlrm" else 7) if args.grids else 1
        out[trace] = {}
        for v in args.variants.split(","):
            runs = [run(trace, v, off, catalog) for off in range(n_off)]
            row = dict(runs=runs, forecast_mean=statistics.mean(r["forecast"] for r in runs),
                       lookback_mean=statistics.mean(r["lookback"] for r in runs),
                       seconds_official=runs[0]["seconds"])
            out[trace][v] = row
            print(f"{trace:13s} {v:15s} forecast {runs[0]['forecast']:.4f} lookback {runs[0]['lookback']:.4f} "
                  f"| grids mean {row['forecast_mean']:.4f} vs {row['lookback_mean']:.4f} "
                  f"| {runs[0]['seconds']:.1f} s | {''.join(c[0] for c in runs[0]['chosen'])} "
                  f"{runs[0]['spread_scale']}", flush=True)
    name = "forecast_edge" + ("_grids" if args.grids else "")
    write_result(name, dict(results=out, variants={k: {a: list(b) if isinstance(b, tuple) else b
                                                        for a, b in v.items()} for k, v in VARIANTS.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
