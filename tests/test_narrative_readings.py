"""A narrative finding is an error only where the sentence's reading is certain: which quantity a number is, which
amount a share or rate is computed from, whether a list is complete, which budget a rate is against."""

from __future__ import annotations

from dataclasses import replace

from budgetwatch.amounts import parse_amount
from budgetwatch.check.narrative_checks import narrative_findings
from budgetwatch.model import Document, Extraction, Kind, LineItem
from budgetwatch.read.extract import extract_text


def _findings(text: str, check_id: str, **document):
    ex = extract_text(text, source="t.txt", sha256="0" * 64)
    if document:
        ex = replace(ex, document=replace(ex.document, **document))
    return [f for f in narrative_findings(ex) if f.check_id == check_id]


def _severities(findings):
    return [str(f.severity) for f in findings]


THREE_PUBLIC = (
    "十一、“三公”经费支出预算表情况说明\n"
    "本部门2017年度一般公共预算拨款安排的“三公”经费预算支出中，因公出国（境）费支出 {a} 万元，占“三公”经费的 {pa}%；"
    "公务用车购置及运行费支出 {b} 万元，占“三公”经费的 {pb}%；公务接待费支出 {c} 万元，占“三公”经费的 {pc}%。\n"
)


def test_shares_of_the_three_public_expenses_are_computed_against_their_sum():
    right = THREE_PUBLIC.format(a="199.25", pa="25.96", b="183.6", pb="23.92", c="384.75", pc="50.12")
    assert _findings(right, "N-01") == []
    # the shares of a larger table total printed as shares of “三公”经费: 222.5 / 833.6 is 26.69 %, not 8.75 %
    wrong = THREE_PUBLIC.format(a="222.5", pa="8.75", b="183.6", pb="7.22", c="427.5", pc="16.81")
    found = _findings(wrong, "N-01")
    assert _severities(found) == ["error"] * 3
    assert sorted(f.expected for f in found) == ["22.02%", "26.69%", "51.28%"]


def test_a_share_of_a_named_amount_the_text_does_not_state_is_not_guessed():
    text = "（二）支出结构\n合计 3000.00 万元。会议费支出 1305.25 万元，占会议费和培训费的 76.37%。\n"
    assert _findings(text, "N-01") == []


def test_a_share_whose_list_opens_with_its_base_is_an_error_when_wrong():
    text = (
        "三、支出预算总体情况\n江苏省人大常委会办公厅部门本年支出预算合计 15897.44\n万元，其中：\n"
        "基本支出 7877.76 万元，占 49.55%；\n项目支出 6333.96 万元，占 39.84 %；\n"
        "单位预留机动经费1685.72 万元，占10.61%；\n结转下年资金 0 万元，占 0 %。\n"
    )
    (finding,) = _findings(text, "N-01")
    assert (str(finding.severity), finding.expected, finding.actual) == ("error", "10.60%", "10.61%")


def test_a_share_whose_base_is_only_the_section_s_first_amount_is_a_warning():
    text = "（三）其他情况\n本节涉及资金 200.00 万元。另有培训费 50.00 万元，占 30.00%。\n"
    (finding,) = _findings(text, "N-01")
    assert str(finding.severity) == "warning" and "推断" in finding.message


def test_a_rate_said_of_something_else_is_not_taken_for_the_change_s_rate():
    text = (
        "会议费预算支出1469.73万元，比上年预算增加164.48万元，主要原因按规定运转类专项经费统一压减10%。\n"
        "主要原因是相关运转类经费压减10%，增加综合管理费209万元用于办公用房租赁，增减相抵后增加123.67万元。\n"
    )
    assert _findings(text, "N-03") == []


def test_a_rate_against_the_base_it_names_is_checked():
    item = (
        "31.“住房保障支出（类）住房改革支出（款）住房公积金（项）”350.35万元，主要用于住房公积金。"
        "2023年当年预算执行数为348.52万元，2024年预算安排{now}万元，比2023年预算执行数{word}{rate}%。\n"
    )
    assert _findings(item.format(now="350.35", word="增加", rate="0.53"), "N-03") == []
    (wrong,) = _findings(item.format(now="352.67", word="增加", rate="0.53"), "N-03")
    assert (str(wrong.severity), wrong.expected) == ("error", "1.19%")
    (direction,) = _findings(item.format(now="340.00", word="增加", rate="2.44"), "N-03")
    assert str(direction.severity) == "error" and "低于" in direction.message
    zero = "2023年当年预算执行数为0.00万元，2024年预算安排25.00万元，比2023年预算执行数增加100.00%。\n"
    assert _severities(_findings(zero, "N-03")) == ["warning"]


