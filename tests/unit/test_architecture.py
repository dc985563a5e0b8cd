"""Architecture rules of the idp package, checked statically with :mod:`ast`.

Nothing here imports an idp module, touches a database or builds an app: every ``*.py`` under
``idp/`` is parsed and its ``import`` statements are turned into a graph, so the whole file runs
in milliseconds and stays green or red regardless of configuration.

The rules, one test each:

1. no import cycle between modules (module-level, ``if TYPE_CHECKING:`` and function-level
   imports all count);
2. no import cycle between the packages directly under ``idp`` (``idp.security``, ``idp.oidc``,
   ``idp.sessions``, ...), ``idp/__init__.py`` (the application factory) left out;
3. no first-party import inside a function, except in ``create_app`` and in the CLI;
4. layers only point down (:data:`LAYERS`, edit it as the code moves);
5. no module over :data:`MAX_MODULE_LINES` lines, under ``idp/`` and ``sso_clients/``.

Two self-tests at the end feed the helpers synthetic input with known answers, so a bug in the
checker cannot make the rules pass silently.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# --------------------------------------------------------------------------------------------
# The rules' data: edit these as the code moves.
# --------------------------------------------------------------------------------------------

#: Ordered from the bottom up. A module may import modules of its own layer or of a lower one,
#: never of a higher one. Entries are dotted names; a module belongs to the layer of the longest
#: entry that is a prefix of it, so ``"idp.oidc"`` places the whole package and a finer entry
#: such as ``"idp.oidc.models"`` may place one module of it elsewhere. Entries that do not exist
#: (yet) are allowed: they are the plan.
LAYERS: list[set[str]] = [
    # foundation: configuration, time, database plumbing, error pages
    {"idp.settings", "idp.settings_checks", "idp.clock", "idp.db_types", "idp.extensions", "idp.events", "idp.errors",
     "idp.database", "idp.ui"},
    # primitives: security building blocks, background jobs, mail, logging/metrics
    {"idp.security", "idp.jobs", "idp.mail", "idp.observability"},
    # users, groups, roles
    {"idp.directory"},
    # browser sessions
    {"idp.sessions"},
    # protocols
    {"idp.oidc", "idp.keystone"},
    # cloud IAM API, the management API
    {"idp.iam", "idp.management"},
    # pages for people
    {"idp.selfservice", "idp.i18n"},
    # assembly: entry points and whatever wires everything together
    {"idp.cli", "idp.serve", "idp.demo", "idp.models", "idp.keys", "idp.__main__"},
]

#: The first-party package whose imports are checked.
PACKAGE = "idp"

#: Where function-level first-party imports are allowed: ``(module, outermost function)``. With
#: a function, only that module's function (and what is nested in it); with ``None``, anywhere in
#: the module and its submodules, so ``idp.cli`` covers both ``idp/cli.py`` and ``idp/cli/``.
FUNCTION_IMPORT_ALLOWED: list[tuple[str, str | None]] = [
    ("idp", "create_app"),
    ("idp.cli", None),
]

#: Physical lines (newlines) a module may have, under every directory of SIZE_CHECKED_DIRS.
MAX_MODULE_LINES = 400
SIZE_CHECKED_DIRS = ("idp", "sso_clients")

ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------------------------
# Helpers: finding modules, reading their imports.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSite:
    """One first-party module imported by one statement."""

    source: str  #: importing module, e.g. ``idp.sessions``
    target: str  #: imported module, resolved to an existing one when possible
    filename: str  #: path of the importing file, relative to the repository
    line: int
    statement: str  #: the statement as written (normalised by ``ast.unparse``)
    scope: tuple[str, ...]  #: enclosing classes and functions, outermost first
    in_function: bool  #: inside a ``def`` (at any depth), i.e. run at call time

    @property
    def where(self) -> str:
        return f"{self.filename}:{self.line}"

    def describe(self) -> str:
        place = f" (in {'.'.join(self.scope)})" if self.in_function else ""
        return f"{self.where}: {self.statement}{place}"


def module_name(path: Path, root: Path = ROOT) -> str:
    """``idp/oidc/views.py`` -> ``idp.oidc.views``; ``idp/oidc/__init__.py`` -> ``idp.oidc``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(directory: Path) -> list[Path]:
    """Every ``*.py`` under *directory*, caches left out, in a stable order."""
    return sorted(p for p in directory.rglob("*.py") if "__pycache__" not in p.parts)


