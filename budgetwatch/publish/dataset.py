"""The published dataset: validated documents as Parquet partitioned by fiscal year and district, and its catalogue
(which version of each document is published or quarantined, with its findings).

A document without error-level findings is published; one with errors is quarantined with its findings and not
published. A document's identity is its source URL: a later version that passes supersedes every earlier version, one
that fails supersedes the earlier quarantined versions only (the last version that passed stays published).

Embedded (the default), DuckDB is the record: each publication is one transaction, so a crash leaves the earlier
state. The Parquet tree is an export of it, each partition written to a temporary file and renamed into place; a
partition whose export a crash interrupted is written again by the next publication (``sync_parquet``). Publishing a
content hash already recorded with the same outcome adds nothing.

Shared (``BUDGETWATCH_DATABASE_URL`` names a PostgreSQL database, `budgetwatch.database`), the catalogue is in
PostgreSQL and each published document is a Parquet file of its own per table, written to a temporary file and
renamed into place before the catalogue's transaction commits; the files of versions it replaced are removed after.
Publications of one document (its URL, its content) take turns on a lock, so two workers publishing at once lose
nothing and publish nothing twice; a crash between commit and removal leaves files of versions no longer published,
which ``sync_parquet`` removes (readers should take only the files of the catalogue's published versions).

Layout of ``root``::

    dataset.duckdb                                                           (embedded only)
    parquet/<table>/fiscal_year=<year>/district=<source id>/data.parquet    (documents, tables, line_items,
    parquet/_versions.json                                                   narrative_facts; embedded)
    parquet/<table>/fiscal_year=<year>/district=<source id>/<sha256>.parquet (shared)
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl

from budgetwatch.acquire.docref import DocumentRef, district_of
from budgetwatch.check.batch import DocumentReport
from budgetwatch.database import database_url, held, is_postgres, lock, postgres, transaction
from budgetwatch.errors import BudgetwatchError
from budgetwatch.frames import document_frame, facts_frame, items_frame, tables_frame
from budgetwatch.locking import Busy, exclusive, writable
from budgetwatch.model import Finding, Severity

DATABASE = "dataset.duckdb"
PUBLISHED_TABLES = ("documents", "tables", "line_items", "narrative_facts")
_PARTITION_COLUMNS = ("fiscal_year", "district")
_LOCK = threading.Lock()  # one writer per process; writers in other processes wait on the lock file (`connect`)


class DatasetError(BudgetwatchError):
    """The dataset cannot be read or written (the message names the file)."""


CATALOGUE = """
CREATE TABLE IF NOT EXISTS registry (
    sha256 VARCHAR PRIMARY KEY, url VARCHAR NOT NULL, status VARCHAR NOT NULL, source_id VARCHAR, district VARCHAR,
    department VARCHAR, fiscal_year INTEGER, kind VARCHAR, title VARCHAR, published VARCHAR, steward VARCHAR,
    path VARCHAR, errors INTEGER NOT NULL, warnings INTEGER NOT NULL, first_seen TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL, superseded_by VARCHAR);
CREATE TABLE IF NOT EXISTS findings (
    sha256 VARCHAR NOT NULL, url VARCHAR NOT NULL, seq INTEGER NOT NULL, check_id VARCHAR NOT NULL,
    severity VARCHAR NOT NULL, category VARCHAR, message VARCHAR, expected VARCHAR, actual VARCHAR,
    difference VARCHAR, table_id VARCHAR, row_label VARCHAR, code VARCHAR, column_key VARCHAR, page INTEGER,
    line INTEGER, locations JSON, basis VARCHAR);
ALTER TABLE findings ADD COLUMN IF NOT EXISTS basis VARCHAR;
"""
_PUBLISHED = """
CREATE TABLE IF NOT EXISTS partitions (fiscal_year VARCHAR, district VARCHAR, version BIGINT NOT NULL,
    PRIMARY KEY (fiscal_year, district));
CREATE TABLE IF NOT EXISTS documents (
    sha256 VARCHAR, url VARCHAR, source VARCHAR, media_type VARCHAR, title VARCHAR, department VARCHAR,
    district_name VARCHAR, kind VARCHAR, scope VARCHAR, published VARCHAR, page INTEGER,
    fiscal_year VARCHAR, district VARCHAR);
