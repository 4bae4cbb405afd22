"""The bundled catalog is what tools/build_pricing.py makes from the raw sources; importing does no I/O."""
from __future__ import annotations

import gzip
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from finops_forecast._data import pricing_file

REPO = Path(__file__).resolve().parents[2]


def test_import_does_no_io_and_loads_nothing_heavy():
    code = ("import sys, builtins\n"
            "opened = []\n"
            "real = builtins.open\n"
            "builtins.open = lambda *a, **k: (opened.append(a[0]), real(*a, **k))[1]\n"
            "import finops_forecast.pricing as p\n"
            "assert 'load_pricing' in dir(p)\n"
            "print(sorted(m for m in ('pandas', 'yaml', 'typer') if m in sys.modules), opened)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[] []"


@pytest.mark.slow
def test_bundled_catalog_is_up_to_date_and_deterministic(datasets, tmp_path, monkeypatch):
    monkeypatch.setenv("FINOPS_SHARED_DATASETS", str(datasets))
    spec = importlib.util.spec_from_file_location("build_pricing", REPO / "tools" / "build_pricing.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, build in (("aws", mod.build_aws), ("gcp", mod.build_gcp), ("azure", mod.build_azure)):
        out = tmp_path / f"catalog_{name}.csv.gz"
        mod.write(build(), out)
        bundled = pricing_file(f"catalog_{name}.csv.gz")
        assert gzip.decompress(out.read_bytes()) == gzip.decompress(bundled.read_bytes()), (
            f"pricing/catalog_{name}.csv.gz is stale: run tools/build_pricing.py")
        assert out.read_bytes() == bundled.read_bytes()
