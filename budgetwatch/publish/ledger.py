"""The findings ledger and the crawl-problem ledger: what is wrong, since when, and whether it went away.

Each finding of a document is followed across the document's versions (a document is its source URL). In a run it
is ``new`` (first seen in this run, or seen again after it had gone), ``open`` (already known and still there),
``fixed`` (a later version of the document no longer has it) or ``withdrawn`` (the same content, checked again, no
longer has it: a rule changed). A finding is identified by its check, table, place and wording with the numbers left
out (line numbers too: versions move lines), so a corrected figure in a still-wrong row stays the same finding.

Crawl problems (a portal down, a broken link, a list page that lists nothing) follow the same life cycle, per source
and URL: ``new`` in the run that first meets them, ``open`` while they last, ``fixed`` when a crawl of their source no
longer meets them. A run fails only for new ones.

Both ledgers are tables of the dataset's DuckDB (``finding_ledger``, ``crawl_ledger``); times are Asia/Shanghai.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from budgetwatch.database import lock
from budgetwatch.model import Finding
from budgetwatch.publish.dataset import Dataset, connect

SHANGHAI = ZoneInfo("Asia/Shanghai")
STATES = ("new", "open", "fixed", "withdrawn")
_LINE_REF = re.compile(r"[（(]?第\s*\d+\s*行[)）：:]?")
_NUMBER = re.compile(r"\d[\d,.]*%?")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS finding_ledger (
    url VARCHAR NOT NULL, key VARCHAR NOT NULL, status VARCHAR NOT NULL, severity VARCHAR NOT NULL,
    check_id VARCHAR NOT NULL, table_id VARCHAR, place VARCHAR, message VARCHAR, expected VARCHAR, actual VARCHAR,
    difference VARCHAR, line INTEGER, sha256 VARCHAR NOT NULL, source_id VARCHAR, district VARCHAR, steward VARCHAR,
    document VARCHAR, department VARCHAR, fiscal_year INTEGER, kind VARCHAR, page VARCHAR,
    opened_run VARCHAR NOT NULL, opened_at VARCHAR NOT NULL, seen_at VARCHAR NOT NULL, closed_run VARCHAR,
    closed_at VARCHAR, PRIMARY KEY (url, key));
CREATE TABLE IF NOT EXISTS crawl_ledger (
    source_id VARCHAR NOT NULL, url VARCHAR NOT NULL, status VARCHAR NOT NULL, error VARCHAR NOT NULL,
    district VARCHAR, steward VARCHAR, opened_run VARCHAR NOT NULL, opened_at VARCHAR NOT NULL,
    seen_at VARCHAR NOT NULL, closed_run VARCHAR, closed_at VARCHAR, PRIMARY KEY (source_id, url));
"""


def local_now() -> datetime:
    """Now, in Beijing time (what the stewards' working day runs on)."""
    return datetime.now(SHANGHAI).replace(microsecond=0)


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8")).hexdigest()[:32]


def place_of(finding: Finding) -> str:
    """Row · code · column of the first cell a finding points at, as far as known."""
    first = finding.locations[0] if finding.locations else None
    return " · ".join(x for x in (first and first.row_label, first and first.code, first and first.column) if x)


def finding_keys(url: str, findings: Iterable[Finding]) -> list[str]:
    """The identity of each finding of the document at ``url``: check, table, place and wording without numbers;
    findings that read alike apart from their numbers are told apart by their order."""
    seen: Counter[str] = Counter()
    keys = []
    for f in findings:
        table = f.locations[0].table_id if f.locations else None
        base = _digest(url, f.check_id, table, place_of(f), _NUMBER.sub("#", _LINE_REF.sub("", f.message)))
        seen[base] += 1
        keys.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return keys


@dataclass(frozen=True, slots=True)
class Version:
    """One checked version of a document, with what the ledger needs to file and show its findings."""

    url: str
    sha256: str
    findings: tuple[Finding, ...]
    source_id: str | None = None
    district: str | None = None  # the source's name (黄陂区 …), for people
    steward: str | None = None
    document: str = ""  # department · year · kind
    department: str | None = None
    fiscal_year: int | None = None
    kind: str | None = None
    page: str | None = None  # the report page that shows this version (a path on this machine)


