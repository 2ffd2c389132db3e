"""The shape of the code base: every module documented, no import cycles, a thin notebook."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bcba"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Every bcba module ``path`` imports, at module level or inside functions (imports
    only for type checking excepted)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    skipped = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and _is_type_checking(block)
        for n in ast.walk(block)
    }
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            candidates = [f"{module}.{alias.name}" for alias in node.names] + [module]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate.startswith("bcba") and candidate != name:
                targets.add(candidate)
                break
    return targets


def _graph() -> nx.DiGraph:
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in _imports(path, name, modules):
            # a package's __init__ re-exporting its own submodules is one concern
            if target.startswith(name + ".") or name.startswith(target + "."):
                continue
            graph.add_edge(name, target)
    return graph


def test_import_graph_sees_a_known_edge():
    """The oracle itself works: the engine imports the worker."""
    assert _graph().has_edge("bcba.engine", "bcba.worker")


def test_no_import_cycles_between_modules():
    cycles = list(nx.simple_cycles(_graph()))
    assert cycles == [], cycles[:5]


def test_engine_and_worker_know_nothing_of_the_report():
    graph = _graph()
    for module in ("bcba.engine", "bcba.worker", "bcba.outputs"):
        reached = nx.descendants(graph, module)
        assert not any(m.startswith("bcba.report") for m in reached), module
    assert nx.descendants(graph, "bcba.worker") == set()


def test_every_module_is_named_in_the_architecture_page():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for _name, path in sorted(_modules().items()):
        rel = path.relative_to(ROOT).as_posix()
        if rel in page or (
            path.name == "__init__.py" and f"{path.parent.relative_to(ROOT).as_posix()}/" in page
        ):
            continue
        # a module of a package may be named by its file name on the package's row
        package_row = next(
            (
                line
                for line in page.splitlines()
                if f"`{path.parent.relative_to(ROOT).as_posix()}/`" in line
            ),
            "",
        )
        if re.search(rf"`{re.escape(path.stem)}(\.py)?`", package_row):
            continue
        missing.append(rel)
    assert missing == []


@pytest.mark.parametrize("notebook", ["bcba_rapport.ipynb"])
def test_report_notebook_is_one_call_per_cell(notebook):
    nb = json.loads((ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    params = code[0]
    assert "parameters" in params["metadata"].get("tags", [])
    for line in "".join(params["source"]).splitlines():
        assert re.fullmatch(r'\w+ = ("[^"]*"|\d+|True|False)', line), line  # plain literals
    for cell in code[1:]:
        source = "".join(cell["source"]).strip()
        assert "\n" not in source and not source.startswith(("def ", "try", "with ", "for ")), (
            source
        )
        assert "/" not in source and "open(" not in source.replace("open_report(", ""), source
