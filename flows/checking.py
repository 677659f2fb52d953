"""Hashing, extraction and validation of a run's documents, each document a task of its own: on the flow's own task
runner, or on a Dask cluster through Prefect's Dask task runner (``check_on_cluster``).

This is a module of its own, imported by the flows' files, because the cluster's workers must import the flow whose
tasks they run: a deployment loads its entrypoint file under another name than its module's."""

from __future__ import annotations

import os

from prefect import flow
from prefect.futures import PrefectFuture

from budgetwatch.acquire.docref import DocumentRef, Selection, completed
from budgetwatch.check.batch import DocumentReport
from budgetwatch.errors import DocumentError
from budgetwatch.publish.found import as_found, shown_name
from tasks.documents import extract_reference, hash_document, validate_document


def _settle(future: PrefectFuture, ref: DocumentRef, unreadable: list[DocumentError]):
    """The result of one document's task, or None with the reason recorded under the document's shown name (never
    a path on this machine); one bad document never stops the run."""
    name = shown_name(ref)
    try:
        return future.result()
    except DocumentError as exc:
        unreadable.append(DocumentError(name, exc.reason.replace(ref.path, name)))
    except Exception as exc:  # noqa: BLE001 - a crash on one document is reported with it, not fatal to the run
        unreadable.append(DocumentError(name, f"{type(exc).__name__}: {str(exc).replace(ref.path, name)}"))
    return None


def _admitted(ref: DocumentRef, selection: Selection) -> bool:
    return selection.admits(ref.source_id, ref.department, ref.fiscal_year, ref.kind)


def checked_here(
    refs: list[DocumentRef], selection: Selection, registry: list, refresh: bool, unreadable: list[DocumentError]
) -> list[tuple[DocumentRef, DocumentReport]]:
    """Hash, extract and validate each admitted document (each a task of its own, cached on the content)."""
    refs = [r for r in refs if _admitted(r, selection)]
    hashed = [(r, hash_document.submit(r)) for r in refs]
    refs = [h for r, f in hashed if (h := _settle(f, r, unreadable))]
    extracting = [(r, extract_reference.with_options(refresh_cache=refresh).submit(r)) for r in refs]
    extracted = []
    for ref, future in extracting:
        if (x := _settle(future, ref, unreadable)) is not None:
            known = completed(ref, x.document, registry)
            extracted.append((known, as_found(x, known)))
    validating = [(r, validate_document.with_options(refresh_cache=refresh).submit(r, x)) for r, x in extracted]
    checked = []
    for ref, future in validating:
        report = _settle(future, ref, unreadable)
        if report is not None and _admitted(ref, selection):
            checked.append((ref, report))
    return checked


@flow(name="check-on-cluster", validate_parameters=False)
def check_on_cluster(
    refs: list[DocumentRef], selection: Selection, registry: list, refresh: bool
) -> tuple[list[tuple[DocumentRef, DocumentReport]], list[DocumentError]]:
    """Hash, extract and validate on the task runner this flow is given (a Dask cluster); what was checked and what
    could not be read."""
    unreadable: list[DocumentError] = []
    return checked_here(refs, selection, registry, refresh, unreadable), unreadable


def dask_runner(address: str | None, workers: int | None):
    """Prefect's Dask task runner: on the cluster at ``address``, else on a local cluster of ``workers`` processes
    (one a core when None), one thread each since reading and validating hold the interpreter."""
    from prefect_dask import DaskTaskRunner  # noqa: PLC0415 - only the runs that use a cluster load Dask

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers or os.cpu_count() or 1, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})  # fmt: skip
