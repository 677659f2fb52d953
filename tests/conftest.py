"""Shared fixtures: the bundled sample reports, extracted once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from budgetwatch.extract import extract_path
from budgetwatch.sample_portal import build_sample_portal, serve_sample_portal

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
