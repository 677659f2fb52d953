"""A file that is no disclosure report (a reviewer's checklist, a news page, a notice) is reported as such, with the
reason, and is not checked as a budget with every table missing."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import xlsxwriter

from budgetwatch.check.batch import check_paths
from budgetwatch.publish.outputs import run_json, run_text
from budgetwatch.read.disclosure import not_disclosure
from budgetwatch.read.extract import extract_bytes, extract_path
from budgetwatch.report.site import write_report

from .conftest import ROOT, SAMPLES

CHECKLIST = [
    ("序号", "检查项目", "检查要点", "是否符合", "备注"),
    (1, "部门预算公开时间", "批复后20日内公开", "是", ""),
    (2, "收支预算总表", "是否公开，金额单位是否为万元", "是", ""),
    (3, "财政拨款收支预算总表", "是否与一般公共预算支出表一致", "否", "差0.01"),
    (4, "“三公”经费预算表", "是否说明增减原因", "是", ""),
    (5, "名词解释", "是否解释专业名词", "是", ""),
    (6, "政府采购", "是否公开政府采购预算总额", "是", ""),
    (7, "绩效目标", "项目支出绩效目标是否公开", "否", "未公开"),
]


def checklist_workbook() -> bytes:
    """A reviewer's checklist of a 2024 部门预算 disclosure, as a spreadsheet: budget words in every row, no report."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("检查表")
    sheet.write(0, 0, "2024年部门预算公开检查表")
    for r, row in enumerate(CHECKLIST, start=2):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return out.getvalue()


NEWS = """<html><head><meta charset="utf-8"><title>区财政局召开2024年部门预算公开工作推进会</title></head><body>
<div class="nav">首页 &gt; 新闻中心 &gt; 工作动态</div>
<h1>区财政局召开2024年部门预算公开工作推进会</h1>
<p>发布时间：2024-02-20</p>
<p>2月19日，区财政局召开2024年部门预算公开工作推进会，各部门预算公开联络员参加会议。会议通报了2023年部门预算、决算公开
检查情况，对“三公”经费、政府采购、绩效目标等公开内容提出了明确要求。</p>
<p>会议强调，各部门要在财政部门批复后20日内公开部门预算，做到公开及时、内容准确、形式规范。2024年区级部门预算总额
35.6亿元，比上年增长3.2%。</p>
</body></html>"""


def test_a_reviewers_checklist_is_not_a_disclosure_report():
    ex = extract_bytes(checklist_workbook(), "checklist.xlsx")
    assert ex.document.not_disclosure and ex.document.not_disclosure.startswith("not a disclosure report")
    assert ex.tables == []  # no table is missing from a file that is no report


def test_a_news_page_about_a_budget_is_not_a_disclosure_report():
    ex = extract_bytes(NEWS.encode("utf-8"), "news.html")
    assert not ex.document.is_disclosure
    assert ex.tables == []


def test_a_report_whose_tables_are_pictures_is_a_disclosure_report(caidian):
    # the narrative alone makes it a report: its tables are missing, and the completeness rule says so
    assert caidian.document.is_disclosure
    assert any(t.status == "missing" for t in caidian.tables)
    assert not_disclosure(["第一部分 部门概况"], tables=0, image_pages=True) is None


def test_tables_the_catalogue_does_not_know_still_make_a_report():
    lines = []
    for title in ("收支预算总表", "收入预算总表", "支出预算总表"):
        lines += [title, "部门：江苏省某某厅\t单位：万元", "项目\t金额", "合计\t18,330.37"]
    lines += ["这些表格由本部门编制，数据已经财政部门批复，现予以公开，请社会各界监督。"] * 3
    assert not_disclosure(lines, tables=0) is None
    # the same words in a contents list, with no amounts' unit, make no table
    assert not_disclosure([ln for ln in lines if "单位" not in ln], tables=0) is not None


def test_a_file_that_is_no_report_is_not_checked_and_says_why(tmp_path):
    checklist = tmp_path / "checklist.xlsx"
    checklist.write_bytes(checklist_workbook())
    run = check_paths([checklist, SAMPLES / "caidian-2024-budget.txt"])
    by_name = {Path(r.extraction.document.source).name: r for r in run.reports}
    report = by_name["checklist.xlsx"]
    assert report.findings == [] and report.skipped == []
    assert any(f.check_id == "C-01" for f in by_name["caidian-2024-budget.txt"].findings)  # the report is checked
    schema = json.loads((ROOT / "docs" / "check-report.schema.json").read_text(encoding="utf-8"))
    data = run_json(run)
    jsonschema.validate(data, schema)
    [entry] = [d for d in data["documents"] if d["source"].endswith("checklist.xlsx")]
    assert entry["not_disclosure"].startswith("not a disclosure report") and entry["tables"] == []
    text = run_text(run)
    assert "not a disclosure report" in text and "1 not disclosure reports" in text
    write_report(run, tmp_path / "report")
    [page] = (tmp_path / "report").glob("checklist-*.html")
    html = page.read_text(encoding="utf-8")
    assert "不是预决算公开报告" in html and "budget.01" not in html  # no checklist of missing tables
    assert "not a disclosure report" in (tmp_path / "report" / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["huangpi-2024-final.txt", "hongshan-2024-budget.txt"])
def test_reports_are_disclosure_reports(name):
    assert extract_path(SAMPLES / name).document.is_disclosure


def test_check_command_exits_clean_on_a_file_that_is_no_report(tmp_path):
    checklist = tmp_path / "checklist.xlsx"
    checklist.write_bytes(checklist_workbook())
    result = subprocess.run(
        [sys.executable, "-m", "budgetwatch.cli.main", "check", str(checklist)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "not a disclosure report" in result.stdout and "not checked" in result.stdout
