"""`budgetwatch serve` end to end: a real Prefect server, the project's deployments, a process worker, runs triggered
through the API with parameters, an SMTP server and a webhook receiver on loopback, and the daily crawl of the sample
portal served on loopback."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter
from prefect.deployments import run_deployment
from prefect.exceptions import PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

from budgetwatch.acquire.archive import Archive
from budgetwatch.fixtures.sample_portal import serve_sample_portal
from budgetwatch.locking import exclusive
from budgetwatch.publish.dataset import Dataset, versions

from .conftest import ROOT
from .pipeline_fixtures import CAIDIAN, HONGSHAN, HUANGPI, corrected_hongshan
from .receivers import SmtpSink, WebhookSink

HS_URL = "http://www.hongshan.gov.cn/zfbm/ybj/2024-budget.txt"
STEWARD_A, STEWARD_B = "huangpi-caidian@stewards.example", "hongshan@stewards.example"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``budgetwatch serve`` on an ephemeral port with its own PREFECT_HOME, alerting to receivers on loopback."""
    home = tmp_path_factory.mktemp("prefect-home")
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "BUDGETWATCH_ROOT": str(ROOT),
        "BUDGETWATCH_LOCK_TIMEOUT": "2",  # a publisher waits this long for another's turn to end
    }
    env.pop("PREFECT_API_URL", None)
    with SmtpSink() as smtp, WebhookSink() as hook:
        command = [sys.executable, "-m", "budgetwatch.cli.main", "serve", "--port", "0", "--email-url", smtp.url(),
                   "--webhook-url", hook.url]  # fmt: skip
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
        api = _wait_for_api(lines, process)
        try:
            with temporary_settings(updates={PREFECT_API_URL: api, PREFECT_HOME: home}):
                _pause_scheduled()
                yield {"smtp": smtp, "hook": hook, "api": api}
        finally:
            process.send_signal(2)
            process.wait(timeout=60)


def _pause_scheduled() -> None:
    """The scheduled deployments exist as the file says; paused, so no scheduled run joins these tests."""
    with get_client(sync_client=True) as client:
        for name, cron in (
            ("crawl-portals/daily-crawl", "30 6 * * *"),
            ("revalidate-dataset/weekly-revalidation", "0 2 * * 1"),
        ):
            deployment = client.read_deployment_by_name(name)
            assert [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] == [(cron, "Asia/Shanghai")]
            assert deployment.global_concurrency_limit.limit == 1
            client.pause_deployment(deployment.id)


def _wait_for_api(lines: queue.Queue, process: subprocess.Popen, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            assert process.poll() is None, f"budgetwatch serve exited with {process.returncode}"
            continue
        if line.startswith("budgetwatch is served"):
            return line.split(" API ")[1].split(";")[0]
    raise AssertionError("budgetwatch serve did not come up")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    return {"dataset": folder / "data", "out": folder / "out", "fixed": corrected_hongshan(folder)}


def _documents():
    return [
        {"path": str(HUANGPI), "source_id": "420116", "steward": STEWARD_A},
        {"path": str(HONGSHAN), "url": HS_URL, "steward": STEWARD_B},
        {"path": str(CAIDIAN), "source_id": "420114", "steward": STEWARD_A},
    ]


def _run(workspace, documents, **extra):
    parameters = {"documents": documents, "dataset": str(workspace["dataset"]), "out": str(workspace["out"]), **extra}
    return run_deployment("process-documents/recheck", parameters=parameters, timeout=300, poll_interval=1)


def _artifacts(flow_run_id) -> dict:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a for a in found}


def _task_states(flow_run_id) -> dict[str, str]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}))
    return {r.name: r.state.name for r in runs}


def _stewards_posts(hook):
    return [p for p in hook.posts if "error-level failures" in p["text"]]