def test_a_change_whose_amount_is_not_in_its_sentence_is_a_warning_when_wrong():
    text = "（一）收入\n本年收入 300.00 万元，支出 200.00 万元。与上年相比增加 50.00 万元，增长 40.00%。\n"
    (finding,) = _findings(text, "N-03")
    assert str(finding.severity) == "warning"
    alone = "单位预留机动经费预算数为 1685.72 万元。与上年相比增加1557.29万元，增长1312.56 %。\n"
    (certain,) = _findings(alone, "N-03")
    assert (str(certain.severity), certain.expected) == ("error", "1212.56%")


def test_a_count_joined_to_a_list_is_an_item_of_it_not_its_number():
    text = "省人大常委会下设办公厅、研究室和 3 个专门委员会、8 个工作委员会，现有 38 个处室。\n"
    assert _findings(text, "N-12") == []


def test_a_list_closed_by_deng_names_some_of_the_items_only():
    assert _findings("我部门预算包含了信息中心、培训中心等 4 个所属事业单位的收支数据。\n", "N-12") == []
    (finding,) = _findings("我部门预算包含了信息中心、培训中心、服务中心等 2 个所属事业单位的收支数据。\n", "N-12")
    assert str(finding.severity) == "error"


def test_a_list_of_the_main_parts_may_fall_short_of_its_total_but_not_exceed_it():
    short = "基本支出 1394.76 万元，主要包括：人员经费 1000.00 万元、公用经费 100.00 万元。\n"
    assert _findings(short, "N-04") == []
    over = "基本支出 1394.76 万元，主要包括：人员经费 1300.00 万元、公用经费 100.00 万元。\n"
    assert _severities(_findings(over, "N-04")) == ["error"]
    closed = "基本支出 1394.76 万元，其中：人员经费 1000.00 万元、公用经费 100.00 万元等。\n"
    assert _findings(closed, "N-04") == []
    complete = "基本支出 1394.76 万元，其中：人员经费 1000.00 万元、公用经费 100.00 万元。\n"
    assert _severities(_findings(complete, "N-04")) == ["error"]


COMPLETION = "行政运行（项）。{budgets}支出决算为150.00万元，完成{named}预算的{rate}%。\n"


def test_a_completion_rate_is_checked_against_the_budget_it_names():
    raised = "年初预算为100.00万元，年中追加预算50.00万元，"
    assert _findings(COMPLETION.format(budgets=raised, named="", rate="100.00"), "N-02") == []
    assert _findings(COMPLETION.format(budgets=raised, named="年初", rate="150.00"), "N-02") == []
    (wrong,) = _findings(COMPLETION.format(budgets=raised, named="年初", rate="100.00"), "N-02")
    assert (str(wrong.severity), wrong.expected) == ("error", "150.00%")
    adjusted = "年初预算为100.00万元，调整后预算为160.00万元，"
    assert _findings(COMPLETION.format(budgets=adjusted, named="调整后", rate="93.75"), "N-02") == []
    assert _findings(COMPLETION.format(budgets=adjusted, named="", rate="150.00"), "N-02") == []


def test_a_completion_rate_against_an_unnamed_budget_is_a_warning_where_the_budget_changed():
    text = "行政运行（项）。全年预算为100.00万元（年中有调整），支出决算为150.00万元，完成预算的120.00%。\n"
    assert _severities(_findings(text, "N-02")) == ["warning"]
    plain = "行政运行（项）。全年预算为100.00万元，支出决算为150.00万元，完成预算的120.00%。\n"
    assert _severities(_findings(plain, "N-02")) == ["error"]


def test_counts_of_different_things_with_the_same_unit_word_are_not_compared():
    text = (
        "一、基本情况\n全区共有定点医药机构 800 家，其中定点医院 50 家。\n"
        "二、监管\n全区共有定点医药机构 800 家药店，检查定点医院 45 家。\n"
        "三、参保\n2023年参保人员总数 90 万人。\n四、待遇\n2024年参保人员总数 95 万人。\n"
    )
    assert _findings(text, "N-08") == []
    same = "一、基本情况\n全区定点医药机构总数 800 家。\n二、监管\n全区定点医药机构总数 780 家。\n"
    assert _severities(_findings(same, "N-08")) == ["error"]


