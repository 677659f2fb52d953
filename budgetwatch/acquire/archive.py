"""The archive of fetched documents: files stored by their sha256 (never under a server-chosen name) and a manifest in
DuckDB with every version of every URL, and the validators (ETag, Last-Modified) that make a re-crawl cost only 304s.

Several processes may crawl into one archive at once: the manifest is opened for each operation only, under a lock
the others wait for (`budgetwatch.locking`), so two crawls take turns instead of one dying on DuckDB's own lock. With
``BUDGETWATCH_DATABASE_URL`` naming a PostgreSQL database the manifest is kept there instead (`budgetwatch.database`),
for workers on many machines; the files then belong on storage they all mount, and two workers recording versions of
one URL take turns on a lock named after it."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from budgetwatch import formats
from budgetwatch.database import database_url, is_postgres, lock, postgres, transaction
from budgetwatch.locking import exclusive, writable

_EXTENSIONS = {
    formats.PDF: ".pdf",
    formats.DOCX: ".docx",
    formats.XLSX: ".xlsx",
    formats.OLE: ".ole",
    formats.ZIP: ".zip",
    formats.HTML: ".html",
    formats.TEXT: ".txt",
    formats.PNG: ".png",
    formats.JPEG: ".jpg",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    url VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    sha256 VARCHAR NOT NULL,
    path VARCHAR NOT NULL,          -- relative to the archive root
    media_type VARCHAR NOT NULL,    -- sniffed from the content
    size BIGINT NOT NULL,
    article_url VARCHAR,
    source_id VARCHAR,
    fetched_at TIMESTAMPTZ NOT NULL,
    status_code INTEGER,
    headers VARCHAR,                -- the response headers, as JSON
    etag VARCHAR,
    last_modified VARCHAR,
    title VARCHAR,
    published VARCHAR,
    department VARCHAR,
    fiscal_year INTEGER,
    kind VARCHAR,
    scope VARCHAR,
    PRIMARY KEY (url, version)
);
CREATE TABLE IF NOT EXISTS pages (
    url VARCHAR PRIMARY KEY,
    sha256 VARCHAR NOT NULL,
    etag VARCHAR,
    last_modified VARCHAR,
    fetched_at TIMESTAMPTZ NOT NULL,
    headers VARCHAR
);
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """One archived version of a URL."""

    url: str
    version: int
    sha256: str
    path: Path
    media_type: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class Recorded:
    status: str  # new | unchanged | changed
    stored: Stored
    same_as: str | None = None  # an earlier URL whose file is identical (a re-publication)


@dataclass(frozen=True, slots=True)
class Description:
    """What the crawl knows of a document when it archives it."""

    article_url: str | None = None
    source_id: str | None = None
    title: str | None = None
    published: str | None = None
    department: str | None = None
    fiscal_year: int | None = None
    kind: str | None = None
    scope: str | None = None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Archive:
    """Content-addressed files under `root` and their manifest (`root/manifest.duckdb` unless given, or the shared
    database of ``database``, by default ``BUDGETWATCH_DATABASE_URL``)."""

    def __init__(self, root: str | Path, manifest: str | Path | None = None, database: str | None = None):
        self.root = Path(root).resolve()  # report paths stay valid whatever the working directory
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        self.manifest = Path(manifest) if manifest else self.root / "manifest.duckdb"
        self.database = database if manifest else database or database_url()
        self._lock = threading.Lock()
        with self._db() as db:
            if not is_postgres(self.database):  # a shared manifest's schema is made with its first session
                db.execute(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The manifest: embedded, this thread's and this process's alone until the block ends; shared, a session."""
        if is_postgres(self.database):
            with postgres(self.database, "budgetwatch_archive", _SCHEMA) as db:
                yield db
            return
        lock_file = self.manifest.with_name(f".{self.manifest.name}.lock")
        with self._lock, exclusive(lock_file, f"the archive manifest {self.manifest}"), writable(self.manifest) as db:
            yield db

    def close(self) -> None:
        """Nothing is held between operations; kept so that an Archive can be used as a context manager."""

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # files ------------------------------------------------------------------------------------------------------
    def put(self, data: bytes) -> tuple[str, Path, str]:
        """Store bytes under their hash (written atomically; the extension says what the content is)."""
        digest = sha256(data)
        media_type = formats.sniff(data) if data else formats.UNKNOWN
        relative = Path("objects") / digest[:2] / f"{digest}{_EXTENSIONS.get(media_type, '.bin')}"
        target = self.root / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        return digest, relative, media_type

    def read(self, stored: Stored) -> bytes:
        return stored.path.read_bytes()

    # documents --------------------------------------------------------------------------------------------------
    def _stored(self, row: tuple) -> Stored:
        url, version, digest, path, media_type, etag, last_modified = row
        return Stored(url, version, digest, self.root / path, media_type, etag, last_modified)

    def latest(self, url: str) -> Stored | None:
        """The newest version of a document URL, when its file is still in the archive."""
        with self._db() as db:
            row = db.execute(
                "SELECT url, version, sha256, path, media_type, etag, last_modified FROM documents "
                "WHERE url = ? ORDER BY version DESC LIMIT 1",
                [url],
            ).fetchone()
        stored = self._stored(row) if row else None
        return stored if stored and stored.path.exists() else None

    def versions(self, url: str) -> list[Stored]:
        with self._db() as db:
            rows = db.execute(
                "SELECT url, version, sha256, path, media_type, etag, last_modified FROM documents "
                "WHERE url = ? ORDER BY version",
                [url],
            ).fetchall()
        return [self._stored(r) for r in rows]

    def record(self, url: str, data: bytes, headers: dict[str, str], status_code: int, about: Description) -> Recorded:
        """Archive a fetched document. New: neither the URL nor the hash was seen; unchanged: the URL's newest version
        has this hash, or another URL already gave these bytes (a re-publication); changed: the URL's file differs
        from its newest version (a new version is kept beside the old)."""
        digest, relative, media_type = self.put(data)
        with self._db() as db, transaction(db):
            lock(db, "archive", url)
            previous = db.execute(
                "SELECT version, sha256 FROM documents WHERE url = ? ORDER BY version DESC LIMIT 1", [url]
            ).fetchone()
            if previous and previous[1] == digest:
                db.execute(
                    "UPDATE documents SET fetched_at = ?, etag = ?, last_modified = ?, headers = ? "
                    "WHERE url = ? AND version = ?",
                    [_now(), headers.get("etag"), headers.get("last-modified"), json.dumps(headers), url, previous[0]],
                )
                status, same_as = "unchanged", None
            else:
                other = db.execute(
                    "SELECT url FROM documents WHERE sha256 = ? AND url <> ? ORDER BY fetched_at LIMIT 1",
                    [digest, url],
                ).fetchone()
                status = "changed" if previous else "unchanged" if other else "new"
                same_as = other[0] if other and not previous else None
                db.execute(
                    "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        url,
                        previous[0] + 1 if previous else 1,
                        digest,
                        relative.as_posix(),
                        media_type,
                        len(data),
                        about.article_url,
                        about.source_id,
                        _now(),
                        status_code,
                        json.dumps(headers, ensure_ascii=False),
                        headers.get("etag"),
                        headers.get("last-modified"),
                        about.title,
                        about.published,
                        about.department,
                        about.fiscal_year,
                        about.kind,
                        about.scope,
                    ],
                )
        stored = self.latest(url)
        assert stored is not None
        return Recorded(status, stored, same_as)

    def manifest_rows(self) -> list[dict]:
        """Every archived version, oldest first (for reports and tests)."""
        with self._db() as db:
            cursor = db.execute("SELECT * FROM documents ORDER BY fetched_at, url, version")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # list and article pages (kept so that a 304 still gives their links) --------------------------------------
    def page(self, url: str) -> tuple[bytes, str | None, str | None] | None:
        """A page's stored body and validators (ETag, Last-Modified)."""
        with self._db() as db:
            row = db.execute("SELECT sha256, etag, last_modified FROM pages WHERE url = ?", [url]).fetchone()
        if not row:
            return None
        found = list((self.root / "objects" / row[0][:2]).glob(f"{row[0]}.*"))
        return (found[0].read_bytes(), row[1], row[2]) if found else None

    def record_page(self, url: str, data: bytes, headers: dict[str, str]) -> None:
        digest, _, _ = self.put(data)
        with self._db() as db:
            db.execute(
                "INSERT INTO pages VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET sha256 = excluded.sha256, "
                "etag = excluded.etag, last_modified = excluded.last_modified, fetched_at = excluded.fetched_at, "
                "headers = excluded.headers",
                [
                    url,
                    digest,
                    headers.get("etag"),
                    headers.get("last-modified"),
                    _now(),
                    json.dumps(headers, ensure_ascii=False),
                ],
            )


def _now() -> datetime:
    return datetime.now(UTC)
