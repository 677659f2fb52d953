"""Legacy Office files: .doc (and .wps, the same Word format) converted by LibreOffice when it is installed, .xls read
directly; without LibreOffice a .doc is a clear "not read" error.

The legacy files are made at test time by LibreOffice from the project's generated .docx / .xlsx.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from budgetwatch import formats
from budgetwatch.errors import DocumentError, UnsupportedFormat
from budgetwatch.fixtures.render_office import extraction_to_docx, extraction_to_xlsx
from budgetwatch.read import legacy_office
from budgetwatch.read.extract import extract_bytes

needs_soffice = pytest.mark.skipif(
    legacy_office.soffice() is None,
    reason="LibreOffice is not installed (apt-get install libreoffice-writer-nogui libreoffice-calc-nogui)",
)


def _amounts(extraction, tables=None):
    return Counter(
        (i.table_id, i.side or "", i.code or "", "" if i.code else i.label_norm, i.column_key, i.micros)
        for i in extraction.items
        if not i.blank and "|" not in i.column_key and (tables is None or i.table_id in tables)
    )


def _save_as(data: bytes, suffix: str, target: str, extension: str, folder: Path) -> bytes:
    """LibreOffice's legacy-format copy of a generated document (Word 97 .doc, Excel 97 .xls)."""
    original = folder / f"generated{suffix}"
    original.write_bytes(data)
    profile = (folder / "profile").as_uri()
    command = [legacy_office.soffice(), f"-env:UserInstallation={profile}", "--headless", "--convert-to", target]
    subprocess.run(
        [*command, "--outdir", str(folder / "legacy"), str(original)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return (folder / "legacy" / f"generated.{extension}").read_bytes()


@pytest.fixture(scope="module")
def legacy_files(hongshan, tmp_path_factory):
    folder = tmp_path_factory.mktemp("legacy")
    doc = _save_as(extraction_to_docx(hongshan), ".docx", "doc:MS Word 97", "doc", folder)
    xls = _save_as(extraction_to_xlsx(hongshan), ".xlsx", "xls:MS Excel 97", "xls", folder)
    return doc, xls


@needs_soffice
def test_a_legacy_doc_is_converted_and_reads_the_same(hongshan, legacy_files):
    doc, _ = legacy_files
    assert formats.sniff(doc) == formats.OLE and legacy_office.target_format(doc) == "docx"
    back = extract_bytes(doc, "report.doc")
    assert back.document.media_type == formats.OLE
    read = {t.table_id for t in back.tables if str(t.status) in ("parsed", "declared_empty")}
    assert read == {f"budget.{n:02d}" for n in range(1, 11)}
    assert _amounts(back) == _amounts(hongshan, read)


@needs_soffice
def test_a_legacy_xls_is_read_without_conversion(hongshan, legacy_files, monkeypatch):
    _, xls = legacy_files
    monkeypatch.setattr(legacy_office, "soffice", lambda: None)  # calamine reads .xls itself
    back = extract_bytes(xls, "report.xls")
    assert _amounts(back) == _amounts(extract_bytes(extraction_to_xlsx(hongshan), "report.xlsx"))
    assert _amounts(back)


@needs_soffice
def test_without_libreoffice_a_doc_is_reported_unsupported(legacy_files, monkeypatch):
    monkeypatch.setattr(legacy_office, "soffice", lambda: None)
    with pytest.raises(UnsupportedFormat, match=r"report\.doc: legacy Office file .*needs LibreOffice"):
        extract_bytes(legacy_files[0], "report.doc")


@needs_soffice
def test_a_doc_libreoffice_cannot_convert_is_a_clear_error(legacy_files):
    doc = legacy_files[0]
    broken = doc[:512] + b"\x00" * 4096 + doc[4608:]  # the Word stream's header zeroed, the OLE directory kept
    with pytest.raises(DocumentError, match=r"broken\.doc: LibreOffice could not convert it to docx \(.+\)"):
        extract_bytes(broken, "broken.doc")


def test_a_conversion_that_hangs_is_stopped(tmp_path, monkeypatch):
    hanging = tmp_path / "soffice"
    hanging.write_text("#!/bin/sh\nsleep 30\n")
    hanging.chmod(0o755)
    monkeypatch.setattr(legacy_office, "soffice", lambda: str(hanging))
    word = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "WordDocument\0".encode("utf-16-le") + b"\x00" * 600
    with pytest.raises(DocumentError, match=r"slow\.doc: LibreOffice conversion to docx timed out after 1 s"):
        legacy_office.convert(word, "slow.doc", timeout=1)
