"""Prefect set-up of budgetwatch: names of its blocks and limits, the server-side objects, and ``budgetwatch serve``.

``prepare_server`` is the deployment step of deployments/prefect.yaml: it creates the global concurrency limits the
flows use with ``strict=True`` (a rate limit per portal and notification host, one writer of the dataset) and the
automation that notifies the stewards' channels of any failed or crashed flow run. ``serve`` starts a local Prefect
server (its state under the data folder unless PREFECT_HOME says otherwise), serves the output folder over HTTP beside
it (the address saved in the variable ``budgetwatch_site``, which the flows link reports with), saves the notification
blocks, deploys everything (which runs ``prepare_server``) and runs a worker.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import yaml
from prefect.automations import Automation, EventTrigger, SendNotification
from prefect.blocks.abstract import NotificationBlock
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.variables import Variable
from pydantic import SecretStr

from budgetwatch.acquire import sources
from budgetwatch.errors import BudgetwatchError
from budgetwatch.service.blocks import StewardEmail
from budgetwatch.service.site import ReportSite

WORK_POOL = "budgetwatch-process"
DATASET_LIMIT = "budgetwatch-dataset"
AUTOMATION = "budgetwatch-failed-flow-runs"
SITE_VARIABLE = "budgetwatch_site"  # {"root": the served output folder, "url": its address}
CHANNELS: dict[str, tuple[type[NotificationBlock], str]] = {
    "email": (StewardEmail, "budgetwatch-email"),
    "webhook": (CustomWebhookNotificationBlock, "budgetwatch-webhook"),
}
HOST_RATE = 1.0  # requests a second per host (a slot decays in 1 s)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")  # where a local test portal runs (crawled only when a run allows it)
LOOPBACK_RATE = 20.0  # a test portal on this machine needs no politeness, only a limit that exists
SLACK_JSON = {"text": "*{{subject}}*\n{{body}}"}


class ServeError(BudgetwatchError):
    """The local Prefect server, deployment or worker could not be started (the message says which step)."""


def site_settings() -> dict | None:
    """The served output folder and its address, as ``serve`` saved them; None when nothing is served."""
    try:
        value = Variable.get(SITE_VARIABLE, default=None)
    except Exception:  # noqa: BLE001 - no server to ask (a flow called as a function): links are left out
        return None
    return value if isinstance(value, dict) else None


def host_limit(url: str) -> str:
    """Name of the rate limit of the host ``url`` points at."""
    host = urlsplit(url).hostname
    if not host:
        raise ValueError(f"{url!r} names no host")
    return f"host-{host}"


def block_url(block: NotificationBlock) -> str:
    url = getattr(block, "url", "")
    return url.get_secret_value() if isinstance(url, SecretStr) else str(url)


def load_channel(channel: str) -> NotificationBlock:
    """The saved notification block of an alert channel (ValueError naming the block when it was never saved)."""
    kind, name = CHANNELS[channel]
    return kind.load(name)


def _saved_channels() -> dict[str, NotificationBlock]:
    found = {}
    for channel in CHANNELS:
        try:
            found[channel] = load_channel(channel)
        except (ValueError, ObjectNotFound):
            continue  # a channel that was not configured has no host to limit and takes no automation action
    return found


def save_blocks(email_url: str | None = None, webhook_url: str | None = None) -> list[str]:
    """Save (overwrite) the e-mail and webhook blocks that are given; their names."""
    saved = []
    if email_url:
        StewardEmail(url=SecretStr(email_url)).save(CHANNELS["email"][1], overwrite=True)
        saved.append(CHANNELS["email"][1])
    if webhook_url:
        block = CustomWebhookNotificationBlock(name="budgetwatch", url=webhook_url, json_data=SLACK_JSON)
        block.save(CHANNELS["webhook"][1], overwrite=True)
        saved.append(CHANNELS["webhook"][1])
    return saved


def limits(registry: Iterable[sources.Source], channel_urls: Iterable[str]) -> dict[str, tuple[int, float]]:
    """Global concurrency limits by name: (slots, decay a second)."""
    hosts = {h for s in registry for h in s.allowed_hosts} | {urlsplit(u).hostname for u in channel_urls}
    out = {f"host-{h}": (1, HOST_RATE) for h in sorted(h for h in hosts if h and h not in LOOPBACK_HOSTS)}
    out.update({f"host-{h}": (1, LOOPBACK_RATE) for h in LOOPBACK_HOSTS})
    out[DATASET_LIMIT] = (1, 0.0)
    return out


def _automation(blocks: dict[str, NotificationBlock]) -> Automation:
    actions = [
        SendNotification(
            block_document_id=block._block_document_id,
            subject="budgetwatch: flow run {{ flow_run.name }} {{ flow_run.state.name }}",
            body=(
                "The budgetwatch run {{ flow_run.name }} ({{ flow.name }}"
                "{% if deployment %} / {{ deployment.name }}{% endif %}) ended {{ flow_run.state.name }}.\n\n"
                "What broke: {{ flow_run.state.message }}\n\n"
                "The run, its logs and its report: {{ flow_run|ui_url }}\n"
            ),
        )
        for block in blocks.values()
    ]
    trigger = EventTrigger(
        expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        posture="Reactive",
        threshold=1,
    )
    return Automation(name=AUTOMATION, description="Tell the stewards' channels of a failed run", trigger=trigger,
                      actions=actions)  # fmt: skip


def deployment_sources_files(prefect_file: Path) -> list[str]:
    """The registry files that the deployments of ``prefect_file`` name in their ``sources_file`` parameter."""
    if not prefect_file.is_file():
        return []
    spec = yaml.safe_load(prefect_file.read_text(encoding="utf-8")) or {}
    named = [(d.get("parameters") or {}).get("sources_file") for d in spec.get("deployments") or []]
    return sorted({str(n) for n in named if n})


def prepare_server(sources_file: str | None = None) -> dict:
    """Deployment step: create or update the limits and the failed-run automation (idempotent). The host limits
    cover the bundled registry, ``sources_file``, the files the deployments name and loopback (test portals)."""
    blocks = _saved_channels()
    files = [sources_file] if sources_file else []
    files += deployment_sources_files(repository_root() / "deployments" / "prefect.yaml")
    registry = [s for f in [None, *files] for s in sources.load(f)]
    wanted = limits(registry, [block_url(b) for b in blocks.values()])
    with get_client(sync_client=True) as client:
        for name, (slots, decay) in wanted.items():
            client.upsert_global_concurrency_limit_by_name(name, slots, slot_decay_per_second=decay or None)
    automation = None
    if blocks:
        try:
            existing = Automation.read(name=AUTOMATION)
        except ValueError:
            existing = None
        new = _automation(blocks)
        if existing:
            new.id = existing.id
            new.update()
            automation = str(existing.id)
        else:
            automation = str(new.create().id)
    else:
        print(f"no notification block saved ({', '.join(n for _, n in CHANNELS.values())}): no failed-run automation")
    return {"limits": sorted(wanted), "automation": automation}


def repository_root() -> Path:
    """The checkout that holds deployments/prefect.yaml (the package's parent), else the working directory."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "deployments" / "prefect.yaml").exists() else Path.cwd()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(api: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ServeError(f"prefect server exited with status {server.returncode}")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServeError(f"prefect server at {api} not healthy after {timeout:.0f} s")


def _prefect(*args: str) -> list[str]:
    return [sys.executable, "-m", "prefect", *args]


@dataclass(slots=True)
class Served:
    """What ``start`` began: the API's address, the processes, and the output folder's web server."""

    api: str
    processes: list[subprocess.Popen]
    site: ReportSite | None = None

    @property
    def ui(self) -> str:
        return self.api.removesuffix("/api")


def _environment(api: str, root: Path, data: Path) -> dict[str, str]:
    """The server's, the steps' and the worker's environment: Prefect's state under the data folder unless
    PREFECT_HOME is set; the product's log records (crawl warnings) shipped to the run logs."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_API_URL": api}
    env.setdefault("PREFECT_HOME", str((data / "prefect").resolve()))
    env.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "budgetwatch")
    env.setdefault("BUDGETWATCH_ROOT", str(root))
    return env


def _step(command: list[str], root: Path, env: dict[str, str], timeout: float) -> None:
    """A set-up step, its output kept back (Prefect's advice to start a worker is wrong here: one is started) and
    shown only when the step fails."""
    done = subprocess.run(command, cwd=root, env=env, check=False, timeout=timeout, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise ServeError(f"{' '.join(command[2:])} failed with status {done.returncode}")


def start(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    email_url: str | None = None,
    webhook_url: str | None = None,
    root: Path | None = None,
    worker: bool = True,
    workers: int = 1,
    worker_limit: int | None = None,
    timeout: float = 120,
    data: Path | None = None,
    out: Path | None = None,
    reports: tuple[str, int] | None = ("127.0.0.1", 0),
) -> Served:
    """Start a server, serve ``out`` at ``reports`` (host, port; None: not served), save the blocks, deploy
    everything, start ``workers`` workers of the pool (each running at most ``worker_limit`` runs at once). The
    server keeps its state in PREFECT_API_DATABASE_CONNECTION_URL when that names a PostgreSQL database."""
    root = root or repository_root()
    port = port or _free_port()
    api = f"http://{host}:{port}/api"
    env = _environment(api, root, data or root / "budgetwatch-data")
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    served = Served(api, [subprocess.Popen(_prefect("server", "start", "--host", host, "--port", str(port)), env=env)])
    try:
        _wait_healthy(api, served.processes[0], timeout)
        if reports is not None:
            served.site = ReportSite(out or root / "budgetwatch-out", *reports).start()
        with temporary_settings(updates={PREFECT_API_URL: api}):
            save_blocks(email_url, webhook_url)
            Variable.set(SITE_VARIABLE, served.site.settings() if served.site else {}, overwrite=True)
        _step(_prefect("work-pool", "create", WORK_POOL, "--type", "process", "--overwrite"), root, env, timeout)
        _step(_prefect("--no-prompt", "deploy", "--all", "--prefect-file", "deployments/prefect.yaml"), root, env,
              timeout)  # fmt: skip
        for number in range(1, workers + 1 if worker else 1):
            command = _prefect("worker", "start", "--pool", WORK_POOL, "--name", f"budgetwatch-worker-{number}")
            command += ["--limit", str(worker_limit)] if worker_limit else []
            served.processes.append(subprocess.Popen(command, cwd=root, env=env))
    except BaseException:
        stop(served)
        raise
    return served


def stop(served: Served) -> None:
    """End what ``start`` began, newest first."""
    processes = served.processes
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in reversed(processes):
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if served.site:
        served.site.stop()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="budgetwatch serve",
        description="Start a local Prefect server and worker, serve the run reports over HTTP beside it, create the "
        "limits, blocks and automation of budgetwatch and deploy deployments/prefect.yaml; Ctrl-C stops them.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address of the server (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=4200, help="port of the server and its UI (default 4200; 0: any free)")
    p.add_argument(
        "--email-url",
        default=os.environ.get("BUDGETWATCH_EMAIL_URL"),
        help="SMTP server for steward e-mail as an Apprise URL, mailto://host:port?from=…&to=default-recipient "
        "(default $BUDGETWATCH_EMAIL_URL)",
    )
    p.add_argument(
        "--webhook-url",
        default=os.environ.get("BUDGETWATCH_WEBHOOK_URL"),
        help="Slack-compatible webhook for steward alerts and failed runs (default $BUDGETWATCH_WEBHOOK_URL)",
    )
    p.add_argument("--data", type=Path, help="data folder; Prefect keeps its database, results and blocks in "
                   "DATA/prefect unless PREFECT_HOME is set (default ./budgetwatch-data of the checkout)")  # fmt: skip
    p.add_argument("--out", type=Path, help="output folder the run reports are written under and served from "
                   "(default ./budgetwatch-out of the checkout, where the deployments write)")  # fmt: skip
    p.add_argument("--reports-host", default="127.0.0.1", help="address the reports are served at (default 127.0.0.1)")
    p.add_argument("--reports-port", type=int, default=4201, help="port of the reports (default 4201; 0: any free)")
    p.add_argument("--no-reports", action="store_true", help="serve no reports (links to them are left out)")
    p.add_argument("--no-worker", action="store_true", help="deploy only; start no worker")
    p.add_argument("--workers", type=int, default=1, help="workers of the pool to start on this machine (default 1); "
                   "workers elsewhere join with: prefect worker start --pool " + WORK_POOL)  # fmt: skip
    p.add_argument("--worker-limit", type=int, help="flow runs each worker runs at once (default: no limit)")
    return p


def main(argv: list[str] | None = None) -> int:
    """``budgetwatch serve``: run until interrupted."""
    args = parser().parse_args(argv)
    try:
        served = start(
            host=args.host, port=args.port, email_url=args.email_url, webhook_url=args.webhook_url,
            worker=not args.no_worker, workers=args.workers, worker_limit=args.worker_limit, data=args.data,
            out=args.out,
            reports=None if args.no_reports else (args.reports_host, args.reports_port),
        )  # fmt: skip
    except (ServeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reports = f"; reports {served.site.url}" if served.site else ""
    print(f"budgetwatch is served: UI {served.ui}; API {served.api}{reports}; Ctrl-C stops the server and the worker",
          flush=True)  # fmt: skip
    try:
        while all(p.poll() is None for p in served.processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop(served)
    failed = [p for p in served.processes if p.returncode not in (0, None, -signal.SIGINT)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
