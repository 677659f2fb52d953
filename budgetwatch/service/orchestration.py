"""Prefect set-up of budgetwatch: names of its blocks and limits, the server-side objects, and ``budgetwatch serve``.

``prepare_server`` is the deployment step of deployments/prefect.yaml: it creates the global concurrency limits the
flows use with ``strict=True`` (a rate limit per portal and notification host, one writer of the dataset) and the
automation that notifies the stewards' channels of any failed or crashed flow run. ``serve`` starts a local Prefect
server, saves the notification blocks, deploys everything (which runs ``prepare_server``) and runs a worker.
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
from pydantic import SecretStr

from budgetwatch.acquire import sources
from budgetwatch.errors import BudgetwatchError
from budgetwatch.service.blocks import StewardEmail

WORK_POOL = "budgetwatch-process"
DATASET_LIMIT = "budgetwatch-dataset"
AUTOMATION = "budgetwatch-failed-flow-runs"
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
                "Flow run {{ flow_run.name }} of {{ flow.name }} ended {{ flow_run.state.name }}: "
                "{{ flow_run.state.message }}\nParameters: {{ flow_run.parameters }}"
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


def start(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    email_url: str | None = None,
    webhook_url: str | None = None,
    root: Path | None = None,
    worker: bool = True,
    timeout: float = 120,
) -> tuple[str, list[subprocess.Popen]]:
    """Start a server, save the blocks, deploy everything, start a worker; the API URL and the processes started."""
    root = root or repository_root()
    port = port or _free_port()
    api = f"http://{host}:{port}/api"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_API_URL": api}
    env.setdefault("BUDGETWATCH_ROOT", str(root))
    processes = [subprocess.Popen(_prefect("server", "start", "--host", host, "--port", str(port)), env=env)]
    try:
        _wait_healthy(api, processes[0], timeout)
        with temporary_settings(updates={PREFECT_API_URL: api}):
            save_blocks(email_url, webhook_url)
        steps = [
            _prefect("work-pool", "create", WORK_POOL, "--type", "process", "--overwrite"),
            _prefect("--no-prompt", "deploy", "--all", "--prefect-file", "deployments/prefect.yaml"),
        ]
        for step in steps:
            done = subprocess.run(step, cwd=root, env=env, check=False, timeout=timeout)
            if done.returncode:
                raise ServeError(f"{' '.join(step[2:])} failed with status {done.returncode}")
        if worker:
            processes.append(subprocess.Popen(_prefect("worker", "start", "--pool", WORK_POOL), cwd=root, env=env))
    except BaseException:
        stop(processes)
        raise
    return api, processes


def stop(processes: list[subprocess.Popen]) -> None:
    """End the processes ``start`` began, newest first."""
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in reversed(processes):
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="budgetwatch serve",
        description="Start a local Prefect server and worker, create the limits, blocks and automation of budgetwatch "
        "and deploy deployments/prefect.yaml; Ctrl-C stops them.",
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
    p.add_argument("--no-worker", action="store_true", help="deploy only; start no worker")
    return p


def main(argv: list[str] | None = None) -> int:
    """``budgetwatch serve``: run until interrupted."""
    args = parser().parse_args(argv)
    try:
        api, processes = start(
            host=args.host, port=args.port, email_url=args.email_url, webhook_url=args.webhook_url,
            worker=not args.no_worker,
        )  # fmt: skip
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"budgetwatch is served: UI {api.removesuffix('/api')}, API {api}; Ctrl-C stops the server and the worker",
          flush=True)  # fmt: skip
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop(processes)
    failed = [p for p in processes if p.returncode not in (0, None, -signal.SIGINT)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
