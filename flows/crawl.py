"""Flow ``crawl-portals``: crawl the registry's portal columns, archive what is new, and take each new or changed
report through the stages of ``process-documents``. Crawl problems are filed in a ledger with their life cycle: a run
fails for a problem new in it (a portal down, a new broken link, a list page that stopped listing), tells the source's
steward once, and does not fail again while the problem merely lasts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.states import Failed
from pydantic import Field

from budgetwatch.acquire import sources as registry_file
from budgetwatch.acquire.archive import Archive
from budgetwatch.acquire.crawl import SourceResult
from budgetwatch.acquire.docref import FiscalYear, KindName, Selection
from budgetwatch.acquire.fetch import Fetcher
from budgetwatch.acquire.handover import ArchiveState, crawl_rows, document_refs
from budgetwatch.publish.ledger import Problem
from budgetwatch.service.orchestration import host_limit
from flows.batches import failed_batches, fan_out
from flows.check import Channel, Scope, process_refs
from tasks.network import RateLimitedSession, crawl_source

BATCH_TIMEOUT = 6 * 3600  # seconds a crawl waits for its batch runs


def _chosen(sources_file: str | None, wanted: list[str]) -> tuple[list[registry_file.Source], list, str | None]:
    """The sources to crawl, the whole registry, and what is wrong with the choice (None when sound)."""
    where = sources_file or "the bundled registry (budgetwatch/data/sources.yaml)"
    try:
        registry = registry_file.load(sources_file or None)
    except registry_file.RegistryError as exc:
        return [], [], f"{where}: {exc}"
    by_id = {s.id: s for s in registry}
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        return [], registry, f"{where} has no source {', '.join(unknown)}; its sources are {', '.join(by_id)}"
    return ([by_id[i] for i in wanted] if wanted else [s for s in registry if s.enabled]), registry, None


def _unlimited_hosts(source: registry_file.Source) -> list[str]:
    """The source's hosts that have no rate limit on the server (requests to them would fail, being strict)."""
    missing = []
    with get_client(sync_client=True) as client:
        for host in source.allowed_hosts:
            try:
                client.read_global_concurrency_limit_by_name(host_limit(f"http://{host}/"))
            except ObjectNotFound:
                missing.append(host)
    return missing


def _not_limited(source: registry_file.Source, hosts: list[str]) -> SourceResult:
    names = ", ".join(host_limit(f"http://{h}/") for h in hosts)
    error = (f"not crawled: no rate limit {names} on the Prefect server; the deployment step "
             f"(budgetwatch.service.orchestration.prepare_server) creates them for the registry and the sources "
             f"files the deployments name")  # fmt: skip
    first = source.columns[0].url if source.columns else ""
    return SourceResult(source.id, source.name, source.steward, failures=[{"url": first, "error": error}])


def problems_of(results: list[SourceResult]) -> list[Problem]:
    """Each failure of the crawl as a problem of its source, addressed to the source's steward."""
    return [Problem(r.source_id, f["url"], f["error"], r.name, r.steward) for r in results for f in r.failures]


def _crawl_artifacts(results: list[SourceResult], before: ArchiveState) -> None:
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
    lines += ["", "Which failures are new, still open or fixed: see the run summary."]
    create_markdown_artifact(key="crawl-summary", markdown="\n".join(lines), description="budgetwatch crawl")


def _crawl(
    chosen: list, archive: str, force_refetch: bool, allow_local: bool
) -> tuple[list[SourceResult], ArchiveState]:
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
    return results, before


@flow(name="crawl-portals", log_prints=True)
def crawl_portals(  # noqa: PLR0917 - a flow's parameters are its run form
    sources: list[str] | None = None,
    sources_file: str | None = None,
    departments: list[str] | None = None,
    fiscal_years: list[FiscalYear] | None = None,
    kinds: list[KindName] | None = None,
    force_refetch: bool = False,
    dry_run: bool = False,
    allow_local: bool = False,
    archive: Annotated[str, Field(min_length=1)] = "budgetwatch-archive",
    dataset: Annotated[str, Field(min_length=1)] = "budgetwatch-data",
    out: Annotated[str, Field(min_length=1)] = "budgetwatch-out",
    alert_channels: list[Channel] | None = None,
    batch_size: Annotated[int, Field(ge=0)] = 0,
):
    """Crawl the portal columns, then extract → validate → publish → alert each new or changed report; a crawl
    problem new in this run fails the run (after the documents found were processed), one that lasts does not.

    Args:
        sources: the sources to crawl, by id in the registry the run uses (e.g. 420116); every enabled one when empty
        sources_file: a registry file to use instead of the bundled budgetwatch/data/sources.yaml
        departments: only departments whose name contains one of these (e.g. 医疗保障局)
        fiscal_years: only these fiscal years
        kinds: only budgets (budget) and/or final accounts (final_account)
        force_refetch: download and process again what is already known
        dry_run: crawl and validate only: publish nothing, file nothing, alert nobody
        allow_local: let sources marked local_test reach a portal on loopback (a test portal only)
        archive: folder of the archived documents
        dataset: folder of the published dataset and its ledgers
        out: folder for the run's report and findings (each run writes a folder of its own under it)
        alert_channels: channels to tell stewards by (email, webhook); both when empty
        batch_size: documents per batch run (process-batch/batch), which any worker of the pool takes, per source;
            0 processes every document in this run
    """
    chosen, registry, wrong = _chosen(sources_file, list(sources or []))
    if wrong:
        return Failed(message=wrong)
    results, before = _crawl(chosen, archive, force_refetch, allow_local)
    _crawl_artifacts(results, before)
    refs = document_refs(results, before, force=force_refetch)
    problems = problems_of(results)
    print(f"crawled {len(results)} sources: {len(refs)} documents to process, {len(problems)} failures")
    selection = Selection(districts=[r.source_id for r in results], departments=departments or [],
                          fiscal_years=fiscal_years or [], kinds=kinds or [])  # fmt: skip
    scope = Scope(selection=selection, crawled=[r.source_id for r in results], problems=problems)
    channels = ["email", "webhook"] if alert_channels is None else list(alert_channels)
    broken = []
    if batch_size and refs:  # the documents go to batch runs; this run files and tells the crawl's problems
        given = {"sources_file": sources_file, "force_refetch": force_refetch, "dry_run": dry_run, "dataset": dataset,
                 "out": out, "alert_channels": channels}  # fmt: skip
        broken = fan_out(refs, scope, batch_size=batch_size, parameters=given, timeout=BATCH_TIMEOUT)
        refs = []
    state = process_refs(refs, scope, dataset=dataset, out=out, dry_run=dry_run, refresh=force_refetch,
                         channels=channels, registry=registry)  # fmt: skip
    if broken:
        state = failed_batches(broken + ([state.message] if state.is_failed() else []))
    print(state.message)
    return state
