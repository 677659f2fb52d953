"""Tasks that publish validated documents, keep the ledgers and tell stewards what is new; each wraps a plain
function."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import rate_limit
from prefect.tasks import exponential_backoff

from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.check.batch import DocumentReport
from budgetwatch.publish.alerts import Failure, Message, RunLinks, deliver, pending, record
from budgetwatch.publish.dataset import Dataset, Publication, publish
from budgetwatch.publish.ledger import Entry, Problem, Version, file_findings, file_problems
from budgetwatch.service.orchestration import block_url, host_limit, load_channel
from tasks.documents import named


@task(name="publish-document", task_run_name=named("publish"), retries=2, retry_delay_seconds=[2, 5])
def publish_document(ref: DocumentRef, report: DocumentReport, dataset: str, dry_run: bool) -> Publication:
    """Publish or quarantine one document in one transaction (retried: another process may hold the database)."""
    return publish(Dataset(Path(dataset)), ref, report, dry_run=dry_run)


@task(name="file-findings", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 5])
def file_run_findings(dataset: str, run: str, versions: list[Version], dry_run: bool) -> None:
    """File the run's findings in the ledger: new, still open, fixed or withdrawn."""
    file_findings(Dataset(Path(dataset)), run, versions, dry_run=dry_run)


@task(name="file-crawl-problems", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 5])
def file_crawl_problems(
    dataset: str, run: str, crawled: list[str], problems: list[Problem], dry_run: bool
) -> list[Problem]:
    """File the crawl's problems in the ledger; each with its state (new, open, fixed)."""
    return file_problems(Dataset(Path(dataset)), run, crawled, problems, dry_run=dry_run)


@task(name="compose-alerts", cache_policy=NO_CACHE)
def compose_alerts(
    dataset: str, channels: list[str], found: list[Failure], problems: list[Problem], links: RunLinks
) -> list[Message]:
    """One message per channel and steward with what was not yet told there."""
    return pending(Dataset(Path(dataset)), channels, found, problems, links)


@task(
    name="send-alert",
    task_run_name="alert {message.recipient} by {message.channel}",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.2,
    cache_policy=NO_CACHE,
)
def send_alert(message: Message) -> None:
    """Deliver through the channel's saved block, at most one request a second per host; raises when undelivered."""
    block = load_channel(message.channel)
    rate_limit(host_limit(block_url(block)), strict=True)
    deliver(message, block)


@task(name="record-alert", task_run_name="record alert to {message.recipient} by {message.channel}")
def record_alert(dataset: str, message: Message) -> None:
    """Note a delivered message in the alert ledger, so what it told is not sent again."""
    record(Dataset(Path(dataset)), message)


__all__ = ["Entry", "compose_alerts", "file_crawl_problems", "file_run_findings", "publish_document", "record_alert",
           "send_alert"]  # fmt: skip
