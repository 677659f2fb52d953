"""The steward's report of the three samples, opened in headless Debian Chromium; its exports read back."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pdfplumber
import pytest
from bs4 import BeautifulSoup
from python_calamine import CalamineWorkbook

from budgetwatch.check.batch import check_paths
from budgetwatch.cli.main import main
from budgetwatch.fixtures.render_pdf import extraction_to_pdf
from budgetwatch.model import MICROS
from budgetwatch.publish.outputs import FINDING_COLUMNS, FINDING_HEADERS, findings_frame
from budgetwatch.read import catalogue
from budgetwatch.report import write_report
from budgetwatch.report.history import PreviousRunError
from budgetwatch.report.html import amount
from budgetwatch.report.site import page_name

from .conftest import SAMPLES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is needed for the report tests: apt-get install -y chromium")
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )


@pytest.fixture(scope="module")
def run():
    return check_paths(sorted(SAMPLES.glob("*.txt")))


@pytest.fixture(scope="module")
def report_dir(run, tmp_path_factory):
    """A report of the three samples, compared with an earlier run that had only huangpi and hongshan."""
    earlier = tmp_path_factory.mktemp("earlier")
    write_report(check_paths([SAMPLES / "huangpi-2024-final.txt", SAMPLES / "hongshan-2024-budget.txt"]), earlier)
    out = tmp_path_factory.mktemp("report")
    index = write_report(run, out, previous=earlier)
    assert index == out / "index.html"
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")

    def dom(page: Path) -> BeautifulSoup:
        done = _chromium(profile, "--dump-dom", page.as_uri())
        return BeautifulSoup(done.stdout, "html.parser")

    def screenshot(page: Path, png: Path) -> Path:
        _chromium(profile, f"--screenshot={png}", "--window-size=1366,900", page.as_uri())
        return png

    return dom, screenshot


@pytest.fixture(scope="module")
def doms(run, report_dir, browser):
    dom, _ = browser
    pages = {"index": report_dir / "index.html"}
    pages |= {Path(r.extraction.document.source).stem: report_dir / page_name(r) for r in run.reports}
    return {name: dom(path) for name, path in pages.items()}


def _report(run, stem):
    return next(r for r in run.reports if Path(r.extraction.document.source).stem == stem)


def test_huangpi_rounding_erratum_is_highlighted_with_its_numbers_beside_it(run, doms):
    page = doms["huangpi-2024-final"]
    table = page.find("section", attrs={"data-table": "final.03"})
    cell = table.find("td", attrs={"data-code": "21015", "data-column": "total_expenditure", "data-findings": True})
    assert cell is not None, "the 医疗保障管理事务 total of 公开03 is not highlighted"
    assert {"flag", "sev-warning", "checked"} <= set(cell["class"])
    assert cell.get_text().startswith("1,615.38")
    numbers = cell["data-findings"].split()
    findings = _report(run, "huangpi-2024-final").findings
    item = next(table.find("li", id=f"f{n}") for n in numbers if findings[int(n) - 1].check_id == "F03-1")
    finding = findings[int(item["id"][1:]) - 1]
    shown = dict(
        zip((x.get_text() for x in item.find_all("dt")), (x.get_text() for x in item.find_all("dd")), strict=True)
    )
    assert (finding.expected, finding.actual, finding.difference) == ("1615.39", "1615.38", "-0.01")
    assert shown == {"应为 expected": "1615.39", "实为 actual": "1615.38", "差 difference": "-0.01"}
    # the parts it was compared with are marked as involved, in the same row
    involved = table.find_all("td", class_="involved", attrs={"data-code": "21015"})
    assert {c["data-column"] for c in involved} >= {"basic", "project"}


def test_every_finding_is_shown_once_and_every_cell_it_names_is_marked(run, doms):
    for report in run.reports:
        stem = Path(report.extraction.document.source).stem
        page = doms[stem]
        anchors = [li["id"] for li in page.find_all("li", id=re.compile(r"^f\d+$"))]
        assert sorted(anchors) == sorted(f"f{n}" for n in range(1, len(report.findings) + 1)), stem
        parsed = {t.table_id for t in report.extraction.tables if str(t.status) == "parsed"}
        for n, f in enumerate(report.findings, start=1):
            assert page.find("li", id=f"f{n}").find("span", class_="basis")["data-basis"] == f.basis
            for loc in f.locations:
                if loc.table_id in parsed and loc.column:
                    marked = page.select(f'section[data-table="{loc.table_id}"] td.flag[data-findings]')
                    assert any(str(n) in td["data-findings"].split() for td in marked), (stem, f.check_id, loc)


def test_narrative_line_marks_the_stated_share_that_disagrees(doms):
    page = doms["huangpi-2024-final"]
    section = page.find("section", id="line-484")
    assert section is not None
    assert [m.get_text() for m in section.find_all("mark", class_="bad")] == ["83.70%"]
    assert "1700.01 万元" in [m.get_text() for m in section.find_all("mark", class_="num")]
    assert "83.68%" in section.get_text()  # the expected share, beside the sentence


def test_caidian_checklist_lists_every_standard_table_as_missing_with_the_image_note(doms):
    page = doms["caidian-2024-budget"]
    rows = page.select("tr.check-row")
    budget_ids = [table_id for table_id, _ in catalogue.expected_tables("budget", None)]
    assert len(budget_ids) == 12  # the Wuhan district set, the default family of budgets
    assert [r["data-table"] for r in rows] == budget_ids
    assert {r["data-status"] for r in rows} == {"missing"}
    assert all("images" in r.get_text() for r in rows)
    huangpi = {r["data-table"]: r["data-status"] for r in doms["huangpi-2024-final"].select("tr.check-row")}
    assert huangpi["final.03"] == "present" and huangpi["final.07"] == "empty"


def test_column_groups_are_printed_as_the_catalogue_declares_them(doms):
    section = doms["hongshan-2024-budget"].find("section", attrs={"data-table": "budget.02"})
    spec = catalogue.table("budget.02")
    group = section.find("th", string="本年收入")
    assert int(group["colspan"]) == sum(1 for c in spec.columns if c.parents == ("本年收入",))
    labels = [th["data-column"] for th in section.select("th[data-column]")]
    assert labels == [c.key for c in spec.columns]


def test_pages_reference_nothing_on_the_network_and_show_chinese(doms, report_dir):
    for name, page in doms.items():
        assert page.find("meta", charset=True)["charset"].lower() == "utf-8"
        for tag in page.find_all(src=True):
            assert not re.match(r"(?i)\s*(https?:)?//", tag["src"]), (name, tag)
        for tag in page.find_all(href=True):
            if re.match(r"(?i)\s*(https?:)?//", tag["href"]):
                assert "source-link" in tag.get("class", []), (name, tag)
        assert not page.find_all("script", src=True) and not page.find_all("iframe")
        assert re.search(r"[\u4e00-\u9fff]{4}", page.get_text()), name
    css = (report_dir / "report.css").read_text(encoding="utf-8")
    assert "url(" not in css and "@import" not in css
    assert "WenQuanYi Zen Hei" in css and "@media print" in css
    assert "武汉市黄陂区医疗保障局" in doms["index"].get_text()


def test_source_links_use_the_known_url_else_a_copy_in_the_folder(run, tmp_path, browser):
    dom, _ = browser
    huangpi = _report(run, "huangpi-2024-final")
    url = "https://www.huangpi.gov.cn/zfxxgk/2025/huangpi-2024-final.pdf"
    write_report(run, tmp_path, sources={huangpi.extraction.document.source: url})
    page = dom(tmp_path / page_name(huangpi))
    assert [a["href"] for a in page.select("a.source-link")] == [url]
    hongshan = _report(run, "hongshan-2024-budget")
    link = dom(tmp_path / page_name(hongshan)).select_one("a.source-link")["href"]
    copy = tmp_path / link
    assert (
        not link.startswith(("http", "/"))
        and copy.read_bytes() == Path(hongshan.extraction.document.source).read_bytes()
    )


def test_index_overview_counts_changes_and_charts(run, doms):
    index = doms["index"]
    rows = index.select("tr.document")
    assert len(rows) == len(run.reports)
    caidian = next(r for r in rows if "蔡甸区" in r.get_text())
    assert caidian["data-status"] == "error" and caidian.find("a")["href"] == page_name(
        _report(run, "caidian-2024-budget")
    )
    by_check = {tr["data-check"]: tr for tr in index.select("tr[data-check]")}
    expected = {f.check_id for r in run.reports for f in r.findings}
    assert set(by_check) == expected
    # the earlier run had no caidian: its C-01 error is new, and the document is listed as new
    c01 = next(tr for tr in index.select("table.changes tr.change") if tr.td.get_text() == "C-01")
    assert "0 → 1" in c01.get_text() and "+1" in c01.get_text()
    assert (
        "武汉市蔡甸区医疗保障局 2024 部门预算"
        in index.find(id="changes").find_next("p", string=re.compile("新文档")).text
    )
    # key figures: each total drawn carries its exact amount
    huangpi = _report(run, "huangpi-2024-final").extraction
    income = next(
        i for i in huangpi.items if (i.table_id, i.side, i.row_key) == ("final.01", "income", "current_total")
    )
    titles = [t.get_text() for t in index.select("svg.chart title")]
    assert any(t.startswith("黄陂区 2024 决算 本年收入合计") and amount(income.micros) in t for t in titles)
    assert any("210 卫生健康支出" in t for t in titles)
    hrefs = {a["href"] for a in index.select("#exports ~ ul.exports a")}
    assert {"findings.xlsx", "findings.csv", "tables.xlsx", "tables/line_items.csv", "check.json"} <= hrefs


def test_screenshots_of_the_report_are_saved_with_the_test_output(run, report_dir, browser, tmp_path_factory):
    _, screenshot = browser
    shots = tmp_path_factory.mktemp("screenshots")
    pages = [report_dir / "index.html"] + [report_dir / page_name(r) for r in run.reports]
    for page in pages:
        png = screenshot(page, shots / (page.stem + ".png"))
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 20_000, png
        print(f"screenshot: {png}")


def test_document_page_prints_to_pdf_with_its_chinese_text(run, report_dir, tmp_path):
    page = report_dir / page_name(_report(run, "huangpi-2024-final"))
    pdf = tmp_path / "printed.pdf"
    _chromium(tmp_path / "profile", f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())
    with pdfplumber.open(pdf) as printed:
        assert len(printed.pages) > 3
        first = printed.pages[0].extract_text() or ""
        text = "".join((p.extract_text() or "") for p in printed.pages[:12])
    assert "武汉市黄陂区医疗保障局" in first.replace(" ", "")
    assert "医疗保障管理事务" in text.replace(" ", "")
    assert "总览 overview" not in text  # navigation is left out of print


def test_findings_xlsx_and_csv_hold_the_rows_of_the_findings(run, report_dir):
    frame = findings_frame(run)
    sheet = CalamineWorkbook.from_path(report_dir / "findings.xlsx").get_sheet_by_name("findings").to_python()
    assert tuple(sheet[0]) == tuple(FINDING_HEADERS[c] for c in FINDING_COLUMNS)  # Chinese, with the English key
    assert len(sheet) - 1 == frame.height == sum(len(r.findings) for r in run.reports)
    for got, want in zip(sheet[1:], frame.iter_rows(named=True), strict=True):
        for column, value in zip(FINDING_COLUMNS, got, strict=True):
            expected = want[column]
            assert (value if value != "" else None) == (float(expected) if isinstance(expected, int) else expected), (
                column
            )
    csv = (report_dir / "findings.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf") and csv.decode("utf-8-sig").count("\n") >= frame.height + 1


def test_tables_xlsx_holds_every_line_item_with_its_exact_amount(run, report_dir):
    rows = CalamineWorkbook.from_path(report_dir / "tables.xlsx").get_sheet_by_name("line_items").to_python()
    head, body = rows[0], rows[1:]
    items = [i for r in run.reports for i in r.extraction.items]
    assert len(body) == len(items)
    col = {name: n for n, name in enumerate(head)}
    for row, item in zip(body, items, strict=True):
        assert row[col["table_id"]] == item.table_id and row[col["raw"]] == item.raw
        if item.micros is None:
            assert row[col["amount"]] == ""
        else:
            assert Decimal(repr(row[col["amount"]])) == Decimal(item.micros) / MICROS
    assert (report_dir / "tables" / "line_items.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_unreadable_previous_run_is_an_error_naming_it_and_nothing_is_written(run, tmp_path):
    bad = tmp_path / "previous.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(PreviousRunError, match=r"previous\.json"):
        write_report(run, tmp_path / "out", previous=bad)
    assert not (tmp_path / "out" / "index.html").exists()


def test_pdf_document_pages_carry_page_numbers_and_link_the_source_page(huangpi, tmp_path, browser):
    dom, _ = browser
    pdf = tmp_path / "huangpi.pdf"
    pdf.write_bytes(extraction_to_pdf(huangpi, with_narrative=True))
    run = check_paths([pdf])
    report = run.reports[0]
    write_report(run, tmp_path / "out")
    page = dom(tmp_path / "out" / page_name(report))
    section = page.find("section", attrs={"data-table": "final.04"})
    table = report.extraction.table("final.04")
    assert sorted({int(td.get_text()) for td in section.select("td.page")}) == sorted(table.pages)
    link = section.select_one("h3 a.source-link")["href"]
    assert link.startswith("documents/") and link.endswith(f".pdf#page={min(table.pages)}")
    # findings located by row and column (a PDF has no text lines) still mark their cells
    cell_findings = [f for f in report.findings if f.locations and f.locations[0].table_id and f.locations[0].column]
    assert cell_findings
    flagged = {n for td in page.select("td.flag[data-findings]") for n in td["data-findings"].split()}
    assert {str(report.findings.index(f) + 1) for f in cell_findings} <= flagged


def test_unreadable_documents_are_listed_on_the_overview_with_their_reason(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n")
    run = check_paths([SAMPLES / "hongshan-2024-budget.txt", broken])
    index = BeautifulSoup(write_report(run, tmp_path / "out").read_text(encoding="utf-8"), "html.parser")
    listed = index.select("ul.unreadable li")
    assert len(listed) == 1 and "broken.pdf" in listed[0].get_text()
    assert run.unreadable[0].reason in listed[0].get_text()
    assert len(index.select("tr.document")) == 1


def test_a_source_url_must_be_http_or_https(run, tmp_path):
    source = run.reports[0].extraction.document.source
    with pytest.raises(ValueError, match="http or https"):
        write_report(run, tmp_path / "out", sources={source: "javascript:alert(1)"})
    assert not (tmp_path / "out").exists()


def test_report_command_writes_the_entry_page(tmp_path, capsys):
    status = main(["report", str(SAMPLES / "hongshan-2024-budget.txt"), "--out", str(tmp_path / "r")])
    assert status == 1  # hongshan has an error-level finding (表9 header copied from 表8)
    assert (tmp_path / "r" / "index.html").is_file()
    assert str(tmp_path / "r" / "index.html") in capsys.readouterr().out
    assert main(["report", str(SAMPLES / "hongshan-2024-budget.txt"), "--out", str(tmp_path / "s"),
                 "--previous", str(tmp_path / "none")]) == 2  # fmt: skip
    assert "no check.json" in capsys.readouterr().err
