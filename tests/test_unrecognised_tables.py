"""A table no template family describes is still read and checked for what holds in any table of codes: it is
listed as unrecognised with its title and printed columns, and a 类 that differs from its 款 is an error there too."""

from __future__ import annotations

from pathlib import Path

import pytest

from budgetwatch.check.batch import validate_extractions
from budgetwatch.fixtures.render_pdf import extraction_to_pdf
from budgetwatch.read.extract import extract_bytes, extract_text

SAMPLES = Path(__file__).resolve().parents[1] / "budgetwatch" / "data" / "samples"
TITLE = "武汉市黄陂区医疗保障局2024年专项资金分配情况表"


def _extra_rows(class_total: str) -> list[list[str]]:
    return [
        ["科目编码", "科目名称", "合计", "市级资金", "区级资金"],
        ["208", "社会保障和就业支出", class_total, "100.00", "40.00"],
        ["20801", "人力资源和社会保障管理事务", "140.00", "100.00", "40.00"],
        ["2080101", "行政运行", "90.00", "60.00", "30.00"],
        ["2080102", "一般行政管理事务", "50.00", "40.00", "10.00"],
        ["合计", "", class_total, "100.00", "40.00"],
    ]


def _extra_table(class_total: str) -> str:
    return "\n".join([TITLE, "单位：万元", *("\t".join(r) for r in _extra_rows(class_total))])


def _with_extra(class_total: str) -> str:
    text = (SAMPLES / "huangpi-2024-final.txt").read_text(encoding="utf-8")
    return text + "\n\n" + _extra_table(class_total) + "\n"


def _read(text: str):
    return extract_text(text, source="huangpi-extra.txt", sha256="0" * 64)


def _unrecognised(ex):
    return [t for t in ex.tables if t.status == "unrecognised"]


def test_a_table_of_codes_under_an_unknown_title_is_listed_with_its_title_and_columns():
    ex = _read(_with_extra("140.00"))
    (table,) = _unrecognised(ex)
    assert table.title == TITLE
    assert table.columns == ["合计", "市级资金", "区级资金"]
    assert sorted(t.table_id for t in ex.tables if t.status == "parsed")[:2] == ["final.01", "final.02"]
    amounts = {(i.code, i.column_key): i.micros for i in ex.items if i.table_id == "unrecognised"}
    assert amounts[("2080101", "市级资金")] == 60_000_000 and amounts[("208", "合计")] == 140_000_000


def test_the_recognised_tables_read_the_same_with_an_extra_table_beside_them(huangpi):
    ex = _read(_with_extra("140.00"))

    def known(extraction):
        return {(i.table_id, i.code, i.row_key, i.column_key, i.micros) for i in extraction.items}

    assert known(ex) - {k for k in known(ex) if k[0] == "unrecognised"} == known(huangpi)


def _hierarchy_errors(ex):
    (report,) = validate_extractions([ex])
    return [f for f in report.findings if f.check_id == "H-01" and f.severity == "error"]


def test_a_class_that_differs_from_its_items_in_an_unrecognised_table_is_an_error():
    (finding,) = _hierarchy_errors(_read(_with_extra("150.00")))
    assert "208" in finding.message and "合计" in finding.message


def test_a_consistent_unrecognised_table_raises_nothing():
    assert _hierarchy_errors(_read(_with_extra("140.00"))) == []


@pytest.mark.parametrize("class_total", ["140.00", "150.00"])
def test_a_pdf_prints_the_unrecognised_table_and_it_is_read_the_same(huangpi, class_total):
    pdf = extraction_to_pdf(huangpi, annexes=[(TITLE, _extra_rows(class_total))])
    back = extract_bytes(pdf, "extra.pdf")
    (table,) = _unrecognised(back)
    assert table.title == TITLE
    assert len(_hierarchy_errors(back)) == (class_total == "150.00")


def test_prose_with_numbers_is_not_taken_for_a_table(huangpi):
    assert _unrecognised(huangpi) == []