@dataclass(frozen=True, slots=True)
class Entry:
    """One finding as a run sees it."""

    state: str  # new | open | fixed | withdrawn
    severity: str
    check_id: str
    message: str
    expected: str | None
    actual: str | None
    difference: str | None
    table_id: str | None
    place: str
    line: int | None
    url: str
    sha256: str
    source_id: str | None
    district: str | None
    steward: str | None
    document: str
    department: str | None
    fiscal_year: int | None
    kind: str | None
    page: str | None
    opened_at: str
    key: str

    @property
    def fingerprint(self) -> str:
        """The finding with its numbers: differs when the same finding now has other numbers."""
        return _digest(self.key, self.expected, self.actual, self.difference, _LINE_REF.sub("", self.message))


_ENTRY_COLUMNS = [f.name for f in fields(Entry) if f.name not in ("state",)]


def _file_version(con: duckdb.DuckDBPyConnection, run: str, at: str, v: Version) -> None:
    lock(con, "finding-ledger", v.url)  # in a shared database, runs filing one document take turns
    rows = con.execute("SELECT key, status, sha256 FROM finding_ledger WHERE url = ?", [v.url]).fetchall()
    known = {key: (status, sha) for key, status, sha in rows}
    keys = finding_keys(v.url, v.findings)
    for key, f in zip(keys, v.findings, strict=True):
        first = f.locations[0] if f.locations else None
        values = [str(f.severity), f.check_id, first.table_id if first else None, place_of(f), f.message, f.expected,
                  f.actual, f.difference, first.line if first else None, v.sha256, v.source_id, v.district, v.steward,
                  v.document, v.department, v.fiscal_year, v.kind, v.page, at]  # fmt: skip
        status = known.get(key, (None, None))[0]
        if status == "open":
            con.execute(
                "UPDATE finding_ledger SET severity = ?, check_id = ?, table_id = ?, place = ?, message = ?, "
                "expected = ?, actual = ?, difference = ?, line = ?, sha256 = ?, source_id = ?, district = ?, "
                "steward = ?, document = ?, department = ?, fiscal_year = ?, kind = ?, page = ?, seen_at = ? "
                "WHERE url = ? AND key = ?",
                [*values, v.url, key],
            )
        else:  # never seen, or seen again after it had gone: new in this run
            con.execute("DELETE FROM finding_ledger WHERE url = ? AND key = ?", [v.url, key])
            con.execute(
                "INSERT INTO finding_ledger (url, key, status, severity, check_id, table_id, place, message, expected, "
                "actual, difference, line, sha256, source_id, district, steward, document, department, fiscal_year, "
                "kind, page, seen_at, opened_run, opened_at) "
                f"VALUES (?, ?, 'open', {', '.join('?' * len(values))}, ?, ?)",
                [v.url, key, *values, run, at],
            )
    for key, (status, sha) in known.items():
        if status == "open" and key not in keys:  # gone: fixed by a new version, withdrawn when the content is the same
            closed = "withdrawn" if sha == v.sha256 else "fixed"
            con.execute(
                "UPDATE finding_ledger SET status = ?, closed_run = ?, closed_at = ?, sha256 = ?, page = ? "
                "WHERE url = ? AND key = ?",
                [closed, run, at, v.sha256, v.page, v.url, key],
            )


def unfiled(v: Version) -> list[Entry]:
    """The findings of a version as new, without filing them (a dry run)."""
    out = []
    for key, f in zip(finding_keys(v.url, v.findings), v.findings, strict=True):
        first = f.locations[0] if f.locations else None
        out.append(Entry("new", str(f.severity), f.check_id, f.message, f.expected, f.actual, f.difference,
                         first.table_id if first else None, place_of(f), first.line if first else None, v.url,
                         v.sha256, v.source_id, v.district, v.steward, v.document, v.department, v.fiscal_year,
                         v.kind, v.page, "", key))  # fmt: skip
    return out


def _in_transaction(dataset: Dataset, dry_run: bool, work: Callable[[duckdb.DuckDBPyConnection], object]):
    """Run ``work`` in one transaction (rolled back in a dry run, whose results are still returned)."""
    if dry_run and not dataset.exists():  # a dry run leaves no dataset behind
        dataset = Dataset(Path(tempfile.mkdtemp(prefix="budgetwatch-dry-run-")), url=None)
    with connect(dataset, _SCHEMA) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            result = work(con)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("ROLLBACK" if dry_run else "COMMIT")
        return result


def file_findings(dataset: Dataset, run: str, versions: Iterable[Version], *, dry_run: bool = False) -> None:
    """File the findings of each checked version under ``run``: new ones opened, known ones kept open, missing
    ones closed as fixed (another version) or withdrawn (the same content)."""
    at = local_now().isoformat()

    def work(con):
        for v in sorted(versions, key=lambda v: v.url):  # one order of locks: two runs never wait on each other
            _file_version(con, run, at, v)

    _in_transaction(dataset, dry_run, work)


