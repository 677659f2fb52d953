"""Check a batch of local documents: extract each in isolation, validate them together, write the results."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from pydantic import Field

from budgetwatch.checking import CheckRun
from budgetwatch.errors import DocumentError
from budgetwatch.outputs import run_text
from tasks.documents import extract_document, validate_documents, write_outputs


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