def _with_cells(text: str, kind: Kind, cells: list[tuple[str, str | None, str, str, str, str]]) -> Extraction:
    """The text with table cells made for it: (table, side, row key, column, printed amount, unit)."""
    ex = extract_text(text, source="t.txt", sha256="0" * 64)
    items = []
    for n, (table, side, row, column, printed, unit) in enumerate(cells):
        micros, decimals = parse_amount(printed)
        label = "合计" if row == "total" else row
        items.append(
            LineItem(table, n, label, label, column, column, micros, printed, False, unit=unit, decimals=decimals,
                     side=side, row_key=None if row == "total" else row)
        )  # fmt: skip
    document = Document(
        sha256="0" * 64, source="t.txt", media_type="text/plain", department="上海市普陀区财政局", fiscal_year=2024,
        kind=kind,
    )  # fmt: skip
    return replace(ex, document=document, items=items)


def _table_findings(ex: Extraction):
    return [f for f in narrative_findings(ex) if f.check_id == "N-06"]


FINAL_04 = [("final.04", "income", "grand_total", "amount", "2,961.68", "万元")]


def test_a_total_in_any_family_s_wording_is_compared_with_its_table():
    text = "四、财政拨款收入支出决算总体情况说明\n上海市普陀区财政局2024年度财政拨款收入支出总计{}万元。\n"
    (wrong,) = _table_findings(_with_cells(text.format("0.3"), Kind.FINAL_ACCOUNT, FINAL_04))
    assert (str(wrong.severity), wrong.expected, wrong.actual) == ("error", "2961.68", "0.3万元")
    assert _table_findings(_with_cells(text.format("2961.68"), Kind.FINAL_ACCOUNT, FINAL_04)) == []
    other_year = "与上年相比，2023年度财政拨款收入支出总计3000.00万元。\n"
    assert _table_findings(_with_cells(other_year, Kind.FINAL_ACCOUNT, FINAL_04)) == []


BASIC = [
    ("final.03", None, "total", "basic", "5,364.75", "万元"),
    ("final.05", None, "total", "basic", "5,364.75", "万元"),
    ("final.06", None, "personnel_total", "amount", "4,000.00", "万元"),
]


def test_a_basic_expenditure_no_table_carries_is_an_error_whatever_its_scope():
    text = "三、支出决算情况说明\n本年支出合计 8000.00 万元，其中：基本支出{}万元，占67.06%。\n"
    (wrong,) = _table_findings(_with_cells(text.format("5377.64"), Kind.FINAL_ACCOUNT, BASIC))
    assert str(wrong.severity) == "error" and "5364.75" in wrong.message
    assert _table_findings(_with_cells(text.format("5364.75"), Kind.FINAL_ACCOUNT, BASIC)) == []


def test_personnel_costs_take_the_scope_their_paragraph_opens_with():
    scoped = "六、基本支出决算情况说明\n一般公共预算财政拨款基本支出5364.75万元。其中：人员经费{}万元。\n"
    assert _table_findings(_with_cells(scoped.format("4000.00"), Kind.FINAL_ACCOUNT, BASIC)) == []
    (wrong,) = _table_findings(_with_cells(scoped.format("4100.00"), Kind.FINAL_ACCOUNT, BASIC))
    assert str(wrong.severity) == "error"
    bare = "六、人员情况\n本部门人员经费{}万元。\n"
    (guess,) = _table_findings(_with_cells(bare.format("4100.00"), Kind.FINAL_ACCOUNT, BASIC))
    assert str(guess.severity) == "warning" and "口径" in guess.message


def test_tables_in_yuan_are_compared_in_the_text_s_unit():
    cells = [("budget.03", None, "total", "basic", "53,647,500", "元")]
    text = "三、支出预算\n部门支出预算合计 9000.00 万元，其中：基本支出{}万元。\n"
    assert _table_findings(_with_cells(text.format("5364.75"), Kind.BUDGET, cells)) == []
    (wrong,) = _table_findings(_with_cells(text.format("5377.64"), Kind.BUDGET, cells))
    assert wrong.expected == "5364.75"
