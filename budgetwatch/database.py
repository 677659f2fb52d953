"""Where the archive manifest and the dataset's catalogue are kept: an embedded DuckDB file beside the data (the
default: nothing to install, one machine), or a PostgreSQL database that many workers share
(``BUDGETWATCH_DATABASE_URL=postgresql://user@host:port/database``).

Both speak the same SQL through ``execute(sql, params)`` with ``?`` placeholders, ``BEGIN``/``COMMIT``/``ROLLBACK``
statements and ``INSERT … ON CONFLICT``. In PostgreSQL the archive and the dataset are schemas of their own in the one
database; writers that must not interleave on one document take a transaction lock named after it (``lock``), where
on DuckDB the file itself has one writer at a time (`budgetwatch.locking`).
"""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from budgetwatch.errors import BudgetwatchError

URL_SETTING = "BUDGETWATCH_DATABASE_URL"
_READY: set[tuple[str, str, int]] = set()  # (url, schema, hash of its DDL) made in this process
_READY_LOCK = threading.Lock()


class DatabaseError(BudgetwatchError):
    """The shared database cannot be reached or refused a statement (the message names it, without a password)."""


def database_url() -> str | None:
    """The shared database's URL, or None for the embedded DuckDB files."""
    return os.environ.get(URL_SETTING) or None


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0] in ("postgres", "postgresql")


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    head, _, rest = url.partition("://")
    if "@" not in rest:
        return url
    user, _, host = rest.rpartition("@")
    return f"{head}://{user.split(':', 1)[0]}@{host}"


def _placeholders(sql: str) -> str:
    """DuckDB's ``?`` as psycopg's ``%s`` (the statements carry no literal ``?`` or ``%``)."""
    return sql.replace("%", "%%").replace("?", "%s")


class Postgres:
    """A PostgreSQL connection that takes the DuckDB dialect budgetwatch writes (``?`` placeholders, explicit
    transactions: the connection is in autocommit until ``BEGIN``)."""

    def __init__(self, connection: Any):
        self.connection = connection

    def execute(self, sql: str, params: Sequence | None = None):
        if params is None:
            return self.connection.execute(sql)
        return self.connection.execute(_placeholders(sql), list(params))

    def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(_placeholders(sql), [list(r) for r in rows])

    def close(self) -> None:
        self.connection.close()


def _key(names: tuple[str, ...]) -> list[int]:
    """The two 32-bit numbers PostgreSQL names an advisory lock by."""
    return [len(names), zlib.crc32("\x1f".join(names).encode("utf-8")) - (1 << 31)]


def lock(con: Any, *names: str) -> None:
    """Wait for, then hold until the transaction ends, the lock named by ``names`` (PostgreSQL only: on DuckDB the
    connection is already the only writer)."""
    if isinstance(con, Postgres):
        con.execute("SELECT pg_advisory_xact_lock(?::int, ?::int)", _key(names))


@contextmanager
def transaction(con: Any, *, keep: bool = True) -> Iterator[None]:
    """One transaction: committed when the block ends (rolled back instead when ``keep`` is false or it raises)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT" if keep else "ROLLBACK")


@contextmanager
def postgres(url: str, schema: str, ddl: str) -> Iterator[Postgres]:
    """A connection to ``url`` working in ``schema``, which holds the tables of ``ddl`` (made once per process,
    under a lock, since two workers creating one table at once would collide)."""
    import psycopg  # noqa: PLC0415 - only a deployment on PostgreSQL pays for the driver

    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=20)
    except psycopg.Error as exc:
        raise DatabaseError(f"{shown(url)}: cannot connect: {exc}") from exc
    con = Postgres(raw)
    try:
        key = (url, schema, hash(ddl))
        if key not in _READY:
            with _READY_LOCK, transaction(con):
                lock(con, "budgetwatch-schema")
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                con.execute(f"SET LOCAL search_path TO {schema}")
                con.execute(ddl)
            _READY.add(key)
        con.execute(f"SET search_path TO {schema}")
        yield con
    except psycopg.Error as exc:
        raise DatabaseError(f"{shown(url)}: {type(exc).__name__}: {exc}") from exc
    finally:
        con.close()


@contextmanager
def held(con: Any, *names: str) -> Iterator[None]:
    """Hold the lock named by ``names`` across transactions until the block ends (PostgreSQL only)."""
    if not isinstance(con, Postgres):
        yield
        return
    key = _key(names)
    con.execute("SELECT pg_advisory_lock(?::int, ?::int)", key)
    try:
        yield
    finally:
        con.execute("SELECT pg_advisory_unlock(?::int, ?::int)", key)
