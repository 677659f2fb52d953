"""Real reports of three more template families read cell for cell as transcribed by hand from the page images
(tests/golden/real: table, side, row by code or fixed-row key, column, value as printed), and nothing else read from
those tables."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from budgetwatch.read.extract import extract_path

HERE = Path(__file__).resolve().parent
GOLDEN = sorted((HERE / "golden" / "real").glob("*.csv"))


def _printed(text: str) -> str:
    return text.replace(",", "").replace(" ", "")


def _row(item) -> str:
    if item.code:
        return item.code
    if item.row_key:
        return item.row_key
    return "合计" if item.label_norm in ("合计", "总计", "") else item.label_norm


def _cells(rows) -> Counter:
    return Counter((r["table_id"], r["side"], r["row"], r["column_key"], _printed(r["value"])) for r in rows)


@pytest.fixture(scope="module", params=GOLDEN, ids=lambda p: p.stem)
def case(request):
    golden = list(csv.DictReader(request.param.open(encoding="utf-8")))
    extraction = extract_path(next((HERE / "documents").glob(f"{request.param.stem}.pdf")))
    return golden, extraction


def test_every_transcribed_cell_is_read_with_its_printed_value(case):
    golden, extraction = case
    wanted = {(r["table_id"], r["column_key"]) for r in golden}
    read = [
        {"table_id": i.table_id, "side": i.side or "", "row": _row(i), "column_key": i.column_key, "value": i.raw}
        for i in extraction.items
        if (i.table_id, i.column_key) in wanted or (i.table_id, i.column_key.split("|")[0]) in wanted
    ]
    missing = _cells(golden) - _cells(read)
    assert not missing, f"not read as transcribed: {sorted(missing)[:12]}"


def test_nothing_is_read_from_those_tables_beyond_what_they_print(case):
    golden, extraction = case
    tables = {r["table_id"] for r in golden}
    printed = _cells(r for r in golden if r["value"])
    read = _cells(
        {"table_id": i.table_id, "side": i.side or "", "row": _row(i), "column_key": i.column_key, "value": i.raw}
        for i in extraction.items
        if i.table_id in tables and not i.blank
    )
    assert not read - printed, f"read but not printed: {sorted(read - printed)[:12]}"
