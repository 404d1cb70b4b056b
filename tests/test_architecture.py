"""The import rules of docs/ARCHITECTURE.md, checked on the source tree with a small AST walk.

A *unit* is a top-level module or package under ``src/skim`` (``skim.data``, ``skim.encode``).
Every ``import``/``from ... import`` is read, lazy ones inside functions included, and:

- no two units import each other, directly or through others (no cycle);
- no unit imports a unit of a later layer in :data:`LAYERS` (no upward edge);
- no unit imports a ``_private`` name, or a ``_private`` submodule, of another unit.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "skim"

# Low to high; a unit may import units of its own layer or earlier ones (never a cycle).
# The stages are one layer each, in the order they may use each other: data flows forward.
LAYERS: list[set[str]] = [
    {
        "errors",
        "_floats",
        "_redact",
        "_io",
        "_log",
        "_print",
        "_params",
        "__init__",
        "argtypes",
        "registry",
        "devices",
    },
    {
        "data",
        "direction",
        "records",
        "pairs",
        "modelfolder",
        "prompts",
        "encode",
        "cache",  # the embedding cache on disk: info, clear, compact
        "index",
        "stage",
        "scale",  # the Ray cluster helpers (see test_scale_imports_only_errors)
    },
    {"simulate"},
    {"teach"},
    {"distill"},
    {"generate"},
    {"learners"},
    {"map"},
    {"evaluate"},
    {"pipeline", "demo", "cli", "__main__"},
]


def unit_of(module: str) -> str:
    """``skim.map.tau`` -> ``map``; ``skim`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, src: Path = SRC) -> str:
    rel = path.relative_to(src.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_edges(src: Path = SRC) -> list[tuple[str, str, str]]:
    """Every skim import as (importer module, imported module, imported name or "")."""
    edges = []
    for path in sorted(src.rglob("*.py")):
        importer = module_name(path, src)
        package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges += [(importer, a.name, "") for a in node.names if a.name.startswith("skim")]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against the importer's package
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                if base == "skim" or base.startswith("skim."):
                    edges += [(importer, base, a.name) for a in node.names]
    return edges


def unit_edges(edges: Iterable[tuple[str, str, str]]) -> set[tuple[str, str]]:
    """The edges between distinct units; ``from skim import x`` counts as importing unit x
    when x is a unit, else as importing ``skim/__init__``."""
    out = set()
    for importer, module, name in edges:
        target = unit_of(module)
        if module == "skim" and name and not name[0].isupper() and name != "__version__":
            target = name
        if unit_of(importer) != target:
            out.add((unit_of(importer), target))
    return out


def cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_of(unit: str, layers: list[set[str]] = LAYERS) -> int:
    for i, members in enumerate(layers):
        if unit in members:
            return i
    raise AssertionError(f"skim.{unit} is in no layer of tests/test_architecture.py LAYERS")


def upward(edges: Iterable[tuple[str, str]], layers: list[set[str]] = LAYERS) -> list[str]:
    """Each edge from a unit to a unit of a later layer, as ``a -> b``."""
    return sorted(f"{a} -> {b}" for a, b in edges if layer_of(a, layers) < layer_of(b, layers))


def private_reaches(edges: Iterable[tuple[str, str, str]]) -> list[str]:
    """Each import of another unit's ``_name`` or ``_submodule``."""
    out = []
    for importer, module, name in edges:
        if unit_of(importer) == unit_of(module) or module == "skim":
            continue
        inner = module.split(".")[2:]  # below the unit: skim.<unit>.<inner...>
        if name.startswith("_") or any(p.startswith("_") for p in inner):
            out.append(f"{importer} imports {module}.{name}".rstrip("."))
    return sorted(out)


# -- the checker itself, on hand-made graphs: it must be able to fail ----------------------


def test_cycles_finds_a_loop_through_three_units():
    assert cycles([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]) == [["a", "b", "c"]]
    assert cycles([("a", "b"), ("b", "c"), ("a", "c")]) == []


def test_upward_names_the_edge_into_a_later_layer():
    layers = [{"low"}, {"mid"}, {"top"}]
    assert upward([("top", "low"), ("mid", "low")], layers) == []
    assert upward([("low", "top"), ("mid", "low")], layers) == ["low -> top"]


def test_private_reach_is_only_across_units():
    edges = [
        ("skim.map.cli", "skim.map.mapping", "_check"),  # inside its own unit: fine
        ("skim.learners.prediction", "skim.map.tau", "_known"),
        ("skim.generate.run", "skim.teach._store", "write"),
        ("skim.map.tau", "skim._io", "atomic_path"),  # the foundation's modules are shared
    ]
    assert private_reaches(edges) == [
        "skim.generate.run imports skim.teach._store.write",
        "skim.learners.prediction imports skim.map.tau._known",
    ]


def test_import_edges_reads_lazy_and_relative_imports(tmp_path):
    pkg = tmp_path / "skim" / "stage"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .run import go\n")
    (pkg / "run.py").write_text("def go():\n    from skim.data import load\n    return load\n")
    edges = import_edges(tmp_path / "skim")
    assert ("skim.stage", "skim.stage.run", "go") in edges
    assert ("skim.stage.run", "skim.data", "load") in edges
    assert unit_edges(edges) == {("stage", "data")}


# -- the rules, on the real tree ---------------------------------------------------------------


@pytest.fixture(scope="module")
def edges() -> list[tuple[str, str, str]]:
    return import_edges()


def test_every_unit_has_a_layer(edges):
    units = {unit_of(module_name(p)) for p in SRC.rglob("*.py")}
    for unit in units:
        layer_of(unit)


def test_no_import_cycle_between_units(edges):
    assert cycles(unit_edges(edges)) == []


def test_no_upward_import(edges):
    assert upward(unit_edges(edges)) == []


def test_no_import_of_another_units_private_names(edges):
    assert private_reaches(edges) == []


def test_scale_imports_only_errors(edges):
    """skim.scale, under both Ray paths (map.ray_map, generate.ray_run), needs no other unit."""
    assert {b for a, b in unit_edges(edges) if a == "scale"} <= {"errors"}
