"""Headings, notes, dates and comparison sentences are checked against what the document says of itself."""

from __future__ import annotations

from dataclasses import replace

from budgetwatch.check.document_checks import document_findings
from budgetwatch.check.heading_checks import same_department
from budgetwatch.check.narrative_checks import narrative_findings
from budgetwatch.model import LineItem, Table, TableStatus
from budgetwatch.read.extract import extract_text

FINAL_COVER = "上海市普陀区财政局\n2024年度部门决算\n目 录\n"


def _findings(text: str, check_id: str):
    ex = extract_text(text, source="t.txt", sha256="0" * 64)
    return [f for f in document_findings(ex) + narrative_findings(ex) if f.check_id == check_id]


def _severities(findings):
    return [str(f.severity) for f in findings]


def test_a_part_heading_naming_another_year_is_an_error():
    ok = FINAL_COVER + "第二部分 上海市普陀区财政局2024年度部门决算表\n与2023年度部门决算相比，支出减少。\n"
    assert _findings(ok, "L-08") == []
    stale = FINAL_COVER + "第三部分 上海市普陀区财政局2023年度部门决算情况说明\n"
    (finding,) = _findings(stale, "L-08")
    assert (str(finding.severity), finding.actual) == ("error", "2023")


def test_the_report_s_own_scope_said_of_another_year_is_an_error_unless_compared():
    cover = "江苏省人大常委会办公厅\n2019年度部门预算公开\n"
    said = cover + "从预算单位构成看，纳入本部门2018年部门汇总预算编制范围的预算单位共计一家。\n"
    assert _severities(_findings(said, "L-08")) == ["error"]
    compared = cover + "与本部门2018年部门预算相比，支出增加。\n"
    assert _findings(compared, "L-08") == []


def test_balance_dates_older_than_the_report_are_errors_and_a_budget_s_previous_year_is_normal():
    stale = FINAL_COVER + "截至2023年12月31日，本部门共有车辆2辆。\n"
    (finding,) = _findings(stale, "L-08")
    assert str(finding.severity) == "error"
    assert _findings(FINAL_COVER + "截至2024年12月31日，本部门共有车辆2辆。\n", "L-08") == []
    budget = "上海市普陀区2024年区级部门预算\n预算主管部门：上海市普陀区人民政府万里街道办事处\n"
    assert _findings(budget + "截至2023年8月31日，本部门共有车辆2辆。\n", "L-08") == []
    assert _severities(_findings(budget + "截至2022年8月31日，本部门共有车辆2辆。\n", "L-08")) == ["error"]


def test_a_heading_or_note_naming_another_department_is_an_error_and_a_stray_character_a_warning():
    other = FINAL_COVER + "第二部分 上海市普陀区审计局2024年度部门决算表\n"
    (finding,) = _findings(other, "L-09")
    assert (str(finding.severity), finding.actual) == ("error", "上海市普陀区审计局")
    stray = FINAL_COVER + "注：上海市普陀区财政局局无政府性基金预算财政拨款支出，故本表无数据。\n"
    assert _severities(_findings(stray, "L-09")) == ["warning"]
    own = FINAL_COVER + "第一部分 上海市普陀区财政局概况\n注：上海市普陀区财政局无政府性基金预算财政拨款支出。\n"
    assert _findings(own, "L-09") == []


def test_department_names_compare_short_forms_wrapped_names_and_misprints():
    expected = "武汉市江夏区医疗保障局"
    assert same_department("江夏区医疗保障局", expected) == "same"
    assert same_department("武汉市江夏区医疗", expected) == "same"  # wrapped over two lines of the header
    assert same_department("武汉市江夏区医疗保障局局", expected) == "misprint"
    assert same_department("武汉市江夏区医疗保障向", expected) == "misprint"
    assert same_department("武汉市江夏区卫生健康委员会", expected) == "other"


def test_a_header_with_a_stray_character_is_a_warning(huangpi):
    tables = [replace(t, department_line="单位名称：武汉市黄陂区医疗保障局1") for t in huangpi.tables[:1]]
    ex = replace(huangpi, tables=tables + huangpi.tables[1:])
    found = [f for f in document_findings(ex) if f.check_id == "L-01"]
    assert _severities(found) == ["warning"] and "一个字" in found[0].message


def test_a_table_whose_note_says_it_is_empty_must_not_print_amounts(huangpi):
    note = "注:本部门2024年无“三公”经费和机关运行经费预算，故本表为空表。"
    table = Table("budget.07", "部门“三公”经费和机关运行经费预算表", TableStatus.PARSED, notes=[note])
    cell = LineItem("budget.07", 0, "合计", "合计", "total", "合计", 47_910_000, "47.91", False)
    ex = replace(huangpi, tables=[table], items=[cell])
    (finding,) = [f for f in document_findings(ex) if f.check_id == "C-06"]
    assert str(finding.severity) == "error" and "47.91" in finding.message
    blank = replace(cell, micros=None, raw="", blank=True)
    assert [f for f in document_findings(replace(ex, items=[blank])) if f.check_id == "C-06"] == []
    # a note about the fund table, read under the table before it, is not this table's
    other = replace(table, title="部门财政拨款收支预算总表", notes=["注:本部门无政府性基金预算，故本表为空表。"])
    assert [f for f in document_findings(replace(ex, tables=[other])) if f.check_id == "C-06"] == []


COMPARED = (
    "1、财政事务（款）行政运行（项）。年初预算为 {budget} 万元，支出决算为{final}万元。"
    " 决算数{said}的主要原因：人员变化。\n"
)


def test_a_sentence_comparing_final_and_budget_must_agree_with_the_amounts_before_it():
    assert _findings(COMPARED.format(budget="1560.05", final="1511.89", said="小于预算数"), "N-16") == []
    (wrong,) = _findings(COMPARED.format(budget="1511.89", final="1560.05", said="小于预算数"), "N-16")
    assert str(wrong.severity) == "error" and wrong.expected == "决算数大于预算数"
    (equal,) = _findings(COMPARED.format(budget="10.00", final="10.00", said="大于预算数"), "N-16")
    assert str(equal.severity) == "error"
    flat = COMPARED.format(budget="10.00", final="9.00", said="与预算数持平")
    assert _severities(_findings(flat, "N-16")) == ["warning"]
    roughly = COMPARED.format(budget="10.00", final="9.99", said="与预算数基本持平")
    assert _findings(roughly, "N-16") == []
