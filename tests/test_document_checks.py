"""Whole-document rules on small texts made for them."""

from __future__ import annotations

from budgetwatch.document_checks import document_findings
from budgetwatch.extract import extract_text

from .conftest import SAMPLES


def _findings(text: str, check_id: str):
    ex = extract_text(text, source="t.txt", sha256="0" * 64)
    return [f for f in document_findings(ex) if f.check_id == check_id]


def test_classification_paths_in_the_text_must_exist():
    good = "（3）卫生健康支出（类）医疗保障管理事务（款）行政运行（项）。年初预算为1万元。\n"
    assert _findings(good, "K-04") == []
    wrong_class = "6.卫生健康支出（类）住房改革支出（款）住房公积金(项):反映……\n"
    (finding,) = _findings(wrong_class, "K-04")
    assert "属于 221" in finding.message
    wrong_item = "卫生健康支出（类）医疗保障管理事务（款）住房公积金（项）\n"
    assert len(_findings(wrong_item, "K-04")) == 1


def test_template_instructions_and_city_wording():
    text = (
        "武汉市洪山区医疗保障局2024年部门预算\n"
        "（一）一般公共预算财政拨款收入：指市级财政当年拨付的资金。（请依据实际情况进行解释）\n"
    )
    assert [f.actual for f in _findings(text, "T-01")] == ["请依据实际情况进行解释）"]
    assert [f.actual for f in _findings(text, "T-02")] == ["指市级财政"]


def test_function_code_list_in_the_text_is_compared_with_the_tables(hongshan):
    (finding,) = [f for f in document_findings(hongshan) if f.check_id == "K-05"]
    assert finding.actual == "2080506、2101506、2101599" and finding.expected == "2010501、2080501"


def _outline(markers: list[str]) -> str:
    return "".join(f"{m}第{k}节\n正文。\n" for k, m in enumerate(markers, start=1))


def test_headings_that_switch_numerals_within_one_run_are_reported():
    (finding,) = _findings(_outline(["一、", "二、", "三、", "4、", "五、"]), "T-04")
    assert finding.actual == "一、 二、 三、 4、 五、"
    assert [loc.line for loc in finding.locations] == [1, 3, 5, 7, 9]
    (paren,) = _findings(_outline(["（1）", "（2）", "(3)", "（四）"]), "T-04")
    assert paren.actual == "（1） （2） （3） （四）"


def test_nested_lists_in_the_other_numerals_are_not_mixed_headings():
    nested = ["一、", "（一）", "1、", "2、", "3、", "（二）", "（1）", "（2）", "（三）", "二、", "三、"]
    assert _findings(_outline(nested), "T-04") == []
    assert _findings(_outline(["1、", "2、", "3、", "1、", "2、"]), "T-04") == []


def test_a_performance_table_project_must_be_named_as_in_the_project_table():
    text = (SAMPLES / "hongshan-2024-budget.txt").read_text(encoding="utf-8")
    (finding,) = _findings(text, "L-06")
    assert finding.actual == "打击欺诈骗取医保" and "打击欺诈骗保" in finding.message
    assert finding.locations[0].table_id == "budget.12"
    assert _findings(text.replace("打击欺诈骗取医保", "打击欺诈骗保"), "L-06") == []
