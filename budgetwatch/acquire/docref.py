"""A reference to one archived document: what the per-document stages (extract, validate, publish, alert) start from.

A crawl yields one reference per fetched report (its archived file, content hash, source URL, district, steward and
whatever the listing said about it); a manual run makes them from local paths. The document's identity across
versions is its ``url``: a later file at the same URL is a new version of the same document.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from budgetwatch.acquire.sources import Source
from budgetwatch.errors import DocumentError
from budgetwatch.model import Document

KindName = Literal["budget", "final_account"]
FiscalYear = Annotated[int, Field(ge=2000, le=2100)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class DocumentRef(BaseModel):
    """One archived document and what is known about it before it is read."""

    path: Annotated[str, Field(min_length=1, description="the archived file")]
    url: Annotated[str | None, Field(description="source URL: the document's identity across versions")] = None
    sha256: Annotated[Sha256 | None, Field(description="content hash (computed from the file when absent)")] = None
    source_id: Annotated[str | None, Field(description="district / source id of data/sources.yaml")] = None
    steward: Annotated[str | None, Field(description="e-mail address told of new failures")] = None
    department: str | None = None
    fiscal_year: FiscalYear | None = None
    kind: KindName | None = None
    title: str | None = None
    published: str | None = None
    status: Literal["new", "changed", "unchanged"] | None = None

    @property
    def identity(self) -> str:
        """The source URL, or the file's absolute URI for a document that came without one."""
        return self.url or Path(self.path).resolve().as_uri()


class Selection(BaseModel):
    """Which documents a run covers; an empty list means no restriction on that field."""

    districts: list[str] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list)
    fiscal_years: list[int] = Field(default_factory=list)
    kinds: list[KindName] = Field(default_factory=list)

    def admits(self, source_id: str | None, department: str | None, fiscal_year: int | None, kind: str | None) -> bool:
        """False only when a known value is outside the selection (unknown values are decided after extraction)."""
        checks = (
            (self.districts, source_id, lambda want, got: got == want),
            (self.departments, department, lambda want, got: want in got),
            (self.fiscal_years, fiscal_year, lambda want, got: got == want),
            (self.kinds, kind, lambda want, got: got == want),
        )
        return all(
            not wanted or value is None or any(match(w, value) for w in wanted) for wanted, value, match in checks
        )


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (raises DocumentError naming the file when it cannot be read)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise DocumentError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def verified(ref: DocumentRef) -> DocumentRef:
    """The reference with the hash of the file as it is now; a stated hash that differs is an error naming both."""
    actual = file_sha256(ref.path)
    if ref.sha256 and ref.sha256 != actual:
        raise DocumentError(ref.path, f"content hash {actual[:12]}… differs from the recorded {ref.sha256[:12]}…")
    return ref.model_copy(update={"sha256": actual})


def completed(ref: DocumentRef, document: Document, registry: list[Source]) -> DocumentRef:
    """Fill what the reference left open from the document itself and the source registry (district, steward)."""
    source = next((s for s in registry if s.id == ref.source_id), None)
    if source is None and document.district:
        source = next((s for s in registry if document.district in (s.name, s.id) or s.name in document.district), None)
    updates = {
        "source_id": ref.source_id or (source.id if source else None),
        "steward": ref.steward or (source.steward if source else None),
        "department": ref.department or document.department,
        "fiscal_year": ref.fiscal_year or document.fiscal_year,
        "kind": ref.kind or (str(document.kind) if document.kind else None),
        "title": ref.title or document.title,
        "published": ref.published or document.published,
    }
    return ref.model_copy(update=updates)


def district_of(ref: DocumentRef, document: Document | None = None) -> str:
    """The district partition value: the source id, else the district the document names, else ``unknown``."""
    return ref.source_id or (document.district if document and document.district else None) or "unknown"
