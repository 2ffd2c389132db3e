"""Notebooks: committed without outputs, thin, plain-literal parameters, and they run."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
REPORT_NOTEBOOKS = [
    ROOT / "notebooks" / "bcba_rapport.ipynb",
    ROOT / "notebooks" / "regio_overzicht.ipynb",
]
EXPLORATORY = sorted((ROOT / "notebooks" / "exploratory").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4
    assert len(EXPLORATORY) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} has outputs"
            assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_holds_plain_literals_only(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
    assert nb.cells.index(tagged[0]) <= 1
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign), ast.dump(node)
        assert isinstance(node.value, ast.Constant), (
            f"{path.name}: computed parameter {ast.unparse(node)}"
        )


@pytest.mark.parametrize("path", [p for p in REPORT_NOTEBOOKS if p.exists()], ids=lambda p: p.name)
def test_report_notebook_is_thin(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(
                node, ast.FunctionDef | ast.ClassDef | ast.Try | ast.For | ast.While
            ), f"{path.name}: logic in a report cell: {cell.source!r}"
        assert len(tree.body) == 1, f"{path.name}: one call per cell, not {cell.source!r}"
        assert "/" not in cell.source and ".csv" not in cell.source, (
            f"{path.name}: file path in {cell.source!r}"
        )


@pytest.mark.slow
@pytest.mark.parametrize("path", EXPLORATORY, ids=lambda p: p.name)
def test_exploratory_notebooks_run_on_demo_data(path, demo_dir, tmp_path):
    out = tmp_path / path.name
    papermill.execute_notebook(
        str(path),
        str(out),
        parameters={"data_dir": str(demo_dir)},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    nb = nbformat.read(out, as_version=4)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    html = "".join(
        str(o.get("data", {}).get("text/html", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    from bcba.maps.offline import find_remote_resources

    assert "leaflet" in html.lower()
    assert find_remote_resources(html) == []