CREATE TABLE IF NOT EXISTS tables (
    sha256 VARCHAR, url VARCHAR, table_id VARCHAR, instance VARCHAR, title VARCHAR, printed_number VARCHAR,
    status VARCHAR, department_line VARCHAR, unit_line VARCHAR, unit VARCHAR, pages INTEGER[], page INTEGER,
    first_line INTEGER, last_line INTEGER, notes VARCHAR[], fiscal_year VARCHAR, district VARCHAR);
CREATE TABLE IF NOT EXISTS line_items (
    sha256 VARCHAR, url VARCHAR, table_id VARCHAR, instance VARCHAR, row_order INTEGER, side VARCHAR,
    row_key VARCHAR, label VARCHAR, label_norm VARCHAR, code VARCHAR, code_scheme VARCHAR, level VARCHAR,
    code_printed VARCHAR, line_no INTEGER, "group" VARCHAR, column_key VARCHAR, header VARCHAR, micros BIGINT,
    blank BOOLEAN, raw VARCHAR, unit VARCHAR, decimals TINYINT, page INTEGER, line INTEGER,
    fiscal_year VARCHAR, district VARCHAR);
CREATE TABLE IF NOT EXISTS narrative_facts (
    sha256 VARCHAR, url VARCHAR, kind VARCHAR, subject VARCHAR, micros BIGINT, unit VARCHAR, decimals TINYINT,
    raw VARCHAR, section VARCHAR, sentence VARCHAR, page INTEGER, line INTEGER, "offset" INTEGER, after VARCHAR,
    fiscal_year VARCHAR, district VARCHAR);
"""


@dataclass(frozen=True, slots=True)
class Publication:
    """What publishing one document did (or, in a dry run, would do)."""

    sha256: str
    url: str
    action: Literal["published", "quarantined", "unchanged"]
    superseded: tuple[str, ...] = ()  # earlier versions this one replaced
    withdrawn: bool = False  # this version was published before and is now quarantined (rules changed)
    rows: int = 0  # line items published
    dry_run: bool = False
    novelty: Literal["new", "changed", "unchanged"] = "new"  # first version, a new version, or a version on record


@dataclass(slots=True)
class Dataset:
    """Where the dataset lives; the files are made on first publication."""

    root: Path
    parquet_written: list[Path] = field(default_factory=list)
    url: str | None = field(default_factory=database_url)  # a shared PostgreSQL catalogue; None: embedded DuckDB

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    @property
    def shared(self) -> bool:
        return is_postgres(self.url)

    def exists(self) -> bool:
        """Whether anything was ever recorded (a shared catalogue is taken to exist)."""
        return self.shared or self.database.exists()

    @property
    def database(self) -> Path:
        return self.root / DATABASE

    @property
    def parquet(self) -> Path:
        return self.root / "parquet"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def connect(dataset: Dataset, ddl: str = "") -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the dataset's catalogue with its schema and the tables of ``ddl``. Embedded, it is this
    process's alone until the block ends: another process publishing to the same dataset waits its turn
    (`budgetwatch.locking`), and one that only reads the file does not stop it; DatasetError names the file when it
    cannot be opened or its turn does not come. Shared, it is one PostgreSQL session of many."""
    if dataset.shared:
        with postgres(dataset.url, "budgetwatch_dataset", CATALOGUE + ddl) as con:
            yield con
        return
    dataset.root.mkdir(parents=True, exist_ok=True)
    lock_file = dataset.root / f".{DATABASE}.lock"
    with ExitStack() as held:
        try:
            held.enter_context(exclusive(lock_file, f"the dataset {dataset.database}"))
            con = held.enter_context(writable(dataset.database))
        except Busy as exc:
            raise DatasetError(str(exc)) from exc
        except duckdb.Error as exc:
            raise DatasetError(f"{dataset.database}: cannot open: {exc}") from exc
        con.execute(CATALOGUE + _PUBLISHED + ddl)
        yield con


def _finding_rows(sha: str, url: str, findings: list[Finding]) -> list[tuple]:
    rows = []
    for seq, f in enumerate(findings):
        first = f.locations[0] if f.locations else None
        rows.append(
            (
                sha, url, seq, f.check_id, str(f.severity), f.category, f.message, f.expected, f.actual,
                f.difference, first and first.table_id, first and first.row_label, first and first.code,
                first and first.column, first and first.page, first and first.line,
                json.dumps(f.to_json()["locations"], ensure_ascii=False), f.basis,
            )
        )  # fmt: skip
    return rows


