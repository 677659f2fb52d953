"""What a document says about itself is read from it."""

from __future__ import annotations

from budgetwatch.read.metadata import department, district


def test_final_account_metadata(huangpi):
    d = huangpi.document
    assert (d.department, d.district, d.fiscal_year, str(d.kind), d.scope, d.published) == (
        "武汉市黄陂区医疗保障局",
        "黄陂区",
        2024,
        "final_account",
        "汇总",
        "2025-10-15",
    )
    assert len(d.sha256) == 64


def test_budget_metadata(hongshan, caidian):
    assert (hongshan.document.department, hongshan.document.kind) == ("武汉市洪山区医疗保障局", "budget")
    # no table headers: the organisation named most often, in its long form
    assert (caidian.document.department, caidian.document.fiscal_year) == ("武汉市蔡甸区医疗保障局", 2024)


def test_department_long_form_absorbs_short_mentions():
    text = "洪山区医疗保障局负责……洪山区医疗保障局。武汉市洪山区医疗保障局 2024 年部门预算。"
    assert department(text, []) == "武汉市洪山区医疗保障局"
    assert district("武汉市东西湖区卫生健康局") == "东西湖区"
