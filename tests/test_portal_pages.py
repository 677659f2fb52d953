"""Portal pages are read for their items, pagination, metadata and attachments; items are classified with reasons."""

from __future__ import annotations

import pytest

from budgetwatch.acquire.classify import classify, department_of, follows
from budgetwatch.acquire.fetch import decode_html, html_encoding, retry_after_seconds
from budgetwatch.acquire.portal_pages import (
    Pagination,
    date_from_url,
    iso_date,
    page_urls,
    parse_article,
    parse_list_page,
    parse_pagination,
)
from budgetwatch.model import Kind

BASE = "https://www.example.gov.cn/fbjd/czyjs/"


def list_page(items: list[tuple[str, str, str]], script: str = "", extra: str = "") -> str:
    rows = "".join(
        f'<li><a href="{href}" title="{title}">{title[:8]}…</a><span>{date}</span></li>' for href, title, date in items
    )
    return (
        '<html><head><meta charset="utf-8"></head><body><div class="nav"><a href="/">首页</a>'
        f'<a href="/zwgk/">政务公开</a></div><ul class="list">{rows}</ul>'
        f"<div class='page'><script>{script}</script>{extra}</div></body></html>"
    )


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('createPageHTML(5, 0, "index", "shtml");', Pagination(5, 0, "index", "shtml")),
        ("createPageHTML(12,3,'index','html');", Pagination(12, 3, "index", "html")),
        ("createPageHTML('page_div',7,2,'index','shtml',132);", Pagination(7, 2, "index", "shtml")),
        ('createPageHTML(0, 0, "list", "shtml");', Pagination(1, 0, "list", "shtml")),
        ("var x = 1;", None),
    ],
)
def test_page_count_is_read_from_create_page_html(script, expected):
    assert parse_pagination(list_page([], script)) == expected


def test_trs_page_urls_follow_index_n_in_the_column_folder():
    pagination = Pagination(4, 0, "index", "shtml")
    assert page_urls(BASE, pagination, limit=20) == [f"{BASE}index_{n}.shtml" for n in (1, 2, 3)]
    assert page_urls(BASE + "index.shtml", pagination, limit=2) == [f"{BASE}index_1.shtml"]


def test_list_items_are_article_and_document_links_with_their_dates():
    html = list_page(
        [
            ("./202405/t20240516_2760571.shtml", "武汉市黄陂区医疗保障局2023年度部门决算公开", "2024-05-16"),
            ("/fbjd/czyjs/202402/P020240201573588834384.pdf", "黄陂区医疗保障局2024年部门预算", "2024年02月01日"),
            ("../other/202401/t20240110_1.html#top", "区财政局通知", "2024/1/10"),
        ],
        extra='<a href="index_1.shtml">下一页</a><a href="javascript:void(0)">尾页</a>',
    )
    page = parse_list_page(html, BASE + "index.shtml")
    assert [(i.url, i.published) for i in page.items] == [
        (BASE + "202405/t20240516_2760571.shtml", "2024-05-16"),
        (BASE + "202402/P020240201573588834384.pdf", "2024-02-01"),
        ("https://www.example.gov.cn/fbjd/other/202401/t20240110_1.html", "2024-01-10"),
    ]
    assert page.items[0].text == "武汉市黄陂区医疗保障局2023年度部门决算公开"  # the title attribute, not the cut text
    assert page.next_url == BASE + "index_1.shtml"
    assert page.pagination is None


def test_a_configured_selector_picks_items_whatever_their_urls():
    html = (
        '<div class="work_list"><a href="/content/3654.html">2023年度决算报表</a></div>'
        '<div class="work_list"><a href="/content/3655.html">2024年部门预算</a></div>'
        '<a href="/content/9999.html">不在列表中</a>'
    )
    page = parse_list_page(html, BASE, "div.work_list")
    assert [i.url for i in page.items] == [
        "https://www.example.gov.cn/content/3654.html",
        "https://www.example.gov.cn/content/3655.html",
    ]
    assert parse_list_page(html, BASE).items == []  # without the selector these URLs look like nothing


def test_article_metadata_from_meta_tags():
    html = """<html><head><meta name="ArticleTitle" content="武汉市洪山区医疗保障局2024年部门预算">
    <meta name="PubDate" content="2024-02-10 16:00"><meta name="ContentSource" content="洪山区医疗保障局"></head>
    <body><div class="position">当前位置：首页 &gt; 政府部门 &gt; 区医疗保障局 &gt; 预决算</div>
    <div class="content"><a href="P020240210573588834384.pdf">附件1</a><a href="/x/2024预算表.xls">2024预算表.xls</a>
    <a href="/download?id=7">部门预算公开表.xlsx</a><img src="/images/logo.png"><img src="W020240210.png"></div>
    </body></html>"""
    article = parse_article(html, "https://www.hongshan.gov.cn/zfbm/ybj/202402/t20240211_1.shtml")
    assert article.title == "武汉市洪山区医疗保障局2024年部门预算"
    assert article.published == "2024-02-10"  # the meta date, not the URL's
    assert article.department == "洪山区医疗保障局"
    assert article.breadcrumb == ["首页", "政府部门", "区医疗保障局", "预决算"]
    assert [a.url for a in article.attachments] == [
        "https://www.hongshan.gov.cn/zfbm/ybj/202402/P020240210573588834384.pdf",
        "https://www.hongshan.gov.cn/x/2024预算表.xls",
        "https://www.hongshan.gov.cn/download?id=7",  # named a spreadsheet by its link text
    ]
    assert [i.url for i in article.images] == ["https://www.hongshan.gov.cn/zfbm/ybj/202402/W020240210.png"]


