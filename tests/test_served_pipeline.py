"""`budgetwatch serve` end to end: a real Prefect server, the project's deployments, a process worker, runs triggered
through the API with parameters, an SMTP server and a webhook receiver on loopback, the run reports served over HTTP,
and daily crawls of the sample portal served on loopback."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import Counter

import duckdb
import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    LogFilter,
    LogFilterFlowRunId,
)
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
    out = tmp_path_factory.mktemp("served-out")
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
                   "--webhook-url", hook.url, "--out", str(out), "--reports-port", "0"]  # fmt: skip
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()
        output: list[str] = []  # everything serve, the server, the worker and the flow runs print
        threading.Thread(target=lambda: [(lines.put(x), output.append(x)) for x in process.stdout], daemon=True).start()
        api, reports = _wait_for_api(lines, process)
        try:
            with temporary_settings(updates={PREFECT_API_URL: api, PREFECT_HOME: home}):
                _pause_scheduled()
                yield {"smtp": smtp, "hook": hook, "api": api, "reports": reports, "out": out, "output": output}
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


def _wait_for_api(lines: queue.Queue, process: subprocess.Popen, timeout: float = 240) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            assert process.poll() is None, f"budgetwatch serve exited with {process.returncode}"
            continue
        if line.startswith("budgetwatch is served"):
            return line.split(" API ")[1].split(";")[0], line.split(" reports ")[1].split(";")[0]
    raise AssertionError("budgetwatch serve did not come up")


@pytest.fixture(scope="module")
def workspace(served, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    return {"dataset": folder / "data", "out": served["out"] / "recheck", "fixed": corrected_hongshan(folder)}


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
    return [p for p in hook.posts if p["text"].startswith("*budgetwatch · ")]


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
    assert {"findings", "run-summary", "steward-report", "findings-csv", "check-report"} <= set(artifacts)
    assert "| 3 | 3 | 0 | 0 | 0 | 3 | 0 |" in artifacts["run-summary"].data
    assert "`L-02`: 1" in artifacts["run-summary"].data
    for key in ("steward-report", "findings-csv", "check-report"):  # links the UI can open: served over HTTP
        assert _link(artifacts[key]).startswith(served["reports"])
        assert httpx.get(_link(artifacts[key])).status_code == 200


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


def _link(artifact) -> str:
    """The address a link artifact opens (its data is ``[text](address)``)."""
    return artifact.data.rsplit("](", 1)[1].rstrip(")")


def test_every_run_form_describes_every_parameter_and_shows_no_internal_field(served):
    with get_client(sync_client=True) as client:
        for name in ("crawl-portals/daily-crawl", "revalidate-dataset/weekly-revalidation", "process-documents/recheck",
                     "check-documents/check-samples"):  # fmt: skip
            schema = client.read_deployment_by_name(name).parameter_openapi_schema
            undescribed = [p for p, spec in schema["properties"].items() if not spec.get("description")]
            assert schema["properties"] and not undescribed, (name, undescribed)
        recheck = client.read_deployment_by_name("process-documents/recheck").parameter_openapi_schema
    [document] = [d for n, d in recheck["definitions"].items() if n == "DocumentInput"]
    assert set(document["properties"]) == {"path", "url", "source_id", "steward"}
    assert all(spec.get("description") for spec in document["properties"].values())


PORTAL_STEWARD = "steward@example.org"  # the sample portal's steward (its sources file)
DOCUMENT_SUFFIXES = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".wps", ".et", ".zip", ".png", ".jpg")
NEWLY_BROKEN = "yjs/gbk/202602/P020260215512345678905.docx"  # a document the portal stops serving after the first days


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    with serve_sample_portal(tmp_path_factory.mktemp("sample-portal")) as running:
        yield running


@pytest.fixture(scope="module")
def crawl_workspace(served, tmp_path_factory):
    folder = tmp_path_factory.mktemp("crawl")
    return {"archive": folder / "archive", "dataset": folder / "data", "out": served["out"] / "daily"}


def _crawl(portal, space, sources_file=None):
    parameters = {"sources_file": str(sources_file or portal.sources_file), "allow_local": True,
                  **{k: str(v) for k, v in space.items()}}  # fmt: skip
    return run_deployment("crawl-portals/daily-crawl", parameters=parameters, timeout=300, poll_interval=1)


def _portal_messages(served, portal) -> tuple[list, list]:
    """Messages to the sample portal's steward so far: e-mails, webhook posts naming the portal."""
    mails = [m for to, m in served["smtp"].messages if to == [PORTAL_STEWARD]]
    return mails, [p for p in _stewards_posts(served["hook"]) if portal.base_url in p["text"]]