def test_first_run_quarantines_failing_documents_and_alerts_each_steward_once(served, workspace):
    run = _run(workspace, _documents())
    assert run.state.is_completed(), run.state.message
    states = {v["url"].rsplit("/", 1)[-1]: v["status"] for v in versions(Dataset(workspace["dataset"]))}
    assert states == {"huangpi-2024-final.txt": "quarantined", "2024-budget.txt": "quarantined",
                      "caidian-2024-budget.txt": "quarantined"}  # fmt: skip
    smtp, hook = served["smtp"], served["hook"]
    assert sorted(to[0] for to, _ in smtp.messages) == sorted([STEWARD_A, STEWARD_B])
    body_b = next(b for (to, _), b in zip(smtp.messages, smtp.bodies(), strict=True) if to == [STEWARD_B])
    assert "L-02 budget.09" in body_b and HS_URL in body_b
    assert len(_stewards_posts(hook)) == 2
    artifacts = _artifacts(run.id)
    assert {"findings", "run-summary", "dataset-database", "dataset-parquet", "check-report"} <= set(artifacts)
    assert "| 3 | 3 | 0 | 0 | 0 | 3 | 0 |" in artifacts["run-summary"].data
    assert "`L-02`: 1" in artifacts["run-summary"].data
    assert artifacts["dataset-database"].data.endswith("/data/dataset.duckdb)")


def test_rerun_with_nothing_new_publishes_nothing_and_alerts_nobody(served, workspace):
    smtp, hook = served["smtp"], served["hook"]
    before = (len(smtp.messages), len(hook.posts), versions(Dataset(workspace["dataset"])))
    run = _run(workspace, _documents())
    assert run.state.is_completed(), run.state.message
    assert (len(smtp.messages), len(hook.posts), versions(Dataset(workspace["dataset"]))) == before
    assert "| 3 | 0 | 0 | 3 | 0 | 0 | 0 |" in _artifacts(run.id)["run-summary"].data
    tasks = _task_states(run.id)
    assert {s for n, s in tasks.items() if n.startswith(("extract ", "validate "))} == {"Cached"}


def test_a_crash_before_publishing_loses_nothing_and_the_rerun_publishes_once(served, workspace):
    corrected = [{"path": str(workspace["fixed"]), "url": HS_URL, "steward": STEWARD_B}]
    database = Dataset(workspace["dataset"]).database
    # another process holds the dataset's writing turn: publishing waits for it, then gives up
    with exclusive(database.with_name(f".{database.name}.lock"), "the test"), duckdb.connect(str(database)) as holder:
        crashed = _run(workspace, corrected)
        assert crashed.state.is_failed()
        assert "publishing" in crashed.state.message and "dataset.duckdb" in crashed.state.message
        assert holder.execute("SELECT count(*) FROM line_items").fetchone() == (0,)
    tasks = _task_states(crashed.id)
    assert any(n.startswith("validate ") and s == "Completed" for n, s in tasks.items())
    hook, smtp = served["hook"], served["smtp"]
    deadline = time.monotonic() + 60
    while not (
        any(f"flow run {crashed.name} Failed" in p["text"] for p in hook.posts)
        and any(f"flow run {crashed.name} Failed" in str(m["subject"]) for _, m in smtp.messages)
    ):  # the automation's notifications, by webhook and by e-mail
        assert time.monotonic() < deadline, f"no failed-run notification among {hook.posts}"
        time.sleep(1)

    rerun = _run(workspace, corrected)
    assert rerun.state.is_completed(), rerun.state.message
    tasks = _task_states(rerun.id)
    assert {s for n, s in tasks.items() if n.startswith(("extract ", "validate "))} == {"Cached"}
    summary = _artifacts(rerun.id)["run-summary"].data
    assert "| 1 | 0 | 1 | 0 | 1 | 0 | 0 |" in summary  # a changed document, published
    with duckdb.connect(str(database)) as con:
        rows = con.execute("SELECT count(*), count(DISTINCT sha256) FROM line_items").fetchone()
        statuses = dict(
            con.execute("SELECT status, count(*) FROM registry WHERE url = ? GROUP BY ALL", [HS_URL]).fetchall()
        )
    assert rows[1] == 1 and rows[0] > 400
    assert statuses == {"published": 1, "superseded": 1}
    again = _run(workspace, corrected)
    assert again.state.is_completed()
    with duckdb.connect(str(database)) as con:
        assert con.execute("SELECT count(*) FROM line_items").fetchone()[0] == rows[0]


def test_the_server_rejects_parameters_outside_the_run_form(served, workspace):
    with pytest.raises(PrefectHTTPStatusError, match="409"):
        _run(workspace, _documents(), fiscal_years=[1899])


PORTAL_STEWARD = "steward@example.org"  # the sample portal's steward (its sources file)
DOCUMENT_SUFFIXES = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".wps", ".et", ".zip", ".png", ".jpg")


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    with serve_sample_portal(tmp_path_factory.mktemp("sample-portal")) as running:
        yield running


