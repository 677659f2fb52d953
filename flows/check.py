"""Flows over documents: ``check-documents`` checks local files; ``process-documents`` takes documents through
extract → validate → publish → alert, each document in isolation; ``revalidate-dataset`` does the same for every
current version in the dataset, its extraction and validation on a Dask cluster. ``process_refs`` is what the crawl
hands its documents to; ``process-batch`` is one batch of them run by whichever worker of the pool takes it
(`flows.batches`)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Literal

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.concurrency.sync import concurrency
from prefect.states import Completed, Failed, State
from pydantic import BaseModel, Field

from budgetwatch.acquire import sources as registry_file
from budgetwatch.acquire.docref import DocumentRef, FiscalYear, KindName, Selection
from budgetwatch.check.batch import CheckRun
from budgetwatch.errors import DocumentError
from budgetwatch.publish.dataset import Dataset, Publication, current_refs
from budgetwatch.publish.found import shown_name
from budgetwatch.publish.ledger import Problem, findings_of_run, unfiled
from budgetwatch.publish.outputs import run_text
from budgetwatch.service.orchestration import DATASET_LIMIT
from flows.checking import check_on_cluster, checked_here, dask_runner
from flows.run_outputs import Run, alert, artifacts, versions_of, write_run
from tasks.documents import (
    extract_document,
    validate_documents,
    write_outputs,
)
from tasks.publishing import file_crawl_problems, file_run_findings, publish_document

Channel = Literal["email", "webhook"]


class DocumentInput(BaseModel):
    """A document to process, as the run form takes it."""

    path: Annotated[str, Field(min_length=1, description="the file, on the machine the worker runs on")]
    url: Annotated[str | None, Field(description="its source URL (its identity across versions)")] = None
    source_id: Annotated[str | None, Field(description="its source (district) id in the registry")] = None
    steward: Annotated[str | None, Field(description="e-mail address told of its new errors")] = None


@flow(name="check-documents", log_prints=True)
def check_documents(paths: Annotated[list[str], Field(min_length=1)], out: str = "budgetwatch-out") -> dict:
    """Check local files and write their tables and findings; one unreadable document never stops the others.

    Args:
        paths: documents to check (PDF, Word, Excel, HTML, text), on the machine the worker runs on
        out: folder for the tables and findings (each run writes a folder of its own under it)
    """
    futures = [(path, extract_document.submit(path)) for path in paths]
    extractions, unreadable = [], []
    for path, future in futures:
        try:
            extractions.append(future.result())
        except DocumentError as exc:
            unreadable.append(exc)
        except Exception as exc:  # noqa: BLE001 - a crashed read of one document is reported, not fatal to the run
            unreadable.append(DocumentError(path, f"{type(exc).__name__}: {exc}"))
    run = CheckRun(reports=validate_documents(extractions), unreadable=unreadable)
    written = write_outputs(run, str(Run.start(out).folder))
    summary = run_text(run)
    create_markdown_artifact(key="check-summary", markdown=f"```\n{summary}\n```", description="budgetwatch check")
    print(summary.splitlines()[-1])
    return {
        "documents": len(run.reports),
        "unreadable": [e.source for e in unreadable],
        "errors": sum(len(r.errors) for r in run.reports),
        "warnings": sum(len(r.warnings) for r in run.reports),
        "outputs": written,
    }


class Scope(BaseModel):
    """Which open findings a run reports besides those of the documents it checked."""

    selection: Selection = Field(default_factory=Selection)
    urls: list[str] | None = None  # only these documents (None: any the selection admits)
    crawled: list[str] = Field(default_factory=list)  # the sources a crawl covered
    problems: list[Problem] = Field(default_factory=list)  # the problems the crawl met

    def admits(self, entry) -> bool:
        if self.urls is not None and entry.url not in self.urls:
            return False
        return self.selection.admits(entry.source_id, entry.department, entry.fiscal_year, entry.kind)


def _publish_each(checked: list, dataset: str, dry_run: bool, broken: list[str]) -> list[Publication]:
    """Publish each document: one after another into the embedded DuckDB file, side by side (the task runner's
    threads) into a shared catalogue, where publishers of one document take turns."""
    shared = Dataset(Path(dataset)).shared
    started = [publish_document.submit(ref, report, dataset, dry_run) for ref, report in checked] if shared else []
    publications: list[Publication] = []
    for n, (ref, report) in enumerate(checked):
        try:
            publications.append(started[n].result() if shared else publish_document(ref, report, dataset, dry_run))
        except Exception as exc:  # noqa: BLE001 - the other documents are still published; the run fails at the end
            broken.append(f"publishing {shown_name(ref)}: {type(exc).__name__}: {exc}")
    return publications


def _publish_and_file(
    run: Run, checked: list, scope: Scope, *, registry: list, dataset: str, dry_run: bool, broken: list[str]
) -> tuple[list[Publication], list[Problem]]:
    """Publish each document (one transaction each), then file the findings and the crawl problems in the ledgers."""
    publications = _publish_each(checked, dataset, dry_run, broken)
    problems: list[Problem] = []
    if dry_run:  # a dry run files nothing: the crawl's problems are shown as met
        return publications, list(scope.problems)
    try:
        file_run_findings(dataset, run.id, versions_of(checked, run, registry), False)
        if scope.crawled or scope.problems:
            problems = file_crawl_problems(dataset, run.id, scope.crawled, scope.problems, False)
    except Exception as exc:  # noqa: BLE001 - reported at the end of the run, after the other stages
        broken.append(f"filing findings: {type(exc).__name__}: {exc}")
    return publications, problems


def process_refs(
    refs: list[DocumentRef],
    scope: Scope,
    *,
    dataset: str,
    out: str,
    dry_run: bool = False,
    refresh: bool = False,
    channels: list[str] | None = None,
    registry: list | None = None,
    task_runner=None,
) -> State:
    """Extract, validate, publish, file in the ledgers and alert for archived documents; the run's state: Failed
    (with what broke, in words) for a stage that broke or a crawl problem new in this run, else Completed.
    Extraction and validation run on ``task_runner`` when given (a DaskTaskRunner), else on the flow's own."""
    run = Run.start(out)
    unreadable: list[DocumentError] = []
    registry = registry or registry_file.load()
    if task_runner is not None and refs:
        checked, unreadable = check_on_cluster.with_options(task_runner=task_runner)(
            refs, scope.selection, registry, refresh
        )
    else:
        checked = checked_here(refs, scope.selection, registry, refresh, unreadable)
    broken: list[str] = []
    # one run writes an embedded dataset and its ledgers at a time; a shared one takes turns per document instead
    shared = Dataset(Path(dataset)).shared
    with nullcontext() if shared else concurrency(DATASET_LIMIT, occupy=1, strict=True):
        publications, problems = _publish_and_file(run, checked, scope, registry=registry, dataset=dataset,
                                                   dry_run=dry_run, broken=broken)  # fmt: skip
        if dry_run:  # nothing was filed: the findings of the documents checked are shown as new
            entries = [x for v in versions_of(checked, run, registry) for x in unfiled(v)]
        else:
            entries = _filed(dataset, run, scope, checked, registry, broken)
        written = write_run(run, CheckRun([r for _, r in checked], unreadable), checked, entries, broken)
        sent = alert(run, entries, problems, dataset=dataset, channels=channels or [], dry_run=dry_run, broken=broken)
    summary = artifacts(run, checked, publications, entries, problems, unreadable=unreadable, written=written,
                        sent=sent, dry_run=dry_run)  # fmt: skip
    new_problems = [p for p in problems if p.state == "new"]
    if broken or new_problems:
        said = [f"new crawl problem: {p.district or p.source_id} ({p.source_id}): {p.url or 'the source'}: {p.error}"
                for p in new_problems] + broken  # fmt: skip
        return Failed(message=f"{len(said)} thing(s) broke: " + "; ".join(said))
    return Completed(message=f"{summary['errors']['open']} errors open ({summary['errors']['new']} new)", data=summary)


