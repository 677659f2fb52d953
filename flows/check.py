"""Flows over documents: ``check-documents`` checks local files; ``process-documents`` takes archived documents
through extract → validate → publish → alert, each document in isolation; ``revalidate-dataset`` does the same for
every current version in the dataset."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from prefect import flow
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.concurrency.sync import concurrency
from prefect.futures import PrefectFuture
from pydantic import Field

from budgetwatch.acquire import sources
from budgetwatch.acquire.docref import DocumentRef, FiscalYear, KindName, Selection, completed
from budgetwatch.check.batch import CheckRun, DocumentReport
from budgetwatch.errors import BudgetwatchError, DocumentError, RunIncomplete
from budgetwatch.publish.alerts import Failure, failures
from budgetwatch.publish.dataset import Dataset, Publication, current_refs
from budgetwatch.publish.outputs import run_text, write_findings
from budgetwatch.report import write_report
from budgetwatch.service.orchestration import DATASET_LIMIT
from tasks.documents import (
    extract_document,
    extract_reference,
    hash_document,
    validate_document,
    validate_documents,
    write_outputs,
)
from tasks.publishing import compose_alerts, publish_document, record_alert, send_alert

District = Literal[tuple(s.id for s in sources.load())]  # the registry's source ids, a dropdown in the run form
Channel = Literal["email", "webhook"]


@flow(name="check-documents", log_prints=True)
def check_documents(
    paths: Annotated[list[str], Field(min_length=1, description="documents to check (PDF, Word, Excel, HTML, text)")],
    out: Annotated[str, Field(description="folder for the tables and findings")] = "budgetwatch-out",
) -> dict:
    """One unreadable document never stops the others: it is reported with its reason."""
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
    written = write_outputs(run, out)
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


def _settle(future: PrefectFuture, ref: DocumentRef, unreadable: list[DocumentError]):
    """The result of one document's task, or None with the reason recorded (one bad document never stops the run)."""
    try:
        return future.result()
    except DocumentError as exc:
        unreadable.append(exc)
    except Exception as exc:  # noqa: BLE001 - a crash on one document is reported with it, not fatal to the run
        unreadable.append(DocumentError(ref.path, f"{type(exc).__name__}: {exc}"))
    return None


def _admitted(ref: DocumentRef, selection: Selection) -> bool:
    return selection.admits(ref.source_id, ref.department, ref.fiscal_year, ref.kind)


def process_refs(
    refs: list[DocumentRef],
    selection: Selection,
    *,
    dataset: str,
    out: str,
    dry_run: bool = False,
    refresh: bool = False,
    channels: list[str] | None = None,
) -> dict:
    """Extract, validate, publish and alert for archived documents; what a crawl hands over enters here."""
    registry = sources.load()
    unreadable: list[DocumentError] = []
    refs = [r for r in refs if _admitted(r, selection)]
    hashed = [(r, hash_document.submit(r)) for r in refs]
    refs = [h for r, f in hashed if (h := _settle(f, r, unreadable))]
    extracting = [(r, extract_reference.with_options(refresh_cache=refresh).submit(r)) for r in refs]
    extracted = [(r, x) for r, f in extracting if (x := _settle(f, r, unreadable))]
    checked: list[tuple[DocumentRef, DocumentReport]] = []
    validating = [
        (completed(r, x.document, registry), validate_document.with_options(refresh_cache=refresh).submit(r, x))
        for r, x in extracted
    ]
    for ref, future in validating:
        report = _settle(future, ref, unreadable)
        if report is not None and _admitted(ref, selection):
            checked.append((ref, report))
    publications: list[Publication] = []
    broken: list[str] = []
    found = [f for ref, report in checked for f in failures(ref, report)]
    with concurrency(DATASET_LIMIT, occupy=1, strict=True):  # one run writes the dataset and its ledger at a time
        for ref, report in checked:  # one transaction a document; a failure of one is reported with it
            try:
                publications.append(publish_document(ref, report, dataset, dry_run))
            except Exception as exc:  # noqa: BLE001 - the other documents are still published; the run fails at the end
                broken.append(f"publishing {ref.path}: {type(exc).__name__}: {exc}")
        sent = _alert(found, dataset, channels or [], dry_run, broken)
    run = CheckRun(reports=[r for _, r in checked], unreadable=unreadable)
    written = write_findings(run, Path(out))
    html = _steward_report(run, checked, Path(out), broken)
    summary = _artifacts(
        checked,
        publications=publications,
        unreadable=unreadable,
        written=written,
        html=html,
        dataset=dataset,
        sent=sent,
        dry_run=dry_run,
    )
    if broken:
        raise RunIncomplete(broken)
    return summary


