"""Taking turns on a DuckDB file between processes: writers wait, readers never block a writer.

DuckDB lets one process open a database file for writing and refuses every other process at once. Each writer of
budgetwatch therefore first takes an exclusive lock on a companion lock file, waiting its turn (up to
BUDGETWATCH_LOCK_TIMEOUT seconds, then a Busy error naming the file and the process holding it), and opens the
database only for as long as it writes. A process outside budgetwatch that holds the database file open (a steward's
DuckDB session, read-only or not) does not block publishing either: the writer works on a copy of the file and renames
it into place when done, so that reader keeps reading the snapshot it opened.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from budgetwatch.errors import BudgetwatchError

POLL_SECONDS = 0.05


class Busy(BudgetwatchError):
    """Another process kept a file locked for longer than this one would wait."""


def lock_timeout() -> float:
    return float(os.environ.get("BUDGETWATCH_LOCK_TIMEOUT") or 600)


@contextlib.contextmanager
def exclusive(lock_file: Path, what: str, timeout: float | None = None) -> Iterator[None]:
    """Hold the exclusive lock on `lock_file`, waiting for another holder (in this or another process) to finish."""
    timeout = lock_timeout() if timeout is None else timeout
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
                    raise Busy(
                        f"{what} is in use by another process (pid {holder}); waited {timeout:g} s for it "
                        f"(BUDGETWATCH_LOCK_TIMEOUT). Try again when that process has finished."
                    ) from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def writable(database: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to `database`, to be used while holding its `exclusive` lock. When a process outside
    budgetwatch holds the file, the writing goes to a copy that replaces the file on success (its readers keep the
    snapshot they opened); on failure the copy is dropped and the file is untouched."""
    try:
        con = duckdb.connect(str(database))
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        con = None
    if con is not None:
        try:
            yield con
        finally:
            con.close()
        return
    copy = database.with_name(f".{database.name}.{os.getpid()}.writing")
    for suffix in ("", ".wal"):
        source = Path(f"{database}{suffix}")
        if source.exists():
            shutil.copy2(source, f"{copy}{suffix}")
    con = duckdb.connect(str(copy))
    try:
        yield con
        con.close()
        os.replace(copy, database)
        Path(f"{database}.wal").unlink(missing_ok=True)  # the copy took in what it held; it is stale now
    finally:
        con.close()
        for leftover in (copy, Path(f"{copy}.wal")):
            leftover.unlink(missing_ok=True)
