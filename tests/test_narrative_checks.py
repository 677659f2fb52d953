"""Narrative numbers are checked against each other and the tables, at their printed precision."""

from __future__ import annotations

from budgetwatch.check.narrative_checks import CHECKS, narrative_findings
from budgetwatch.check.rules import NARRATIVE_RELATIONS
from budgetwatch.read.extract import extract_text

from .conftest import SAMPLES


def _check(text: str):
    return narrative_findings(extract_text(text, source="t.txt", sha256="0" * 64))


def _summary(findings):
    return [(f.check_id, str(f.severity), f.category) for f in findings]


def test_every_narrative_rule_has_its_function():
    assert set(NARRATIVE_RELATIONS) == set(CHECKS)


def test_share_matching_the_amounts_passes_and_a_wrong_one_fails():
    ok = "（二）支出结构\n支出 2031.52 万元，主要用于：\n1. 卫生健康支出类支出 1700.01 万元，占 83.68%。\n"
    assert _check(ok) == []
    bad = ok.replace("83.68%", "83.70%")
    (finding,) = _check(bad)
    assert _summary([finding]) == [("N-01", "error", "narrative")]
    assert finding.expected == "83.68%" and finding.actual == "83.70%"


def test_share_allowed_by_rounded_inputs_is_not_an_error():
    # 0.005/0.015 = 33.3% but rounded inputs allow 0.004/0.0155 … 0.0059/0.0145 → 25.8% … 40.7%
    assert _check("（一）总体\n合计 0.02 万元。\n其中甲 0.01 万元，占 40%。\n") == []


def test_truncated_rate_is_a_warning():
    text = "四、总体情况\n2024年预算数7999.76万元，比2023年减少8140.23万元，下降50.43%。\n"
    (finding,) = _check(text)
    assert _summary([finding]) == [("N-03", "warning", "narrative_truncated")]
    assert finding.expected == "50.44%"


def test_change_rate_uses_the_amount_the_change_is_said_of():
    text = (
        "⑴基本支出：1394.76万元，主要包括人员经费1286.43万元和公用经费108.33万元。"
        "比2023年人员经费增加69.94万元，增长5.75%。公用经费比去年减少2.10万元，减少1.90%。\n"
    )
    assert _check(text) == []
    assert _summary(_check(text.replace("增长5.75%", "增长6.75%"))) == [("N-03", "error", "narrative")]


def test_completion_rate_and_division_by_zero():
    assert _check("行政运行（项）。年初预算为459.2万元，支出决算为425.51万元，完成年初预算的92.7%。\n") == []
    wrong = _check("行政运行（项）。年初预算为459.2万元，支出决算为425.51万元，完成年初预算的95.7%。\n")
    assert _summary(wrong) == [("N-02", "error", "narrative")]
    zero = _check("1. 公务接待费全年预算为 0.00 万元，支出决算为 0.00 万元，完成全年预算的 0.00%。\n")
    assert _summary(zero) == [("N-02", "warning", "narrative")]


def test_listed_amounts_must_add_up_and_match_their_count():
    ok = "医疗保障管理事务（合计）300.00万元，其中行政运行100.00万元、事业运行200.00万元。\n"
    assert _check(ok) == []
    rounding = _check(ok.replace("200.00万元。", "200.01万元。"))
    assert _summary(rounding) == [("N-04", "warning", "rounding")]
    text = "核查中心涉及2个项目，项目共支出61.84万元。分别是两定稽核36万元、单位资金往来10万元、聘请人员经费28万元。\n"
    assert sorted(f.actual for f in _check(text)) == ["3", "61.84"]


def test_a_list_continued_in_the_next_sentence_is_not_an_error():
    text = "本级一般公共预算支出合计401.62万元。其中，人员经费241万元、公用经费21.62万元。项目支出139万元。\n"
    assert _check(text) == []


def test_a_total_stated_in_the_text_must_agree_with_its_table():
    text = (SAMPLES / "huangpi-2024-final.txt").read_text(encoding="utf-8")
    assert not [f for f in _check(text) if f.check_id == "N-06"]
    changed = text.replace(
        "其中：基本支出 1573.80 万元，占本年支出 77.5%", "其中：基本支出 1575.80 万元，占本年支出 77.5%", 1
    )
    assert changed != text
    (finding,) = [f for f in _check(changed) if f.check_id == "N-06"]
    assert finding.actual == "1575.80 万元" and finding.expected == "1573.80"


