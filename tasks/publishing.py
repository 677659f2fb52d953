"""Tasks that publish validated documents and tell stewards of new failures; each wraps a plain function."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.concurrency.sync import rate_limit
from prefect.tasks import exponential_backoff

from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.check.batch import DocumentReport
from budgetwatch.publish.alerts import Failure, Message, deliver, pending, record
from budgetwatch.publish.dataset import Dataset, Publication, publish
from budgetwatch.service.orchestration import block_url, host_limit, load_channel


@task(name="publish-document", task_run_name="publish {ref.path}", retries=2, retry_delay_seconds=[2, 5])
def publish_document(ref: DocumentRef, report: DocumentReport, dataset: str, dry_run: bool) -> Publication:
    """Publish or quarantine one document in one transaction (retried: another process may hold the database)."""
    return publish(Dataset(Path(dataset)), ref, report, dry_run=dry_run)


@task(name="compose-alerts")
def compose_alerts(dataset: str, channels: list[str], found: list[Failure]) -> list[Message]:
    """One message per channel and steward with the failures not yet told there."""
    return pending(Dataset(Path(dataset)), channels, found)


@task(
    name="send-alert",
    task_run_name="alert {message.recipient} by {message.channel}",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.2,
)
def send_alert(message: Message) -> None:
    """Deliver through the channel's saved block, at most one request a second per host; raises when undelivered."""
    block = load_channel(message.channel)
    rate_limit(host_limit(block_url(block)), strict=True)
    deliver(message, block)


@task(name="record-alert", task_run_name="record alert to {message.recipient} by {message.channel}")
def record_alert(dataset: str, message: Message) -> None:
    """Note a delivered message in the alert ledger, so its failures are not sent again."""
    record(Dataset(Path(dataset)), message)
