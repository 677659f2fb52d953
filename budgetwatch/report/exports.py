"""Exports for stewards who work in Excel or WPS: findings and the published tables as CSV (UTF-8 with BOM) and XLSX.

The rows are the ones budgetwatch.publish.outputs writes (one row a finding; the canonical line items); the XLSX holds
the same rows, amounts as numbers only where the number is exactly the printed decimal, otherwise as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl
import xlsxwriter

from budgetwatch.check.batch import CheckRun
from budgetwatch.publish.outputs import FINDING_HEADERS, findings_frame, write_extractions, write_findings

_EXACT_FLOAT = 2**53
NUMERIC_TEXT = frozenset({"amount"})  # text columns that hold exact decimals and are written as numbers


@dataclass(frozen=True, slots=True)
class Exports:
    findings_csv: Path
    findings_xlsx: Path
    tables_xlsx: Path
    tables_csv: dict[str, Path]  # documents, tables, line_items, narrative_facts


def _exact_number(text: str) -> float | None:
    """The float whose shortest form is exactly this decimal text, so Excel shows and sums the printed value."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    number = float(value)
    return number if Decimal(repr(number)) == value else None


def _cell(sheet, row: int, col: int, value, numeric_text: bool) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int) and abs(value) < _EXACT_FLOAT:
        sheet.write_number(row, col, value)
    elif isinstance(value, list):
        sheet.write_string(row, col, json.dumps(value, ensure_ascii=False))
    elif numeric_text and isinstance(value, str) and (number := _exact_number(value)) is not None:
        sheet.write_number(row, col, number)
    else:
        sheet.write_string(row, col, str(value))


def write_xlsx(sheets: Mapping[str, pl.DataFrame], path: Path) -> Path:
    """One worksheet per frame: a bold header row, frozen, with a filter; widths from the content."""
    with xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_urls": False}) as book:
        bold = book.add_format({"bold": True, "bg_color": "#e8eef6"})
        for name, frame in sheets.items():
            sheet = book.add_worksheet(name[:31])
            for col, column in enumerate(frame.columns):
                sheet.write_string(0, col, column, bold)
                numeric_text = column in NUMERIC_TEXT
                width = len(column)
                for row, value in enumerate(frame.get_column(column).to_list(), start=1):
                    _cell(sheet, row, col, value, numeric_text)
                    width = max(width, min(60, len(str(value)) if value is not None else 0))
                sheet.set_column(col, col, width + 2)
            sheet.freeze_panes(1, 0)
            if frame.width:
                sheet.autofilter(0, 0, max(frame.height, 1), frame.width - 1)
    return path


def write_exports(run: CheckRun, out: Path) -> Exports:
    """check.json, findings.csv/.xlsx, tables.xlsx and tables/*.csv (with Parquet) in ``out``."""
    write_findings(run, out)  # check.json and findings.csv
    write_xlsx({"findings": findings_frame(run).rename(FINDING_HEADERS)}, out / "findings.xlsx")
    written = write_extractions([r.extraction for r in run.reports], out / "tables")
    frames = {name: pl.read_parquet(path) for name, path in written.items()}
    write_xlsx({name: frames[name] for name in ("line_items", "tables", "documents")}, out / "tables.xlsx")
    return Exports(
        findings_csv=out / "findings.csv",
        findings_xlsx=out / "findings.xlsx",
        tables_xlsx=out / "tables.xlsx",
        tables_csv={name: path.with_suffix(".csv") for name, path in written.items()},
    )
