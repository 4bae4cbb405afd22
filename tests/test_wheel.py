"""The wheel installs in a fresh virtual environment and runs the CLI's report outside the checkout."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_installs_and_reports_outside_the_checkout():
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "wheel_check.py"), "--small", "--reuse-deps"], capture_output=True, text=True,
                          timeout=3000)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "renders reports/2027Q1/report.html outside the checkout" in proc.stdout
