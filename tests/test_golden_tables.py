"""Every printed amount of the sample tables, transcribed by hand, is extracted with its table, row and column."""

from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal

import pytest

from budgetwatch.model import MICROS

from .conftest import GOLDEN


def _golden(name: str) -> list[dict]:
    with open(GOLDEN / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _key(table_id, side, code, label, column):
    return (table_id, side or "", code or "", label if not code else "", column)


def _extracted(extraction) -> Counter:
    return Counter(
        (*_key(i.table_id, i.side, i.code, i.label_norm, i.column_key), i.micros)
        for i in extraction.items
        if not i.blank and i.instance is None and i.table_id not in ("budget.11", "budget.12")
    )


def _expected(rows) -> Counter:
    return Counter(
        (
            *_key(r["table_id"], r["side"], r["code"], r["label"], r["column_key"]),
            int(Decimal(r["amount"]) * MICROS),
        )
        for r in rows
    )


@pytest.mark.parametrize(
    ("fixture", "golden"), [("huangpi", "huangpi-2024-final"), ("hongshan", "hongshan-2024-budget")]
)
def test_every_printed_amount_is_extracted_exactly_once(request, fixture, golden):
    extraction = request.getfixturevalue(fixture)
    expected = _expected(_golden(golden))
    got = _extracted(extraction)
    missing = expected - got
    extra = got - expected
    assert not missing, f"not extracted: {sorted(missing.elements())[:20]}"
    assert not extra, f"extracted but not printed: {sorted(extra.elements())[:20]}"


def test_golden_files_cover_the_tables_they_claim():
    tables = {r["table_id"] for r in _golden("huangpi-2024-final.csv".removesuffix(".csv"))}
    assert {"final.01", "final.02", "final.03", "final.04", "final.05", "final.06"} <= tables
    tables = {r["table_id"] for r in _golden("hongshan-2024-budget")}
    assert {f"budget.{n:02d}" for n in (1, 2, 3, 4, 5, 6, 7, 10)} <= tables
