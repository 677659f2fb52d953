"""budgetwatch on several workers for real: PostgreSQL (Debian's), a Prefect server on it, ``budgetwatch serve`` with
two workers of the pool, a two-process Dask cluster, the archive manifest and the dataset's catalogue in PostgreSQL.
The daily crawl of the sample portal with a column of generated reports is split into batch runs the two workers
share, then the dataset is validated again on the Dask cluster; every document is processed once, published once,
and has the findings a run in one process gives."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import duckdb
import psycopg
import pytest
from distributed import Client
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, TaskRunFilter, TaskRunFilterName
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

from budgetwatch.acquire.archive import Archive
from budgetwatch.fixtures.sample_portal import add_generated_column, serve_sample_portal
from budgetwatch.publish.dataset import Dataset, published_files, versions
from flows.crawl import crawl_portals

from .conftest import ROOT
from .postgres_server import installed, running_postgres

GENERATED = 3  # reports in the generated column, besides the sample portal's six
BATCH = 3  # nine documents: three batch runs, more than one worker of limit 2 can take beside the crawl


def _reader(process: subprocess.Popen, lines: queue.Queue, output: list[str]) -> None:
    for line in process.stdout:
        lines.put(line)
        output.append(line)


def _serve(env: dict, home) -> tuple[subprocess.Popen, str, list[str]]:
    command = [sys.executable, "-m", "budgetwatch.cli.main", "serve", "--port", "0", "--no-reports", "--workers", "2",
               "--worker-limit", "2", "--data", str(home)]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []
    threading.Thread(target=_reader, args=(process, lines, output), daemon=True).start()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            assert process.poll() is None, "".join(output)
            continue
        if line.startswith("budgetwatch is served"):
            return process, line.split(" API ")[1].split(";")[0], output
    raise AssertionError("budgetwatch serve did not come up:\n" + "".join(output))


def _dask(env: dict) -> tuple[list[subprocess.Popen], str]:
    """A scheduler and one worker command with two processes (a thread each)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    log = open(os.environ.get("BUDGETWATCH_DASK_LOG", os.devnull), "a")  # noqa: SIM115 - open while the cluster runs
    quiet = {"stdout": log, "stderr": log, "cwd": ROOT, "env": env}
    scheduler = subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port",
                                  str(port), "--no-dashboard"], **quiet)  # fmt: skip
    workers = subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nworkers", "2", "--nthreads", "1",
                                "--no-dashboard"], **quiet)  # fmt: skip
    return [workers, scheduler], address


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    found, why = installed()
    if found is None:
        pytest.skip(why)
    home = tmp_path_factory.mktemp("prefect-home")
    with running_postgres() as postgres:
        env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_WORKER_QUERY_SECONDS": "1", "BUDGETWATCH_ROOT": str(ROOT),
               "PREFECT_API_DATABASE_CONNECTION_URL": postgres.create_database("prefect").replace(
                   "postgresql://", "postgresql+asyncpg://"),
               "BUDGETWATCH_DATABASE_URL": postgres.create_database("budgetwatch")}  # fmt: skip
        env.pop("PREFECT_API_URL", None)
        serve, api, output = _serve(env, home)
        dask, address = _dask({**env, "PREFECT_API_URL": api, "PYTHONPATH": str(ROOT)})
        try:
            with temporary_settings(updates={PREFECT_API_URL: api, PREFECT_HOME: home}):
                yield {"api": api, "output": output, "dask": address, "database": env["BUDGETWATCH_DATABASE_URL"],
                       "prefect_database": env["PREFECT_API_DATABASE_CONNECTION_URL"]}  # fmt: skip
        finally:
            for process in [*dask, serve]:
                process.send_signal(2)
            for process in [*dask, serve]:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    with serve_sample_portal(tmp_path_factory.mktemp("portal")) as running:
        column = add_generated_column(running.server.root, GENERATED)
        text = running.sources_file.read_text(encoding="utf-8")
        running.sources_file.write_text(text + f'      - {{url: "{running.base_url}/{column}", verified: true}}\n',
                                        encoding="utf-8")  # fmt: skip
        yield running


def _findings(rows) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for sha, *finding in rows:
        out.setdefault(sha, []).append(tuple(finding))
    return {sha: sorted(found) for sha, found in out.items()}


FINDINGS = "SELECT sha256, check_id, severity, message, expected, actual FROM findings"


def _flow_runs(flow_name: str) -> list:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=None))
        flows = {f.id: f.name for f in client.read_flows()}
    return [r for r in runs if flows.get(r.flow_id) == flow_name]


