"""Caps on what one document may cost to read; each can be set in the environment (BUDGETWATCH_MAX_…)."""

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

    @classmethod
    def from_env(cls) -> Limits:
        default = cls()
        return cls(
            max_bytes=_env("MAX_BYTES", default.max_bytes),
            max_pages=_env("MAX_PAGES", default.max_pages),
            max_unzipped=_env("MAX_UNZIPPED", default.max_unzipped),
            max_ratio=_env("MAX_RATIO", default.max_ratio),
            max_ocr_pages=_env("MAX_OCR_PAGES", default.max_ocr_pages),
        )


def check_size(data: bytes, source: str, limits: Limits) -> None:
    if len(data) > limits.max_bytes:
        raise DocumentError(source, f"{len(data):,} bytes, more than the limit of {limits.max_bytes:,}")


def check_zip(data: bytes, source: str, limits: Limits) -> None:
    """Refuse a zip (docx, xlsx) whose members would expand beyond the caps: a decompression bomb."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as exc:
        raise DocumentError(source, f"broken zip container: {exc}") from exc
    expanded = sum(m.file_size for m in members)
    packed = max(1, sum(m.compress_size for m in members))
    if expanded > limits.max_unzipped or expanded > limits.max_ratio * packed:
        raise DocumentError(
            source,
            f"expands to {expanded:,} bytes from {packed:,} (a decompression bomb?); limit {limits.max_unzipped:,}",
        )
