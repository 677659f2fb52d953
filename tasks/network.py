"""HTTP for flows: every request first takes a slot of its host's global rate limit (strict: a host without a limit
is an error, never an unthrottled request), and the crawl of one source as a task."""

from __future__ import annotations

import requests
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import rate_limit
from prefect.tasks import exponential_backoff

from budgetwatch.acquire.archive import Archive
from budgetwatch.acquire.crawl import SourceResult, crawl_sources
from budgetwatch.acquire.fetch import Fetcher
from budgetwatch.acquire.sources import Source
from budgetwatch.service.orchestration import host_limit


class RateLimitedSession(requests.Session):
    """A requests session throttled by the Prefect limit ``host-<hostname>`` of each URL it requests."""

    def request(self, method: str | bytes, url: str | bytes, *args, **kwargs) -> requests.Response:
        rate_limit(host_limit(url if isinstance(url, str) else url.decode()), strict=True)
        return super().request(method, url, *args, **kwargs)


@task(
    name="crawl-source",
    task_run_name="crawl {source.id}",
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.5,
    cache_policy=NO_CACHE,  # a crawl asks the portal every time; its result depends on the portal, not the inputs
)
def crawl_source(
    source: Source, archive: Archive, fetcher: Fetcher, force_refetch: bool, allow_local: bool
) -> SourceResult:
    """One source's crawl (its failures are in the result); retried when something beyond the portal broke."""
    return crawl_sources([source], archive, force_refetch=force_refetch, allow_local=allow_local, session=fetcher)[0]