def _steward_report(
    run: CheckRun, checked: list[tuple[DocumentRef, DocumentReport]], out: Path, broken: list[str]
) -> Path | None:
    """The run's HTML report from the reports already made, in a folder of its own under ``out/reports`` (a quiet day
    does not replace an earlier report), compared with the previous run's. Documents link to their source URL."""
    urls = {ref.path: ref.url for ref, _ in checked if ref.url and urlsplit(ref.url).scheme in ("http", "https")}
    folders = out / "reports"
    earlier = sorted(p for p in folders.glob("*") if (p / "check.json").is_file()) if folders.is_dir() else []
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    try:
        return write_report(run, folders / stamp, sources=urls, previous=earlier[-1] if earlier else None)
    except Exception as exc:  # noqa: BLE001 - the findings are written; the run fails at the end
        broken.append(f"writing the HTML report: {type(exc).__name__}: {exc}")
        return None


def _alert(found: list[Failure], dataset: str, channels: list[str], dry_run: bool, broken: list[str]) -> list[dict]:
    """Send each pending message; a message that is not delivered stays pending (its failures are told next run)."""
    if not found or not channels:
        return []
    try:
        messages = compose_alerts(dataset, channels, found)
    except Exception as exc:  # noqa: BLE001 - reported at the end of the run, after the other stages
        broken.append(f"composing alerts: {type(exc).__name__}: {exc}")
        return []
    sent = []
    for message in messages:
        entry = {"channel": message.channel, "recipient": message.recipient or "(default recipients)",
                 "failures": len(message.failures), "delivered": False}  # fmt: skip
        if not dry_run:
            try:
                send_alert(message)
                record_alert(dataset, message)
                entry["delivered"] = True
            except Exception as exc:  # noqa: BLE001 - the run fails at the end; the ledger keeps the message pending
                broken.append(f"alert {message.channel} to {entry['recipient']}: {type(exc).__name__}: {exc}")
        sent.append(entry)
    return sent


def _findings_rows(checked: list[tuple[DocumentRef, DocumentReport]], outcome: dict[str, Publication]) -> list[dict]:
    rows = []
    for ref, report in checked:
        p = outcome.get(report.extraction.document.sha256)
        for f in report.findings:
            first = f.locations[0] if f.locations else None
            rows.append(
                {"document": ref.title or ref.department or ref.path, "url": ref.identity,
                 "outcome": p.action if p else "not published", "severity": str(f.severity), "check": f.check_id,
                 "table": first.table_id if first else None, "message": f.message.split(" | ")[0],
                 "expected": f.expected, "printed": f.actual, "difference": f.difference,
                 "line": first.line if first else None}
            )  # fmt: skip
    return rows


def _summary_markdown(
    checked: list, counts: tuple[Counter, Counter, Counter], unreadable: list, sent: list[dict], *, dry_run: bool
) -> str:
    novelty, actions, errors = counts
    lines = [
        f"# budgetwatch run{' (dry run: nothing published, nobody alerted)' if dry_run else ''}",
        "",
        "| documents | new | changed | unchanged | published | quarantined | unreadable |",
        "|---|---|---|---|---|---|---|",
        f"| {len(checked)} | {novelty['new']} | {novelty['changed']} | {novelty['unchanged']} | {actions['published']} "
        f"| {actions['quarantined']} | {len(unreadable)} |",
        "",
        "## Errors by check",
        "",
        *([f"- `{check}`: {n}" for check, n in sorted(errors.items())] or ["none"]),
        "",
        "## Alerts",
        "",
        *(
            [
                f"- {a['channel']} to {a['recipient']}: {a['failures']} failures, "
                f"{'delivered' if a['delivered'] else 'not sent'}"
                for a in sent
            ]
            or ["none"]
        ),
        *(["", "## Unreadable", "", *[f"- {e}" for e in unreadable]] if unreadable else []),
    ]
    return "\n".join(lines)


def _link_artifacts(dataset: str, written: Path, html: Path | None) -> None:
    root = Dataset(Path(dataset))
    links = {
        "dataset-database": (root.database, "published dataset and quarantine (DuckDB)"),
        "dataset-parquet": (root.parquet, "published dataset (Parquet by fiscal year and district)"),
        "check-report": (written, "findings of this run (JSON)"),
        "findings-csv": (written.with_name("findings.csv"), "findings of this run (CSV for Excel/WPS)"),
        **({"steward-report": (html, "report of this run (HTML, opens offline)")} if html else {}),
    }
    for key, (path, text) in links.items():
        create_link_artifact(key=key, link=path.resolve().as_uri(), link_text=text)


