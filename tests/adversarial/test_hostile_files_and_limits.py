"""Files that are not documents at all (a pipe, a device, a file larger than the cap, one that vanished) and the
reading limits themselves: a document that needs more time or memory than allowed is stopped, the error names the
limit, and the next document is read by a fresh reading process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from budgetwatch.errors import DocumentError
from budgetwatch.read.isolation import read_document, read_documents
from budgetwatch.read.limits import Limits

from .measure import ROOT

SAMPLE = ROOT / "budgetwatch" / "data" / "samples" / "huangpi-2024-final.txt"


def _verdicts(paths: list[Path], limits: Limits) -> dict[str, str]:
    return {
        path.name: (f"error: {v.reason}" if isinstance(v, DocumentError) else "read")
        for path, v in read_documents(paths, limits)
    }


def test_a_pipe_a_device_an_oversized_and_a_vanished_file_are_errors_naming_them(tmp_path):
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    device = tmp_path / "zero.pdf"
    device.symlink_to("/dev/zero")  # reading it would never end
    oversized = tmp_path / "huge.pdf"
    with oversized.open("wb") as f:
        f.truncate(300 * 2**20)  # sparse: larger than the cap without using the disk
    vanished = tmp_path / "gone.pdf"
    loop = tmp_path / "loop.pdf"
    loop.symlink_to(loop)
    verdicts = _verdicts([fifo, device, oversized, vanished, loop, SAMPLE], Limits(read_seconds=20))
    assert verdicts["pipe.pdf"] == "error: not a regular file (a device, pipe or socket is not read)"
    assert verdicts["zero.pdf"] == "error: not a regular file (a device, pipe or socket is not read)"
    assert verdicts["huge.pdf"].startswith("error: 314,572,800 bytes, more than the limit of")
    assert verdicts["gone.pdf"].startswith("error: cannot read: No such file")
    assert verdicts["loop.pdf"].startswith("error: cannot read: Too many levels of symbolic links")
    assert verdicts[SAMPLE.name] == "read"


def test_a_document_past_its_time_is_stopped_and_the_next_one_is_read(tmp_path):
    slow = tmp_path / "slow.txt"
    slow.write_bytes(("占" + "100%，" * 3000 + "\n").encode() * 50)  # minutes of narrative reading
    verdicts = _verdicts([slow, SAMPLE], Limits(read_seconds=2))
    assert verdicts == {"slow.txt": "error: not read: took longer than 2 s (READ_SECONDS)", SAMPLE.name: "read"}


def test_a_document_past_its_memory_is_stopped_and_the_next_one_is_read(tmp_path):
    heavy = tmp_path / "heavy.txt"
    heavy.write_bytes(("合计\t1.00\t2.00\n" * 400_000).encode())  # 400,000 short lines: far more than 200 MB to read
    verdicts = _verdicts([heavy, SAMPLE], Limits(read_memory_mb=200))
    assert verdicts[SAMPLE.name] == "read"
    assert "READ_MEMORY_MB" in verdicts["heavy.txt"]
    assert "200 MB" in verdicts["heavy.txt"] or "ran out of memory" in verdicts["heavy.txt"]


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BUDGETWATCH_READ_SECONDS", "7")
    monkeypatch.setenv("BUDGETWATCH_READ_MEMORY_MB", "512")
    monkeypatch.setenv("BUDGETWATCH_MAX_LINE_CHARS", "99")
    monkeypatch.setenv("BUDGETWATCH_ISOLATE", "0")
    limits = Limits.from_env()
    assert (limits.read_seconds, limits.read_memory_mb, limits.max_line_chars, limits.isolate) == (7, 512, 99, False)


def test_without_isolation_a_hostile_document_is_still_an_error_naming_it(tmp_path):
    bad = tmp_path / "bad.docx"
    from . import builders  # noqa: PLC0415

    bad.write_bytes(builders.docx(b"<w:p><w:r><w:t>unclosed"))
    with pytest.raises(DocumentError, match=r"bad\.docx: not a readable Word document \(XMLSyntaxError"):
        read_document(bad, Limits(isolate=False))