def test_class_total_equals_the_kuan_amounts_stated_for_it():
    text = (
        "三、支出安排情况\n卫生健康支出（合计）300.00万元。其中行政事业单位医疗100.00万元。\n"
        "医疗救助（合计）200.00万元，其中城乡医疗救助200.00万元。\n住房保障支出（合计）5.00万元。\n"
    )
    assert [f for f in _check(text) if f.check_id == "N-07"] == []
    (finding,) = [f for f in _check(text.replace("300.00万元", "310.00万元")) if f.check_id == "N-07"]
    assert (str(finding.severity), finding.expected, finding.actual) == ("error", "300.00", "310.00")


def test_the_same_count_said_twice_differently():
    text = (
        "一、绩效\n共涉及项目 5 个，资金 1.00 万元。\n二、自评\n共涉及 8 个二级项目。\n"
        "三、保障\n居民大病保险赔付 6.7 万人次。\n"
    )
    found = sorted(f.actual for f in _check(text) if f.check_id == "N-08")
    assert found == ["8 个"]
    later = text + "四、附件\n居民大病保险赔付 11.35 万人次。\n"
    assert sorted(f.actual for f in _check(later) if f.check_id == "N-08") == ["11.35 万人次", "8 个"]
    same_paragraph = "在职 56 人，其中：行政编制 6 人。编制 62 人，其中：行政编制 7 人。\n"
    assert [f for f in _check(same_paragraph) if f.check_id == "N-08"] == []


def test_items_named_in_the_text_but_absent_from_the_basic_table(hongshan):
    named = [f.actual for f in narrative_findings(hongshan) if f.check_id == "N-09"]
    assert named[0].startswith("绩效工资（30107）") and "办公费" not in named[1]


def _no_assets(text: str):
    return [f for f in _check(text) if f.check_id == "N-10"]


def test_no_state_assets_contradicted_in_the_same_line_is_an_error():
    (finding,) = _no_assets("某中心，无国有资产占用使用情况。有形资产为：一般公务用车2辆。\n")
    assert (str(finding.severity), finding.actual) == ("error", "公务用车2辆")
    assert _no_assets("本单位无国有资产占用情况。本年度购置公务用车 0 辆。\n") == []


def test_no_state_assets_contradicted_elsewhere_counts_only_for_a_single_holder():
    single = "截至年底，本部门无国有资产占用情况。\n\n资产管理：固定资产全部在使用，固定资产利用率为100%。\n"
    (finding,) = _no_assets(single)
    assert finding.locations[0].line == 1 and "第3行" in finding.message
    several = "本级，无国有资产占用使用情况。\n下属中心，占有使用国有资产79.50万元，主要实物资产为：一般公务用车1辆。\n"
    assert _no_assets(several) == []


def test_a_project_spending_stated_twice_must_agree():
    text = (
        "医保政策宣传经费项目 5.24 万元，主要成效：完成宣传。\n\n"
        "2. 医保政策宣传经费项目绩效自评综述：项目全年预算数为 5.21 万元，执行数为 5.21 万元，完成预算的 100%。\n"
    )
    (finding,) = [f for f in _check(text) if f.check_id == "N-11"]
    assert (str(finding.severity), finding.expected, finding.actual) == ("error", "5.24 万元", "5.21 万元")
    agreeing = text.replace("5.24", "5.21")
    assert [f for f in _check(agreeing) if f.check_id == "N-11"] == []
    other_project = text.replace("2. 医保政策宣传经费", "2. 打击欺诈骗保工作经费")
    assert [f for f in _check(other_project) if f.check_id == "N-11"] == []


def test_a_count_must_match_the_items_listed_right_before_it():
    text = "本次评价设计了预算执行率以及产出指标、效益指标、满意度指标3个一级指标，并设定权重。\n"
    (finding,) = [f for f in _check(text) if f.check_id == "N-12"]
    assert (finding.expected, finding.actual) == ("4", "3个")
    assert [f for f in _check(text.replace("3个", "4个")) if f.check_id == "N-12"] == []
    counted_each = "本局下属2个二级单位，其中：行政单位1个、全额拨款事业单位1个、自收自支事业单位1个。\n"
    assert [f for f in _check(counted_each) if f.check_id == "N-12"] == []


