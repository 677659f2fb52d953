"""Shared fixtures: the bundled sample reports, extracted once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from budgetwatch.extract import extract_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "budgetwatch" / "data" / "samples"
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture(scope="session")
def huangpi():
    return extract_path(SAMPLES / "huangpi-2024-final.txt")


@pytest.fixture(scope="session")
def hongshan():
    return extract_path(SAMPLES / "hongshan-2024-budget.txt")


@pytest.fixture(scope="session")
def caidian():
    return extract_path(SAMPLES / "caidian-2024-budget.txt")
