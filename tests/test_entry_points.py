"""Every ``python -m`` entry point answers --help with its usage, and does nothing else (no folder named --help)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

MODULES = ["budgetwatch.cli.main", "budgetwatch.cli.docs", "budgetwatch.fixtures.sample_portal",
           "budgetwatch.service.orchestration", "budgetwatch.read.isolation"]  # fmt: skip


def test_the_list_holds_every_module_that_runs_as_a_program():
    runnable = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "budgetwatch").rglob("*.py")
        if 'if __name__ == "__main__":' in p.read_text(encoding="utf-8")
    )
    assert runnable == sorted(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_help_prints_the_usage_and_writes_nothing(module, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")
    assert list(tmp_path.iterdir()) == []
