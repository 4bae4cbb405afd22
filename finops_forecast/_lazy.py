"""Lazy re-exports for package ``__init__`` modules: importing a package does no I/O and loads nothing heavy.

Usage in a package's ``__init__.py``::

    from finops_forecast._lazy import lazy_exports
    __getattr__, __dir__, __all__ = lazy_exports(__name__, {"load_pricing": "finops_forecast.pricing.catalog"})

A name is taken from its module; a name that the module does not define but that *is* the module's own name
(``{"charts": "finops_forecast.report.charts"}``) exports the module itself.
"""
from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, exports: dict[str, str]):
    """Return ``(__getattr__, __dir__, __all__)`` that import each public name from its module on first use."""
    names = sorted(exports)

    def __getattr__(name: str):
        try:
            module_name = exports[name]
        except KeyError:
            raise AttributeError(f"module '{package}' has no attribute '{name}'") from None
        module = importlib.import_module(module_name)
        try:
            value = getattr(module, name)
        except AttributeError:
            if module_name.rsplit(".", 1)[-1] != name:
                raise
            value = module
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return names

    return __getattr__, __dir__, names
