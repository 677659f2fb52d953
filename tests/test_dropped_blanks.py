"""Text layers that glued cells together, split codes apart or dropped blank cells are read where certain, and said to
be guesses where not."""

from __future__ import annotations

from pathlib import Path

import pytest

from budgetwatch.read import catalogue
from budgetwatch.read.extract import extract_path
from budgetwatch.read.layout_lines import prints_code_levels, unglued
from budgetwatch.read.placement import column_order

DOCUMENTS = Path(__file__).resolve().parent / "documents"


@pytest.mark.parametrize(
    ("line", "levels", "read"),
    [
        ("一、财政拨款收入 47,483,458一、社会保障和就业支出 6,397,096", False,
         "一、财政拨款收入 47,483,458 一、社会保障和就业支出 6,397,096"),
        ("20805行政事业单位养老支出 460.67 460.67", False, "20805 行政事业单位养老支出 460.67 460.67"),
        ("208 05 01 行政单位离退休 2,614,680 2,614,680", True, "2080501 行政单位离退休 2,614,680 2,614,680"),
        ("301\t08\t229.67\t302\t07\t邮电费\t3.48", True, "30108\t229.67\t30207\t邮电费\t3.48"),
        ("208 05 01 行政单位离退休 2,614,680", False, "208 05 01 行政单位离退休 2,614,680"),
        ("2024年预算数 1.50", False, "2024年预算数 1.50"),
    ],
    ids=["amount-glued-to-label", "code-glued-to-name", "code-levels-apart", "economic-levels-tabbed",
         "levels-without-their-header", "a-year-is-no-code"],
)  # fmt: skip
def test_glued_cells_are_set_apart_and_split_codes_joined(line, levels, read):
    assert unglued(line, levels) == read


def test_code_levels_are_joined_only_under_a_header_naming_them():
    assert prints_code_levels(["功能分类科目名称 合计 基本支出 项目支出", "类 款 项"])
    assert prints_code_levels(["类\t款"])
    assert not prints_code_levels(["科目编码 科目名称 合计", "类款项合计 4,733.14"])


def _spec(table_id: str) -> catalogue.TableSpec:
    return next(t for t in catalogue.tables() if t.id == table_id)


def test_values_take_the_columns_one_header_line_names_in_its_order():
    columns = _spec("budget.05").columns  # 合计, 小计, 人员经费, 公用经费, 项目支出, 基本支出
    placed, guess = column_order(columns, ["项目 一般公共预算支出", "功能分类科目名称 合计 基本支出 项目支出"], 3)
    assert [c.key for c in placed] == ["total", "basic", "project"]
    assert guess is None


def test_template_order_stands_when_the_header_names_just_those_columns():
    columns = _spec("budget.05").columns
    header = ["科目编码 科目名称 合计", "基本支出", "项目支", "出小计", "人员经", "费", "公用经", "费"]
    placed, guess = column_order(columns, header, 5)
    assert [c.key for c in placed[:5]] == ["total", "basic_subtotal", "personnel", "public", "project"]
    assert guess is None


def test_fewer_values_than_the_header_names_are_placed_by_guess_and_said_so():
    columns = _spec("budget.03").columns
    header = ["科目 编码 科目名称 合计", "基本支出 项目支出 事业单位经营支出 上缴上级支出 对附属单位补助支出"]
    placed, guess = column_order(columns, header, 3)
    assert [c.key for c in placed[:3]] == ["total", "basic", "project"]
    assert guess and "3 of the template's 6 columns" in guess


def test_budget_and_final_printed_item_by_item_are_paired():
    columns = _spec("final.09").columns
    header = ["合计 因公出国（境）费 公务接待费", " ".join(["预算数 决算数"] * 6)]
    placed, guess = column_order(columns, header, 12)
    assert [c.key for c in placed[:4]] == ["budget_total", "final_total", "budget_outbound", "final_outbound"]
    assert guess is None


@pytest.fixture(scope="module")
def wanli_2025():
    return extract_path(DOCUMENTS / "sh-putuo-wanli-2025-budget.txt")


def test_tab_separated_rows_that_dropped_their_blanks_are_read_as_layout_text(wanli_2025):
    """The class rows print `201 <tab> 一般公共服务支出` without blank 款 and 项 cells: by position the amounts would
    stand in the code columns; read as layout text the class keeps its code and its values."""
    class_row = {i.column_key: i.micros for i in wanli_2025.items if i.table_id == "budget.03" and i.code == "201"}
    assert class_row == {"total": 3_296_600_000_000, "basic": 0, "project": 3_296_600_000_000}


def test_a_table_read_by_guess_says_why_in_its_notes(wanli_2025):
    table = wanli_2025.table("budget.04")
    assert table.guessed
    assert any(n.startswith("reading uncertain: ") for n in table.notes)


def test_a_column_guess_shared_by_every_row_keeps_sums_within_the_table_and_doubts_the_rest(tmp_path):
    """hongshan's 部门支出总表 prints 3 values under 6 headers in every row. Its 合计 row changed: the row total no
    longer equals its parts whichever columns they are (an error), while a comparison of one of its columns with
    another table rests on which column that is (a warning that says so)."""
    from budgetwatch.check.batch import validate_extractions  # noqa: PLC0415
    from budgetwatch.cli.main import bundled_samples  # noqa: PLC0415

    source = next(p for p in bundled_samples() if p.name.startswith("hongshan"))
    broken = tmp_path / source.name
    broken.write_text(
        source.read_text(encoding="utf-8").replace("合计 991.65 462.83 528.82", "合计 991.65 462.83 520.82", 1),
        encoding="utf-8",
    )
    (report,) = validate_extractions([extract_path(broken)])
    assert report.extraction.table("budget.03").placed_by_order
    in_table = [f for f in report.findings if f.check_id == "B03-1"]
    assert in_table and all(str(f.severity) == "error" for f in in_table)
    across = [f for f in report.findings if f.check_id.startswith("X-") and "budget.03" in f.message]
    assert across and all(str(f.severity) == "warning" and "读表存疑" in f.message for f in across)


def test_a_tab_row_is_out_of_its_columns_only_when_a_name_or_a_formatted_amount_is_misplaced():
    from budgetwatch.read.tabbed import _misaligned  # noqa: PLC0415

    positions = {2: "total", 3: "basic"}
    rows = [(7, ["201", "一般公共服务支出", "无", "1.00"]), (8, ["合计", "", "—", "1.00"])]
    assert _misaligned(rows, positions) is None
    assert _misaligned([(9, ["二、政府性基金", "二、公共安全支出", "2,878,025"])], {1: "amount", 3: "total"}) == 9
    assert _misaligned([(4, ["201", "05", "3,296,600", "0", "3,296,600"])], {3: "total", 4: "basic"}) == 4
