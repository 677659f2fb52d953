"""Tasks that read, check and write documents; each wraps a plain function of budgetwatch."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from budgetwatch.checking import CheckRun, validate_extractions
from budgetwatch.extract import extract_path
from budgetwatch.model import Extraction
from budgetwatch.outputs import write_extractions, write_findings


@task(name="extract-document", task_run_name="extract {path}")
def extract_document(path: str) -> Extraction:
    """Canonical tables, line items and narrative facts of one document (raises DocumentError when unreadable)."""
    return extract_path(path)


@task(name="validate-documents")
def validate_documents(extractions: list[Extraction]) -> list:
    """Findings of every rule for each document."""
    return validate_extractions(extractions)


@task(name="write-outputs")
def write_outputs(run: CheckRun, out: str) -> dict[str, str]:
    """The canonical tables (Parquet, CSV) and the findings (JSON) of a run."""
    folder = Path(out)
    written = write_extractions([r.extraction for r in run.reports], folder / "tables")
    report = write_findings(run, folder)
    return {"findings": str(report), **{name: str(path) for name, path in written.items()}}
