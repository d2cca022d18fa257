"""The layers contract, read from the source: who may import whom.

The import graph of ``skmtl/`` is read with :mod:`ast`, never by importing
the modules: every ``import`` and ``from`` statement counts, at module level
and inside functions (a lazy import still ties two modules together; it only
defers the moment), relative or absolute.

The layers, bottom to top (DESIGN.md, "Layers")::

    utils < data < nn < training < {io, inspect} < estimator < cli

A module may import its own layer and the layers below it; ``io`` and
``inspect`` stand side by side and may not import each other.

The package root (``skmtl/__init__.py``, ``__main__.py``, ``_moved.py``,
``_version.py``) is the entry point, above ``cli``: it may import any layer
(``__init__`` does so lazily, through its ``_LAZY`` table, and ``_moved``
through :func:`importlib.import_module`, neither of which is an import
statement). Going the other way:

* ``skmtl._version`` imports nothing, so every layer may read it.
* A lazy name of the root (``from skmtl import MultiTaskConvEstimator``)
  counts as an import of the module that defines it (``skmtl.estimator``),
  so the ordinary layer rule decides who may use it.
* The root's other names (``_USER_TF_LOG_LEVEL``, which only the root can
  record, before TensorFlow is first imported), ``_moved`` and ``__main__``
  may be read by ``cli`` alone, the layer just below the root.
* An old path (``skmtl.inputs`` for ``skmtl.data.inputs``, see
  ``skmtl/_moved.py``) is for users' code and old pickles: the package itself
  imports the new paths.

Imports under ``if TYPE_CHECKING:`` count for the layer contract (a type
named in a signature is a dependency of the design) but not for cycles: they
never run, so they cannot make one.

Cycles are strongly connected components of the module graph, counting
function-level imports. Importing ``skmtl.a.b`` also runs ``skmtl/a/__init__``,
so the graph has that edge too, except towards the importer's own packages
(which are already being imported when it runs).

scikeras: nothing outside ``skmtl/estimator/`` imports it, and no module
imports a private scikeras module (``scikeras._utils``).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import skmtl
from skmtl._moved import MOVED

PACKAGE = "skmtl"
PACKAGE_DIR = Path(skmtl.__file__).resolve().parent

# Rank of each layer folder; io and inspect share a rank and may not import
# each other.
LAYERS = {
    "utils": 0,
    "data": 1,
    "nn": 2,
    "training": 3,
    "io": 4,
    "inspect": 4,
    "estimator": 5,
    "cli": 6,
}
ORDER = "utils < data < nn < training < {io, inspect} < estimator < cli"
# Two pseudo-layers for the package root (see the module docstring).
ROOT, VERSION = "root", "version"
ROOT_READERS = {"cli"}


@dataclass(frozen=True)
class Import:
    """One import statement's edge from a module of skmtl to another."""

    importer: str
    imported: str
    line: int
    in_function: bool = False
    type_only: bool = False
    old_path: str | None = None  # the old path the statement named, if any

    def where(self) -> str:
        scope = " (in a function)" if self.in_function else ""
        return f"{self.importer} line {self.line}{scope}"


@dataclass(frozen=True)
class External:
    """An import of a module outside skmtl."""

    importer: str
    module: str
    line: int


# ---------------------------------------------------------------- reading
def package_modules(root: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the statements under ``if TYPE_CHECKING:``."""
    inside = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.If):
            continue
        test = node.test
        name = test.attr if isinstance(test, ast.Attribute) else None
        name = test.id if isinstance(test, ast.Name) else name
        if name == "TYPE_CHECKING":
            for stmt in node.body:
                inside.update(id(n) for n in ast.walk(stmt))
    return inside


def _function_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside a function body (lazy imports)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for child in ast.iter_child_nodes(node):
                inside.update(id(n) for n in ast.walk(child))
    return inside


def _from_base(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` statement reads from."""
    if node.level == 0:
        return node.module or ""
    package = importer if is_package else importer.rpartition(".")[0]
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - (node.level - 1)])
    return f"{base}.{node.module}" if node.module else base


