"""Documents for the publishing, alerting and deployment tests, made from the bundled samples by code."""

from __future__ import annotations

from pathlib import Path

from budgetwatch.check.batch import DocumentReport, validate_extractions
from budgetwatch.read.extract import extract_path

from .conftest import SAMPLES

HONGSHAN = SAMPLES / "hongshan-2024-budget.txt"
HUANGPI = SAMPLES / "huangpi-2024-final.txt"
CAIDIAN = SAMPLES / "caidian-2024-budget.txt"


def corrected_hongshan(folder: Path) -> Path:
    """hongshan with the one header that names the wrong table (政府性基金 under 国有资本经营, 表9) corrected."""
    text = HONGSHAN.read_text(encoding="utf-8")
    head, title, tail = text.partition("国有资本经营预算支出表\n")
    assert title, "the sample no longer has 表9"
    path = folder / "hongshan-2024-budget.txt"
    path.write_text(
        head + title + tail.replace("本年政府性基金预算支出", "本年国有资本经营预算支出", 1), encoding="utf-8"
    )
    return path


def checked(path: Path) -> DocumentReport:
    return validate_extractions([extract_path(path)])[0]
