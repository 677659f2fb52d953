"""A throwaway PostgreSQL server for tests: Debian's binaries, a cluster in a temporary folder, on a free loopback port.

PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to the ``postgres`` user and every server
command runs as that user (``runuser``). Tests skip only when no PostgreSQL binaries are installed."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "budgetwatch"


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl: Debian's newest version, else whatever is on the PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def installed() -> tuple[Path | None, str]:
    """The binaries' folder, installing Debian's postgresql first when they are absent and this is root with apt-get;
    else None and why they cannot be had."""
    if found := binaries():
        return found, ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "PostgreSQL binaries are absent and cannot be installed here (not root, or no apt-get)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                                                   "postgresql"]):  # fmt: skip
        if subprocess.run(command, env=env, capture_output=True, check=False, timeout=600).returncode:
            return None, f"PostgreSQL binaries are absent and {' '.join(command[:2])} failed"
    return binaries(), "apt-get installed no PostgreSQL binaries"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True, slots=True)
class Server:
    port: int
    folder: Path

    def url(self, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its psycopg URL."""
        import psycopg  # noqa: PLC0415

        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextmanager
def running_postgres() -> Iterator[Server]:
    """Start a cluster of its own (trust authentication on loopback, no fsync: a test's data need not survive a
    power cut) and stop and remove it afterwards."""
    bin_dir = binaries()
    assert bin_dir is not None, "no PostgreSQL binaries"
    folder = Path(tempfile.mkdtemp(prefix="budgetwatch-pg-"))
    owner = "postgres" if os.geteuid() == 0 else None
    if owner:
        shutil.chown(folder, owner)
    data, port = folder / "data", _free_port()
    run = lambda *c: subprocess.run(_as_owner([str(bin_dir / c[0]), *c[1:]], owner), check=True,  # noqa: E731
                                    capture_output=True, text=True, cwd=folder)  # fmt: skip
    run("initdb", "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8", "--no-sync")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    run("pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "-t", "60", "start")
    try:
        yield Server(port, folder)
    finally:
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], owner),
                       check=False, capture_output=True, cwd=folder)  # fmt: skip
        time.sleep(0.2)
        shutil.rmtree(folder, ignore_errors=True)
