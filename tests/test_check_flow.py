"""The check flow runs on a real (temporary) Prefect server and isolates unreadable documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prefect.settings import (
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    PREFECT_HOME,
    PREFECT_SERVER_ANALYTICS_ENABLED,
    temporary_settings,
)
from prefect.testing.utilities import prefect_test_harness

from flows.check import check_documents

from .conftest import SAMPLES


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """One temporary server for the module, with its own home (results of other runs are never reused)."""
    home = tmp_path_factory.mktemp("prefect-home")
    updates = {PREFECT_HOME: home, PREFECT_SERVER_ANALYTICS_ENABLED: False, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    with temporary_settings(updates=updates), prefect_test_harness(server_startup_timeout=60):
        yield


def test_flow_checks_documents_and_reports_the_unreadable(prefect_server, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n\x00\x00garbage")
    paths = [str(SAMPLES / "huangpi-2024-final.txt"), str(broken), str(SAMPLES / "caidian-2024-budget.txt")]
    result = check_documents(paths=paths, out=str(tmp_path / "out"))
    assert result["documents"] == 2
    assert result["unreadable"] == [str(broken)]
    assert result["errors"] >= 1  # caidian's missing tables
    report = json.loads(Path(result["outputs"]["findings"]).read_text(encoding="utf-8"))
    assert [d["kind"] for d in report["documents"]] == ["final_account", "budget"]
    assert report["unreadable"][0]["reason"].startswith("not a readable PDF")
    assert Path(result["outputs"]["line_items"]).exists()
