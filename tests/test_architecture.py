"""The package's shape: shared constants defined once, and a module import graph without cycles or upward imports.

The graph is read from the source (``ast``), not from ``sys.modules``, so imports inside functions count too.
``from finops_forecast.<package> import name`` is resolved through the package's lazy ``_EXPORTS`` map to the
module that defines ``name``.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "finops_forecast"

#: data flows one way: a module may import from its own rank or a lower one (showback sits beside report)
STAGE_RANK = {"usage": 0, "forecast": 1, "pricing": 2, "portfolio": 3, "evaluate": 4, "report": 5,
              "showback": 5, "cli": 6}
#: top-level helper modules every stage may use; they import no stage
BASE_RANK = -1
#: the package itself (the public API) and ``finops_forecast.cli`` sit on top
TOP_RANK = 6

#: upward imports that existed when this test was written and are not fixed yet: (importer, imported).
#: The test fails on any other upward import, and on one of these that has gone (so the list shrinks).
KNOWN_UPWARD: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    """Dotted name of a source file of the package (``finops_forecast/usage/schema.py`` -> ``...usage.schema``)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def lazy_exports_map(tree: ast.Module) -> dict[str, str]:
    """The ``_EXPORTS = {name: module}`` literal of a package ``__init__`` (empty when it has none)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_EXPORTS" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def absolute_base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` names, relative imports included."""
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def imported_modules(path: Path, modules: dict[str, Path], exports: dict[str, dict[str, str]]) -> set[str]:
    """The package modules one source file imports, at module level or inside functions."""
    module = module_name(path)
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = absolute_base(node, module, path.name == "__init__.py")
            if base not in modules:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in modules else exports.get(base, {}).get(alias.name, base))
    out.discard(module)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    modules = package_modules()
    exports = {m: lazy_exports_map(ast.parse(p.read_text())) for m, p in modules.items() if p.name == "__init__.py"}
    return {m: imported_modules(p, modules, exports) for m, p in modules.items()}


def rank(module: str) -> int:
    """Stage rank of a module: its stage's, the base's for top-level helpers, the top's for the package."""
    parts = module.split(".")
    if len(parts) == 1:
        return TOP_RANK
    if parts[1] in STAGE_RANK:
        return STAGE_RANK[parts[1]]
    return BASE_RANK


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(importer, imported) pairs where a module imports from a higher stage."""
    return {(m, d) for m, deps in graph.items() for d in deps if rank(d) > rank(m)}


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_graph_sees_function_level_and_lazy_imports(graph):
    # report.render imports report.analysis inside a function; report.analysis reaches evaluate through the
    # lazy package map: both must be edges or the checks below would pass vacuously
    assert "finops_forecast.report.analysis" in graph["finops_forecast.report.render"]
    assert "finops_forecast.evaluate.rolling" in graph["finops_forecast.report.analysis"]
    assert len(graph) > 50


def test_cycle_finder_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles(graph):
    assert find_cycles(graph) == []


def test_no_upward_imports(graph):
    assert upward_imports(graph) == KNOWN_UPWARD


@pytest.mark.parametrize("name", ["SERIES_KEYS", "POOL_KEYS", "HOURS_PER_MONTH", "HOURS_PER_YEAR"])
def test_shared_constant_defined_once(name):
    pattern = re.compile(rf"^\s*{name}\s*(:[^=]+)?=(?!=)", re.MULTILINE)
    where = [str(p.relative_to(PACKAGE.parent)) for p in sorted(PACKAGE.rglob("*.py")) if pattern.search(p.read_text())]
    assert where == ["finops_forecast/constants.py"]