def _ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def _canonical(name: str, modules: dict) -> tuple[str, str | None]:
    """(the module now at ``name``, the old path if ``name`` was one)."""
    if name in modules:
        return name, None
    for old, new in MOVED.items():
        old_path = f"{PACKAGE}.{old}"
        if name == old_path or name.startswith(old_path + "."):
            return f"{PACKAGE}.{new}{name[len(old_path) :]}", name
    raise AssertionError(f"{name} is not a module of {PACKAGE}")


def _targets(base: str, names: list[str], modules: dict) -> list[str]:
    """What ``from base import names`` imports: submodules, a lazy name's
    module, or ``base`` itself."""
    targets = []
    for name in names:
        submodule = f"{base}.{name}"
        if submodule in modules or any(
            submodule == f"{PACKAGE}.{old}" for old in MOVED
        ):
            targets.append(submodule)
        elif base == PACKAGE and name in skmtl._LAZY:
            targets.append(PACKAGE + skmtl._LAZY[name])
        else:
            targets.append(base)
    return targets


def imports_of(
    importer: str, source: str, is_package: bool, modules: dict
) -> tuple[list[Import], list[External]]:
    """The edges of one module's source: to skmtl modules, and to others."""
    tree = ast.parse(source)
    type_only = _type_checking_nodes(tree)
    in_function = _function_nodes(tree)
    edges, externals = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(importer, is_package, node)
            if not _ours(base):
                externals.append(External(importer, base, node.lineno))
                continue
            names = _targets(base, [a.name for a in node.names], modules)
        else:
            continue
        for name in names:
            if not _ours(name):
                externals.append(External(importer, name, node.lineno))
                continue
            imported, old = _canonical(name, modules)
            edges.append(
                Import(
                    importer,
                    imported,
                    node.lineno,
                    in_function=id(node) in in_function,
                    type_only=id(node) in type_only,
                    old_path=old,
                )
            )
    # ast.walk goes breadth first: give the edges in the order of the source.
    return sorted(edges, key=_line), sorted(externals, key=_line)


def _line(found: Import | External) -> int:
    return found.line


def read_graph(root: Path = PACKAGE_DIR) -> tuple[list[Import], list[External]]:
    """Every import of the package at ``root``."""
    modules = package_modules(root)
    edges, externals = [], []
    for name, path in modules.items():
        found = imports_of(name, path.read_text(), path.name == "__init__.py", modules)
        edges += found[0]
        externals += found[1]
    return edges, externals


@pytest.fixture(scope="module")
def graph():
    return read_graph()


# ---------------------------------------------------------------- layers
def layer_of(module: str) -> str:
    """The layer of a module of skmtl (ROOT and VERSION for the root)."""
    parts = module.split(".")
    if module == f"{PACKAGE}._version":
        return VERSION
    if len(parts) == 1 or parts[1] in {"__main__", "_moved"}:
        return ROOT
    if parts[1] not in LAYERS:
        raise AssertionError(f"{module} is in no layer of {ORDER}")
    return parts[1]


def allowed(importer_layer: str, imported_layer: str) -> bool:
    """Whether a module of one layer may import a module of the other."""
    if importer_layer == imported_layer or imported_layer == VERSION:
        return True
    if importer_layer == ROOT:
        return True
    if imported_layer == ROOT:
        return importer_layer in ROOT_READERS
    if importer_layer == VERSION:
        return False
    return LAYERS[imported_layer] < LAYERS[importer_layer]


def layer_violations(edges: list[Import]) -> list[str]:
    found = []
    for edge in edges:
        mine, theirs = layer_of(edge.importer), layer_of(edge.imported)
        if not allowed(mine, theirs):
            found.append(
                f"{edge.where()}: {edge.importer} ({mine}) imports "
                f"{edge.imported} ({theirs})"
            )
    return found


# ---------------------------------------------------------------- cycles
def runtime_graph(edges: list[Import]) -> dict[str, dict[str, Import]]:
    """importer -> {imported: the first edge}, with the packages' __init__
    that an import also runs; TYPE_CHECKING imports left out."""
    graph: dict[str, dict[str, Import]] = {}
    for edge in edges:
        if edge.type_only:
            continue
        parts = edge.imported.split(".")
        parents = [".".join(parts[:i]) for i in range(1, len(parts))]
        for target in [edge.imported, *parents]:
            if edge.importer == target or edge.importer.startswith(target + "."):
                continue  # the importer's own package: already importing
            graph.setdefault(edge.importer, {}).setdefault(target, edge)
    return graph


