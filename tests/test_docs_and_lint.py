"""Docs generated from data are fresh, every command is documented, and the code is ruff-clean."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from budgetwatch.cli.docs import GENERATED
from budgetwatch.cli.main import parser

from .conftest import ROOT


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_docs_are_up_to_date(name):
    on_disk = (ROOT / name).read_text(encoding="utf-8")
    assert on_disk == GENERATED[name](), f"{name} is stale: run `python -m budgetwatch.cli.docs`"


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f"`budgetwatch {name}" in readme, name


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = "python3 -m pip install uv && python3 -m uv run --frozen --extra test pytest"
    assert command in readme and command in ci


def test_code_is_ruff_clean():
    ruff = shutil.which("ruff") or str(ROOT / ".venv" / "bin" / "ruff")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sys.version_info >= (3, 11)
