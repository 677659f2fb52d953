"""Caps on what one document may cost to read; each can be set in the environment (BUDGETWATCH_…).

The defaults suit a machine of 2 cores and a few GB: a document may take 300 s and 1.25 GiB of memory to read (the
reading runs in a child process that is stopped when it goes beyond either), and the limits on sizes, lines, nesting
and table cells keep ordinary hostile shapes from getting anywhere near them.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass

from budgetwatch.errors import DocumentError


def _env(name: str, default: int) -> int:
    value = os.environ.get(f"BUDGETWATCH_{name}")
    return int(value) if value else default


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 200 * 2**20  # a file larger than this is not read
    max_pages: int = 2000
    max_unzipped: int = 512 * 2**20  # Office files are zips: their members may not expand beyond this…
    max_ratio: int = 200  # …nor expand more than this many times their compressed size
    max_ocr_pages: int = 50  # scanned pages read by OCR (seconds each); 0 turns OCR off, later ones stay image_only
    max_text_bytes: int = 16 * 2**20  # a text layer or HTML page larger than this is not read (real ones: < 2 MB)
    max_line_chars: int = 20_000  # a line of text longer than this is not a line of a report
    max_lines: int = 500_000  # nor a text layer of more lines than this (2,000 pages of 250 lines)
    max_depth: int = 200  # HTML elements nested deeper than this
    max_table_cells: int = 200_000  # an HTML or Word table whose spans make more grid cells than this
    read_seconds: int = 300  # one document's reading, wall clock
    read_memory_mb: int = 1280  # one document's reading, resident memory of the reading process (OCR needs ~1 GB)
    isolate: bool = True  # read each document in a child process (the time and memory limits need one)

    @classmethod
    def from_env(cls) -> Limits:
        default = cls()
        return cls(
            max_bytes=_env("MAX_BYTES", default.max_bytes),
            max_pages=_env("MAX_PAGES", default.max_pages),
            max_unzipped=_env("MAX_UNZIPPED", default.max_unzipped),
            max_ratio=_env("MAX_RATIO", default.max_ratio),
            max_ocr_pages=_env("MAX_OCR_PAGES", default.max_ocr_pages),
            max_text_bytes=_env("MAX_TEXT_BYTES", default.max_text_bytes),
            max_line_chars=_env("MAX_LINE_CHARS", default.max_line_chars),
            max_lines=_env("MAX_LINES", default.max_lines),
            max_depth=_env("MAX_DEPTH", default.max_depth),
            max_table_cells=_env("MAX_TABLE_CELLS", default.max_table_cells),
            read_seconds=_env("READ_SECONDS", default.read_seconds),
            read_memory_mb=_env("READ_MEMORY_MB", default.read_memory_mb),
            isolate=bool(_env("ISOLATE", int(default.isolate))),
        )


def check_size(data: bytes, source: str, limits: Limits) -> None:
    check_size_of(len(data), source, limits)


def check_size_of(size: int, source: str, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise DocumentError(source, f"{size:,} bytes, more than the limit of {limits.max_bytes:,} (MAX_BYTES)")


def check_text_size(data: bytes, source: str, limits: Limits) -> None:
    check_text_size_of(len(data), source, limits)


def check_text_size_of(size: int, source: str, limits: Limits) -> None:
    if size > limits.max_text_bytes:
        raise DocumentError(
            source, f"{size:,} bytes of text, more than the limit of {limits.max_text_bytes:,} (MAX_TEXT_BYTES)"
        )


def check_lines(lines: list[str], source: str, limits: Limits) -> None:
    """Refuse a text layer with a line no report has, or more lines than any has: the table and narrative readers
    work line by line."""
    if len(lines) > limits.max_lines:
        raise DocumentError(
            source, f"{len(lines):,} lines of text, more than the limit of {limits.max_lines:,} (MAX_LINES)"
        )
    for number, line in enumerate(lines, start=1):
        if len(line) > limits.max_line_chars:
            raise DocumentError(
                source,
                f"line {number} has {len(line):,} characters, more than the limit of {limits.max_line_chars:,} "
                "(MAX_LINE_CHARS)",
            )


def check_zip(data: bytes, source: str, limits: Limits) -> None:
    """Refuse a zip (docx, xlsx) whose members would expand beyond the caps: a decompression bomb. The sizes the zip
    directory declares are checked here; a member that expands beyond its declared size fails its own CRC check."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DocumentError(source, f"broken zip container: {exc}") from exc
    expanded = sum(m.file_size for m in members)
    packed = max(1, sum(m.compress_size for m in members))
    if expanded > limits.max_unzipped or expanded > limits.max_ratio * packed:
        raise DocumentError(
            source,
            f"expands to {expanded:,} bytes from {packed:,} (a decompression bomb?); limit {limits.max_unzipped:,}",
        )
