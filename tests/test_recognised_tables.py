"""Every table a real report of a known family prints is recognised where it stands (tests/documents/tables.csv,
made by hand from the page images), whatever its family and numbering; none is reported where none is printed."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from budgetwatch.read.extract import extract_path

DOCUMENTS = Path(__file__).resolve().parent / "documents"
PRINTED: dict[str, list[dict]] = defaultdict(list)
for row in csv.DictReader((DOCUMENTS / "tables.csv").open(encoding="utf-8")):
    PRINTED[row["file"]].append(row)


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_every_printed_table_is_recognised_on_its_page(name):
    ex = extract_path(DOCUMENTS / name)
    read = [t for t in ex.tables if t.status in ("parsed", "declared_empty")]
    found = {(t.table_id, min(t.pages) if t.pages else None) for t in read}
    wanted = {(r["table_id"], int(r["first_page"])) for r in PRINTED[name]}
    assert wanted - found == set(), f"printed but not recognised (table, first page): {sorted(wanted - found)}"
    assert {t for t, _ in found} == {t for t, _ in wanted}, "recognised where not printed"


def test_the_tables_of_a_report_that_publishes_them_separately_are_missing_with_that_reason():
    ex = extract_path(DOCUMENTS / "js-rdcwh-2019-budget-text.pdf")
    assert ex.document.family == "jiangsu-provincial-budget"  # named by its contents
    assert all(t.status == "missing" and "published separately" in t.notes[0] for t in ex.tables)
    assert len(ex.tables) == 12
