"""Write output files whole or not at all.

Every file finops_forecast writes (usage tables, forecasts, plans, backtests, showback tables, report files)
goes through :func:`atomic_write`: the content is written to a temporary file in the same folder, flushed to
disk, and renamed over the destination with :func:`os.replace` (atomic on POSIX and Windows). A full disk, an
error in the writer or Ctrl-C leaves the previous file byte-identical and removes the temporary file.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from finops_forecast.errors import FinopsError


class OutputWriteError(FinopsError, OSError):
    """An output file could not be written (full disk, no permission, a folder in the way); the previous file,
    if any, is unchanged."""


def _temp_beside(path: Path) -> Path:
    """An empty temporary file in ``path``'s folder that keeps its suffixes (so pandas infers ``.gz``)."""
    suffix = "".join(path.suffixes)
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.tmp-", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp)


def _file_mode(path: Path) -> int:
    """The destination's permission bits: the previous file's, else the ones ``open`` would give (umask)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _fsync(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return  # some platforms cannot open a folder; the rename is still atomic
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, writer: Callable[[Path], object]) -> Path:
    """Write ``path`` through ``writer`` so that it is replaced whole or not at all.

    Parameters
    ----------
    path : path
        The destination file; its folder must exist.
    writer : callable
        Called with the path of a temporary file in the same folder (same suffixes); it writes the content there.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputWriteError
        When the file cannot be written or renamed (full disk, permissions, a folder in the way); the previous
        file is unchanged. Any other exception of ``writer`` (KeyboardInterrupt included) propagates as is,
        also with the previous file unchanged and the temporary file removed.
    """
    path = Path(path)
    try:
        tmp = _temp_beside(path)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        writer(tmp)
        os.chmod(tmp, _file_mode(path))
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, FinopsError):
            raise _write_error(path, exc) from exc
        raise
    _fsync(path.parent, directory=True)
    return path


def _write_error(path: Path, exc: OSError) -> OutputWriteError:
    return OutputWriteError(f"{path}: cannot write the file ({exc.strerror or exc}). The previous file, if any, "
                            f"is unchanged. Free disk space, fix the folder's permissions or choose another path.")


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Replace ``path`` with ``text`` whole or not at all (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Replace ``path`` with ``data`` whole or not at all (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_frame(frame, path: str | os.PathLike, *, index: bool = False) -> Path:
    """Write a DataFrame whole or not at all, in the format its suffix names.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : path
        ``.parquet``; ``.json`` (records, ISO dates); anything else is CSV, compressed when the name says so
        (``.csv.gz``, ``.csv.zst``, ...).
    index : bool, default False
        Write the index too.

    Returns
    -------
    Path
    """
    path = Path(path)

    def writer(tmp: Path) -> None:
        if path.suffix == ".parquet":
            frame.to_parquet(tmp, index=index)
        elif path.suffix == ".json":
            frame.to_json(tmp, orient="records", date_format="iso", index=index)
        else:
            frame.to_csv(tmp, index=index)

    return atomic_write(path, writer)