def test_personnel_public_and_project_spending_add_up_to_the_total_they_follow():
    text = (
        "一般公共预算支出合计7999.76万元。基本支出-人员经费（合计）1394.76万元、公用经费（合计）108.33万元。"
        "项目支出（合计）6605.00万元。\n"
    )
    (finding,) = [f for f in _check(text) if f.check_id == "N-13"]
    assert (str(finding.severity), finding.expected, finding.actual) == ("error", "8108.09", "7999.76")
    fixed = text.replace("1394.76", "1286.43")
    assert [f for f in _check(fixed) if f.check_id == "N-13"] == []
    rounded = (
        "卫生健康支出（合计）7644.67万元。人员经费（合计）931.39万元、公用经费（合计）108.27万元。"
        "项目（合计）6605.00万元。\n"
    )
    (warning,) = [f for f in _check(rounded) if f.check_id == "N-13"]
    assert (str(warning.severity), warning.category) == ("warning", "rounding")
    listed = "支出合计401.62万元。其中，人员经费241万元、公用经费21.62万元、项目支出139.01万元。\n"
    assert [f for f in _check(listed) if f.check_id == "N-13"] == []  # a 其中 list belongs to N-04


def test_income_categories_after_an_income_total_add_up_to_it():
    text = (
        "2024年预算总收入（合计）8064.76万元，小计8064.76万元，一般公共预算财政拨款收入7999.76万元。"
        "事业收入0万元，上级补助收入22万元，其他收入25万元；上年结转40万元。\n"
    )
    (finding,) = [f for f in _check(text) if f.check_id == "N-13"]
    assert (finding.expected, finding.actual, finding.difference) == ("8086.76", "8064.76", "-22.00")
    assert [f for f in _check(text.replace("上级补助收入22万元", "上级补助收入0万元")) if f.check_id == "N-13"] == []


def test_function_classes_listed_with_commas_break_down_the_amount_the_paragraph_opens_with():
    text = (
        "2024年本局预算数：7999.76万元。其他收入25万元，上级补助收入22万元，事业收入0万元。"
        "主要包括社会保障和就业支出225.88万元，卫生健康支出7709.67万元，住房保障支出129.21万元。\n"
    )
    (finding,) = [f for f in _check(text) if f.check_id == "N-04"]
    assert (finding.expected, finding.actual) == ("8064.76", "7999.76")
    consistent = text.replace("7709.67", "7644.67")
    assert [f for f in _check(consistent) if f.check_id == "N-04"] == []
    not_classes = text.replace("住房保障支出129.21", "办公费129.21")
    assert [f for f in _check(not_classes) if f.check_id == "N-04"] == []


def _approximate(text: str):
    return [f for f in _check(text) if f.check_id == "N-14"]


def test_an_approximate_count_above_the_sum_of_its_listed_parts_is_an_error():
    parts = "（一）帮扶\n落实预警监测机制，反馈因病返贫预警人员 693 人、因病致贫预警人员 4290 人，共计纳入 156 人。\n"
    text = parts + "（二）衔接\n此外，推送因病返贫致贫预警人员 5000 余人，协助纳入 156 人。\n"
    (finding,) = _approximate(text)
    assert (str(finding.severity), finding.category) == ("error", "narrative")
    assert (finding.actual, finding.expected, finding.difference) == ("5000余人", "693 人 + 4290 人 = 4983人", "-17")
    assert finding.locations[0].line == 4
    assert _approximate(text.replace("4290 人", "4390 人")) == []  # 5083 is 5000余
    assert _approximate(text.replace("5000 余人", "近5000人")) == []  # 近 says less, not more


def test_listed_parts_count_only_when_the_approximate_subject_names_each_of_them():
    text = (
        "（一）参保\n城镇职工参保人员 4200 人、城乡居民参保人员 700 人。\n"
        "（二）宣传\n走访参保人员 5000 余人。\n"  # 参保人员 may include others than the two listed
    )
    assert _approximate(text) == []
    named = text.replace("走访参保人员", "走访城镇职工和城乡居民参保人员")
    (finding,) = _approximate(named)
    assert finding.expected == "4200 人 + 700 人 = 4900人"


def test_an_exact_statement_of_the_same_quantity_bounds_it_from_both_sides():
    text = "（一）检查\n全年检查定点医药机构 780 家。\n（二）成效\n全年检查定点医药机构 800 多家。\n"
    (low,) = _approximate(text)
    assert (str(low.severity), low.actual, low.expected) == ("error", "800多家", "780家")
    (high,) = _approximate(text.replace("780 家", "950 家"))  # 800多 stops short of 900
    assert (str(high.severity), high.difference) == ("warning", "50")
    assert _approximate(text.replace("780 家", "836 家")) == []
    narrower = text.replace("全年检查定点医药机构 780 家", "全年检查定点零售药店 780 家")
    assert _approximate(narrower) == []


