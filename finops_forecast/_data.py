"""Paths of the data bundled with the package (pricing catalog, instance registry, notebook templates).

The top-level ``pricing/`` and ``notebooks/`` folders of the repository are shipped inside the wheel as
``finops_forecast/_bundled/pricing`` and ``finops_forecast/_bundled/notebooks`` (see ``pyproject.toml``). In a source checkout or an editable install that
folder does not exist, so the accessor falls back to the repository's ``pricing/``. Nothing is read here:
callers open the files they need, when they need them.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def pricing_dir() -> Path:
    """Folder of the bundled pricing data (``pricing/`` of the repository).

    Returns
    -------
    pathlib.Path
        An existing directory.
    """
    for candidate in (_PACKAGE / "_bundled" / "pricing", _PACKAGE.parent / "pricing"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "The bundled pricing data is missing: neither finops_forecast/_bundled/pricing (wheel) nor "
        "pricing/ beside the package (source checkout) exists. Reinstall finops_forecast from a wheel or "
        "run from a full checkout."
    )


@cache
def notebooks_dir() -> Path:
    """Folder of the bundled notebook templates (``notebooks/`` of the repository, shipped in the wheel)."""
    for candidate in (_PACKAGE / "_bundled" / "notebooks", _PACKAGE.parent / "notebooks"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("The bundled notebooks are missing: reinstall finops_forecast from a wheel or run from "
                            "a full checkout.")


def pricing_file(name: str) -> Path:
    """Path of one bundled pricing file, e.g. ``pricing_file("instance_types.csv")``."""
    path = pricing_dir() / name
    if not path.exists():
        names = sorted(p.name for p in pricing_dir().iterdir() if p.is_file())
        raise FileNotFoundError(f"Invalid bundled pricing file '{name}'. Provide one of {names}.")
    return path