def test_article_metadata_from_the_info_line_and_the_url():
    html = """<html><head><title>2023年度部门决算_东湖风景区</title></head><body>
    <div class="bread">首页 > 部门之窗 > 区卫健办 > 财务公开</div><h1>2023年度部门决算</h1>
    <div>字号 : | 更新时间:2024-01-16 发布时间: | 来源:区卫健办</div>
    <table><tr><td>科目</td><td>金额</td></tr><tr><td>合计</td><td>1,234.56</td></tr>
    <tr><td>医疗保障</td><td>1,000.00</td></tr><tr><td>其他</td><td>234.56</td></tr></table></body></html>"""
    article = parse_article(html, "https://www.whdonghu.gov.cn/bmzd/wjb_74663/cwgk/202401/t20240116_2343539.shtml")
    assert article.title == "2023年度部门决算"
    assert article.published == "2024-01-16"  # 发布时间 empty: from the URL
    assert article.department == "区卫健办"
    assert article.table_count == 1
    assert not article.attachments


def test_dates_in_the_forms_portals_print():
    assert iso_date("发布时间：2024年1月6日 10:00") == "2024-01-06"
    assert iso_date("2024.12.31") == "2024-12-31"
    assert iso_date("2024-13-01") is None
    assert date_from_url("https://x.gov.cn/a/202401/t20240116_2343539.shtml") == "2024-01-16"
    assert date_from_url("https://x.gov.cn/a/index.shtml") is None


def test_encoding_from_header_then_meta_then_content():
    gbk = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head>医疗保障局</html>'
    data = gbk.encode("gbk")
    assert html_encoding(data, "text/html") == "gb18030"
    assert "医疗保障局" in decode_html(data, "text/html")
    assert html_encoding(data, "text/html; charset=UTF-8") == "utf-8"  # the header wins
    assert html_encoding("医疗保障局".encode("gb18030"), None) == "gb18030"  # no declaration, not UTF-8
    assert html_encoding("医疗保障局".encode(), None) == "utf-8"
    assert html_encoding(data, None, configured="gbk") == "gb18030"


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10
    assert retry_after_seconds("soon") is None


@pytest.mark.parametrize(
    ("title", "department", "expected"),
    [
        (
            "武汉市黄陂区医疗保障局2024年度部门决算（汇总）公开",
            None,
            ("武汉市黄陂区医疗保障局", 2024, Kind.FINAL_ACCOUNT, "汇总"),
        ),
        ("2025年部门预算（本级）", "洪山区医保局", ("洪山区医疗保障局", 2025, Kind.BUDGET, "本级")),
        ("武汉市江夏区医疗保障局2023年度单位决算", None, ("武汉市江夏区医疗保障局", 2023, Kind.FINAL_ACCOUNT, None)),
    ],
)
def test_reports_are_classified_from_title_and_page(title, department, expected):
    found = classify(title, department=department)
    assert found.wanted, found.skip_reason
    assert (found.department, found.fiscal_year, found.kind, found.scope) == expected


@pytest.mark.parametrize(
    ("title", "department", "reason", "category"),
    [
        ("关于开展医保政策宣传月活动的通知", None, "not a budget or final account", "not_a_report"),
        ("示例区2025年区级财政预算执行情况", None, "a government budget", "government"),
        ("区教育局2024年部门预算公开", None, "department 区教育局 is not followed", "other_department"),
        ("2024年部门预算", "区教育局", "department 区教育局 is not followed", "other_department"),
        ("2024年部门预算", None, "the department is not named", "department_not_named"),
    ],
)
def test_unrelated_items_are_skipped_with_the_reason(title, department, reason, category):
    found = classify(title, department=department, followed=["医疗保障局"])
    assert found.skip_reason is not None
    assert found.skip_reason.startswith(reason)
    assert found.skip_category == category


@pytest.mark.parametrize(
    ("title", "department"),
    [("区教育局2024年部门预算公开", None), ("2024年部门预算", "区教育局"), ("2024年部门预算", None)],
)
def test_every_department_is_followed_unless_restricted(title, department):
    found = classify(title, department=department)
    assert found.wanted and found.kind == Kind.BUDGET
    assert found.department == department_of(title, department)
    assert classify("示例区2025年区级财政预算执行情况").skip_category == "government"  # still not a department's


def test_any_department_can_be_followed_by_configuration():
    assert classify("区教育局2024年部门预算公开", followed=["教育局"]).wanted
    assert classify("区教育局2024年部门预算公开", followed=["*"]).wanted
    assert follows("武汉市洪山区医疗保障局", ["医保局"])
    assert department_of("2024年部门预算", "洪山区医保局") == "洪山区医疗保障局"
    assert classify("2024年部门预算", text="武汉市新洲区医疗保障局 2024年部门预算 说明").kind == Kind.BUDGET
