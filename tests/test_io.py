"""Output files are replaced whole or not at all: a failed or interrupted write leaves the previous file
byte-identical and no temporary file behind. "Disk full" is real here: RLIMIT_FSIZE makes the kernel refuse
writes past a size (EFBIG), as a full disk refuses them (ENOSPC)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from finops_forecast._io import atomic_write, atomic_write_bytes, atomic_write_text, write_frame
from tests.conftest import file_size_limit

PREVIOUS = "the previous good file\n"


def _previous(tmp_path, name):
    path = tmp_path / name
    path.write_text(PREVIOUS)
    return path


def _only(tmp_path, path):
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    assert path.read_text() == PREVIOUS


@pytest.mark.parametrize("exc", [ValueError("midway"), KeyboardInterrupt()])
def test_a_writer_that_fails_midway_leaves_the_previous_file(tmp_path, exc):
    path = _previous(tmp_path, "plan.json")

    def writer(tmp):
        tmp.write_text('{"half": ')
        raise exc

    with pytest.raises(type(exc)):
        atomic_write(path, writer)
    _only(tmp_path, path)


def test_success_replaces_the_file_with_the_usual_permissions(tmp_path):
    path = _previous(tmp_path, "report.html")
    path.chmod(0o640)
    atomic_write_text(path, "<p>new</p>")
    assert path.read_text() == "<p>new</p>" and (path.stat().st_mode & 0o777) == 0o640
    new = tmp_path / "new.bin"
    atomic_write_bytes(new, b"\x00\x01")
    assert new.read_bytes() == b"\x00\x01" and (new.stat().st_mode & 0o777) != 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.bin", "report.html"]


@pytest.mark.parametrize("name", ["usage.csv", "usage.csv.gz", "usage.parquet", "usage.json"])
def test_full_disk_during_a_frame_write_leaves_the_previous_file(tmp_path, name):
    path = _previous(tmp_path, name)
    frame = pd.DataFrame({"team": [f"team-{i:06d}" for i in range(50_000)], "gpu_hours": 1.5})
    with file_size_limit(4096), pytest.raises(OSError):
        write_frame(frame, path)
    _only(tmp_path, path)
    write_frame(frame.head(3), path)  # the suffix chooses the format, compression included
    back = (pd.read_parquet(path) if name.endswith(".parquet") else pd.read_json(path) if name.endswith(".json")
            else pd.read_csv(path))
    assert back["team"].tolist() == ["team-000000", "team-000001", "team-000002"]


def test_full_disk_during_a_text_write_leaves_the_previous_file(tmp_path):
    path = _previous(tmp_path, "plan.json")
    with file_size_limit(1024), pytest.raises(OSError):
        atomic_write_text(path, json.dumps({"x": "y" * 10_000}))
    _only(tmp_path, path)


def test_rename_onto_a_folder_fails_and_cleans_up(tmp_path):
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(OSError):
        write_frame(pd.DataFrame({"a": [1]}), tmp_path / "out.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"] and (tmp_path / "out.csv").is_dir()


def test_plan_and_backtest_writers_are_atomic(tmp_path):
    """The library's own writers (Plan.to_json / to_csv, BacktestResult.to_json) on a full disk."""
    from finops_forecast.evaluate.rolling import BacktestResult

    big = pd.DataFrame({"policy": ["forecast"] * 2000, "window": range(2000), "cost_usd": 1.0})
    res = BacktestResult(summary=big.head(1), windows=big, purchases=big.head(0), settings={})
    path = _previous(tmp_path, "backtest.json")
    with file_size_limit(4096), pytest.raises(OSError):
        res.to_json(path)
    _only(tmp_path, path)
