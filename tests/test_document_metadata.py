"""What a document says about itself is read from it."""

from __future__ import annotations

from budgetwatch.read.metadata import cover_department, department, district, fiscal_year


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


def test_the_cover_year_wins_over_the_previous_year_a_budget_quotes_often():
    quoted = "".join(f"{n}. 某项目2023年预算执行数为1.00万元，2024年预算安排1.00万元。\n" for n in range(1, 20))
    text = "上海市普陀区2024年区级部门预算\n预算主管部门：上海市普陀区人民政府万里街道办事处\n目 录\n" + quoted
    assert fiscal_year(text) == 2024
    assert fiscal_year(quoted) == 2023  # without a cover, the year said most often


def test_the_department_is_read_from_the_cover_where_no_table_header_names_it():
    covers = {
        "江苏省人大常委会办公厅\n2017 年度部门预算\n目 录\n": "江苏省人大常委会办公厅",
        "1\n江苏省人大常委会办公厅2018年度部门\n预算公开\n": "江苏省人大常委会办公厅",
        "上海市普陀区2026年区级单位预算\n预算单位：上海市普陀区人民政府石泉路街道办事处（本级）\n": (
            "上海市普陀区人民政府石泉路街道办事处"
        ),
        "上海市 XX 局\n2024 年度部门决算\n目 录\n": None,
    }
    for cover, expected in covers.items():
        assert cover_department(cover.splitlines()) == expected, cover
        assert department(cover + "省人大常委会是省人民代表大会的常设机构。\n", []) == expected or expected is None
