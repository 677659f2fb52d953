"""HTTP for flows: every request first takes a slot of its host's global rate limit (strict: a host without a limit
is an error, never an unthrottled request). Pass ``RateLimitedSession()`` as the crawl's session."""

from __future__ import annotations

import requests
from prefect.concurrency.sync import rate_limit

from budgetwatch.orchestration import host_limit


class RateLimitedSession(requests.Session):
    """A requests session throttled by the Prefect limit ``host-<hostname>`` of each URL it requests."""

    def request(self, method: str | bytes, url: str | bytes, *args, **kwargs) -> requests.Response:
        rate_limit(host_limit(url if isinstance(url, str) else url.decode()), strict=True)
        return super().request(method, url, *args, **kwargs)
