"""Each document read in a child process under limits on time and memory: one document, one verdict.

Whatever a document holds (a page tree that contains itself, a decompression bomb, a regular expression that never
ends, a library that crashes), its reading ends as an Extraction or as a DocumentError naming the file and the reason,
and the process that asked is unharmed. A reading process serves one document after another; it is stopped (SIGKILL)
when a document takes longer than `read_seconds` or more than `read_memory_mb` of resident memory, and a fresh one
serves the next document. Its address space is capped as well (at a multiple of the limit), so a single huge
allocation fails inside it (a MemoryError, reported) rather than after it. A document that runs out of memory in a
process that had read others first is read once more in a fresh one, so that what earlier documents left behind is
never held against it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from budgetwatch import errors
from budgetwatch.errors import DocumentError
from budgetwatch.model import Extraction
from budgetwatch.read.limits import Limits

POLL_SECONDS = 0.02  # how often the reading process's memory is looked at
STARTUP_SECONDS = 120  # a reading process imports the readers before it takes its first document
ADDRESS_SPACE_FACTOR = 3
# documents read side by side, each in its own process (BUDGETWATCH_READ_WORKERS; by default one a core, up to two)
READ_WORKERS = int(os.environ.get("BUDGETWATCH_READ_WORKERS") or min(2, os.cpu_count() or 1))


def _reply(path: str, limits: Limits) -> tuple:
    from budgetwatch.read.extract import extract_path  # noqa: PLC0415 - imported in the reading process

    try:
        return ("ok", extract_path(path, limits))
    except DocumentError as exc:
        return ("error", type(exc).__name__, exc.source, exc.reason)
    except MemoryError:
        return ("memory", path, f"ran out of memory (the limit is {limits.read_memory_mb:,} MB, READ_MEMORY_MB)")
    except RecursionError:
        return ("error", "DocumentError", path, "nested too deeply to be read (RecursionError)")
    except Exception as exc:  # noqa: BLE001 - whatever a library raises on hostile input is this document's verdict
        return ("error", "DocumentError", path, f"could not be read ({type(exc).__name__}: {_short(exc)})")


def _short(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= 300 else text[:300] + "…"


def _serve(connection: Connection, memory_mb: int) -> None:
    """The reading process: documents in, verdicts out, until the parent goes away or ends it."""
    from budgetwatch import memory  # noqa: PLC0415
    from budgetwatch.read import extract  # noqa: F401, PLC0415 - imported before the first document's clock starts

    memory.give_back_freed_memory()  # the resident size is what the limit watches: freed memory is returned
    _cap_address_space(memory_mb)
    connection.send(("ready",))
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        path, limits = job
        reply = _reply(path, limits)
        try:
            connection.send(reply)
        except MemoryError:
            connection.send(("memory", path, "ran out of memory sending its result (READ_MEMORY_MB)"))
        if reply[0] == "memory":
            return  # after a MemoryError the interpreter's state is not to be trusted


def _cap_address_space(memory_mb: int) -> None:
    """Virtual memory capped at what is mapped now plus three times the limit: a single allocation far beyond the
    limit fails at once, before the resident size could be seen. (Not tighter: OCR's runtime reserves about 1.5 GB of
    address space to use a third of it.)"""
    mapped = _status_kib(os.getpid(), "VmSize") * 1024
    cap = mapped + ADDRESS_SPACE_FACTOR * memory_mb * 2**20
    with contextlib.suppress(ValueError, OSError):  # a lower hard limit already applies
        resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))


def _status_kib(pid: int, field: str) -> int:
    """A size from /proc/<pid>/status in KiB (0 where /proc is not there)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _Worker:
    """One reading process (`python -m budgetwatch.read.isolation`, its own session so that a kill takes whatever it
    started along) and the parent's end of the socket to it."""

    def __init__(self, memory_mb: int):
        self.memory_mb = memory_mb
        self.served = 0
        ours, theirs = socket.socketpair()
        command = [sys.executable, "-m", "budgetwatch.read.isolation", str(theirs.fileno()), str(memory_mb)]
        self.process = subprocess.Popen(
            command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, start_new_session=True
        )
        theirs.close()
        self.connection = Connection(ours.detach())
        self.started = False  # the process imports the readers meanwhile; `read` waits for it

    def _wait_started(self) -> None:
        if self.started:
            return
        if not self.connection.poll(STARTUP_SECONDS):
            self.kill()
            raise DocumentError("(reading process)", f"did not start within {STARTUP_SECONDS} s")
        try:
            self.connection.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise DocumentError("(reading process)", "ended while starting") from exc
        self.started = True

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.connection.close()

    def read(self, path: str, limits: Limits) -> tuple:
        """The reading process's reply, or a ('killed', reason) when it broke a limit or died."""
        self._wait_started()
        self.served += 1
        self.connection.send((path, limits))
        deadline = time.monotonic() + limits.read_seconds
        ceiling = limits.read_memory_mb * 1024
        while not self.connection.poll(POLL_SECONDS):
            if not self.alive():
                return ("killed", self._death())
            if _status_kib(self.process.pid, "VmRSS") > ceiling:
                self.kill()
                return ("killed", f"needed more than {limits.read_memory_mb:,} MB of memory (READ_MEMORY_MB)")
            if time.monotonic() > deadline:
                self.kill()
                return ("killed", f"took longer than {limits.read_seconds} s (READ_SECONDS)")
        try:
            return self.connection.recv()
        except (EOFError, OSError):
            return ("killed", self._death())

    def _death(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        code = self.process.returncode
        self.kill()
        if code is not None and code < 0:
            return f"the reading process died ({signal.Signals(-code).name}), likely out of memory or a library crash"
        return f"the reading process ended unexpectedly (exit status {code})"


class _Pool:
    """Idle reading processes, shared by the threads of this process; each read takes one or starts one."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def take(self, memory_mb: int, *, fresh: bool = False) -> _Worker:
        with self._lock:
            for k, worker in enumerate(self._idle):
                if not fresh and worker.memory_mb == memory_mb and worker.alive():
                    return self._idle.pop(k)
        return _Worker(memory_mb)

    def start(self, memory_mb: int) -> None:
        worker = _Worker(memory_mb)
        with self._lock:
            self._idle.append(worker)

    def give_back(self, worker: _Worker, limits: Limits) -> None:
        grown = _status_kib(worker.process.pid, "VmRSS") > limits.read_memory_mb * 1024 // 2
        if grown or not worker.alive():
            worker.kill()  # a process that kept half its limit starts the next document fresh
            return
        with self._lock:
            self._idle.append(worker)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()  # an idle process holds nothing: ended at once, not after its interpreter's teardown


_POOL = _Pool()
atexit.register(_POOL.close)


def start_reading_processes(count: int = 1, limits: Limits | None = None) -> None:
    """Start reading processes now, without waiting for them: their start (Python and the readers' imports, about
    0.3 s) overlaps whatever the caller does before its first document."""
    limits = limits or Limits.from_env()
    if limits.isolate:
        for _ in range(count):
            _POOL.start(limits.read_memory_mb)


def read_document(path: str | Path, limits: Limits | None = None) -> Extraction:
    """The Extraction of one document file, read under the limits (in a child process unless `isolate` is off)."""
    limits = limits or Limits.from_env()
    path = str(path)
    if not limits.isolate:
        from budgetwatch.read.extract import extract_path  # noqa: PLC0415

        return extract_path(path, limits)
    worker = _POOL.take(limits.read_memory_mb)
    fresh = worker.served == 0
    reply = worker.read(path, limits)
    if not fresh and _memory(reply):
        worker.kill()
        worker = _POOL.take(limits.read_memory_mb, fresh=True)
        reply = worker.read(path, limits)
    if reply[0] == "ok":
        _POOL.give_back(worker, limits)
        return reply[1]
    if reply[0] == "error":
        _POOL.give_back(worker, limits)
        _, kind, source, reason = reply
        error = getattr(errors, kind, DocumentError)
        raise (error if isinstance(error, type) and issubclass(error, DocumentError) else DocumentError)(source, reason)
    if reply[0] == "memory":
        worker.kill()
        raise DocumentError(path, reply[2])
    raise DocumentError(path, f"not read: {reply[1]}")


def _memory(reply: tuple) -> bool:
    return reply[0] == "memory" or (reply[0] == "killed" and "READ_MEMORY_MB" in reply[1])


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a folder stands for every file below it (sorted), hidden files left out."""
    out: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            out.extend(
                p
                for p in sorted(given.rglob("*"))
                if p.is_file() and not any(x.startswith(".") for x in p.relative_to(given).parts)
            )
        else:
            out.append(given)
    return out


def read_documents(
    paths: list[Path], limits: Limits | None = None, workers: int = 1
) -> Iterator[tuple[Path, Extraction | DocumentError]]:
    """Every document's verdict, in the order given; `workers` documents are read side by side."""
    limits = limits or Limits.from_env()

    def verdict(path: Path) -> Extraction | DocumentError:
        try:
            return read_document(path, limits)
        except DocumentError as exc:
            return exc

    if workers <= 1 or len(paths) < 2:
        for path in paths:
            yield path, verdict(path)
        return
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - not imported by the reading process itself

    with ThreadPoolExecutor(workers) as pool:
        yield from zip(paths, pool.map(verdict, paths), strict=True)


def main(argv: list[str]) -> int:
    """The reading process: started by budgetwatch with its socket's descriptor and the memory limit in MB."""
    if len(argv) != 2 or not all(a.isdigit() for a in argv):
        print("usage: python -m budgetwatch.read.isolation FD MEMORY_MB  (started by budgetwatch to read documents)")
        return 0 if argv in (["--help"], ["-h"]) else 2
    _serve(Connection(int(argv[0])), int(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