def _frames(report: DocumentReport, url: str, year: str, district: str) -> dict[str, pl.DataFrame]:
    """The published rows of one document, each carrying its sha256, URL, page (where the source has pages)."""
    ex = report.extraction
    extra = [pl.lit(url).alias("url"), pl.lit(year).alias("fiscal_year"), pl.lit(district).alias("district")]
    document = document_frame(ex).rename({"district": "district_name"}).drop("fiscal_year")
    tables = tables_frame(ex).with_columns(pl.col("pages").list.first().alias("page"))
    facts = facts_frame(ex).with_columns(pl.lit(None, dtype=pl.Int32).alias("page"))
    return {
        "documents": document.with_columns(pl.lit(None, dtype=pl.Int32).alias("page"), *extra),
        "tables": tables.with_columns(*extra),
        "line_items": items_frame(ex).with_columns(*extra),
        "narrative_facts": facts.with_columns(*extra),
    }


def _insert_frames(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame], scratch: Path) -> None:
    for name, frame in frames.items():
        if frame.is_empty():
            continue
        path = scratch / f"{name}.parquet"
        frame.write_parquet(path)
        # a column the model gained since the dataset was made is added, so older datasets take newer documents
        have = {column[0] for column in con.execute(f'SELECT * FROM "{name}" LIMIT 0').description}
        wanted = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        for column, kind, *_ in wanted:
            if column not in have:
                con.execute(f'ALTER TABLE {name} ADD COLUMN "{column}" {kind}')
        con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM read_parquet(?)", [str(path)])


class _TableRows:
    """Published rows in the embedded database's tables; the partitions they touched are marked for export."""

    def __init__(self, con: duckdb.DuckDBPyConnection, scratch: Path):
        self.con, self.scratch = con, scratch
        self.touched: set[tuple[str, str]] = set()

    def remove(self, sha: str) -> None:
        query = "SELECT fiscal_year, district FROM documents WHERE sha256 = ?"
        self.touched |= {tuple(r) for r in self.con.execute(query, [sha]).fetchall()}
        for name in PUBLISHED_TABLES:
            self.con.execute(f"DELETE FROM {name} WHERE sha256 = ?", [sha])

    def add(self, frames: dict[str, pl.DataFrame], year: str, district: str, _sha: str) -> None:
        _insert_frames(self.con, frames, self.scratch)
        self.touched.add((year, district))

    def done(self) -> None:
        for year, district in self.touched:
            self.con.execute(
                "INSERT INTO partitions VALUES (?, ?, 1) ON CONFLICT (fiscal_year, district) "
                "DO UPDATE SET version = partitions.version + 1",
                [year, district],
            )


class _FileRows:
    """Published rows as one Parquet file per document and table: written before the catalogue commits, the files
    of the versions replaced removed once it has (``settle``)."""

    def __init__(self, dataset: Dataset, dry_run: bool):
        self.dataset, self.dry_run = dataset, dry_run
        self.written: list[Path] = []
        self.dropped: list[str] = []

    def remove(self, sha: str) -> None:
        self.dropped.append(sha)

    def add(self, frames: dict[str, pl.DataFrame], year: str, district: str, sha: str) -> None:
        if self.dry_run:
            return
        for table, frame in frames.items():
            if frame.is_empty():
                continue
            target = _partition_dir(self.dataset, table, year, district) / f"{sha}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{sha}.{os.getpid()}.{threading.get_ident()}.tmp")
            frame.drop("fiscal_year", "district").write_parquet(temporary)
            os.replace(temporary, target)
            self.written.append(target)

    def done(self) -> None:
        """Nothing to mark: each document's files are its own."""

    def settle(self, committed: bool) -> None:
        """After the transaction: drop the replaced versions' files, or this version's when it rolled back."""
        if not committed:
            for path in self.written:
                path.unlink(missing_ok=True)
            self.written = []
            return
        for sha in self.dropped:
            for path in self.dataset.parquet.glob(f"*/*/*/{sha}.parquet"):
                path.unlink(missing_ok=True)


