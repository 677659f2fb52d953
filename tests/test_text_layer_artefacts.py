"""Each artefact of real text layers is handled: codes lost, names wrapped, headers broken, numbers split, blanks."""

from __future__ import annotations

from budgetwatch.model import TableStatus
from budgetwatch.read.extract import extract_text
from budgetwatch.read.rawrows import COVERED


def _items(extraction, table_id, **where):
    return [i for i in extraction.items if i.table_id == table_id and all(getattr(i, k) == v for k, v in where.items())]


def _one(extraction, table_id, **where):
    found = _items(extraction, table_id, **where)
    assert len(found) == 1, (table_id, where, found)
    return found[0]


def test_xiang_rows_printed_with_kuan_code_get_their_seven_digit_code(huangpi):
    item = _one(huangpi, "final.02", label_norm="行政单位离退休", column_key="total_income")
    assert (item.code, item.code_printed, item.level) == ("2080501", "20805", "项")
    kuan = _one(huangpi, "final.02", label_norm="行政事业单位养老支出", column_key="total_income")
    assert (kuan.code, kuan.level, kuan.code_printed) == ("20805", "款", None)


def test_same_name_as_kuan_and_xiang_gets_two_codes(huangpi):
    rows = _items(huangpi, "final.03", label_norm="其他社会保障和就业支出", column_key="total_expenditure")
    assert [(r.code, r.level) for r in rows] == [("20899", "款"), ("2089999", "项")]


def test_truncated_names_resolve_through_the_code_list(huangpi):
    item = _one(huangpi, "final.02", label_norm="机关事业单位基本养老保险缴费", column_key="total_income")
    assert item.code == "2080505"  # printed without the trailing 支出
    other = _one(huangpi, "final.06", label_norm="其他商品和服务支")
    assert other.code == "30299" and other.code_printed == "302"


def test_wrapped_names_are_joined(hongshan):
    item = _one(hongshan, "budget.03", code="2080505", column_key="total")
    assert item.label == "机关事业单位基本养老保险缴费支出"
    unit = _one(hongshan, "budget.02", code="043001", column_key="total")
    assert unit.label_norm == "武汉市洪山区医疗保障局本级"


def test_vertical_headers_do_not_stop_the_table(hongshan):
    # 表2's header is printed one character a line; its 17 columns are still all there
    row = _items(hongshan, "budget.02", code="043")
    assert [i.column_key for i in row][:3] == ["total", "current_subtotal", "current_general_budget"]
    assert len(row) == 17


def test_zero_broken_over_two_lines_is_one_value(hongshan):
    row = _items(hongshan, "budget.02", label_norm="合计")
    tail = [i.raw for i in row[3:]]
    assert tail == ["0.00"] * 14


def test_spaced_numbers_are_read(huangpi):
    item = _one(huangpi, "final.05", label_norm="合计", column_key="subtotal")
    assert item.raw == "2, 031. 52" and item.micros == 2_031_520_000


def test_blank_is_kept_apart_from_printed_zero(huangpi, hongshan):
    blank = _one(huangpi, "final.03", code="2101506", column_key="basic")
    assert blank.blank and blank.micros is None
    zero = _one(hongshan, "budget.03", code="2101502", column_key="basic")
    assert not zero.blank and zero.micros == 0


def test_two_sided_tables_split_into_income_and_expenditure(huangpi, hongshan):
    income = _one(huangpi, "final.01", side="income", row_key="current_total")
    expenditure = _one(huangpi, "final.01", side="expenditure", row_key="current_total")
    assert (income.line_no, expenditure.line_no) == (27, 57)
    health = _one(hongshan, "budget.01", side="expenditure", code="210")
    assert health.raw == "902.16"
    resource = _one(hongshan, "budget.01", side="expenditure", code="215")
    assert resource.label == "十二、资源勘探工业信息等支出"  # wrapped 支 / 出


def test_repeated_labels_on_one_side_get_distinct_keys(hongshan):
    keys = [i.row_key for i in _items(hongshan, "budget.04", side="income")]
    assert keys.index("current_general_budget") < keys.index("carryover_general_budget")


def test_merged_header_cell_keeps_unplaceable_values_under_both_keys(huangpi):
    placed = _one(huangpi, "final.05", code="2101502", column_key="basic")
    assert placed.raw == "5. 29"  # differs from the row total: it can only be 基本支出
    unplaced = _one(huangpi, "final.05", code="2101506", column_key="basic|project")
    assert unplaced.raw == "118. 35"
    assert any("share one cell" in n for n in huangpi.table("final.05").notes)


