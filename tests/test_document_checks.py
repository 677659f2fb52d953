"""Whole-document rules on small texts made for them."""

from __future__ import annotations

from dataclasses import replace

from budgetwatch.check.document_checks import document_findings
from budgetwatch.read.extract import extract_text
from budgetwatch.read.performance_tables import has_label

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


def test_a_placeholder_left_on_many_lines_is_one_finding_naming_every_line():
    text = "".join(f"第{n}项：XX单位XX万元。\n" for n in range(12)) + "（请依据实际情况进行解释）\n"
    findings = _findings(text, "T-01")
    assert sorted(f.actual for f in findings) == ["XX", "请依据实际情况进行解释）"]
    (xx,) = [f for f in findings if f.actual == "XX"]
    assert [loc.line for loc in xx.locations] == list(range(1, 13))
    assert "第1、2、3、4、5、6、7、8…行（共12行）“XX”" in xx.message


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


def _performance_table(
    n: int, funding: str | None = "项目资金来源", annual_type: str = "质量指标", long_type: str = "质量指标"
) -> str:
    """One 表12-n; `funding` is how its 项目资金来源 label is printed (None: not at all), `\\n` wrapping it."""
    lines = [
        f"表12-{n}",
        "项目支出绩效目标表",
        "单位：万元",
        f"项目名称 项目{n} 项目代码",
        "项目主",
        "要内",
        "专项经费主要用于举报奖励、审计费等工作。",
        "容",
    ]
    if funding is not None:
        lines += [funding, "资金来源项目 金额", "合计 10"]
    lines += [
        "项目支出明细 金额",
        "合计 10.00",
        "长期绩效目标表",
        "一级指标 二级指标 三级指标 指标值",
        "产出指标 数量指标 政策宣传活动次数 ≥2次 计划标准",
        f"{long_type} 对两定医药机构抽查",
        "完成率 100% 计划标准",
        "年度绩效目标表",
        "一级指标 二级指标 三级指标 指标值",
        "产出指标 数量指标 政策宣传活动次数 2次 ≥2次 计划标准",
        f"{annual_type} 对两定医药机构抽",
        "查完成率 100% 100% 计划标准",
        "质量指标 内控制度建设 达标 达标 计划标准",
    ]
    return "\n".join(lines)


def _performance_document(*tables: str) -> str:
    return "某区医疗保障局2024年部门预算\n\n" + "\n\n".join(tables) + "\n"


def test_a_performance_table_lacking_a_block_most_others_carry_is_reported():
    text = _performance_document(_performance_table(1), _performance_table(2, None), _performance_table(3))
    (finding,) = _findings(text, "C-05")
    assert (str(finding.severity), finding.expected, finding.actual) == ("warning", "项目资金来源", "无")
    assert "表12-2 无“项目资金来源”栏目（表12-1、表12-3 均有）" in finding.message
    assert finding.locations[0].table_id == "budget.12"
    wrapped = _performance_document(
        _performance_table(1, "项目资\n金来源"), _performance_table(2), _performance_table(3)
    )
    assert _findings(wrapped, "C-05") == []  # a label wrapped over lines, and 项目主要内容 around its text, are there
    minority = _performance_document(_performance_table(1), _performance_table(2, None), _performance_table(3, None))
    assert _findings(minority, "C-05") == []  # a block only one table has is not expected of the others
    pair = _performance_document(_performance_table(1), _performance_table(2, None))
    assert _findings(pair, "C-05") == []


def test_an_indicator_filed_under_two_types_in_one_project_is_reported():
    text = _performance_document(_performance_table(1), _performance_table(2, annual_type="数量指标"))
    (finding,) = _findings(text, "L-07")
    assert (str(finding.severity), finding.expected, finding.actual) == ("warning", "质量指标", "数量指标")
    assert finding.locations[0].row_label == "对两定医药机构抽查完成率" and "表12-2" in finding.message
    assert _findings(_performance_document(_performance_table(1), _performance_table(2)), "L-07") == []


def test_indicators_of_different_projects_or_names_are_not_compared():
    one = _performance_table(1, annual_type="数量指标", long_type="数量指标")
    other = _performance_table(2)  # another project may file the same indicator otherwise
    renamed = _performance_table(3, annual_type="数量指标").replace("抽\n查完成率", "抽\n查覆盖率")
    assert renamed != _performance_table(3, annual_type="数量指标")
    assert _findings(_performance_document(one, other, renamed), "L-07") == []


def test_a_label_wrapped_around_the_text_of_a_neighbouring_cell_is_found():
    wrapped = [
        "项目申",
        "请理由",
        "项目主",
        "要内",
        "1.依据：认真落实有关文件精神。",
        "容",
        "专项经费主要用于举报奖励。",
    ]
    assert has_label(wrapped, "项目主要内容") and has_label(wrapped, "项目申请理由")
    assert not has_label(wrapped[:-2], "项目主要内容")
    vertical = ["项", "目", "支", "出", "明", "细", "预", "算", "项目支出明细 金额"]
    assert has_label(vertical, "项目支出明细预算")
    assert not has_label(["项目总预算 资金来源：本级一般公共预算 11.82 万元", "项目当年预算 11.82"], "项目资金来源")


def test_a_document_of_unknown_year_may_use_any_year_s_code_names(huangpi):
    undated = replace(huangpi, document=replace(huangpi.document, fiscal_year=None))
    renamed = [i for i in huangpi.items if i.code == "21305"]
    # the name of 2022 on; the list's first version (2020–2021) is 扶贫
    assert renamed and all(i.label == "巩固脱贫攻坚成果衔接乡村振兴" for i in renamed)
    assert [f for f in document_findings(undated) if f.check_id == "K-02"] == []
    wrong = replace(undated, items=[replace(i, label="就业补助") if i.code == "21305" else i for i in huangpi.items])
    findings = [f for f in document_findings(wrong) if f.check_id == "K-02"]
    assert findings and {f.actual for f in findings} == {"就业补助"}
