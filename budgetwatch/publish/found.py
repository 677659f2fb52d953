"""A document as a run shows it: named by its source URL (or its file name), never by a path on this machine, and
classified as the crawl found it where the document itself does not say (a report published as pictures has no text
to say it). A document from which no table could be read lists the standard tables of its kind as not read, with why.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePath
from urllib.parse import urlsplit

from budgetwatch import formats
from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.model import Document, Extraction, Kind, Table, TableStatus
from budgetwatch.read import catalogue

KIND_SHORT = {"budget": "预算", "final_account": "决算"}
_PICTURES = (formats.PNG, formats.JPEG)


def shown_name(ref: DocumentRef) -> str:
    """What people see for a document: its http(s) URL, else its file name."""
    if ref.url and urlsplit(ref.url).scheme in ("http", "https"):
        return ref.url
    return PurePath(ref.path).name


def label(ref: DocumentRef) -> str:
    """A short name of a document for run and task names: department, year and kind, else its file name."""
    parts = [ref.department, str(ref.fiscal_year or ""), KIND_SHORT.get(str(ref.kind or ""), "")]
    named = " ".join(p for p in parts if p)
    return named if ref.department else f"{named} {PurePath(ref.path).name}".strip()


def _tables_not_read(kind: str, media_type: str, reason: str) -> list[Table]:
    status = TableStatus.IMAGE_ONLY if media_type in _PICTURES else TableStatus.MISSING
    return [Table(table_id=s.id, title=s.title, status=status, notes=[reason]) for s in catalogue.tables_of_kind(kind)]


def as_found(extraction: Extraction, ref: DocumentRef) -> Extraction:
    """The extraction named as people see it and completed with the crawl's classification (department, year, kind);
    when no table was read, the standard tables of its kind are listed as not read."""
    d = extraction.document
    kind = d.kind or (Kind(ref.kind) if ref.kind else None)
    document = replace(
        d,
        source=shown_name(ref),
        department=d.department or ref.department,
        fiscal_year=d.fiscal_year or ref.fiscal_year,
        kind=kind,
        title=d.title or ref.title,
        published=d.published or ref.published,
    )
    tables = extraction.tables
    if not tables and kind:
        reason = "no table could be read: the document holds no text the tables could be read from"
        if d.media_type in _PICTURES:
            reason = "no table could be read: the document is a picture, and no table was recognised in it"
        tables = _tables_not_read(str(kind), d.media_type, reason)
    return replace(extraction, document=document, tables=tables)


def picture(ref: DocumentRef, sha256: str, media_type: str, reason: str) -> Extraction:
    """A document that is a picture the reader cannot read (no OCR): nothing read, the tables of its kind image-only
    with ``reason``; the department, year and kind are the crawl's."""
    kind = Kind(ref.kind) if ref.kind else None
    document = Document(sha256=sha256, source=shown_name(ref), media_type=media_type, department=ref.department,
                        fiscal_year=ref.fiscal_year, kind=kind, title=ref.title, published=ref.published)  # fmt: skip
    tables = _tables_not_read(str(kind), media_type, f"no table could be read: {reason}") if kind else []
    return Extraction(document=document, tables=tables, items=[], facts=[], text="")
