"""What a document says about itself is read where it states it: cover, part headings, table titles, table headers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from budgetwatch.model import Kind
from budgetwatch.read.extract import extract_path
from budgetwatch.read.metadata import describe, district, most_named

from .conftest import SAMPLES

DOCUMENTS = Path(__file__).resolve().parent / "documents"
TRUTH = list(csv.DictReader((DOCUMENTS / "metadata.csv").open(encoding="utf-8")))


def _expected(row: dict) -> tuple:
    return (
        int(row["fiscal_year"]) if row["fiscal_year"] else None,
        row["department"] or None,
        row["kind"] or None,
        row["scope"] or None,
        row["published"] or None,
    )


@pytest.mark.parametrize("row", TRUTH, ids=[r["file"] for r in TRUTH])
def test_real_documents_state_their_year_department_kind_and_scope(row):
    folder = SAMPLES if row["corpus"] == "samples" else DOCUMENTS
    d = extract_path(folder / row["file"]).document
    assert (d.fiscal_year, d.department, d.kind, d.scope, d.published) == _expected(row)
    assert d.is_disclosure


def test_final_account_metadata_says_where_each_value_was_read(huangpi):
    d = huangpi.document
    assert (d.department, d.district, d.fiscal_year, str(d.kind), d.scope, d.published) == (
        "武汉市黄陂区医疗保障局",
        "黄陂区",
        2024,
        "final_account",
        "部门",  # （汇总）: the department's consolidated report
        "2025-10-15",
    )
    assert d.provenance["fiscal_year"].startswith("cover")
    assert d.provenance["published"].startswith("cover")
    assert len(d.sha256) == 64


def test_a_department_stated_only_in_the_text_is_read_there(caidian, hongshan):
    # caidian prints no cover and no table: 2024年武汉市蔡甸区医疗保障局预算数… says whose budget it is
    assert caidian.document.department == "武汉市蔡甸区医疗保障局"
    assert caidian.document.provenance["department"].startswith("text")
    assert caidian.document.provenance["fiscal_year"].startswith("part heading")
    assert hongshan.document.provenance["department"].startswith("table header")


def test_a_department_no_statement_gives_is_recorded_as_a_guess():
    lines = [
        "一、主要职能",
        "洪山区医疗保障局负责本区医疗保障工作。",
        "二、机构设置",
        "武汉市洪山区医疗保障局内设3个科室。",
    ]
    about = describe(lines)
    assert about.department == "武汉市洪山区医疗保障局"
    assert about.provenance["department"].startswith("guess")


def test_a_template_placeholder_is_no_department():
    d = extract_path(DOCUMENTS / "national-final-template-2024.pdf").document
    assert d.department is None
    assert "placeholder" in d.provenance["department"]


def test_most_named_organisation_prefers_the_long_form():
    text = "洪山区医疗保障局负责……洪山区医疗保障局。武汉市洪山区医疗保障局 2024 年部门预算。"
    assert most_named(text) == "武汉市洪山区医疗保障局"
    assert district("武汉市东西湖区卫生健康局") == "东西湖区"


NARRATIVE = [
    "第一部分 部门概况",
    "一、主要职能",
    "负责本行政区域内的有关工作。",
    "二、部门机构设置",
    "纳入本部门{last}年部门汇总预算编制范围的预算单位共计三家：上海市普陀区某某服务中心、上海市普陀区档案服务中心。",
    "{last}年部门预算数为100万元，{last}年决算数为98万元，{last}年部门预算较{last}年增加2万元。",
    "上海市普陀区档案服务中心{last}年部门预算执行良好；上海市普陀区档案服务中心负责档案管理。",
]


def _document(cover: list[str], *, year: int = 2024, body: list[str] | None = None) -> list[str]:
    """A report as a text layer: a cover, its contents, then a narrative quoting last year far more than this one."""
    last = year - 1
    lines = [*cover, "目 录", "第一部分 概况", "第二部分 公开表格"]
    return lines + [x.format(last=last) for x in NARRATIVE] + (body or [])


VARIANTS = {
    "cover wrapped inside the name": (
        ["江苏省人大", "常委会办公厅", "2018年度部门", "预算公开"],
        (2018, "江苏省人大常委会办公厅", Kind.BUDGET, "部门"),
    ),
    "year on a line of its own after the title": (
        ["上海市普陀区财政局 年度部门决算表", "2024"],
        (2024, "上海市普陀区财政局", Kind.FINAL_ACCOUNT, "部门"),
    ),
    "year on a line of its own before the title": (
        ["2025年", "上海市普陀区教育局  年度部门决算"],
        (2025, "上海市普陀区教育局", Kind.FINAL_ACCOUNT, "部门"),
    ),
    "year before the department": (
        ["2024 年度武汉市江夏区卫生健康局（汇总）部门决算公开"],
        (2024, "武汉市江夏区卫生健康局", Kind.FINAL_ACCOUNT, "部门"),
    ),
    "本级 suffix makes a unit's report": (
        ["2023年度武汉市江夏区卫生健康局(本级)部门决算"],
        (2023, "武汉市江夏区卫生健康局", Kind.FINAL_ACCOUNT, "单位"),
    ),
    "district budget with the department on a label": (
        ["上海市普陀区2026年区级部门预算", "预算主管部门：上海市普陀区绿化和市容管理局"],
        (2026, "上海市普陀区绿化和市容管理局", Kind.BUDGET, "部门"),
    ),
    "unit budget": (
        ["上海市普陀区2026年区级单位预算", "预算单位：上海市普陀区长征镇人民政府（本级）"],
        (2026, "上海市普陀区长征镇人民政府", Kind.BUDGET, "单位"),
    ),
    "单位预算 in the title": (
        ["中共上海市普陀区委宣传部", "2025年单位预算"],
        (2025, "中共上海市普陀区委宣传部", Kind.BUDGET, "单位"),
    ),
    "决算公开 wording": (
        ["武汉市新洲区民政局2022年决算公开"],
        (2022, "武汉市新洲区民政局", Kind.FINAL_ACCOUNT, None),
    ),
    "预算公开 wording": (
        ["江苏省财政厅", "2019年部门预算公开"],
        (2019, "江苏省财政厅", Kind.BUDGET, "部门"),
    ),
    "traditional characters": (
        ["上海市普陀區財政局", "2024年度部門決算"],
        (2024, "上海市普陀區財政局", Kind.FINAL_ACCOUNT, "部门"),
    ),
    "year in Chinese numerals": (
        ["上海市普陀区卫生健康委员会", "二〇二四年度部门决算"],
        (2024, "上海市普陀区卫生健康委员会", Kind.FINAL_ACCOUNT, "部门"),
    ),
    "附件 and a page header above the cover": (
        ["附件2", "第1页共20页", "上海市普陀区司法局", "2024年度部门决算"],
        (2024, "上海市普陀区司法局", Kind.FINAL_ACCOUNT, "部门"),
    ),
    "cover without contents, opened by an unnumbered section": (
        ["上海市普陀区司法局2024年部门预算", "部门概况"],
        (2024, "上海市普陀区司法局", Kind.BUDGET, "部门"),
    ),
    "full-width digits": (
        ["上海市普陀区民政局", "２０２５年部门预算"],
        (2025, "上海市普陀区民政局", Kind.BUDGET, "部门"),
    ),
}


@pytest.mark.parametrize("cover, expected", VARIANTS.values(), ids=VARIANTS.keys())
def test_cover_variants(cover, expected):
    year = expected[0]
    about = describe(_document(cover, year=year))
    assert (about.fiscal_year, about.department, about.kind, about.scope) == expected
    assert about.provenance["fiscal_year"].startswith("cover")
    assert not any(v.startswith("guess") for v in about.provenance.values())


def test_year_in_the_part_heading_when_there_is_no_cover():
    lines = [
        "第一部分 上海市普陀区财政局概况",
        "一、主要职能",
        "负责财政工作。",
        "第二部分 上海市普陀区财政局2024年度部门决算表",
    ]
    lines += [x.format(last=2023) for x in NARRATIVE]
    about = describe(lines)
    assert (about.fiscal_year, about.department, about.kind) == (2024, "上海市普陀区财政局", Kind.FINAL_ACCOUNT)
    assert about.provenance["fiscal_year"].startswith("part heading")


def test_year_only_in_one_table_title_of_a_tables_only_attachment():
    tables = []
    for n, title in enumerate(["收支预算总表", "收入预算总表", "2019年政府采购预算表"], start=1):
        tables += [f"{title}公开表{'一二三'[n - 1]}部门： 江苏省财政厅 单位：万元\t\t", "项目\t金额", "合计\t1.00"]
    lines = [*tables[:3], "注：纳入本部门2018年部门汇总预算编制范围的预算单位共计一家。", *tables[3:]]
    about = describe(lines)
    assert (about.fiscal_year, about.department, about.kind, about.scope) == (2019, "江苏省财政厅", Kind.BUDGET, "部门")
    assert about.provenance["fiscal_year"].startswith("table titles")
    assert about.provenance["department"].startswith("table header")


def test_the_cover_department_wins_over_subordinate_units_named_more_often():
    about = describe(_document(["上海市普陀区档案局", "2024年部门预算"]))
    assert about.department == "上海市普陀区档案局"  # the text names 档案服务中心 more often


def test_table_headers_name_the_department_before_the_units_of_performance_tables():
    lines = ["第二部分 2024年部门预算表", "部门：武汉市洪山区民政局（汇总）\t单位：万元", "合计\t1.00"]
    lines += ["项目支出绩效目标表", "单位名称：武汉市洪山区社会福利院", "项目名称\t养老服务"] * 3
    about = describe(lines)
    assert (about.department, about.scope) == ("武汉市洪山区民政局", "部门")


def test_a_cover_date_is_the_publication_date():
    about = describe(_document(["武汉市黄陂区民政局", "2024年度部门决算", "二〇二五年九月三十日"]))
    assert about.published == "2025-09-30"
    assert describe(_document(["武汉市黄陂区民政局", "2024年度部门决算"])).published is None


def test_nothing_stated_means_none_not_a_guess():
    about = describe(["关于做好有关工作的说明", "现将有关事项说明如下。"])
    assert (about.fiscal_year, about.department, about.kind, about.scope) == (None, None, None, None)
    assert about.provenance == {}