def test_a_value_in_a_cell_merged_over_columns_keeps_their_keys_where_a_blank_does_not():
    rows = [
        "公开05表",
        "2024年度一般公共预算财政拨款支出决算表",
        "部门：武汉市某区医疗保障局",
        "单位：万元",
        "科目编码\t科目名称\t小计\t基本支出\t项目支出",
        "\t栏次\t1\t2\t3",
        "\t合计\t3.00\t2.00\t1.00",
        f"208\t社会保障和就业支出\t2.00\t2.00\t{COVERED}",  # one cell over 基本支出 and 项目支出
        "210\t卫生健康支出\t1.00\t\t1.00",
        "221\t住房保障支出\t0.50\t0.50\t",  # 项目支出 printed blank
    ]
    ex = extract_text("\n".join(rows), source="merged.txt", sha256="0" * 64)
    cells = {(i.code, i.column_key): (i.raw, i.blank) for i in ex.items if i.table_id == "final.05"}
    assert cells[("208", "basic|project")] == ("2.00", False)
    assert ("208", "basic") not in cells and ("208", "project") not in cells
    assert cells[("210", "basic")] == ("", True) and cells[("210", "project")] == ("1.00", False)
    assert cells[("221", "project")] == ("", True)
    assert any("基本支出/项目支出" in n for n in ex.table("final.05").notes)


def test_declared_empty_tables(huangpi, hongshan):
    assert huangpi.table("final.07").status == TableStatus.DECLARED_EMPTY
    assert "无政府性基金" in huangpi.table("final.07").statement
    sangong = hongshan.table("budget.07")
    assert sangong.status == TableStatus.DECLARED_EMPTY
    assert len(_items(hongshan, "budget.07")) == 6  # its printed zeros are kept


def test_empty_table_part_reports_every_table_missing(caidian):
    assert {t.status for t in caidian.tables} == {TableStatus.MISSING}
    assert len(caidian.tables) == 12
    assert "images" in caidian.tables[0].notes[0]


def test_rows_printing_fewer_values_than_columns_are_noted(hongshan):
    notes = hongshan.table("budget.03").notes
    assert any("3 of 6" in n for n in notes)


def test_unknown_layout_is_an_unreadable_table_not_a_crash():
    text = "\n".join(
        [
            "公开03表",
            "2024年度支出决算表",
            "部门：某区某局",
            "单位：万元",
            "项目\t甲\t乙",
            "\t".join(["栏次", *"12345678"]),
            "合计\t1.00",
        ]
    )
    ex = extract_text(text, source="broken.txt", sha256="0" * 64)
    table = ex.table("final.03")
    assert table.status == TableStatus.UNREADABLE
    assert "headers naming no column of the template: 甲, 乙" in table.notes[0] and "lines" in table.notes[0]


def test_codes_split_into_lei_kuan_xiang_columns_are_joined():
    # 类 | 款 | 项 in separate columns, a child row leaving its parent's digits blank (merged cells)
    rows = [
        "公开03表",
        "2024年度支出决算表",
        "部门：武汉市某区医疗保障局",
        "单位：万元",
        "科目编码\t\t\t科目名称\t本年支出合计\t基本支出\t项目支出\t上缴上级支出\t经营支出\t对附属单位补助支出",
        "类\t款\t项\t栏次\t1\t2\t3\t4\t5\t6",
        "\t\t\t合计\t2.13\t2.13\t\t\t\t",
        "208\t\t\t社会保障和就业支出\t2.13\t2.13\t\t\t\t",
        "\t05\t\t行政事业单位养老支出\t2.13\t2.13\t\t\t\t",
        "\t\t01\t行政单位离退休\t2.13\t2.13\t\t\t\t",
    ]
    ex = extract_text("\n".join(rows), source="split.txt", sha256="0" * 64)
    codes = [(i.code, i.level, i.label) for i in ex.items if i.table_id == "final.03" and i.column_key == "basic"]
    assert codes == [
        (None, None, "合计"),
        ("208", "类", "社会保障和就业支出"),
        ("20805", "款", "行政事业单位养老支出"),
        ("2080501", "项", "行政单位离退休"),
    ]


def test_performance_target_tables_read_the_same_when_cells_are_tab_separated(hongshan):
    text = hongshan.text
    start = text.index("整体支出绩效目标表")
    # every line of the form tab-separated, as a PDF reader gives a ruled form back
    tabbed = text[:start] + "\n".join(line.replace(" ", "\t") + "\t" for line in text[start:].splitlines())
    ex = extract_text(tabbed, source="tabbed.txt", sha256="0" * 64)
    assert ex.table("budget.11").status == TableStatus.PARSED
    funding = [(i.row_key, i.column_key, i.raw) for i in ex.items if i.table_id == "budget.11"]
    assert ("expenditure_operation", "year_minus_2", "98.615") in funding
    details = [i.raw for i in ex.items if i.table_id == "budget.12" and i.instance == "12-1"]
    assert details[0] == "17.00"