def _failed_run_notices(served, run) -> list[str]:
    return [p["text"] for p in served["hook"].posts if f"flow run {run.name} Failed" in p["text"]]


def _logs(flow_run_id) -> list:
    with get_client(sync_client=True) as client:
        return client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))


def _wait_for(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(1)
    return found


@pytest.fixture(scope="module")
def first_crawl(served, portal, crawl_workspace):
    run = _crawl(portal, crawl_workspace)
    assert run.state.is_failed()  # the sample portal has a broken link and an article without its attachment
    message = run.state.message
    assert "new crawl problem" in message and "P020260210599999999999.pdf: HTTP 404" in message
    assert "without an attachment" in message
    return run


def test_first_daily_crawl_fails_for_its_broken_links_and_tells_the_portal_steward_once(
    served, portal, crawl_workspace, first_crawl
):
    run = first_crawl
    artifacts = _artifacts(run.id)
    rows = json.loads(artifacts["crawl"].data)
    found = [r for r in rows if r["outcome"] == "new"]
    assert len(found) >= 5 and {r["outcome"] for r in rows} == {"new", "skipped", "refused", "failure"}
    registry = versions(Dataset(crawl_workspace["dataset"]))
    with Archive(crawl_workspace["archive"]) as archive:
        archived = {r["sha256"] for r in archive.manifest_rows()}
    assert sorted(v["sha256"] for v in registry) == sorted(archived)  # every file found processed, each once
    assert {v["source_id"] for v in registry} == {"sample"} and all(v["steward"] == PORTAL_STEWARD for v in registry)
    mails, posts = _portal_messages(served, portal)
    assert (len(mails), len(posts)) == (1, 1)  # one message a channel: the errors and the crawl problems together
    mail = mails[0]
    assert "示例区" in mail["subject"] and "new errors" in mail["subject"] and "worst:" in mail["subject"]
    text, html = mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()
    assert text.count("\n") > 10 and "P020260210599999999999.pdf: HTTP 404" in text
    assert "<table" in html and html.count("<tr>") > 2 and "差额 difference" in html
    assert str(crawl_workspace["archive"]) not in text + html + posts[0]["text"]  # no path on the server
    pages = [line.split("report: ", 1)[1] for line in text.splitlines() if line.strip().startswith("report: ")]
    assert pages and all(p.startswith(served["reports"]) for p in pages)
    page = httpx.get(pages[0])  # a link in the e-mail opens the document's page over HTTP
    assert page.status_code == 200 and "text/html" in page.headers["content-type"] and "sha256" in page.text
    assert f"/runs/flow-run/{run.id}" in text  # the message links the run in the UI
    notice = _wait_for(lambda: _failed_run_notices(served, run), "failed-run notice")[0]
    assert "What broke: " in notice and "HTTP 404" in notice and f"/runs/flow-run/{run.id}" in notice


def test_the_first_daily_crawl_names_tasks_by_document_and_logs_the_crawl_warnings(first_crawl):
    run = first_crawl
    names = list(_task_states(run.id))
    assert any(n.startswith("extract 武汉市黄陂区医疗保障局 2024 决算") for n in names), names
    assert not any("/objects/" in n for n in names)
    logs = _logs(run.id)
    assert any(x.name == "budgetwatch.acquire.crawl" and x.level >= 30 and "HTTP 404" in x.message for x in logs)
    tracebacks = Counter(x.task_run_id for x in logs if "Traceback" in x.message)
    assert tracebacks[None] == 0, [x.message[:300] for x in logs if "Traceback" in x.message]  # the run: in words
    assert all(n == 1 for n in tracebacks.values())  # a task that failed: one traceback


def test_a_second_daily_crawl_with_nothing_new_completes_silently_and_shows_the_errors_still_open(
    served, portal, crawl_workspace, first_crawl
):
    first_folder = sorted((crawl_workspace["out"] / "runs").iterdir())[0]
    first_index = (first_folder / "index.html").read_text(encoding="utf-8")
    before = (_portal_messages(served, portal), len(served["hook"].posts), len(portal.hits))
    run = _crawl(portal, crawl_workspace)
    assert run.state.is_completed(), run.state.message
    documents = [h for h in portal.hits[before[2] :] if h.path.lower().endswith(DOCUMENT_SUFFIXES)]
    assert documents and sum(h.body_bytes for h in documents if h.status == 200) == 0
    time.sleep(3)  # a notice of a failed run would have come by now
    assert (_portal_messages(served, portal), len(served["hook"].posts)) == before[:2]  # nobody is told anything
    artifacts = _artifacts(run.id)
    summary = artifacts["run-summary"].data
    assert "| 0 | 0 | 0 | 0 | 0 | 0 | 0 |" in summary  # no document checked again
    open_errors = int(summary.split("**Errors: ")[1].split(" open**")[0])
    assert open_errors > 0 and f"**Errors: {open_errors} open** — 0 new, {open_errors} still open" in summary
    rows = json.loads(artifacts["findings"].data)
    assert list(rows[0])[:5] == ["state", "check", "message", "expected", "printed"]
    assert sum(r["state"] == "open" and r["severity"] == "error" for r in rows) == open_errors
    assert {r["state"] for r in rows} == {"open"}
    index = httpx.get(_link(artifacts["steward-report"]))  # the report, over HTTP, in a folder of its own
    assert index.status_code == 200 and "仍未解决 still open" in index.text
    assert f"{open_errors} open (0 new" in index.text
    assert (first_folder / "index.html").read_text(encoding="utf-8") == first_index  # the first run's report stays
    page = httpx.get(next(r["page"] for r in rows if r["page"]))  # an open finding links the page that shows it
    assert page.status_code == 200


def test_a_newly_broken_link_fails_one_run_tells_the_steward_and_the_next_identical_run_does_not_fail(
    served, portal, crawl_workspace, first_crawl
):
    (portal.server.root / NEWLY_BROKEN).unlink()
    before = _portal_messages(served, portal)
    broke = _crawl(portal, crawl_workspace)
    assert broke.state.is_failed() and NEWLY_BROKEN in broke.state.message
    assert "P020260210599999999999" not in broke.state.message  # the broken link already told does not fail it again
    mails, posts = _portal_messages(served, portal)
    [mail] = mails[len(before[0]) :]
    assert "new crawl problem" in mail["subject"] and NEWLY_BROKEN in mail.get_body(("plain",)).get_content()
    assert len(posts) == len(before[1]) + 1
    _wait_for(lambda: _failed_run_notices(served, broke), "failed-run notice")
    told = _portal_messages(served, portal)
    again = _crawl(portal, crawl_workspace)
    assert again.state.is_completed(), again.state.message
    time.sleep(3)
    assert _portal_messages(served, portal) == told and not _failed_run_notices(served, again)
    assert "still open" in _artifacts(again.id)["run-summary"].data and NEWLY_BROKEN in _artifacts(again.id)[
        "run-summary"].data  # fmt: skip


def test_serving_prints_no_worker_advice_and_no_deprecation_warning(served):
    output = "".join(served["output"])
    assert "start a worker" not in output
    assert "DeprecationWarning" not in output