def test_over_and_at_least_wordings_and_amounts_in_other_units():
    recovered = "（一）追回\n追回医保基金 2,980,000 元。\n（二）成效\n全年追回医保基金逾300万元。\n"
    (finding,) = _approximate(recovered)
    assert (finding.actual, finding.expected) == ("逾300万元", "298万元")
    assert _approximate(recovered.replace("逾300万元", "近300万元")) == []
    at_least = "（一）帮办\n帮代办医保业务 100 件。\n（二）成效\n帮代办医保业务100件以上。\n"
    assert _approximate(at_least) == []
    assert len(_approximate(at_least.replace("100件以上", "超过100件"))) == 1


def test_an_approximate_quantity_of_another_year_is_not_compared():
    text = "（一）2023年\n2023年推送预警人员 4800 人。\n（二）2024年\n2024年推送预警人员 5000 余人。\n"
    assert _approximate(text) == []
    assert len(_approximate(text.replace("2023年推送", "2024年推送"))) == 1


def _running_costs(text: str):
    return [f for f in _check(text) if f.check_id == "N-15"]


def test_running_costs_equal_to_the_whole_budget_of_their_scope_are_an_error():
    scope = (
        "（一）本级\n本局本级一般公共预算支出合计401.62万元。其中，人员经费241万元、公用经费21.62万元。"
        "项目支出139万元。\n"
    )
    stated = (
        "（二）机关运行经费情况\n2024年本局（本级）机关运行经费预算金额401.62万元。"
        "人员经费241万元，项目支出139万元，公用经费21.62万元。\n"
    )
    (finding,) = _running_costs(scope + stated)
    assert (str(finding.severity), finding.expected, finding.actual, finding.difference) == (
        "error",
        "≤ 21.62",
        "401.62万元",
        "380.00",
    )
    assert "人员经费 241万元 + 项目支出 139万元 + 公用经费 21.62万元" in finding.message
    assert "不低于第2行" in finding.message
    alone = "（二）机关运行经费情况\n2024年本局（本级）机关运行经费预算金额401.62万元。\n"
    (by_scope,) = _running_costs(scope + alone)  # the 本级 total stated elsewhere is enough
    assert "超过第2行本级公用经费 21.62万元" in by_scope.message
    assert _running_costs(scope + alone.replace("401.62", "20.15")) == []
    assert _running_costs(alone) == []  # nothing to compare with


def test_running_costs_above_goods_and_services_alone_are_a_warning():
    text = "（一）机关运行经费情况\n本部门机关运行经费120.00万元，商品和服务支出100.00万元，资本性支出20.00万元。\n"
    (finding,) = _running_costs(text)
    assert (str(finding.severity), finding.expected) == ("warning", "≤ 100.00")
    assert _running_costs(text.replace("120.00万元", "95.00万元")) == []


def test_running_costs_must_not_exceed_the_public_funds_of_the_basic_expenditure_table():
    text = (SAMPLES / "hongshan-2024-budget.txt").read_text(encoding="utf-8")
    assert _running_costs(text) == []  # 247.41 = 表6 公用经费 247.41
    changed = text.replace("的机关运行经费 247.41 万元", "的机关运行经费 991.65 万元")
    assert changed != text
    (finding,) = _running_costs(changed)
    assert "超过 budget.05 公用经费 247.41万元" in finding.message and "不低于 budget.03 支出合计" in finding.message
    assert (str(finding.severity), finding.expected) == ("error", "≤ 247.41")


def test_a_final_account_compares_its_final_running_costs_with_its_tables_not_the_budget_quoted():
    text = (SAMPLES / "huangpi-2024-final.txt").read_text(encoding="utf-8")
    assert _running_costs(text) == []  # 13.71 ≤ 公开06 公用经费合计 50.31
    spent = text.replace("机关运行经费支出 13.71 万元", "机关运行经费支出 53.71 万元")
    (finding,) = _running_costs(spent)
    assert "超过 final.06 公用经费 50.31万元" in finding.message
    budgeted = text.replace("机关运行经费支出 13.71 万元", "机关运行经费年初预算数为 53.71 万元")
    assert budgeted != text and _running_costs(budgeted) == []