def strongly_connected(graph: dict[str, dict]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, {}):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def cycles(edges: list[Import]) -> list[str]:
    """One line per cycle: its modules and the imports that close it."""
    graph = runtime_graph(edges)
    found = []
    for component in strongly_connected(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph.get(component[0], {}):
            continue
        links = [
            f"{edge.where()} -> {target}"
            for source in component
            for target, edge in sorted(graph.get(source, {}).items())
            if target in members
        ]
        found.append(f"cycle {component}: " + "; ".join(links))
    return found


# ---------------------------------------------------------------- the reader
def test_the_reader_sees_function_level_relative_and_lazy_imports():
    modules = {
        "skmtl": None,
        "skmtl.data": None,
        "skmtl.data.inputs": None,
        "skmtl.data.ragged": None,
        "skmtl.estimator": None,
    }
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import ragged\n"
        "import skmtl.targets\n"
        "if TYPE_CHECKING:\n"
        "    from ..estimator import MultiTaskConvEstimator\n"
        "def f():\n"
        "    from .. import MultiTaskConvEstimator\n"
        "    import numpy\n"
    )
    edges, externals = imports_of("skmtl.data.inputs", source, False, modules)
    assert [(e.imported, e.line) for e in edges] == [
        ("skmtl.data.ragged", 2),
        ("skmtl.data.targets", 3),
        ("skmtl.estimator", 5),
        ("skmtl.estimator", 7),
    ]
    assert [e.old_path for e in edges] == [None, "skmtl.targets", None, None]
    assert [(e.in_function, e.type_only) for e in edges] == [
        (False, False),
        (False, False),
        (False, True),
        (True, False),
    ]
    assert [x.module for x in externals] == ["typing", "numpy"]
    assert layer_violations(edges) == [
        "skmtl.data.inputs line 5: skmtl.data.inputs (data) imports "
        "skmtl.estimator (estimator)",
        "skmtl.data.inputs line 7 (in a function): skmtl.data.inputs (data) "
        "imports skmtl.estimator (estimator)",
    ]


def test_the_cycle_finder_names_each_cycle_and_skips_type_only_imports():
    edges = [
        Import("skmtl.data.a", "skmtl.data.b", 1),
        Import("skmtl.data.b", "skmtl.data.a", 9, in_function=True),
        Import("skmtl.data.b", "skmtl.data.c", 2),
        Import("skmtl.data.c", "skmtl.data.b", 3, type_only=True),
    ]
    assert cycles(edges) == [
        "cycle ['skmtl.data.a', 'skmtl.data.b']: skmtl.data.a line 1 -> "
        "skmtl.data.b; skmtl.data.b line 9 (in a function) -> skmtl.data.a"
    ]


def test_the_layer_rule_between_neighbours_and_the_root():
    assert allowed("training", "nn") and not allowed("nn", "training")
    assert not allowed("io", "inspect") and not allowed("inspect", "io")
    assert allowed("data", VERSION) and allowed(ROOT, "cli")
    assert allowed("cli", ROOT) and not allowed("estimator", ROOT)


def test_the_graph_is_read_from_the_whole_package(graph):
    edges, externals = graph
    importers = {e.importer for e in edges}
    # Every layer folder has modules that import others of skmtl.
    assert {layer_of(m) for m in importers} >= set(LAYERS) - {"utils"}
    # A function-level import the command line makes to stay fast.
    assert any(
        e.importer == "skmtl.cli.command"
        and e.imported == "skmtl.estimator.wrapper"
        and e.in_function
        for e in edges
    )
    assert any(x.module == "numpy" for x in externals)


# ---------------------------------------------------------------- the contract
def test_every_module_is_in_a_layer():
    for module in package_modules():
        layer_of(module)  # raises for a folder outside the layers


def test_each_layer_imports_only_itself_and_the_layers_below(graph):
    edges, _ = graph
    found = layer_violations(edges)
    assert not found, f"imports against the layers {ORDER}:\n" + "\n".join(found)


