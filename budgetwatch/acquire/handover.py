"""What a crawl hands to the per-document stages: one DocumentRef per report to process, and the crawl's problems.

Whether a report is new is decided against the archive as it was before the run (``ArchiveState``), not by the status
the crawl gave it, so that a crawl retried after a partial attempt still hands over what the first attempt archived.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from budgetwatch.acquire.archive import Archive
from budgetwatch.acquire.crawl import ReportItem, SourceResult
from budgetwatch.acquire.docref import DocumentRef


@dataclass(frozen=True, slots=True)
class ArchiveState:
    """The archive before a run: each URL's newest hash and every hash held."""

    latest: dict[str, str] = field(default_factory=dict)
    hashes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, archive: Archive) -> ArchiveState:
        rows = archive.manifest_rows()
        latest = {r["url"]: r["sha256"] for r in sorted(rows, key=lambda r: r["version"])}
        return cls(latest, frozenset(r["sha256"] for r in rows))

    def status(self, report: ReportItem) -> str:
        """new | changed | unchanged relative to this state (a known file under a new URL is a re-publication)."""
        known = self.latest.get(report.url)
        if known is not None:
            return "unchanged" if known == report.sha256 else "changed"
        return "unchanged" if report.sha256 in self.hashes else "new"


def document_refs(results: Iterable[SourceResult], before: ArchiveState, *, force: bool = False) -> list[DocumentRef]:
    """One reference per archived file that is new or changed since ``before`` (every file found when ``force``);
    a file found under several URLs is handed over once, under the first."""
    refs: dict[str, DocumentRef] = {}
    for result in results:
        for report in result.reports:
            status = before.status(report)
            if (status == "unchanged" and not force) or report.sha256 in refs:
                continue
            refs[report.sha256] = DocumentRef(
                path=str(report.path),
                url=report.url,
                sha256=report.sha256,
                source_id=result.source_id,
                steward=result.steward,
                department=report.department,
                fiscal_year=report.fiscal_year,
                kind=report.kind if report.kind in ("budget", "final_account") else None,
                title=report.title,
                published=report.published,
                status=status,
            )
    return list(refs.values())


def crawl_problems(results: Iterable[SourceResult]) -> list[str]:
    """The crawl's failures (a portal down, a list page with no items, an article without its attachment), one line
    each naming the source and the URL; refusals are not problems (refusing off-site links is the crawl's duty)."""
    return [f"crawl {r.source_id}: {f['url'] or r.source_id}: {f['error']}" for r in results for f in r.failures]


def crawl_rows(results: Iterable[SourceResult], before: ArchiveState) -> list[dict]:
    """One row per report found, item skipped, link refused and failure, for the run's table artifact."""
    rows = []
    for r in results:
        for x in r.reports:
            rows.append({"source": r.source_id, "outcome": before.status(x), "url": x.url, "title": x.title,
                         "detail": f"{x.department or '?'} · {x.fiscal_year or '?'} · {x.kind or '?'}"})  # fmt: skip
        for x in r.skipped:
            rows.append({"source": r.source_id, "outcome": "skipped", "url": x["url"], "title": x.get("title"),
                         "detail": x["reason"]})  # fmt: skip
        for x in r.refused:
            rows.append({"source": r.source_id, "outcome": "refused", "url": x["url"], "title": None,
                         "detail": x["reason"]})  # fmt: skip
        for x in r.failures:
            rows.append({"source": r.source_id, "outcome": "failure", "url": x["url"], "title": None,
                         "detail": x["error"]})  # fmt: skip
    return rows