def discover_modules(package: str = PACKAGE, root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of *package*."""
    return {module_name(p, root): p for p in python_files(root / package)}


def resolve(name: str, known: Iterable[str]) -> str:
    """The module *name* refers to: itself if it exists, else its longest existing parent
    (``import idp.x.gone`` still runs ``idp/x/__init__.py``), else *name* unchanged."""
    known = set(known)
    candidate = name
    while candidate:
        if candidate in known:
            return candidate
        candidate = candidate.rpartition(".")[0]
    return name


def absolute_base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module of a ``from ... import`` (relative levels resolved against
    *module*, which is the package itself when the file is an ``__init__.py``)."""
    if not node.level:
        return node.module or ""
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    up = node.level - 1
    if up > len(package_parts):
        raise ValueError(f"relative import beyond the top-level package in {module}")
    base = package_parts[: len(package_parts) - up]
    if node.module:
        base.append(node.module)
    return ".".join(base)


def is_first_party(name: str, package: str = PACKAGE) -> bool:
    return name == package or name.startswith(package + ".")


class _ImportCollector(ast.NodeVisitor):
    """Walks one module and records every first-party import with its scope."""

    def __init__(self, module: str, is_package: bool, known: set[str], filename: str,
                 package: str) -> None:
        self.module = module
        self.is_package = is_package
        self.known = known
        self.filename = filename
        self.package = package
        self.scope: list[str] = []
        self.function_depth = 0
        self.sites: list[ImportSite] = []

    def _add(self, node: ast.stmt, target: str) -> None:
        if not is_first_party(target, self.package):
            return
        self.sites.append(ImportSite(
            source=self.module,
            target=resolve(target, self.known),
            filename=self.filename,
            line=node.lineno,
            statement=ast.unparse(node),
            scope=tuple(self.scope),
            in_function=self.function_depth > 0,
        ))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # Decorators and defaults run at definition time, in the enclosing scope.
        for expr in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if expr is not None:
                self.visit(expr)
        self.scope.append(node.name)
        self.function_depth += 1
        for stmt in node.body:
            self.visit(stmt)
        self.function_depth -= 1
        self.scope.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = absolute_base(node, self.module, self.is_package)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            # `from idp.security import audit` imports the module idp.security.audit when it
            # exists, otherwise the name `audit` of idp/security/__init__.py.
            self._add(node, submodule if alias.name != "*" and submodule in self.known else base)


def collect_imports(source: str, module: str, *, is_package: bool = False,
                    known: Iterable[str] = (), filename: str = "<string>",
                    package: str = PACKAGE) -> list[ImportSite]:
    """Every first-party import of *source* (the text of *module*), wherever it is: at module
    level, under ``if TYPE_CHECKING:``, in a class body or in a function. Implicit imports of
    parent packages (``import idp.x.y`` also runs ``idp/__init__.py`` and ``idp/x/__init__.py``)
    are deliberately not recorded: every module would otherwise depend on ``idp/__init__.py``."""
    collector = _ImportCollector(module, is_package, set(known), filename, package)
    collector.visit(ast.parse(source, filename=filename))
    return collector.sites


@dataclass(frozen=True)
class Project:
    modules: dict[str, Path]
    sites: list[ImportSite]


@functools.cache
def project() -> Project:
    """The modules of idp and all their first-party imports, parsed once per test run."""
    modules = discover_modules()
    sites: list[ImportSite] = []
    for name, path in modules.items():
        sites += collect_imports(
            path.read_text(encoding="utf-8"), name,
            is_package=path.name == "__init__.py", known=modules,
            filename=str(path.relative_to(ROOT)),
        )
    return Project(modules, sites)


# --------------------------------------------------------------------------------------------
# Helpers: graphs and cycles.
# --------------------------------------------------------------------------------------------

Graph = Mapping[str, Iterable[str]]
Edges = dict[tuple[str, str], list[ImportSite]]


def build_graph(sites: Iterable[ImportSite],
                node_of: Callable[[str], str | None] | None = None) -> Edges:
    """``(from, to) -> import sites``, nodes mapped through *node_of* (``None`` drops the site),
    self-edges left out."""
    edges: Edges = defaultdict(list)
    for site in sites:
        source: str | None = site.source
        target: str | None = site.target
        if node_of is not None:
            source, target = node_of(site.source), node_of(site.target)
        if source is None or target is None or source == target:
            continue
        edges[(source, target)].append(site)
    return dict(edges)


def adjacency(edges: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
        graph.setdefault(target, set())
    return dict(graph)


def strongly_connected_components(graph: Graph) -> list[set[str]]:
    """Tarjan's algorithm, iterative (no recursion limit), components in a stable order."""
    succ = {node: sorted(targets) for node, targets in graph.items()}
    for targets in list(succ.values()):
        for target in targets:
            succ.setdefault(target, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for start in sorted(succ):
        if start in index:
            continue
        work = [(start, iter(succ[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def find_cycles(graph: Graph) -> list[list[str]]:
    """Cycles of *graph*, each as ``[a, b, ..., a]``.

    Enumerating every elementary cycle can explode, so this reports, for every edge that lies
    on a cycle, the shortest cycle through it (duplicates removed). Every such edge therefore
    appears in at least one reported cycle: the list is complete as a to-do list, since a cycle
    is only broken by removing one of its edges. Self-loops count as cycles of length one.
    """
    succ = {node: set(targets) for node, targets in graph.items()}
    cycles: set[tuple[str, ...]] = set()
    for component in strongly_connected_components(succ):
        for u in sorted(component):
            for v in sorted(succ.get(u, ())):
                if v not in component:
                    continue
                path = _shortest_path(succ, v, u, component)
                if path is not None:
                    cycles.add(_canonical([u, *path[:-1]]))
    return [[*cycle, cycle[0]] for cycle in sorted(cycles, key=lambda c: (len(c), c))]


def _shortest_path(succ: Graph, start: str, goal: str, within: set[str]) -> list[str] | None:
    """Breadth-first path ``[start, ..., goal]`` staying inside *within*."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while (before := previous[path[-1]]) is not None:
                path.append(before)
            return path[::-1]
        for nxt in sorted(succ.get(node, ())):
            if nxt in within and nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return None


def _canonical(cycle: list[str]) -> tuple[str, ...]:
    """The same cycle always reads the same: rotated to start at its smallest node."""
    start = cycle.index(min(cycle))
    return tuple(cycle[start:] + cycle[:start])


def describe_cycles(cycles: list[list[str]], edges: Edges, per_edge: int = 3) -> str:
    """One paragraph per cycle: the chain, then for each hop the statements that create it."""
    blocks = []
    for number, cycle in enumerate(cycles, 1):
        lines = [f"  {number}. " + " -> ".join(cycle)]
        for source, target in zip(cycle, cycle[1:], strict=False):
            sites = edges[(source, target)]
            lines.append(f"       {source} -> {target}:")
            lines += [f"         {site.describe()}" for site in sites[:per_edge]]
            if len(sites) > per_edge:
                lines.append(f"         ... and {len(sites) - per_edge} more")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def top_level_node(module: str, package: str = PACKAGE) -> str | None:
    """``idp.oidc.views`` -> ``idp.oidc``; ``idp.sessions`` -> itself; ``idp`` -> ``None``."""
    parts = module.split(".")
    if parts[0] != package or len(parts) == 1:
        return None
    return ".".join(parts[:2])


def layer_of(module: str, layers: list[set[str]] = LAYERS) -> int | None:
    """Index in *layers* of the longest entry that is *module* or one of its parents."""
    best: tuple[int, int] | None = None  # (entry length, layer)
    for number, entries in enumerate(layers):
        for entry in entries:
            if module == entry or module.startswith(entry + "."):
                if best is None or len(entry) > best[0]:
                    best = (len(entry), number)
    return None if best is None else best[1]


def function_import_allowed(site: ImportSite) -> bool:
    """Whether a function-level import is covered by FUNCTION_IMPORT_ALLOWED."""
    for module, function in FUNCTION_IMPORT_ALLOWED:
        if function is None:
            if site.source == module or site.source.startswith(module + "."):
                return True
        elif site.source == module and site.scope[:1] == (function,):
            return True
    return False


def physical_lines(path: Path) -> int:
    """Lines as ``wc -l`` counts them, plus a last line without a newline."""
    text = path.read_text(encoding="utf-8")
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


# --------------------------------------------------------------------------------------------
# The rules.
# --------------------------------------------------------------------------------------------


def test_no_import_cycle_between_modules() -> None:
    """A cycle makes import order matter: whichever module is imported first sees the other
    half-initialised, and the usual 'fix' is to move one import into a function, which hides
    the cycle without removing it. Function-level and ``TYPE_CHECKING`` imports are counted for
    that reason: they are cycles in waiting, and they still couple the two modules."""
    p = project()
    edges = build_graph(p.sites)
    cycles = find_cycles(adjacency(edges))
    assert not cycles, (
        f"{len(cycles)} import cycle(s) between modules of {PACKAGE}/ (function-level and "
        "TYPE_CHECKING imports included). Break each by moving the shared code down a layer "
        "or by passing it in, not by moving the import into a function:\n"
        + describe_cycles(cycles, edges)
    )


def test_no_import_cycle_between_packages() -> None:
    """Each package under idp (``idp.security``, ``idp.oidc``, ``idp.directory``, a top-level
    module such as ``idp.sessions``) must be understandable and testable with only the packages
    below it. Two packages importing each other, even through different modules, are one
    package in disguise. ``idp/__init__.py`` is left out: it is the application factory and
    assembles everything by design."""
    p = project()
    edges = build_graph(p.sites, top_level_node)
    cycles = find_cycles(adjacency(edges))
    assert not cycles, (
        f"{len(cycles)} import cycle(s) between the packages directly under {PACKAGE}/ "
        "(modules collapsed onto their package):\n" + describe_cycles(cycles, edges)
    )


def test_no_first_party_import_inside_functions() -> None:
    """An import inside a function is almost always there to dodge a cycle, and it hides the
    dependency from the reader and from tools (rule 1 still counts it). The application
    factory ``create_app`` and the CLI are the exceptions: they assemble the application and
    should not pay for every command's imports at start-up."""
    p = project()
    offenders = [s for s in p.sites if s.in_function and not function_import_allowed(s)]
    assert not offenders, (
        f"{len(offenders)} first-party import(s) inside functions (allowed only in "
        f"{FUNCTION_IMPORT_ALLOWED}); move them to the top of the module, which may reveal a "
        "cycle to fix instead:\n" + "\n".join(f"  {s.describe()}" for s in offenders)
    )


def test_layers_only_point_down() -> None:
    """Each layer may use the layers below it, never those above. Lower layers that import
    higher ones are how cycles start (and are then hidden behind function-level imports), and
    how a security rule ends up written twice: a primitive that cannot call the code that owns
    the rule re-implements it, and the two copies drift. Every package must be placed in
    LAYERS deliberately, so a new package cannot slip in unchecked."""
    p = project()
    problems: list[str] = []

    seen: dict[str, int] = {}
    for number, entries in enumerate(LAYERS):
        for entry in entries:
            if entry in seen:
                problems.append(f"LAYERS lists {entry} twice (layers {seen[entry]} and {number})")
            seen[entry] = number

    unplaced: dict[str, list[str]] = defaultdict(list)
    for module in p.modules:
        if module != PACKAGE and layer_of(module) is None:
            unplaced[top_level_node(module) or module].append(module)
    for node, members in sorted(unplaced.items()):
        problems.append(f"{node} is not in LAYERS; place it in a layer deliberately "
                        f"(modules: {', '.join(sorted(members))})")

    top = len(LAYERS) - 1
    for site in p.sites:
        if site.source == PACKAGE:
            continue  # the application factory sits above every layer
        # Importing idp itself means importing create_app: only the assembly layer may.
        target_layer = top if site.target == PACKAGE else layer_of(site.target)
        source_layer = layer_of(site.source)
        if source_layer is None or target_layer is None or target_layer <= source_layer:
            continue
        problems.append(f"{site.where}: {site.source} (layer {source_layer}) imports "
                        f"{site.target} (layer {target_layer}): {site.statement}")

    table = "\n".join(f"    {n}: {', '.join(sorted(entries))}" for n, entries in enumerate(LAYERS))
    assert not problems, (
        f"{len(problems)} layering problem(s); layers only point down:\n"
        + "\n".join(f"  {problem}" for problem in problems)
        + f"\n  LAYERS (bottom up):\n{table}"
    )


def test_no_module_over_the_size_limit() -> None:
    """A module over a few hundred lines usually holds several responsibilities, which is where
    hidden coupling and duplicated rules grow; splitting it is also how import cycles get
    untangled. The limit counts physical lines, comments and docstrings included."""
    offenders = [
        (physical_lines(path), str(path.relative_to(ROOT)))
        for directory in SIZE_CHECKED_DIRS
        for path in python_files(ROOT / directory)
    ]
    offenders = sorted((o for o in offenders if o[0] > MAX_MODULE_LINES), reverse=True)
    assert not offenders, (
        f"{len(offenders)} module(s) over {MAX_MODULE_LINES} lines; split them:\n"
        + "\n".join(f"  {name}: {count} lines" for count, name in offenders)
    )


# --------------------------------------------------------------------------------------------
# Self-tests of the checker, so that it cannot pass by being broken.
# --------------------------------------------------------------------------------------------


def test_checker_finds_known_cycles() -> None:
    """A synthetic graph: a 3-cycle a -> b -> c -> a, a 2-cycle c <-> d sharing node c, an
    acyclic tail, and a separate self-loop."""
    graph = {
        "a": {"b"},
        "b": {"c"},
        "c": {"a", "d", "e"},
        "d": {"c"},
        "e": {"f"},
        "f": set(),
        "s": {"s"},
    }
    cycles = find_cycles(graph)
    assert ["s", "s"] in cycles
    assert ["c", "d", "c"] in cycles
    assert ["a", "b", "c", "a"] in cycles
    assert len(cycles) == 3
    assert find_cycles({"x": {"y"}, "y": {"z"}, "z": set()}) == []

    # Collapsing onto packages: two different modules make a package cycle.
    def site(source: str, target: str) -> ImportSite:
        return ImportSite(source, target, "f.py", 1, "import x", (), False)

    edges = build_graph([site("idp.a.one", "idp.b.two"), site("idp.b.three", "idp.a"),
                         site("idp.a.one", "idp.a.four"), site("idp", "idp.a")], top_level_node)
    assert set(edges) == {("idp.a", "idp.b"), ("idp.b", "idp.a")}
    assert find_cycles(adjacency(edges)) == [["idp.a", "idp.b", "idp.a"]]


def test_checker_finds_function_level_imports() -> None:
    """Module-level, TYPE_CHECKING, class-body, function and method imports, absolute and
    relative, each resolved to the right module and flagged in a function only when it is."""
    source = '''
from __future__ import annotations
import os
from typing import TYPE_CHECKING
import idp.oidc.views
from idp.security import audit, helper
from . import sibling
if TYPE_CHECKING:
    from ..directory import models

class Service:
    from idp import clock

    def method(self):
        from idp.sessions import Session
        return Session

def outer():
    import json
    def inner():
        from .sibling import thing
    return inner

def create_app():
    from idp import errors
'''
    known = {"idp", "idp.oidc", "idp.oidc.views", "idp.security", "idp.security.audit",
             "idp.sessions", "idp.clock", "idp.errors", "idp.directory", "idp.directory.models",
             "idp.oidc.sibling"}
    sites = collect_imports(source, "idp.oidc.logout", known=known)
    found = [(s.line, s.target, s.in_function, s.scope) for s in sites]
    assert found == [
        (5, "idp.oidc.views", False, ()),
        (6, "idp.security.audit", False, ()),  # a submodule
        (6, "idp.security", False, ()),  # a name of idp/security/__init__.py
        (7, "idp.oidc.sibling", False, ()),
        (9, "idp.directory.models", False, ()),  # TYPE_CHECKING counts
        (12, "idp.clock", False, ("Service",)),  # class body runs at import time
        (15, "idp.sessions", True, ("Service", "method")),
        (21, "idp.oidc.sibling", True, ("outer", "inner")),
        (25, "idp.errors", True, ("create_app",)),
    ]
    # In an __init__.py, `from . import x` is relative to the package itself.
    init_sites = collect_imports("from . import views\n", "idp.oidc", is_package=True,
                                 known=known)
    assert [s.target for s in init_sites] == ["idp.oidc.views"]

    # The exemptions: create_app only in idp/__init__.py, the CLI as a module or a package.
    def at(module: str, *scope: str) -> ImportSite:
        return ImportSite(module, "idp.x", "f.py", 1, "import idp.x", scope, True)

    assert function_import_allowed(at("idp", "create_app"))
    assert function_import_allowed(at("idp", "create_app", "nested"))
    assert not function_import_allowed(at("idp", "other"))
    assert not function_import_allowed(at("idp.oidc.logout", "create_app"))
    assert function_import_allowed(at("idp.cli", "main"))
    assert function_import_allowed(at("idp.cli.users", "Group", "command"))
    assert not function_import_allowed(at("idp.client", "main"))
