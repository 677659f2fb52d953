"""The tree shows the pipeline: stages import only the stages before them, every package says what it does, the
README's map is current, and no function is longer than a screen."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from budgetwatch.cli.docs import AROUND, STAGES, block_of, layout_markdown

from .conftest import ROOT

PACKAGE = ROOT / "budgetwatch"
MAX_FUNCTION_LINES = 60


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every budgetwatch module a file imports, at any depth (function-level imports included), with its line."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "budgetwatch" else [f"budgetwatch.{a.name}" for a in node.names]
            out.extend((node.lineno, name) for name in names if name.startswith("budgetwatch"))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names if a.name.startswith("budgetwatch"))
    return out


def _part_of(module: str, root: Path) -> str | None:
    """The stage or package a dotted budgetwatch module belongs to; None for the shared modules at the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (root / parts[1]).is_dir() and parts[1] != "data" else None


def _allowed(importer: str | None) -> set[str | None]:
    if importer is None:
        return {None}
    if importer in STAGES:
        return {None, *STAGES[: STAGES.index(importer) + 1]}
    return {None, *STAGES, *AROUND}


def backward_imports(root: Path) -> list[str]:
    """Imports that go back up the pipeline, as `file:line imports module`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        importer = relative.parts[0] if len(relative.parts) > 1 else None
        for line, module in _imported_modules(path):
            if _part_of(module, root) not in _allowed(importer):
                found.append(f"{relative}:{line} imports {module}")
    return found


def test_stages_import_only_the_stages_before_them():
    assert backward_imports(PACKAGE) == []


def test_an_import_back_up_the_pipeline_is_caught(tmp_path):
    (tmp_path / "read").mkdir()
    (tmp_path / "check").mkdir()
    (tmp_path / "read" / "reader.py").write_text("from budgetwatch.check.rules import rules\n")
    (tmp_path / "model.py").write_text("def f():\n    from budgetwatch.read import extract\n")
    (tmp_path / "check" / "ok.py").write_text("from budgetwatch.read.extract import extract_path\n")
    assert backward_imports(tmp_path) == [
        "model.py:2 imports budgetwatch.read",
        "read/reader.py:1 imports budgetwatch.check.rules",
    ]


@pytest.mark.parametrize("name", [*STAGES, *AROUND])
def test_every_package_says_what_it_takes_and_gives(name):
    doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text(encoding="utf-8"))) or ""
    sentences = [s for s in doc.replace("\n", " ").split(". ") if s.strip()]
    assert 2 <= len(sentences) <= 4, doc


def test_every_module_belongs_to_a_package_the_map_names():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == {*STAGES, *AROUND}


def test_readme_layout_map_is_up_to_date():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert block_of(readme, "layout") == layout_markdown(ROOT), "stale: run `python -m budgetwatch.cli.docs`"


def long_functions(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_is_longer_than_sixty_lines():
    folders = ("budgetwatch", "flows", "tasks", "schemas", "tests", "bench")
    paths = sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))
    assert long_functions(paths) == []
