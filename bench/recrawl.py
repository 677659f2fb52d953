"""Re-crawl of the embedded sample portal with nothing new: document bytes downloaded (target 0) and wall time
(target < 2 s). The portal is built and crawled once first (not timed); then REPEATS re-crawls are timed.

Usage: python bench/recrawl.py [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from budgetwatch.acquire.archive import Archive
from budgetwatch.acquire.crawl import crawl_sources
from budgetwatch.acquire.fetch import Fetcher
from budgetwatch.fixtures.sample_portal import serve_sample_portal


def main(repeats: int = 5) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        serve_sample_portal(Path(folder) / "site") as portal,
        Archive(Path(folder) / "archive") as archive,
    ):
        started = time.perf_counter()
        [first] = crawl_sources(portal.sources, archive, allow_local=True, session=Fetcher())
        first_time = time.perf_counter() - started
        print(
            f"first crawl: {len(first.reports)} reports, {first.requests} requests, "
            f"{first.document_bytes:,} document bytes, {first_time:.2f} s"
        )
        times, document_bytes, body_bytes = [], [], []
        for _ in range(repeats):
            before = len(portal.hits)
            started = time.perf_counter()
            [again] = crawl_sources(portal.sources, archive, allow_local=True, session=Fetcher())
            times.append(time.perf_counter() - started)
            document_bytes.append(again.document_bytes)
            hits = portal.hits[before:]
            body_bytes.append(sum(h.body_bytes for h in hits))
        statuses = sorted({h.status for h in hits})
        print(
            f"re-crawl ×{repeats}: {again.requests} requests ({again.not_modified} answered 304; other statuses "
            f"{[s for s in statuses if s != 304]}), document bytes {max(document_bytes)} (target 0), "
            f"response body bytes {max(body_bytes)} (the broken link's 404 page), "
            f"wall time median {statistics.median(times):.3f} s, max {max(times):.3f} s (target < 2 s)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
