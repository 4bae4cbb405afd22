"""Benchmark of the quarterly report: :func:`finops_forecast.report.render_report` on the bundled sample.

Renders the sample's next-quarter report (papermill + nbconvert, a fresh kernel each time) into a temporary
folder ``--repeat`` times (default 3) and records:

- the median wall time and the spread (max / median) [s], goal < 30 s;
- the first render of this process separately (it also pays the imports of the renderer) [s];
- the time of each notebook cell (papermill's own timing, median over renders) [s], which says what dominates;
- the peak resident memory of the largest process that ran the notebook (the kernel, or the Dask worker of its
  track record), sampled from its own high-water mark while it runs, and of this process [MB], goal < 1024 MB.

Writes ``bench/results/report.json`` with the commit measured. Run: ``python bench/bench_report.py``.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402


def cell_times(notebook: Path) -> dict[str, float]:
    """Wall time of each code cell of an executed notebook, keyed by its first line [s]."""
    nb = json.loads(notebook.read_text())
    out = {}
    for i, c in enumerate(nb["cells"]):
        d = c.get("metadata", {}).get("papermill", {}).get("duration")
        if c["cell_type"] == "code" and d is not None:
            first = "".join(c["source"]).strip().splitlines()
            out[f"{i:02d} {first[0][:60] if first else ''}"] = float(d)
    return out


class ChildPeaks:
    """Peak resident memory of this process's descendants (the notebook kernel and its Dask worker), sampled
    from each one's own high-water mark (``VmHWM`` in /proc, monotonic) every ``period`` seconds while they run."""

    def __init__(self, period: float = 0.2):
        import threading

        self.period, self.peaks = period, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            for child in me.children(recursive=True):
                try:
                    with open(f"/proc/{child.pid}/status") as fh:
                        hwm = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:"))
                    name = " ".join(child.cmdline()[1:3])[:60]
                    self.peaks[child.pid] = (max(hwm / 1024, self.peaks.get(child.pid, (0, ""))[0]), name)
                except (OSError, StopIteration, psutil.Error):
                    continue
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def largest(self) -> tuple[float, str]:
        """(peak [MB], command) of the descendant with the largest peak."""
        return max(self.peaks.values(), default=(0.0, ""))


def peak_rss_mb() -> float:
    """Peak resident memory of this process [MB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="renders (median time)")
    args = ap.parse_args(argv)

    from finops_forecast.report import ReportParams, render_report

    times, files, cells, kernels = [], [], [], []
    for i in range(max(args.repeat, 1)):
        with tempfile.TemporaryDirectory() as tmp, ChildPeaks() as peaks:
            t0 = time.perf_counter()
            res = render_report(ReportParams(), output_root=Path(tmp))
            times.append(time.perf_counter() - t0)
            files = sorted(Path(f).name for f in res.files)
            cells.append(cell_times(res.notebook))
        kernels.append(peaks.largest())
        print(f"render {i + 1}: {times[-1]:.1f} s", flush=True)
    med = statistics.median(times)
    per_cell = {k: statistics.median(c[k] for c in cells) for k in cells[0]}
    me = peak_rss_mb()
    kernel, kernel_cmd = max(kernels)
    out = {"benchmark": "report", "case": "render_report(ReportParams()) on the bundled sample",
           "seconds_median": med, "seconds": times, "first_render_seconds": times[0], "repeats": len(times),
           "ratio_max_over_median": max(times) / med, "cell_seconds_median": per_cell,
           "peak_rss_mb_kernel": kernel, "peak_rss_mb_kernel_process": kernel_cmd,
           "peak_rss_mb_each_render": [k for k, _ in kernels], "peak_rss_mb_renderer": me, "files": files}
    path = write_result("report", out, goals={
        "render median [s]": (round(med, 2), 30.0, "s"),
        "peak RSS of the notebook's processes [MB]": (round(kernel), 1024.0, "MB")})
    for k, v in sorted(per_cell.items(), key=lambda kv: -kv[1])[:6]:
        print(f"   {v:6.1f} s  cell {k}")
    print(f"report: median {med:.1f} s over {len(times)} renders (first {times[0]:.1f} s, max / median "
          f"{max(times) / med:.2f}); peak RSS kernel {kernel:.0f} MB, renderer {me:.0f} MB; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