def _filed(dataset: str, run, scope: Scope, checked: list, registry: list, broken: list[str]) -> list:  # noqa: PLR0917
    """The run's findings from the ledger; when it cannot be read, those of the documents checked, as new."""
    try:
        return findings_of_run(Dataset(Path(dataset)), run.id, scope.admits)
    except Exception as exc:  # noqa: BLE001 - the report still shows what this run found; the run fails at the end
        broken.append(f"reading the findings ledger: {type(exc).__name__}: {exc}")
        return [x for v in versions_of(checked, run, registry) for x in unfiled(v)]


def _channels(alert_channels: list[Channel] | None) -> list[str]:
    return ["email", "webhook"] if alert_channels is None else list(alert_channels)


def _unknown_sources(wanted: list[str], known: set[str], where: str) -> str | None:
    unknown = [s for s in wanted if s not in known]
    if not unknown:
        return None
    return f"{where} has no source {', '.join(unknown)}; its sources are {', '.join(sorted(known)) or 'none'}"


@flow(name="process-documents", log_prints=True)
def process_documents(  # noqa: PLR0917 - a flow's parameters are its run form
    documents: Annotated[list[DocumentInput], Field(min_length=1)],
    sources: list[str] | None = None,
    departments: list[str] | None = None,
    fiscal_years: list[FiscalYear] | None = None,
    kinds: list[KindName] | None = None,
    force_refetch: bool = False,
    dry_run: bool = False,
    dataset: Annotated[str, Field(min_length=1)] = "budgetwatch-data",
    out: Annotated[str, Field(min_length=1)] = "budgetwatch-out",
    alert_channels: list[Channel] | None = None,
):
    """Extract, validate, publish or quarantine each document on its own; stewards hear of new errors.

    Args:
        documents: the documents to process: each a file on the worker's machine, with its source URL, source id
            and steward when known
        sources: only documents of these sources (the registry's ids, e.g. 420116); all when empty
        departments: only departments whose name contains one of these (e.g. 医疗保障局)
        fiscal_years: only these fiscal years
        kinds: only budgets (budget) and/or final accounts (final_account)
        force_refetch: read and validate again even documents whose content was checked before
        dry_run: validate only: publish nothing, file nothing, alert nobody
        dataset: folder of the published dataset and its ledgers
        out: folder for the run's report and findings (each run writes a folder of its own under it)
        alert_channels: channels to tell stewards by (email, webhook); both when empty
    """
    refs = [DocumentRef(**d.model_dump()) if isinstance(d, DocumentInput) else DocumentRef(**d) for d in documents]
    known = {s.id for s in registry_file.load()} | {r.source_id for r in refs if r.source_id}
    if problem := _unknown_sources(list(sources or []), known, "the bundled registry"):
        return Failed(message=problem)
    selection = Selection(districts=sources or [], departments=departments or [],
                          fiscal_years=fiscal_years or [], kinds=kinds or [])  # fmt: skip
    urls = [r.identity for r in refs]
    state = process_refs(refs, Scope(selection=selection, urls=urls), dataset=dataset, out=out, dry_run=dry_run,
                         refresh=force_refetch, channels=_channels(alert_channels))  # fmt: skip
    print(state.message)
    return state