def _artifacts(
    checked: list[tuple[DocumentRef, DocumentReport]],
    *,
    publications: list[Publication],
    unreadable: list[DocumentError],
    written: Path,
    html: Path | None,
    dataset: str,
    sent: list[dict],
    dry_run: bool,
) -> dict:
    """Table of findings, markdown summary and links to the dataset and the findings files."""
    rows = _findings_rows(checked, {p.sha256: p for p in publications})
    create_table_artifact(key="findings", table=rows or [{"findings": "none"}], description="findings of this run")
    novelty = Counter(p.novelty for p in publications)
    actions = Counter(p.action for p in publications)
    errors = Counter(f.check_id for _, r in checked for f in r.errors)
    summary = {
        "documents": len(checked), "unreadable": [e.source for e in unreadable],
        "new": novelty["new"], "changed": novelty["changed"], "unchanged": novelty["unchanged"],
        "published": actions["published"], "quarantined": actions["quarantined"],
        "published_rows": sum(p.rows for p in publications), "errors_by_check": dict(sorted(errors.items())),
        "alerts": sent, "dry_run": dry_run, "findings": str(written), "report": str(html) if html else None,
    }  # fmt: skip
    markdown = _summary_markdown(checked, (novelty, actions, errors), unreadable, sent, dry_run=dry_run)
    create_markdown_artifact(key="run-summary", markdown=markdown, description="budgetwatch run summary")
    _link_artifacts(dataset, written, html)
    return summary


@flow(name="process-documents", log_prints=True)
def process_documents(  # noqa: PLR0917 - a flow's parameters are its run form
    documents: Annotated[list[DocumentRef], Field(min_length=1, description="archived documents to process")],
    districts: Annotated[list[District] | None, Field(description="only these sources (all when empty)")] = None,
    departments: Annotated[list[str] | None, Field(description="only departments whose name has one of these")] = None,
    fiscal_years: Annotated[list[FiscalYear] | None, Field(description="only these fiscal years")] = None,
    kinds: Annotated[list[KindName] | None, Field(description="only budgets and/or final accounts")] = None,
    force_refetch: Annotated[bool, Field(description="read and validate again even when the content is known")] = False,
    dry_run: Annotated[bool, Field(description="validate only: publish nothing, alert nobody")] = False,
    dataset: Annotated[str, Field(min_length=1, description="folder of the published dataset")] = "budgetwatch-data",
    out: Annotated[str, Field(min_length=1, description="folder for this run's findings")] = "budgetwatch-out",
    alert_channels: Annotated[list[Channel] | None, Field(description="channels for steward alerts")] = None,
) -> dict:
    """Each document is extracted, validated, published or quarantined on its own; stewards hear of new failures."""
    selection = Selection(districts=districts or [], departments=departments or [],
                          fiscal_years=fiscal_years or [], kinds=kinds or [])  # fmt: skip
    channels = ["email", "webhook"] if alert_channels is None else list(alert_channels)
    summary = process_refs(documents, selection, dataset=dataset, out=out, dry_run=dry_run, refresh=force_refetch,
                           channels=channels)  # fmt: skip
    print(f"{summary['documents']} documents: {summary['published']} published, {summary['quarantined']} quarantined")
    return summary


@flow(name="revalidate-dataset", log_prints=True)
def revalidate_dataset(
    dataset: Annotated[str, Field(min_length=1, description="folder of the published dataset")] = "budgetwatch-data",
    out: Annotated[str, Field(min_length=1, description="folder for this run's findings")] = "budgetwatch-out",
    districts: Annotated[list[District] | None, Field(description="only these sources (all when empty)")] = None,
    dry_run: Annotated[bool, Field(description="validate only: publish nothing, alert nobody")] = False,
    alert_channels: Annotated[list[Channel] | None, Field(description="channels for steward alerts")] = None,
) -> dict:
    """Validate every current version again with today's rules (a rule change can move a document either way)."""
    refs = current_refs(Dataset(Path(dataset)))
    if not refs:
        raise BudgetwatchError(f"{dataset}: the dataset holds no document to re-validate")
    channels = ["email", "webhook"] if alert_channels is None else list(alert_channels)
    return process_refs(refs, Selection(districts=districts or []), dataset=dataset, out=out, dry_run=dry_run,
                        refresh=True, channels=channels)  # fmt: skip
