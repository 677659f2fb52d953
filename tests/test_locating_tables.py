"""Tables are found by their titles, whatever their printed number or order; a table of contents is not a table."""

from __future__ import annotations

from budgetwatch.read.locate import locate_tables


def _ids(extraction):
    return [t.table_id for t in extraction.tables if t.status != "missing"]


def test_final_account_tables_found_in_printed_order(huangpi):
    assert _ids(huangpi) == [f"final.{n:02d}" for n in range(1, 10)]
    assert huangpi.table("final.01").printed_number == "公开01表"


def test_tables_printed_out_of_order_are_recognised_by_title(hongshan):
    order = [t.table_id for t in hongshan.tables if t.status != "missing"]
    assert order[:10] == [f"budget.{n:02d}" for n in (1, 2, 3, 4, 5, 6, 8, 9, 7, 10)]
    assert hongshan.table("budget.07").printed_number == "表7"


def test_repeated_tables_are_instances(hongshan):
    instances = [t.instance for t in hongshan.tables if t.table_id == "budget.12"]
    assert instances == ["12-1", "12-2", "12-3"]


def test_table_of_contents_lines_are_not_tables():
    lines = ["目 录", "一、收入支出决算总表", "二、收入决算表", "第三部分 情况说明", "一、收入支出决算总体情况说明"]
    assert locate_tables(lines) == []


def test_a_renumbered_table_is_still_found_by_title():
    # 2020-era templates print 三公 as 表7; the id does not depend on the number
    lines = ["表7", "一般公共预算财政拨款“三公”经费支出决算表", "部门：某区医疗保障局", "单位：万元", "预算数\t决算数"]
    spans = locate_tables(lines)
    assert [s.spec.id for s in spans] == ["final.09"]
    assert spans[0].printed_number == "表7"


def test_department_and_unit_lines_are_kept(huangpi, hongshan):
    assert huangpi.table("final.03").department_line == "部门：武汉市黄陂区医疗保障局（汇总）"
    assert huangpi.table("final.03").unit == "万元"
    t3 = hongshan.table("budget.03")
    assert t3.department_line.startswith("部门/单位：武汉市洪山区医疗保障局")
    assert t3.unit == "万元"  # printed as 单位： / 万元 over two lines


def test_titles_preceded_by_the_department_and_chinese_table_numbers():
    lines = [
        "表二",
        "武汉市洪山区医疗保障局2024年部门收入总表",
        "编制单位：武汉市洪山区医疗保障局",
        "金额单位：万元",
        "（公开03表）",
        "武汉市黄陂区医疗保障局（汇总）2024年度支出决算表",
        "部门：武汉市黄陂区医疗保障局",
    ]
    spans = locate_tables(lines)
    assert [(s.spec.id, s.printed_number) for s in spans] == [("budget.02", "表2"), ("final.03", "公开03表")]
    assert spans[0].department_line == "编制单位：武汉市洪山区医疗保障局"
    assert spans[0].unit == "万元"


def test_a_title_inside_a_sentence_is_not_a_table():
    lines = ["详见武汉市洪山区医疗保障局2024年部门收支总表及说明。", "部门：武汉市洪山区医疗保障局"]
    assert locate_tables(lines) == []