@flow(name="revalidate-dataset", log_prints=True)
def revalidate_dataset(  # noqa: PLR0917 - a flow's parameters are its run form
    dataset: Annotated[str, Field(min_length=1)] = "budgetwatch-data",
    out: Annotated[str, Field(min_length=1)] = "budgetwatch-out",
    sources: list[str] | None = None,
    dry_run: bool = False,
    alert_channels: list[Channel] | None = None,
    dask_address: str | None = None,
    dask_workers: Annotated[int | None, Field(ge=1)] = None,
):
    """Validate every current version again with today's rules (a rule change can move a document either way);
    the documents are read and validated on a Dask cluster.

    Args:
        dataset: folder of the published dataset and its ledgers
        out: folder for the run's report and findings (each run writes a folder of its own under it)
        sources: only documents of these sources (the ids the dataset holds); all when empty
        dry_run: validate only: publish nothing, file nothing, alert nobody
        alert_channels: channels to tell stewards by (email, webhook); both when empty
        dask_address: the scheduler of an existing Dask cluster (tcp://host:8786); a local cluster when empty
        dask_workers: processes of the local cluster; one a core when empty
    """
    refs = current_refs(Dataset(Path(dataset)))
    if not refs:
        return Failed(message=f"{dataset}: the dataset holds no document to validate again")
    held = {r.source_id for r in refs if r.source_id}
    if problem := _unknown_sources(list(sources or []), held, f"the dataset {dataset}"):
        return Failed(message=problem)
    state = process_refs(refs, Scope(selection=Selection(districts=sources or [])), dataset=dataset, out=out,
                         dry_run=dry_run, refresh=True, channels=_channels(alert_channels),
                         task_runner=dask_runner(dask_address, dask_workers))  # fmt: skip
    print(state.message)
    return state