def _replace_findings(con: duckdb.DuckDBPyConnection, sha: str, url: str, findings: list[Finding]) -> None:
    con.execute("DELETE FROM findings WHERE sha256 = ?", [sha])
    rows = _finding_rows(sha, url, findings)
    if rows:
        con.executemany(f"INSERT INTO findings VALUES ({', '.join('?' * 18)})", rows)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one publication is about: the version, its outcome and where its rows go."""

    ref: DocumentRef
    report: DocumentReport
    target: str
    sha: str
    url: str
    year: str
    district: str
    errors: list[Finding]
    dry_run: bool


def publish(dataset: Dataset, ref: DocumentRef, report: DocumentReport, *, dry_run: bool = False) -> Publication:
    """Publish or quarantine one validated document, in one transaction (rolled back in a dry run)."""
    ex = report.extraction
    sha, url = ex.document.sha256, ref.identity
    if ref.sha256 and ref.sha256 != sha:
        raise DatasetError(f"{ref.path}: extraction is of {sha[:12]}…, the reference names {ref.sha256[:12]}…")
    errors = [f for f in report.findings if f.severity == Severity.ERROR]
    plan = _Plan(ref, report, "quarantined" if errors else "published", sha, url,
                 str(ref.fiscal_year or ex.document.fiscal_year or "unknown"), district_of(ref, ex.document), errors,
                 dry_run)  # fmt: skip
    if dataset.shared:
        return _publish_shared(dataset, plan)
    if dry_run and not dataset.database.exists():
        dataset = Dataset(Path(tempfile.mkdtemp(prefix="budgetwatch-dry-run-")), url=None)
    with _LOCK, connect(dataset) as con, tempfile.TemporaryDirectory(prefix="budgetwatch-publish-") as scratch:
        with transaction(con, keep=not dry_run):
            result = _publish_in(con, _TableRows(con, Path(scratch)), plan)
        if not dry_run:
            _export_stale(con, dataset)
    return result


def _publish_shared(dataset: Dataset, plan: _Plan) -> Publication:
    """Publish into the shared catalogue, taking turns with any other publisher of the same URL or content."""
    with connect(dataset) as con, held(con, "publish", plan.url):
        rows = _FileRows(dataset, plan.dry_run)
        try:
            with transaction(con, keep=not plan.dry_run):
                lock(con, "publish-content", plan.sha)
                result = _publish_in(con, rows, plan)
        except BaseException:
            rows.settle(committed=False)
            raise
        rows.settle(committed=not plan.dry_run)
    dataset.parquet_written = rows.written
    return result


def _publish_in(con, rows: _TableRows | _FileRows, plan: _Plan) -> Publication:
    ref, report, target, sha, url = plan.ref, plan.report, plan.target, plan.sha, plan.url
    now = _now()
    known = con.execute("SELECT status FROM registry WHERE sha256 = ?", [sha]).fetchone()
    (versions_of_url,) = con.execute("SELECT count(*) FROM registry WHERE url = ?", [url]).fetchone()
    novelty = "unchanged" if known else "changed" if versions_of_url else "new"
    if known and known[0] == target:
        _replace_findings(con, sha, url, report.findings)  # same outcome; the findings may read differently
        return Publication(sha, url, "unchanged", dry_run=plan.dry_run, novelty=novelty)
    withdrawn = bool(known and known[0] == "published")
    if withdrawn:
        rows.remove(sha)
    # a passing version replaces every earlier one; a failing one only the earlier failing ones
    replaceable = ("published", "quarantined") if target == "published" else ("quarantined",)
    marks = ", ".join("?" * len(replaceable))
    query = f"SELECT sha256 FROM registry WHERE url = ? AND sha256 <> ? AND status IN ({marks}) ORDER BY sha256"
    others = [r[0] for r in con.execute(query, [url, sha, *replaceable]).fetchall()]
    for other in others:
        rows.remove(other)
        con.execute(
            "UPDATE registry SET status = 'superseded', superseded_by = ?, updated = ? WHERE sha256 = ?",
            [sha, now, other],
        )
    published_rows = 0
    if target == "published":
        frames = _frames(report, url, plan.year, plan.district)
        rows.add(frames, plan.year, plan.district, sha)
        published_rows = frames["line_items"].height
    doc = report.extraction.document
    con.execute(
        """INSERT INTO registry VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
           ON CONFLICT (sha256) DO UPDATE SET status = excluded.status, errors = excluded.errors,
           warnings = excluded.warnings, updated = excluded.updated, path = excluded.path,
           steward = excluded.steward, superseded_by = NULL""",
        [
            sha, url, target, ref.source_id, plan.district, ref.department or doc.department,
            ref.fiscal_year or doc.fiscal_year, ref.kind or (str(doc.kind) if doc.kind else None),
            ref.title or doc.title, ref.published or doc.published, ref.steward, ref.path, len(plan.errors),
            len(report.warnings), now, now,
        ],
    )  # fmt: skip
    _replace_findings(con, sha, url, report.findings)
    rows.done()
    return Publication(sha, url, target, tuple(others), withdrawn, published_rows, plan.dry_run, novelty)


def _versions_file(dataset: Dataset) -> Path:
    return dataset.parquet / "_versions.json"


def _written_versions(dataset: Dataset) -> dict[str, int]:
    try:
        return json.loads(_versions_file(dataset).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _partition_dir(dataset: Dataset, table: str, year: str, district: str) -> Path:
    return dataset.parquet / table / f"fiscal_year={year}" / f"district={district}"


def _export_partition(con: duckdb.DuckDBPyConnection, dataset: Dataset, year: str, district: str) -> list[Path]:
    written = []
    for table in PUBLISHED_TABLES:
        folder = _partition_dir(dataset, table, year, district)
        target = folder / "data.parquet"
        (count,) = con.execute(
            f"SELECT count(*) FROM {table} WHERE fiscal_year = ? AND district = ?", [year, district]
        ).fetchone()
        if not count:
            target.unlink(missing_ok=True)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".data.parquet.{os.getpid()}.{threading.get_ident()}.tmp"
        query = (
            f"SELECT * EXCLUDE (fiscal_year, district) FROM {table} "
            f"WHERE fiscal_year = {_literal(year)} AND district = {_literal(district)} ORDER BY ALL"
        )
        con.execute(f"COPY ({query}) TO {_literal(str(temporary))} (FORMAT parquet)")
        os.replace(temporary, target)
        written.append(target)
    return written


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _export_stale(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> list[Path]:
    """Write every partition whose recorded version is newer than its Parquet export."""
    exported = _written_versions(dataset)
    written: list[Path] = []
    changed = False
    for year, district, version in con.execute("SELECT fiscal_year, district, version FROM partitions").fetchall():
        key = f"{year}/{district}"
        if exported.get(key) == version:
            continue
        written += _export_partition(con, dataset, year, district)
        exported[key] = version
        changed = True
    if changed:
        dataset.parquet.mkdir(parents=True, exist_ok=True)
        temporary = _versions_file(dataset).with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(exported, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, _versions_file(dataset))
    dataset.parquet_written = written
    return written


def sync_parquet(dataset: Dataset) -> list[Path]:
    """Bring the Parquet export up to the catalogue (after a crash between commit and export): embedded, the files
    written; shared, the files of versions no longer published, removed."""
    if dataset.shared:
        return _remove_unpublished(dataset)
    if not dataset.database.exists():
        return []
    with _LOCK, connect(dataset) as con:
        return _export_stale(con, dataset)


def _remove_unpublished(dataset: Dataset) -> list[Path]:
    with connect(dataset) as con:
        published = {r[0] for r in con.execute("SELECT sha256 FROM registry WHERE status = 'published'").fetchall()}
    stale = [p for p in dataset.parquet.glob("*/*/*/*.parquet") if p.stem not in published]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def published_files(dataset: Dataset, table: str) -> list[Path]:
    """The Parquet files that hold ``table``'s published rows (for readers of a shared dataset, which may hold files
    of versions no longer published until ``sync_parquet``)."""
    if not dataset.shared:
        return sorted(dataset.parquet.glob(f"{table}/*/*/data.parquet"))
    published = {v["sha256"] for v in versions(dataset, ("published",))}
    return sorted(p for p in dataset.parquet.glob(f"{table}/*/*/*.parquet") if p.stem in published)


def versions(dataset: Dataset, statuses: tuple[str, ...] = ("published", "quarantined")) -> list[dict]:
    """The recorded versions with one of ``statuses``, newest first."""
    if not dataset.exists():
        return []
    with _LOCK, connect(dataset) as con:
        marks = ", ".join("?" * len(statuses))
        cursor = con.execute(
            f"SELECT * FROM registry WHERE status IN ({marks}) ORDER BY updated DESC, url", list(statuses)
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def current_refs(dataset: Dataset) -> list[DocumentRef]:
    """References to every current (published or quarantined) version, for a full re-validation."""
    return [
        DocumentRef(
            path=r["path"],
            url=r["url"],
            sha256=r["sha256"],
            source_id=r["source_id"],
            steward=r["steward"],
            department=r["department"],
            fiscal_year=r["fiscal_year"],
            kind=r["kind"],
            title=r["title"],
            published=r["published"],
            status="unchanged",
        )
        for r in versions(dataset)
        if r["path"]
    ]