@pytest.fixture(scope="module")
def crawl_workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crawl")
    return {"archive": folder / "archive", "dataset": folder / "data", "out": folder / "out"}


def _crawl(portal, space, sources_file=None):
    parameters = {"sources_file": str(sources_file or portal.sources_file), "allow_local": True,
                  **{k: str(v) for k, v in space.items()}}  # fmt: skip
    return run_deployment("crawl-portals/daily-crawl", parameters=parameters, timeout=300, poll_interval=1)


def _steward_alerts(served, portal) -> tuple[int, int]:
    """Steward alerts about the sample portal's documents so far: e-mails to its steward, webhook posts."""
    mails = sum(to == [PORTAL_STEWARD] for to, _ in served["smtp"].messages)
    return mails, sum(portal.base_url in p["text"] for p in _stewards_posts(served["hook"]))


def test_daily_crawl_processes_what_the_portal_published_and_fails_on_its_broken_links(served, portal, crawl_workspace):
    run = _crawl(portal, crawl_workspace)
    assert run.state.is_failed()  # the sample portal has a broken link and an article without its attachment
    message = run.state.message
    assert "P020260210599999999999.pdf: HTTP 404" in message and "without an attachment" in message
    artifacts = _artifacts(run.id)
    rows = json.loads(artifacts["crawl"].data)
    found = [r for r in rows if r["outcome"] == "new"]
    assert len(found) >= 5 and {r["outcome"] for r in rows} == {"new", "skipped", "refused", "failure"}
    registry = versions(Dataset(crawl_workspace["dataset"]))
    with Archive(crawl_workspace["archive"]) as archive:
        archived = {r["sha256"] for r in archive.manifest_rows()}
    assert sorted(v["sha256"] for v in registry) == sorted(archived)  # every file found processed, each once
    assert {v["url"] for v in registry} <= {r["url"] for r in found}
    assert {v["source_id"] for v in registry} == {"sample"} and all(v["steward"] == PORTAL_STEWARD for v in registry)
    assert {v["status"] for v in registry} >= {"quarantined"}
    [index] = (crawl_workspace["out"] / "reports").glob("*/index.html")  # one report folder a run
    assert portal.base_url in index.read_text(encoding="utf-8")
    assert artifacts["steward-report"].data.endswith(f"({index.as_uri()})")
    assert _steward_alerts(served, portal) == (1, 1)


def _with_a_portal_down(portal, folder) -> str:
    """The sample portal's sources file and a second source whose portal does not answer (a closed loopback port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = (
        f"  - {{id: down, name: 停机区, scheme: http, allowed_hosts: [127.0.0.1], local_test: true,"
        f" min_interval: 0, departments: [医疗保障局], steward: down@example.org,"
        f" columns: ['http://127.0.0.1:{closed}/yjs/']}}\n"
    )
    path = folder / "sources-with-a-portal-down.yaml"
    path.write_text(portal.sources_file.read_text(encoding="utf-8") + down, encoding="utf-8")
    return str(path)


def test_daily_crawl_with_nothing_new_downloads_no_document_and_alerts_nobody(
    served, portal, crawl_workspace, tmp_path
):
    before = (_steward_alerts(served, portal), versions(Dataset(crawl_workspace["dataset"])), len(portal.hits))
    run = _crawl(portal, crawl_workspace, _with_a_portal_down(portal, tmp_path))
    assert run.state.is_failed() and "HTTP 404" in run.state.message  # the broken link is still reported
    assert "crawl down: http://127.0.0.1:" in run.state.message  # the portal down fails its own source only
    documents = [h for h in portal.hits[before[2] :] if h.path.lower().endswith(DOCUMENT_SUFFIXES)]
    assert documents and {h.status for h in documents} <= {304, 404}
    assert sum(h.body_bytes for h in documents if h.status == 200) == 0
    assert (_steward_alerts(served, portal), versions(Dataset(crawl_workspace["dataset"]))) == before[:2]
    artifacts = _artifacts(run.id)
    assert "| 0 | 0 | 0 | 0 | 0 | 0 | 0 |" in artifacts["run-summary"].data
    assert not any(r["outcome"] in ("new", "changed") for r in json.loads(artifacts["crawl"].data))
