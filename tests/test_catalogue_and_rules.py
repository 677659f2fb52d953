"""The catalogue, the rules file and the code list are consistent data: every reference resolves."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from budgetwatch.check.document_checks import CHECKS
from budgetwatch.check.rules import DOCUMENT_RELATIONS, CellRef, RowsRef, rules
from budgetwatch.read import catalogue, codes


def _columns(table_id: str, side: str | None) -> set[str]:
    spec = catalogue.table(table_id)
    if spec.sides:
        sides = [spec.side(side)] if side else spec.sides
        return {c.key for s in sides for c in s.columns}
    return {c.key for c in spec.columns}


def _row_keys(table_id: str, side: str | None) -> set[str]:
    spec = catalogue.table(table_id)
    keys = {r.key for r in (*spec.footer_rows, *spec.fixed_rows)}
    for s in spec.sides:
        if side is None or s.name == side:
            keys |= {r.key for r in s.rows}
    return keys | {"total", "classes", "items"}


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.id)
def test_every_rule_names_existing_tables_columns_and_rows(rule):
    assert rule.zh and rule.en
    for table_id in rule.tables:
        catalogue.table(table_id)
    if rule.relation in ("columns_sum", "rows_sum"):
        cols = _columns(rule.table, rule.side)
        wanted = [rule.total, *[p.lstrip("-") for p in rule.parts]] if rule.relation == "columns_sum" else []
        assert set(wanted) <= cols, set(wanted) - cols
        if rule.relation == "rows_sum":
            parts = [rule.parts] if isinstance(rule.parts, str) else list(rule.parts)
            for ref in [rule.total, *parts]:
                assert ref.lstrip("-").isdigit() or ref.lstrip("-") in _row_keys(rule.table, rule.side), ref
            assert set(rule.columns or ()) <= cols
    for ref in (rule.left, rule.right):
        refs = ref if isinstance(ref, tuple) else ((ref,) if ref else ())
        for cell in refs:
            assert cell.column in _columns(cell.table, cell.side), (cell.table, cell.column)
            if isinstance(cell, CellRef):
                assert cell.row in _row_keys(cell.table, cell.side), (cell.table, cell.row)
            else:
                assert isinstance(cell, RowsRef)


def test_every_document_rule_has_its_function():
    assert set(DOCUMENT_RELATIONS) == set(CHECKS)
    assert {r.relation for r in rules() if r.relation in DOCUMENT_RELATIONS} == set(DOCUMENT_RELATIONS)


def test_every_table_has_columns_and_a_unique_title():
    titles = [t for spec in catalogue.tables() for t in spec.titles]
    assert len(titles) == len(set(titles))
    for spec in catalogue.tables():
        assert spec.all_columns() or spec.layout == "generic", spec.id  # a generic table's columns are its headers


def test_code_list_is_well_formed():
    text = resources.files("budgetwatch").joinpath("data/codes.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    keys = [(r["scheme"], r["code"], r["valid_from"]) for r in rows]
    assert len(keys) == len(set(keys))
    all_codes = {(r["scheme"], r["code"]) for r in rows}
    for r in rows:
        assert codes.LEVEL_BY_LENGTH[r["scheme"]][len(r["code"])] == r["level"], r
        if r["parent"]:
            assert r["code"].startswith(r["parent"]) and (r["scheme"], r["parent"]) in all_codes, r


def test_every_code_printed_in_the_samples_is_known(huangpi, hongshan):
    for ex in (huangpi, hongshan):
        for item in ex.items:
            if item.code_scheme in ("function", "economic"):
                assert codes.lookup(item.code_scheme, item.code, 2024), (item.table_id, item.code, item.label)
