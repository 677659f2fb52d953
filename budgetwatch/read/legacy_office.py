"""Legacy Office files (.doc, .wps, .et) converted to .docx / .xlsx with LibreOffice, when it is installed.

python-calamine reads .xls itself; Word-family and WPS files need `soffice --headless --convert-to`. Each conversion
runs in its own temporary directory with its own LibreOffice profile (concurrent conversions do not share one),
under a timeout, and a failure names the document.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from budgetwatch.errors import DocumentError, UnsupportedFormat

CONVERT_TIMEOUT = 120  # seconds; the first start of LibreOffice on a fresh profile takes a few
# stream names as the OLE directory stores them (UTF-16, NUL-terminated): every .doc / .wps holds WordDocument
_WORD_STREAM = "WordDocument\0".encode("utf-16-le")
_SHEET_STREAMS = ("Workbook\0".encode("utf-16-le"), "Book\0".encode("utf-16-le"))


def soffice() -> str | None:
    """LibreOffice's command on PATH, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def target_format(data: bytes) -> str | None:
    """docx for a Word-family file, xlsx for a spreadsheet (.et, or an .xls calamine could not read), else None."""
    if _WORD_STREAM in data:
        return "docx"
    if any(s in data for s in _SHEET_STREAMS):
        return "xlsx"
    return None


def convert(data: bytes, source: str, *, timeout: int = CONVERT_TIMEOUT) -> bytes:
    """The .docx or .xlsx LibreOffice makes of a legacy Office file; UnsupportedFormat when it cannot be converted."""
    target = target_format(data)
    if target is None:
        raise UnsupportedFormat(source, "legacy Office file with neither a Word document nor a workbook inside")
    command = soffice()
    if command is None:
        raise UnsupportedFormat(
            source, f"legacy Office file (.doc/.wps/.et): reading it needs LibreOffice (soffice --convert-to {target})"
        )
    with tempfile.TemporaryDirectory(prefix="budgetwatch-soffice-") as tmp:
        folder = Path(tmp)
        original = folder / ("document.doc" if target == "docx" else "document.xls")
        original.write_bytes(data)
        args = [
            command,
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            target,
            "--outdir",
            str(folder / "out"),
            str(original),
        ]
        # its own session, so a timeout ends LibreOffice's whole process group, not only the launcher script
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise DocumentError(source, f"LibreOffice conversion to {target} timed out after {timeout} s") from None
        converted = folder / "out" / f"document.{target}"
        if process.returncode != 0 or not converted.is_file():
            detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
            raise DocumentError(source, f"LibreOffice could not convert it to {target} ({detail[0]})")
        return converted.read_bytes()
