"""Prove the wheel works outside the checkout: build it, install it in a fresh virtual environment in a
temporary folder, and run ``finops-forecast report --sample`` there (pricing data, notebook and sample fleet
must all come from the installed wheel).

    python tools/wheel_check.py          # or: make wheel-check

Exits non-zero, printing the failing step's output, when any step fails.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, cwd, env=None, timeout=1800):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        sys.stderr.write(f"FAILED ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout[-4000:]}\n"
                         f"{proc.stderr[-4000:]}\n")
        raise SystemExit(1)
    print(f"ok ({time.perf_counter() - t0:.0f} s): {' '.join(map(str, cmd))}")
    return proc


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="build the wheel, install it outside the checkout, render a report")
    ap.add_argument("--small", action="store_true",
                    help="render a small report (20 paths, 4 quarters, 2 track-record weeks): the same packaging "
                         "check in a third of the time (the test suite uses it)")
    ap.add_argument("--reuse-deps", action="store_true",
                    help="install the wheel with --no-deps into the fresh venv and let it import the dependencies "
                         "from this interpreter's environment (a .pth file): the same check of the package's own "
                         "files, entry point and bundled data, without downloading or installing the "
                         "dependencies again (the test suite uses it; `make wheel-check` installs them for real)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="finops-wheel-") as tmp:
        tmp = Path(tmp)
        run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "dist"), str(ROOT)], cwd=tmp)
        wheel = next((tmp / "dist").glob("finops_forecast-*.whl"))
        run([sys.executable, "-m", "venv", str(tmp / "venv")], cwd=tmp)
        py = tmp / "venv" / "bin" / "python"
        if args.reuse_deps:
            import site
            import sysconfig

            target = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              cwd=tmp).stdout.strip())
            ours = [p for p in site.getsitepackages() + [sysconfig.get_paths()["purelib"]] if Path(p).is_dir()]
            (target / "zz_reuse_deps.pth").write_text("\n".join(dict.fromkeys(ours)) + "\n")
            run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], cwd=tmp)
            check = subprocess.run([str(py), "-m", "pip", "check"], cwd=tmp, capture_output=True, text=True)
            missing = [ln for ln in check.stdout.splitlines() if "finops-forecast" in ln.lower()
                       or "finops_forecast" in ln.lower()]
            if missing:
                sys.stderr.write("the wheel's requirements are not met:\n" + "\n".join(missing) + "\n")
                return 1
        else:
            run([str(py), "-m", "pip", "install", "-q", str(wheel)], cwd=tmp)
        work = tmp / "elsewhere"
        work.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = f"{tmp / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        if args.reuse_deps:  # the dependencies' data files (nbconvert's templates) live under this prefix
            env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
        proc = run([str(py), "-c", "import finops_forecast._data as d, finops_forecast; "
                                   "print(d.pricing_dir()); print(d.notebooks_dir()); print(finops_forecast.__file__)"],
                   cwd=work, env=env)
        if str(ROOT) in proc.stdout:
            sys.stderr.write(f"the installed package reads files from the checkout:\n{proc.stdout}")
            return 1
        small = []
        if args.small:
            (work / "small.yaml").write_text("n_paths: 20\nquarters: 4\nhistory_days: 30\ntrack_record_weeks: 2\n")
            small = ["--params", "small.yaml"]
        run([str(tmp / "venv" / "bin" / "finops-forecast"), "report", "--sample", "--output", "reports", *small],
            cwd=work, env=env)
        html = work / "reports" / "2027Q1" / "report.html"
        if not html.exists():
            sys.stderr.write(f"no report at {html}\n")
            return 1
        print(f"wheel {wheel.name} installs and renders {html.relative_to(work)} outside the checkout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
