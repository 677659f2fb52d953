"""The main job on the embedded default: the sample portal served on loopback, crawled, every report found extracted,
validated, published or quarantined, and the stewards' report written. No configuration, no network.

The same stages as the scheduled `crawl-portals` flow, called as plain functions (no Prefect server is needed).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from budgetwatch.acquire.archive import Archive
from budgetwatch.acquire.crawl import SourceResult, crawl_sources
from budgetwatch.acquire.handover import ArchiveState, crawl_problems, document_refs
from budgetwatch.check.batch import check_paths
from budgetwatch.fixtures.sample_portal import serve_sample_portal
from budgetwatch.model import Severity
from budgetwatch.publish.dataset import Dataset, Publication, publish
from budgetwatch.publish.outputs import run_text, write_findings
from budgetwatch.report import write_report


def _crawl_summary(results: list[SourceResult], before: ArchiveState) -> list[str]:
    lines = []
    for r in results:
        outcome = Counter(before.status(x) for x in r.reports)
        found = "、".join(f"{n} {status}" for status, n in sorted(outcome.items())) or "none"
        lines.append(
            f"{r.source_id} {r.name}: {len(r.reports)} reports ({found}), {len(r.skipped)} skipped, "
            f"{len(r.refused)} links refused, {len(r.failures)} failures, {r.document_bytes:,} document bytes"
        )
        lines += [f"  skipped  {x['url']}: {x['reason']}" for x in r.skipped]
        lines += [f"  refused  {x['url']}: {x['reason']}" for x in r.refused]
    lines += [f"  FAILURE  {p}" for p in crawl_problems(results)]
    return lines


def run(out: Path) -> int:
    """Crawl the sample portal into `out`, check and publish what it holds; print what was found. 0 when every stage
    ran (findings and the portal's deliberate broken links are results, reported above the summary)."""
    out.mkdir(parents=True, exist_ok=True)
    archive = Archive(out / "archive")
    before = ArchiveState.of(archive)
    with serve_sample_portal(out / "portal") as portal:
        results = crawl_sources(portal.sources, archive, allow_local=True)
    # every report found, not only the new ones: a second demo shows the same report (publishing is idempotent)
    refs = {ref.path: ref for ref in document_refs(results, before, force=True)}
    checked = check_paths(list(refs))
    dataset = Dataset(out / "dataset")
    published: list[Publication] = [publish(dataset, refs[r.extraction.document.source], r) for r in checked.reports]
    index = write_report(checked, out / "report", sources={path: ref.url for path, ref in refs.items() if ref.url})
    findings = write_findings(checked, out)

    print(f"== crawl of the sample portal at {portal.base_url}")
    print("\n".join(_crawl_summary(results, before)))
    print("\n== documents")
    print(run_text(checked))
    print("\n== dataset")
    for p in published:
        print(f"{p.action:<12} {p.url}  ({p.rows} line items)" if p.rows else f"{p.action:<12} {p.url}")
    errors = sum(1 for r in checked.reports for f in r.findings if f.severity == Severity.ERROR)
    stewards = {ref.steward or "(the run's default recipients)" for ref in refs.values()}
    print(
        f"\nerror-level findings: {errors} in {sum(bool(r.errors) for r in checked.reports)} documents; "
        f"stewards to tell: {', '.join(sorted(stewards))} (the demo configures no alert channel)"
    )
    print(f"report: {index}\nfindings: {findings}\ndataset: {dataset.database} and {dataset.parquet}/")
    return 0
