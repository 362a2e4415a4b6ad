"""The dependency rules the README states, read from the source: no import circle between vsent's
subpackages, and nothing in the cloud path (functions, the layer) imports vsent or torch."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUBPACKAGES = sorted(p.name for p in (REPO / "vsent").iterdir() if (p / "__init__.py").is_file())


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports in functions count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def subpackage_graph() -> dict[str, set[str]]:
    """vsent subpackage -> the other vsent subpackages its modules import."""
    graph: dict[str, set[str]] = {name: set() for name in SUBPACKAGES}
    for name in SUBPACKAGES:
        for path in (REPO / "vsent" / name).rglob("*.py"):
            for module in imported_modules(path):
                parts = module.split(".")
                if parts[0] == "vsent" and len(parts) > 1 and parts[1] in graph:
                    graph[name].add(parts[1])
        graph[name].discard(name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of the graph, as the path that closes it, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph[node]):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_the_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_vsent_subpackages_import_each_other_one_way_only() -> None:
    graph = subpackage_graph()
    assert {"client", "local", "ops"} <= set(graph)
    assert find_cycle(graph) is None, graph


@pytest.mark.parametrize("root", ["functions", "layers"])
def test_the_cloud_path_imports_neither_vsent_nor_torch(root: str) -> None:
    files = sorted((REPO / root).rglob("*.py"))
    assert files
    offenders = {
        str(path.relative_to(REPO)): sorted(forbidden)
        for path in files
        if (
            forbidden := {
                module
                for module in imported_modules(path)
                if module.split(".")[0] in {"vsent", "torch", "vs_model"}
            }
        )
    }
    assert offenders == {}
