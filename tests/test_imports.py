"""Imports point one way. No cycle between the modules of helpdesk/ (a function-local import
counts: hiding a cycle inside a function keeps it a cycle), the layers never reach upward,
and a module imports another app's code only at its top, where a reader sees it (AppConfig.ready
is the one exception, where Django wants signal and hook registrations)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "helpdesk"

# (importer prefix, imported prefix): imports that must never exist.
FORBIDDEN = [
    ("helpdesk.conversations", "helpdesk.ai"),  # the AI reacts to conversations through hooks
    ("helpdesk.conversations", "helpdesk.knowledge"),
    ("helpdesk.conversations", "helpdesk.inbox"),
    ("helpdesk.conversations", "helpdesk.widget"),
    ("helpdesk.conversations", "helpdesk.mail"),  # email reacts to conversations through hooks
    ("helpdesk.widget", "helpdesk.mail"),
    ("helpdesk.lib", "helpdesk.accounts"),  # lib: helpers with no models, under every app
    ("helpdesk.lib", "helpdesk.conversations"),
    ("helpdesk.lib", "helpdesk.ai"),
    ("helpdesk.lib", "helpdesk.knowledge"),
    ("helpdesk.lib", "helpdesk.realtime"),
    ("helpdesk.lib", "helpdesk.workspace"),
    ("helpdesk.lib", "helpdesk.team"),
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _targets(node: ast.Import | ast.ImportFrom, known: dict[str, Path]) -> set[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif node.module is None:
        return set()
    else:
        names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return {name for name in names if name in known}


def _imports() -> tuple[dict[str, set[str]], list[tuple[str, int, str]]]:
    """Every module's imports of other modules of ours (at any depth of the code), and the
    function-local ones as (module, line, function)."""
    known = _modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    local: list[tuple[str, int, str]] = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[name] |= _targets(node, known) - {name}
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    if isinstance(node, ast.Import | ast.ImportFrom) and _targets(node, known):
                        local.append((name, node.lineno, function.name))
    return graph, local


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_of_helpdesk_takes_part_in_an_import_cycle():
    graph, _ = _imports()
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_layer_imports_one_above_it():
    graph, _ = _imports()
    wrong = [
        (importer, imported)
        for importer, targets in graph.items()
        for imported in targets
        for low, high in FORBIDDEN
        if importer.startswith(low) and imported.startswith(high)
    ]
    assert wrong == []


def test_our_own_modules_are_imported_at_the_top_or_in_app_ready():
    _, local = _imports()
    hidden = [(module, line, function) for module, line, function in local if function != "ready"]
    assert hidden == []