def _state(status: str, opened_run: str, closed_run: str | None, run: str) -> str | None:
    if status == "open":
        return "new" if opened_run == run else "open"
    return status if closed_run == run else None


def findings_of_run(dataset: Dataset, run: str, admits: Callable[[Entry], bool] = lambda _: True) -> list[Entry]:
    """The findings a run reports: every open one ``admits`` takes (new or open), and those closed in this run."""
    if not dataset.exists():
        return []
    with connect(dataset, _SCHEMA) as con:
        query = f"SELECT status, opened_run, closed_run, {', '.join(_ENTRY_COLUMNS)} FROM finding_ledger"
        rows = con.execute(query + " ORDER BY document, url, table_id NULLS LAST, line NULLS LAST, key").fetchall()
    out = []
    for status, opened_run, closed_run, *values in rows:
        state = _state(status, opened_run, closed_run, run)
        if state is None:
            continue
        entry = Entry(state, **dict(zip(_ENTRY_COLUMNS, values, strict=True)))
        if state in ("fixed", "withdrawn") or admits(entry):
            out.append(entry)
    return out


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing a crawl could not do (a portal down, a broken link), as the crawl reported it."""

    source_id: str
    url: str
    error: str
    district: str | None = None  # the source's name
    steward: str | None = None
    state: str = "new"  # new | open | fixed, once filed

    @property
    def key(self) -> str:
        return _digest("crawl", self.source_id, self.url)

    @property
    def fingerprint(self) -> str:
        return self.key  # told once while it lasts, whatever its wording becomes


def _file_problems(con, run: str, at: str, crawled: set[str], problems: list[Problem]) -> list[Problem]:
    lock(con, "crawl-ledger")
    rows = con.execute("SELECT source_id, url, status, opened_run FROM crawl_ledger").fetchall()
    known = {(s, u): (status, opened) for s, u, status, opened in rows}
    out = []
    for p in problems:
        status, opened = known.get((p.source_id, p.url), (None, None))
        if status == "open":
            con.execute(
                "UPDATE crawl_ledger SET error = ?, district = ?, steward = ?, seen_at = ? WHERE source_id = ? "
                "AND url = ?",
                [p.error, p.district, p.steward, at, p.source_id, p.url],
            )
            out.append(_replace(p, "new" if opened == run else "open"))
            continue
        con.execute("DELETE FROM crawl_ledger WHERE source_id = ? AND url = ?", [p.source_id, p.url])
        con.execute(
            "INSERT INTO crawl_ledger (source_id, url, status, error, district, steward, opened_run, opened_at, "
            "seen_at) VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?)",
            [p.source_id, p.url, p.error, p.district, p.steward, run, at, at],
        )
        out.append(_replace(p, "new"))
    met = {(p.source_id, p.url) for p in problems}
    gone = [k for k, (status, _) in known.items() if status == "open" and k[0] in crawled and k not in met]
    for source_id, url in gone:
        (error, district, steward) = con.execute(
            "UPDATE crawl_ledger SET status = 'fixed', closed_run = ?, closed_at = ? WHERE source_id = ? AND url = ? "
            "RETURNING error, district, steward",
            [run, at, source_id, url],
        ).fetchone()
        out.append(Problem(source_id, url, error, district, steward, "fixed"))
    return out


def _replace(p: Problem, state: str) -> Problem:
    return Problem(p.source_id, p.url, p.error, p.district, p.steward, state)


def file_problems(
    dataset: Dataset, run: str, crawled: Iterable[str], problems: Iterable[Problem], *, dry_run: bool = False
) -> list[Problem]:
    """File a crawl's problems under ``run``: each met problem new or open, and the open problems of the sources
    crawled (``crawled``: their ids) that were not met again fixed. Returns them with their state, plus the open
    problems of sources this run did not crawl."""
    at = local_now().isoformat()
    crawled = set(crawled)

    def work(con):
        filed = _file_problems(con, run, at, crawled, list(problems))
        rest = con.execute(
            "SELECT source_id, url, error, district, steward FROM crawl_ledger WHERE status = 'open'"
        ).fetchall()
        return filed + [Problem(*row, state="open") for row in rest if row[0] not in crawled]

    return _in_transaction(dataset, dry_run, work)


__all__ = [
    "STATES",
    "Entry",
    "Problem",
    "Version",
    "file_findings",
    "file_problems",
    "finding_keys",
    "findings_of_run",
    "local_now",
    "place_of",
    "unfiled",
]
