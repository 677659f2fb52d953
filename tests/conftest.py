"""Shared fixtures: the bundled sample reports, extracted once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from budgetwatch.check.validate import frames
from budgetwatch.fixtures.sample_portal import build_sample_portal, serve_sample_portal
from budgetwatch.read.extract import extract_path

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


@pytest.fixture(scope="session")
def portal_site(tmp_path_factory):
    """The sample portal, built once; each test serves a copy of its own."""
    return build_sample_portal(tmp_path_factory.mktemp("sample-portal") / "site")


@pytest.fixture
def portal(portal_site, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(portal_site, site)  # each test may change its own copy
    with serve_sample_portal(site) as running:
        yield running


def consistent_budget(hongshan):
    """hongshan's 表1–表10 as frames: exactly consistent (its known defects are in 表11, 表12 and a header)."""
    items, tables = frames([hongshan])
    keep = [f"budget.{n:02d}" for n in range(1, 11)]
    return items.filter(pl.col("table_id").is_in(keep)), tables.filter(pl.col("table_id").is_in(keep))
