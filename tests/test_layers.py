"""Imports say the truth about structure: none is made inside a function to dodge a cycle,
and the import graph of bot, handlers and ghsim has no cycle at all.

The rooms' rules themselves are import-linter contracts in pyproject.toml (`lint-imports`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "ghsim")

# Imports kept inside functions only so start-up does not pay for them: (file, module).
# `bot/cli.py` imports each command's room when that command runs.
LAZY_FOR_START_UP = {
    ("ghsim/auth.py", "jwt"),
    ("ghsim/webhooks.py", "httpx"),
    ("ghsim/routes/web.py", "jinja2"),
    ("ghsim/routes/web.py", "ghsim.markdown"),  # markdown-it, linkify-it and nh3
    ("ghsim/ci/workflow.py", "yaml"),
    ("ghsim/ci/sandbox.py", "docker"),
    ("ghsim/ci/sandbox.py", "docker.errors"),
}
LAZY_FILES = {"bot/cli.py"}


def _function_local_imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom):
                yield node.lineno, "." * node.level + (node.module or "")


def test_no_function_local_imports_but_start_up_ones() -> None:
    found = set()
    for package in ("bot", "ghsim"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            if name in LAZY_FILES:
                continue
            for line, module in _function_local_imports(path):
                if (name, module) not in LAZY_FOR_START_UP:
                    found.add(f"{name}:{line} imports {module}")
    assert sorted(found) == []


def test_the_allowlist_names_only_imports_that_exist() -> None:
    present = {
        (str(path.relative_to(ROOT)), module)
        for path in (ROOT / "ghsim").rglob("*.py")
        for _, module in _function_local_imports(path)
    }
    assert present >= LAZY_FOR_START_UP


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def test_no_import_cycles_between_modules() -> None:
    # lint-imports' acyclic_siblings contract checks packages; this also catches a package
    # and its own modules importing each other. Imports under TYPE_CHECKING never run.
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    assert _cycles(graph) == []
