"""Flow ``crawl-portals``: crawl the registry's portal columns, archive what is new, and take each new or changed
report through the stages of ``process-documents``. A crawl failure fails the run at the end, after every document
found was processed; a portal that is down fails its own source, not the others."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from pydantic import Field

from budgetwatch.acquire import sources
from budgetwatch.acquire.archive import Archive
from budgetwatch.acquire.crawl import SourceResult
from budgetwatch.acquire.docref import FiscalYear, KindName, Selection
from budgetwatch.acquire.fetch import Fetcher
from budgetwatch.acquire.handover import ArchiveState, crawl_problems, crawl_rows, document_refs
from budgetwatch.errors import BudgetwatchError, RunIncomplete
from budgetwatch.service.orchestration import host_limit
from flows.check import Channel, District, process_refs
from tasks.network import RateLimitedSession, crawl_source


def _chosen(sources_file: str | None, wanted: list[str]) -> list[sources.Source]:
    registry = sources.load(sources_file or None)
    by_id = {s.id: s for s in registry}
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        raise BudgetwatchError(f"{sources_file or 'sources.yaml'}: no source {', '.join(unknown)}")
    return [by_id[i] for i in wanted] if wanted else [s for s in registry if s.enabled]


def _unlimited_hosts(source: sources.Source) -> list[str]:
    """The source's hosts that have no rate limit on the server (requests to them would fail, being strict)."""
    missing = []
    with get_client(sync_client=True) as client:
        for host in source.allowed_hosts:
            try:
                client.read_global_concurrency_limit_by_name(host_limit(f"http://{host}/"))
            except ObjectNotFound:
                missing.append(host)
    return missing


def _not_limited(source: sources.Source, hosts: list[str]) -> SourceResult:
    names = ", ".join(host_limit(f"http://{h}/") for h in hosts)
    error = (f"not crawled: no rate limit {names} on the Prefect server; the deployment step "
             f"(budgetwatch.service.orchestration.prepare_server) creates them for the registry and the sources "
             f"files the deployments name")  # fmt: skip
    first = source.columns[0].url if source.columns else ""
    return SourceResult(source.id, source.name, source.steward, failures=[{"url": first, "error": error}])


def _crawl_artifacts(results: list[SourceResult], before: ArchiveState, problems: list[str]) -> None:
    rows = crawl_rows(results, before)
    create_table_artifact(key="crawl", table=rows or [{"crawl": "nothing found"}], description="what the crawl found")
    lines = [
        "# Crawl",
        "",
        "| source | reports | new | changed | skipped | refused | failures | requests | not modified | bytes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        status = [before.status(x) for x in r.reports]
        lines.append(
            f"| {r.source_id} {r.name} | {len(r.reports)} | {status.count('new')} | {status.count('changed')} "
            f"| {len(r.skipped)} | {len(r.refused)} | {len(r.failures)} | {r.requests} | {r.not_modified} "
            f"| {r.document_bytes} |"
        )
    lines += ["", "## Failures", "", *([f"- {p}" for p in problems] or ["none"])]
    create_markdown_artifact(key="crawl-summary", markdown="\n".join(lines), description="budgetwatch crawl")


@flow(name="crawl-portals", log_prints=True)
def crawl_portals(  # noqa: PLR0917 - a flow's parameters are its run form
    districts: Annotated[list[District] | None, Field(description="sources to crawl (all enabled when empty)")] = None,
    sources_file: Annotated[str | None, Field(description="a registry file instead of the bundled one")] = None,
    departments: Annotated[list[str] | None, Field(description="only departments whose name has one of these")] = None,
    fiscal_years: Annotated[list[FiscalYear] | None, Field(description="only these fiscal years")] = None,
    kinds: Annotated[list[KindName] | None, Field(description="only budgets and/or final accounts")] = None,
    force_refetch: Annotated[bool, Field(description="download and process again what is already known")] = False,
    dry_run: Annotated[bool, Field(description="crawl and validate only: publish nothing, alert nobody")] = False,
    allow_local: Annotated[bool, Field(description="let sources marked local_test reach a portal on loopback")] = False,
    archive: Annotated[
        str, Field(min_length=1, description="folder of the archived documents")
    ] = "budgetwatch-archive",
    dataset: Annotated[str, Field(min_length=1, description="folder of the published dataset")] = "budgetwatch-data",
    out: Annotated[
        str, Field(min_length=1, description="folder for this run's findings and report")
    ] = "budgetwatch-out",
    alert_channels: Annotated[list[Channel] | None, Field(description="channels for steward alerts")] = None,
) -> dict:
    """Crawl, then extract → validate → publish → alert each new or changed report; crawl failures fail the run."""
    chosen = _chosen(sources_file, list(districts or []))
    fetcher = Fetcher(session=RateLimitedSession())
    with Archive(Path(archive)) as store:
        before = ArchiveState.of(store)
        crawling, results = [], []
        for source in chosen:
            missing = _unlimited_hosts(source)
            if missing:
                results.append(_not_limited(source, missing))
            else:
                crawling.append((source, crawl_source.submit(source, store, fetcher, force_refetch, allow_local)))
        for source, future in crawling:
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001 - one source that broke after its retries fails alone
                error = f"crawl broke: {type(exc).__name__}: {exc}"
                results.append(
                    SourceResult(source.id, source.name, source.steward, failures=[{"url": "", "error": error}])
                )
    problems = crawl_problems(results)
    _crawl_artifacts(results, before, problems)
    refs = document_refs(results, before, force=force_refetch)
    print(f"crawled {len(results)} sources: {len(refs)} documents to process, {len(problems)} failures")
    selection = Selection(districts=[], departments=departments or [], fiscal_years=fiscal_years or [],
                          kinds=kinds or [])  # fmt: skip
    channels = ["email", "webhook"] if alert_channels is None else list(alert_channels)
    try:
        summary = process_refs(refs, selection, dataset=dataset, out=out, dry_run=dry_run, refresh=force_refetch,
                               channels=channels)  # fmt: skip
    except RunIncomplete as exc:
        raise RunIncomplete(exc.failures + problems) from exc
    summary["crawl"] = {"sources": len(results), "handed_over": len(refs), "failures": problems,
                        "document_bytes": sum(r.document_bytes for r in results)}  # fmt: skip
    if problems:
        raise RunIncomplete(problems)
    return summary
