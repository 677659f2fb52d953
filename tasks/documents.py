"""Tasks that read, check and write documents; each wraps a plain function of budgetwatch."""

from __future__ import annotations

import hashlib
from pathlib import Path

from prefect import task
from prefect.context import TaskRunContext

from budgetwatch import formats
from budgetwatch.acquire.docref import DocumentRef, verified
from budgetwatch.check.batch import CheckRun, DocumentReport, validate_extractions
from budgetwatch.errors import DocumentError, UnsupportedFormat
from budgetwatch.model import Extraction
from budgetwatch.publish.found import label, picture
from budgetwatch.publish.outputs import write_extractions, write_findings
from budgetwatch.read.isolation import read_document


def named(stage: str):
    """A task run name from the document the task works on: department, year and kind, else the file name."""

    def name(parameters: dict) -> str:
        ref = parameters.get("ref")
        return f"{stage} {label(ref)}" if isinstance(ref, DocumentRef) else f"{stage} {Path(parameters['path']).name}"

    return name


@task(name="extract-document", task_run_name=named("extract"))
def extract_document(path: str) -> Extraction:
    """Canonical tables, line items and narrative facts of one document, read in a child process under the limits
    (raises DocumentError when unreadable)."""
    return read_document(path)


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


def _code_version() -> str:
    """Hash of budgetwatch's code and data: cached extractions and findings are reused only by the same code."""
    package = Path(__file__).resolve().parent.parent / "budgetwatch"
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".yaml", ".csv") and p.is_file()):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


CODE_VERSION = _code_version()


def _by_content(stage: str):
    """A cache key from the document's content hash (never its path or name) and the code version."""

    def key(_context: TaskRunContext, parameters: dict) -> str:
        ref: DocumentRef = parameters["ref"]
        return f"{stage}-{ref.sha256}-{CODE_VERSION}"

    return key


@task(name="hash-document", task_run_name=named("hash"))
def hash_document(ref: DocumentRef) -> DocumentRef:
    """The reference with the content hash of its file (DocumentError when unreadable or not the recorded content)."""
    return verified(ref)


@task(
    name="extract-archived-document",
    task_run_name=named("extract"),
    cache_key_fn=_by_content("extract"),
    persist_result=True,
)
def extract_reference(ref: DocumentRef) -> Extraction:
    """Canonical tables of one archived document; cached on its content hash, so unchanged documents are not re-read.
    A picture that cannot be read (no OCR) is a document whose tables are image-only, not an unreadable file."""
    try:
        extraction = read_document(ref.path)
    except UnsupportedFormat as exc:
        media_type = formats.sniff(Path(ref.path).read_bytes()[:64])
        if media_type not in (formats.PNG, formats.JPEG) or not ref.sha256:
            raise
        return picture(ref, ref.sha256, media_type, exc.reason)
    if extraction.document.sha256 != ref.sha256:
        raise DocumentError(ref.path, "the file changed while it was read")
    return extraction


@task(
    name="validate-document",
    task_run_name=named("validate"),
    cache_key_fn=_by_content("validate"),
    persist_result=True,
)
def validate_document(ref: DocumentRef, extraction: Extraction) -> DocumentReport:
    """Findings of every rule for one document; cached on its content hash."""
    return validate_extractions([extraction])[0]
