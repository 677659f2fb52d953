"""Extraction plus every validation, for a batch of documents; unreadable documents are reported, not fatal."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from budgetwatch.errors import DocumentError
from budgetwatch.model import Extraction, Finding, Severity
from budgetwatch.read.isolation import READ_WORKERS, expand, read_documents
from budgetwatch.read.limits import Limits

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(slots=True)
class DocumentReport:
    extraction: Extraction
    findings: list[Finding]
    skipped: list[dict[str, str]] = field(default_factory=list)  # identity rules that could not run, with the reason

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.WARNING]


@dataclass(slots=True)
class CheckRun:
    reports: list[DocumentReport] = field(default_factory=list)
    unreadable: list[DocumentError] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        if self.unreadable:
            return 2
        return 1 if any(r.errors for r in self.reports) else 0


# every identity lies within one document: validating in batches bounds the frames' memory and loses nothing
BATCH_DOCUMENTS = 2_500
# batches validated side by side: the heavy parts (polars, the compiled loops) release the interpreter lock
CONCURRENT_BATCHES = min(2, os.cpu_count() or 1)


def _finding_order(f: Finding) -> tuple:
    """Errors first, then by check and place: the same document always reports in the same order."""
    first = f.locations[0] if f.locations else None
    line = first.line if first and first.line is not None else -1
    return (_SEVERITY_ORDER[f.severity], f.check_id, (first.table_id or "") if first else "", line, f.message)


def validate_extractions(extractions: list[Extraction]) -> list[DocumentReport]:
    """Findings of every rule for each extraction, errors first."""
    batches = [extractions[start : start + BATCH_DOCUMENTS] for start in range(0, len(extractions), BATCH_DOCUMENTS)]
    if len(batches) < 2 or CONCURRENT_BATCHES < 2:
        return [r for batch in batches for r in _validate_batch(batch)]
    with ThreadPoolExecutor(CONCURRENT_BATCHES) as pool:
        return [r for done in pool.map(_validate_batch, batches) for r in done]


def _validate_batch(extractions: list[Extraction]) -> list[DocumentReport]:
    """Every rule on each disclosure report; a file that is not one is reported with its verdict, unchecked."""
    # the checks (polars frames, numba's compiled loops, pandera) load here: extraction alone needs none of them
    from budgetwatch.check.certainty import downgrade_guessed  # noqa: PLC0415
    from budgetwatch.check.document_checks import document_findings  # noqa: PLC0415
    from budgetwatch.check.narrative_checks import narrative_findings  # noqa: PLC0415
    from budgetwatch.check.rules import basis_of  # noqa: PLC0415
    from budgetwatch.check.validate import checked_and_skipped, frames  # noqa: PLC0415

    reports = []
    checked = [ex for ex in extractions if ex.document.is_disclosure]
    by_document, skipped = checked_and_skipped(*frames(checked)) if checked else ({}, {})
    for ex in extractions:
        sha = ex.document.sha256
        if not ex.document.is_disclosure:
            reports.append(DocumentReport(extraction=ex, findings=[]))
            continue
        findings = downgrade_guessed(by_document.get(sha, []) + document_findings(ex) + narrative_findings(ex), ex)
        for f in findings:
            f.basis = f.basis or basis_of(f.check_id)
        findings.sort(key=_finding_order)
        reports.append(DocumentReport(extraction=ex, findings=findings, skipped=skipped.get(sha, [])))
    return reports


def extract_all(
    paths: Iterable[str | Path], limits: Limits | None = None
) -> tuple[list[Extraction], list[DocumentError]]:
    """Every document read, each under the limits in its own reading process: one that cannot be read is a
    DocumentError naming it and the reason, and the others are read all the same."""
    extractions, failures = [], []
    for _, verdict in read_documents(expand(paths), limits, workers=READ_WORKERS):
        if isinstance(verdict, DocumentError):
            failures.append(verdict)
        else:
            extractions.append(verdict)
    return extractions, failures


def check_paths(paths: Iterable[str | Path]) -> CheckRun:
    extractions, failures = extract_all(paths)
    return CheckRun(reports=validate_extractions(extractions), unreadable=failures)
