"""The canonical tables as polars frames: their schemas, and one extraction's rows in them.

Apart from the model so that reading a document loads no polars (a reading process serves its first document 0.2 s
sooner); the checks and the outputs, which work on frames, import this.
"""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum

import polars as pl

from budgetwatch.model import Extraction

LINE_ITEM_SCHEMA: dict[str, pl.DataType] = {
    "sha256": pl.String(),
    "table_id": pl.String(),
    "instance": pl.String(),
    "row_order": pl.Int32(),
    "side": pl.String(),
    "row_key": pl.String(),
    "label": pl.String(),
    "label_norm": pl.String(),
    "code": pl.String(),
    "code_scheme": pl.String(),
    "level": pl.String(),
    "code_printed": pl.String(),
    "line_no": pl.Int32(),
    "group": pl.String(),
    "column_key": pl.String(),
    "header": pl.String(),
    "micros": pl.Int64(),
    "blank": pl.Boolean(),
    "raw": pl.String(),
    "unit": pl.String(),
    "decimals": pl.Int8(),
    "page": pl.Int32(),
    "line": pl.Int32(),
    "ocr_confidence": pl.Float64(),
}

TABLE_SCHEMA: dict[str, pl.DataType] = {
    "sha256": pl.String(),
    "table_id": pl.String(),
    "instance": pl.String(),
    "title": pl.String(),
    "printed_number": pl.String(),
    "status": pl.String(),
    "department_line": pl.String(),
    "unit_line": pl.String(),
    "unit": pl.String(),
    "pages": pl.List(pl.Int32()),
    "first_line": pl.Int32(),
    "last_line": pl.Int32(),
    "notes": pl.List(pl.String()),
    "family": pl.String(),
    "columns": pl.List(pl.String()),
}

FACT_SCHEMA: dict[str, pl.DataType] = {
    "sha256": pl.String(),
    "kind": pl.String(),
    "subject": pl.String(),
    "micros": pl.Int64(),
    "unit": pl.String(),
    "decimals": pl.Int8(),
    "raw": pl.String(),
    "section": pl.String(),
    "sentence": pl.String(),
    "line": pl.Int32(),
    "offset": pl.Int32(),
    "after": pl.String(),
}

DOCUMENT_SCHEMA: dict[str, pl.DataType] = {
    "sha256": pl.String(),
    "source": pl.String(),
    "media_type": pl.String(),
    "title": pl.String(),
    "department": pl.String(),
    "district": pl.String(),
    "fiscal_year": pl.Int32(),
    "kind": pl.String(),
    "scope": pl.String(),
    "published": pl.String(),
}


def items_frame(extraction: Extraction) -> pl.DataFrame:
    """Line items of one document as a polars frame in the canonical schema."""
    sha = extraction.document.sha256
    rows = [{"sha256": sha, **{k: getattr(i, k) for k in LINE_ITEM_SCHEMA if k != "sha256"}} for i in extraction.items]
    return pl.DataFrame(rows, schema=LINE_ITEM_SCHEMA, orient="row") if rows else pl.DataFrame(schema=LINE_ITEM_SCHEMA)


def tables_frame(extraction: Extraction) -> pl.DataFrame:
    sha = extraction.document.sha256
    rows = [
        {
            "sha256": sha,
            "table_id": t.table_id,
            "instance": t.instance,
            "title": t.title,
            "printed_number": t.printed_number,
            "status": str(t.status),
            "department_line": t.department_line,
            "unit_line": t.unit_line,
            "unit": t.unit,
            "pages": t.pages,
            "first_line": t.lines[0] if t.lines else None,
            "last_line": t.lines[1] if t.lines else None,
            "notes": t.notes,
            "family": t.family,
            "columns": t.columns,
        }
        for t in extraction.tables
    ]
    return pl.DataFrame(rows, schema=TABLE_SCHEMA) if rows else pl.DataFrame(schema=TABLE_SCHEMA)


def facts_frame(extraction: Extraction) -> pl.DataFrame:
    sha = extraction.document.sha256
    rows = [{"sha256": sha, **{k: getattr(f, k) for k in FACT_SCHEMA if k != "sha256"}} for f in extraction.facts]
    return pl.DataFrame(rows, schema=FACT_SCHEMA) if rows else pl.DataFrame(schema=FACT_SCHEMA)


def document_frame(extraction: Extraction) -> pl.DataFrame:
    d = extraction.document
    row = {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(d).items() if k in DOCUMENT_SCHEMA}
    return pl.DataFrame([row], schema=DOCUMENT_SCHEMA)