def _validated() -> int:
    """Validation task runs completed so far, on the whole server."""
    with get_client(sync_client=True) as client:
        named = TaskRunFilter(name=TaskRunFilterName(like_="validate "))
        runs = client.read_task_runs(task_run_filter=named, limit=200)
    return sum(1 for r in runs if r.name.startswith("validate ") and r.state and r.state.is_completed())


def _submitted_by(output: list[str]) -> dict[str, str]:
    """Flow run id → the worker that took it, from the workers' log lines. A worker logs that it submits a run, then
    asks the server for it in the same steps: two workers that fetched the same run both log it, the server gives it
    to the first to ask and aborts the other's submission, so the first line names the taker (short of one worker
    overtaking the other between its line and its request)."""
    found = re.findall(r"Worker '(budgetwatch-worker-\d)' submitting flow run '([0-9a-f-]+)'", "".join(output))
    takers: dict[str, str] = {}
    for worker, run in found:
        takers.setdefault(run, worker)
    return takers


def _shared_findings(database: str) -> dict[str, list[tuple]]:
    with psycopg.connect(database) as con:
        return _findings(con.execute(FINDINGS.replace("findings", "budgetwatch_dataset.findings")).fetchall())


def _alone(portal, folder) -> tuple[dict, dict]:
    """The same crawl in this one process on the embedded DuckDB files: its findings and statuses by document."""
    space = {k: str(folder / k) for k in ("archive", "dataset", "out")}
    # refetching reads every document anew: no result the workers cached is taken
    crawl_portals(sources_file=str(portal.sources_file), allow_local=True, alert_channels=[], return_state=True,
                  force_refetch=True, **space)  # fmt: skip
    with duckdb.connect(str(folder / "dataset" / "dataset.duckdb"), read_only=True) as con:
        statuses = dict(con.execute("SELECT sha256, status FROM registry").fetchall())
        return _findings(con.execute(FINDINGS).fetchall()), statuses


def test_two_workers_share_the_daily_crawl_and_publish_every_document_once(cluster, portal, tmp_path):
    space = {"archive": str(tmp_path / "archive"), "dataset": str(tmp_path / "data"), "out": str(tmp_path / "out")}
    parameters = {"sources_file": str(portal.sources_file), "allow_local": True, "alert_channels": [],
                  "batch_size": BATCH, **space}  # fmt: skip
    crawl = run_deployment("crawl-portals/daily-crawl", parameters=parameters, timeout=240, poll_interval=1)
    assert crawl.state.is_final()
    assert "batch run" not in (crawl.state.message or "")  # the sample portal's broken links fail it, no batch

    with Archive(tmp_path / "archive", database=cluster["database"]) as archive:
        archived = {r["sha256"] for r in archive.manifest_rows()}
    assert not (tmp_path / "archive" / "manifest.duckdb").exists() and len(archived) >= GENERATED + 3
    batches = _flow_runs("process-batch")
    handed = Counter(ref["sha256"] for run in batches for ref in run.parameters["refs"])
    assert set(handed) == archived and set(handed.values()) == {1}  # each document in one batch run
    assert len(batches) == -(-len(archived) // BATCH)
    assert all(run.state.is_completed() for run in batches), [run.state for run in batches]
    takers = _submitted_by(cluster["output"])
    assert {takers[str(run.id)] for run in batches} == {"budgetwatch-worker-1", "budgetwatch-worker-2"}

    dataset = Dataset(tmp_path / "data", url=cluster["database"])
    statuses = {v["sha256"]: v["status"] for v in versions(dataset)}
    assert set(statuses) == archived  # every file found published or quarantined
    published = sorted(sha for sha, status in statuses.items() if status == "published")
    assert sorted(f.stem for f in published_files(dataset, "line_items")) == published  # once each
    after_crawl = _shared_findings(cluster["database"])

    revalidated = run_deployment("revalidate-dataset/weekly-revalidation", timeout=240, poll_interval=1,
                                 parameters={"dataset": space["dataset"], "out": space["out"], "alert_channels": [],
                                             "dask_address": cluster["dask"]})  # fmt: skip
    assert revalidated.state.is_completed(), revalidated.state.message
    with Client(cluster["dask"], timeout=30) as client:  # both of the cluster's processes read and validated
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(executed) == 2 and min(executed.values()) > 0 and sum(executed.values()) >= 2 * len(archived)
    assert {v["sha256"]: v["status"] for v in versions(dataset)} == statuses
    assert _validated() == 2 * len(archived)  # each document validated once by the batch runs, once again on Dask

    expected, alone_statuses = _alone(portal, tmp_path / "alone")
    assert alone_statuses == statuses and set(expected) == archived
    assert after_crawl == expected
    assert _shared_findings(cluster["database"]) == expected
