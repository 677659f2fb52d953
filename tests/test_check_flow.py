"""The check flow runs on a real (temporary) Prefect server and isolates unreadable documents."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError
from prefect.settings import (
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    PREFECT_HOME,
    PREFECT_SERVER_ANALYTICS_ENABLED,
    temporary_settings,
)
from prefect.testing.utilities import prefect_test_harness

from budgetwatch.publish.dataset import Dataset, versions
from budgetwatch.service.orchestration import host_limit, prepare_server
from flows.check import check_documents, process_documents, revalidate_dataset
from tasks.network import RateLimitedSession

from .conftest import SAMPLES
from .pipeline_fixtures import corrected_hongshan
from .receivers import WebhookSink


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


def test_dry_run_validates_publishes_nothing_and_a_bad_document_does_not_stop_the_others(prefect_server, tmp_path):
    prepare_server()  # the limits the flow takes strictly
    fixed = corrected_hongshan(tmp_path)
    documents = [{"path": str(tmp_path / "absent.pdf")}, {"path": str(fixed)}]
    dataset = tmp_path / "data"
    summary = process_documents(documents=documents, dataset=str(dataset), out=str(tmp_path / "out"), dry_run=True,
                                alert_channels=[])  # fmt: skip
    assert summary["unreadable"] == ["absent.pdf"]  # named, not given as a path on the server
    assert (summary["documents"], summary["published"], summary["dry_run"]) == (1, 1, True)
    assert not dataset.exists()


def test_weekly_revalidation_checks_every_current_version_again(prefect_server, tmp_path):
    prepare_server()
    dataset, out = str(tmp_path / "data"), str(tmp_path / "out")
    documents = [{"path": str(SAMPLES / "huangpi-2024-final.txt")}, {"path": str(corrected_hongshan(tmp_path))}]
    first = process_documents(documents=documents, dataset=dataset, out=out, alert_channels=[])
    assert (first["published"], first["quarantined"], first["new"]) == (1, 1, 2)
    again = revalidate_dataset(dataset=dataset, out=out, alert_channels=[])
    assert (again["documents"], again["unchanged"], again["published"], again["quarantined"]) == (2, 2, 0, 0)
    assert again["errors_by_check"] == first["errors_by_check"]
    assert {v["status"] for v in versions(Dataset(tmp_path / "data"))} == {"published", "quarantined"}


def test_http_requests_wait_for_their_host_rate_limit_and_a_host_without_one_is_refused(prefect_server):
    with WebhookSink() as server:
        with get_client(sync_client=True) as client:
            client.upsert_global_concurrency_limit_by_name(host_limit(server.url), 1, slot_decay_per_second=2.0)
        session = RateLimitedSession()
        started = time.monotonic()
        answers = [session.post(server.url, json={"text": str(k)}).status_code for k in range(4)]
        elapsed = time.monotonic() - started
        assert answers == [200] * 4 and len(server.posts) == 4
        assert elapsed >= 1.0  # one slot decays in 0.5 s: four requests span at least three decays
        with pytest.raises(ConcurrencySlotAcquisitionError):
            session.get("http://no-limit.invalid/unlimited-host")  # refused before any connection is made
