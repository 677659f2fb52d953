"""Runs split per source and per batch of documents, so that every worker of the pool takes a share.

A run with ``batch_size`` set hands its documents over as runs of the deployment ``process-batch/batch``
(one per source and batch of at most ``batch_size`` documents) and waits for them; whichever worker of the pool is
free takes each. Each batch run publishes, files and alerts for its own documents; the run that split them files and
tells the crawl's problems and reports every open finding of what it covered.
"""

from __future__ import annotations

import time
from itertools import groupby
from typing import Annotated

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.states import Failed, State
from pydantic import Field

from budgetwatch.acquire import sources as registry_file
from budgetwatch.acquire.docref import DocumentRef, Selection
from flows.check import Channel, Scope, process_refs

BATCH_DEPLOYMENT = "process-batch/batch"
POLL_SECONDS = 1.0


def batches(refs: list[DocumentRef], size: int) -> list[list[DocumentRef]]:
    """The documents per source (in the order first met), each source's cut into runs of at most ``size``."""
    order = {s: n for n, s in enumerate(dict.fromkeys(r.source_id or "" for r in refs))}
    out = []
    for _, group in groupby(sorted(refs, key=lambda r: order[r.source_id or ""]), key=lambda r: r.source_id or ""):
        members = list(group)
        out += [members[i : i + size] for i in range(0, len(members), size)]
    return out


def _wait(flow_run_ids: list, timeout: float) -> list:
    """The batch runs once every one has ended (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = [client.read_flow_run(i) for i in flow_run_ids]
            if all(r.state and r.state.is_final() for r in runs) or time.monotonic() > deadline:
                return runs
            time.sleep(POLL_SECONDS)


def fan_out(refs: list[DocumentRef], scope: Scope, *, batch_size: int, parameters: dict, timeout: float) -> list[str]:
    """Run the documents as batch runs of the pool and wait for them; what broke in them, in words."""
    started = []
    for batch in batches(refs, batch_size):
        documents = {"refs": [r.model_dump(mode="json") for r in batch]}
        selection = {"selection": scope.selection.model_dump(mode="json")}
        run = run_deployment(BATCH_DEPLOYMENT, parameters={**documents, **selection, **parameters}, timeout=0)
        started.append(run.id)
    broken = []
    for run in _wait(started, timeout):
        if not (run.state and run.state.is_completed()):
            state = run.state.name if run.state else "not started"
            broken.append(f"batch run {run.name}: {state}: {run.state.message if run.state else ''}")
    return broken


@flow(name="process-batch", log_prints=True, validate_parameters=True)
def process_batch(  # noqa: PLR0917 - a flow's parameters are its run form
    refs: Annotated[list[DocumentRef], Field(min_length=1)],
    selection: Selection | None = None,
    sources_file: str | None = None,
    force_refetch: bool = False,
    dry_run: bool = False,
    dataset: Annotated[str, Field(min_length=1)] = "budgetwatch-data",
    out: Annotated[str, Field(min_length=1)] = "budgetwatch-out",
    alert_channels: list[Channel] | None = None,
) -> State:
    """Extract, validate, publish or quarantine one batch of archived documents; stewards hear of new errors.

    Args:
        refs: the archived documents, as the run that split them found them
        selection: which documents of the batch to take (sources, departments, years, kinds); all when empty
        sources_file: the registry the documents' sources come from; the bundled one when empty
        force_refetch: read and validate again even documents whose content was checked before
        dry_run: validate only: publish nothing, file nothing, alert nobody
        dataset: folder of the published dataset and its ledgers
        out: folder for the run's report and findings (each run writes a folder of its own under it)
        alert_channels: channels to tell stewards by (email, webhook); both when empty
    """
    scope = Scope(selection=selection or Selection(), urls=[r.identity for r in refs])
    channels = ["email", "webhook"] if alert_channels is None else list(alert_channels)
    state = process_refs(refs, scope, dataset=dataset, out=out, dry_run=dry_run, refresh=force_refetch,
                         channels=channels, registry=registry_file.load(sources_file))  # fmt: skip
    print(state.message)
    return state


def failed_batches(broken: list[str]) -> State:
    return Failed(message=f"{len(broken)} batch run(s) broke: " + "; ".join(broken))