def test_the_package_imports_its_modules_by_their_new_paths(graph):
    edges, _ = graph
    found = [
        f"{e.where()}: {e.old_path} (now {e.imported})" for e in edges if e.old_path
    ]
    assert not found, "old module paths inside skmtl:\n" + "\n".join(found)


def test_no_import_cycle(graph):
    edges, _ = graph
    found = cycles(edges)
    assert not found, "import cycles:\n" + "\n".join(found)


def _scikeras(externals: list[External]) -> list[External]:
    return [
        x
        for x in externals
        if x.module == "scikeras" or x.module.startswith("scikeras.")
    ]


def test_only_the_estimator_imports_scikeras(graph):
    _, externals = graph
    found = [
        f"{x.importer} line {x.line}: {x.module}"
        for x in _scikeras(externals)
        if layer_of(x.importer) != "estimator"
    ]
    assert not found, "scikeras outside skmtl/estimator/:\n" + "\n".join(found)


def test_no_private_scikeras_module_is_imported(graph):
    _, externals = graph
    found = [
        f"{x.importer} line {x.line}: {x.module}"
        for x in _scikeras(externals)
        if any(part.startswith("_") for part in x.module.split("."))
    ]
    assert not found, "private scikeras modules:\n" + "\n".join(found)


# ---------------------------------------------------------------- warnings
# Warnings point at the user's code: skmtl.utils.warnings.warn_user walks out
# of the package instead of counting frames by hand.
def _hand_counted_stacklevels(path: Path) -> list[int]:
    """Lines of ``warnings.warn`` calls that pass a ``stacklevel``."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "warn"
        and any(k.arg == "stacklevel" for k in node.keywords)
    ]


def _stacklevel_cases():
    # Modules still counting by hand; drop each entry once it uses warn_user
    # (strict: the test then fails until the entry goes).
    pending = {}
    for module, path in package_modules().items():
        if module == f"{PACKAGE}.utils.warnings":
            continue  # the one place that computes a stacklevel
        marks = ()
        if module in pending:
            marks = pytest.mark.xfail(strict=True, reason=pending[module])
        yield pytest.param(path, id=module, marks=marks)


@pytest.mark.parametrize("path", list(_stacklevel_cases()))
def test_no_warning_counts_its_stack_level_by_hand(path):
    lines = _hand_counted_stacklevels(path)
    assert not lines, (
        f"{path.name} lines {lines}: a stacklevel counted by hand; use "
        "skmtl.utils.warnings.warn_user"
    )


def test_warn_user_reports_the_first_frame_outside_the_package():
    from skmtl.utils.warnings import warn_user

    # Two frames "inside skmtl" (compiled under its folder) between this test
    # and warn_user: both are skipped.
    source = "def inner(warn):\n    warn('deep')\ndef outer(warn):\n    inner(warn)\n"
    namespace = {}
    exec(compile(source, str(PACKAGE_DIR / "data" / "_deep.py"), "exec"), namespace)
    with pytest.warns(UserWarning, match="deep") as record:
        line = sys._getframe().f_lineno + 1
        namespace["outer"](warn_user)
    assert (record[0].filename, record[0].lineno) == (__file__, line)


def _guessed_kind():
    from skmtl.data.targets import TargetEncoder

    TargetEncoder().fit(np.repeat([0.0, 1.0, 2.0], 10))


def _channels_first():
    from skmtl.data.inputs import infer_schema

    infer_schema(np.zeros((4, 3, 8)))


def _too_few_calibration_rows():
    from skmtl.training.conformal import Calibration, intervals

    calibration = Calibration(
        n_rows=3, source="holdout", residuals={"v": np.ones((3, 1))}
    )
    intervals({"v": np.zeros(2)}, calibration, 0.1)


@pytest.mark.parametrize(
    "call, match",
    [
        (_guessed_kind, "guessed a regression task"),
        (_channels_first, "more channels than steps"),
        (_too_few_calibration_rows, "cannot give coverage"),
    ],
    ids=["data.kind_hints", "data.inputs", "training.conformal"],
)
def test_a_warning_deep_in_skmtl_names_the_calling_file(call, match):
    with pytest.warns(UserWarning, match=match) as record:
        call()
    assert [w.filename for w in record] == [__file__]
