"""The accounting identities find what a careful auditor finds on the samples, and every real change to an amount."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from budgetwatch.check import batch as checking
from budgetwatch.check.batch import validate_extractions
from budgetwatch.check.rules import identity_rules
from budgetwatch.check.validate import comparisons, frames, identity_findings
from budgetwatch.fixtures.render_office import extraction_to_docx, extraction_to_html, extraction_to_xlsx
from budgetwatch.fixtures.render_pdf import extraction_to_pdf
from budgetwatch.read.extract import extract_bytes, extract_path

from .conftest import consistent_budget


def _findings(extraction):
    (report,) = validate_extractions([extraction])
    return report.findings


def _has(findings, check_id, severity, category=None, *, code=None, column=None):
    for f in findings:
        first = f.locations[0] if f.locations else None
        if f.check_id != check_id or str(f.severity) != severity:
            continue
        if category and f.category != category:
            continue
        if code is not None and (first is None or first.code != code):
            continue
        if column is not None and (first is None or first.column != column):
            continue
        return f
    return None


@pytest.mark.parametrize(
    ("item", "check_id", "code", "column"),
    [
        ("HP-01 公开01 vs 公开03 class 208", "X-F01-03c", "208", "amount"),
        ("HP-01 公开04 vs 公开05 class 208", "X-F04-05c", "208", "general_budget"),
        ("HP-02 公开02 合计 vs Σ classes", "F02-2", None, "total_income"),
        ("HP-02 公开03 合计 vs Σ classes", "F03-2", None, "total_expenditure"),
        ("HP-03 公开03 210 row", "F03-1", "210", "total_expenditure"),
        ("HP-04 公开03 21015 row", "F03-1", "21015", "total_expenditure"),
        ("HP-05 公开03 2101502 row", "F03-1", "2101502", "total_expenditure"),
        ("HP-06 公开03 基本支出 column", "F03-2", None, "basic"),
        ("HP-07 公开03 项目支出 column", "F03-2", None, "project"),
    ],
)
def test_huangpi_rounding_mismatches_are_rounding_warnings(huangpi, item, check_id, code, column):
    finding = _has(_findings(huangpi), check_id, "warning", "rounding", code=code, column=column)
    assert finding is not None, item
    assert finding.difference in ("0.01", "-0.01")


def test_huangpi_tables_raise_no_arithmetic_error(huangpi):
    errors = [
        f for f in _findings(huangpi) if str(f.severity) == "error" and f.category in ("arithmetic", "cross_table")
    ]
    assert errors == []


def test_consistent_parts_are_checked_and_hold(huangpi):
    items, tables = frames([huangpi])
    c = comparisons(items, tables)
    held = c.filter(pl.col("difference") == 0)
    for check_id in ("F01-1", "F01-2", "F01-4", "F01-5", "F04-3", "F04-7", "X-F05-06"):
        assert held.filter(pl.col("check_id") == check_id).height >= 1, check_id
    # 公开06: 301 = Σ its items, 人员经费合计 = 301 + 303, 公用经费合计 = 302 + 310
    assert held.filter(pl.col("check_id").is_in(["F06-1", "F06-2", "F06-3"])).height >= 4


def test_hongshan_copied_header_and_three_decimal_value(hongshan):
    findings = _findings(hongshan)
    assert _has(findings, "L-02", "error", "label") is not None  # HS-01
    rounding = _has(findings, "B11-1", "warning", "rounding", column="year_minus_2")  # HS-07
    assert rounding is not None and rounding.actual == "718.740" and rounding.expected == "718.745"
    assert _has(findings, "L-03", "warning", "label") is not None
    identity_errors = [
        f for f in findings if str(f.severity) == "error" and f.category in ("arithmetic", "cross_table")
    ]
    assert identity_errors == []


def test_caidian_missing_tables_and_unit_words(caidian):
    findings = _findings(caidian)
    missing = _has(findings, "C-01", "error", "completeness")
    assert missing is not None and len(missing.locations) == 12
    units = [f.actual for f in findings if f.check_id == "T-03"]
    assert "7999.76元" in units and "万元万元" in units


def test_huangpi_template_text_and_city_wording(huangpi):
    findings = _findings(huangpi)
    assert len([f for f in findings if f.check_id == "T-01"]) == 3
    assert {f.actual for f in findings if f.check_id == "T-02"} == {"指市级财政", "是指市直部门"}


def test_exactly_consistent_tables_produce_no_finding(hongshan):
    items, tables = consistent_budget(hongshan)
    assert identity_findings(items, tables) == {}
    assert comparisons(items, tables).height > 250  # they were checked, not skipped


@pytest.mark.parametrize("seed", range(40))
def test_a_changed_amount_is_an_error_that_names_its_cell(hongshan, seed):
    items, tables = consistent_budget(hongshan)
    rng = random.Random(seed)
    printed = items.with_row_index("_i").filter(~pl.col("blank"))
    target = printed.row(rng.randrange(printed.height), named=True)
    delta = rng.choice([20_000, 370_000, 12_500_000, 9_999_990_000]) * rng.choice([1, -1])
    mutated = items.with_row_index("_i").with_columns(
        pl.when(pl.col("_i") == target["_i"]).then(pl.col("micros") + delta).otherwise(pl.col("micros")).alias("micros")
    )
    findings = identity_findings(mutated.drop("_i"), tables)[hongshan.document.sha256]
    errors = [f for f in findings if str(f.severity) == "error"]
    assert errors, (target["table_id"], target["label"], target["column_key"], delta)
    located = any(
        loc.table_id == target["table_id"] and loc.row_label == target["label"] and loc.column == target["column_key"]
        for f in errors
        for loc in f.locations
    )
    assert located, (target["table_id"], target["label"], target["column_key"])


def test_every_rule_runs_where_its_tables_print_values(huangpi, hongshan):
    """Nothing passes by being skipped: a rule not evaluated on the samples has a reason."""
    items, tables = frames([huangpi, hongshan])
    evaluated = set(comparisons(items, tables).get_column("check_id").unique().to_list())
    reasons = {
        "F04-2": "年初结转 rows all blank",
        "B04-2": "上年结转 rows all blank",
        "F05-1": "基本/项目 merged in one cell in 公开05",
        **{r: "table declared empty" for r in ("F07-1", "F07-2", "F07-3", "F08-1", "F08-2")},
        **{r: "table declared empty" for r in ("F09-1", "F09-2", "F09-3", "F09-4", "B08-1", "B08-2", "B09-1", "B09-2")},
        **{r: "a table or column only other families print" for r in OTHER_FAMILIES},
        "H-01": "no table outside the templates",
    }
    not_evaluated = {r.id for r in identity_rules()} - evaluated
    assert not_evaluated == set(reasons)


OTHER_FAMILIES = ("B01-6", "B01-7", "B04-7", "B04-8", "B05-4", "B07-3", "B13-1", "B13-2", "B15-1", "B16-1", "B17-1")
OTHER_FAMILIES += ("B18-1",)


def test_the_rules_of_other_families_tables_run_on_their_reports_and_hold_there():
    """Jiangsu's and Shanghai's own tables and columns (收入预算总表, 支出用途, 单位预留机动经费 …) are checked on real
    reports of those families, which are consistent in them."""
    documents = Path(__file__).resolve().parent / "documents"
    names = ("js-rdbgt-2017-budget.pdf", "sh-putuo-zfb-2025-unit-budget.pdf")
    extractions = [extract_path(documents / n) for n in names]
    items, tables = frames(extractions)
    done = comparisons(items, tables)
    assert set(OTHER_FAMILIES) <= set(done.get_column("check_id").unique().to_list())
    findings = [f for r in validate_extractions(extractions) for f in r.findings if f.check_id in OTHER_FAMILIES]
    assert [f.message for f in findings if str(f.severity) == "error"] == []


def test_rules_that_cannot_run_are_reported_with_their_reason(huangpi, caidian):
    reports = validate_extractions([huangpi, caidian])
    final = {s["check_id"]: s["reason"] for s in reports[0].skipped}
    assert final["F05-1"] == "the source merged columns this rule needs"
    assert final["F07-1"] == "final.07 is declared empty"
    assert final["F04-2"] == "no printed values to compare"
    assert not any(k.startswith(("B", "X-B")) for k in final)  # budget rules do not apply to final accounts
    budget = {s["check_id"]: s["reason"] for s in reports[1].skipped}
    assert budget["B01-1"] == "budget.01 is missing"


def test_validating_in_batches_gives_the_findings_of_one_batch(monkeypatch, huangpi, hongshan, caidian):
    documents = [huangpi, hongshan, caidian]
    whole = validate_extractions(documents)
    monkeypatch.setattr(checking, "BATCH_DOCUMENTS", 1)
    one_by_one = validate_extractions(documents)
    assert [r.extraction.document.sha256 for r in one_by_one] == [r.extraction.document.sha256 for r in whole]
    assert [[f.message for f in r.findings] for r in one_by_one] == [[f.message for f in r.findings] for r in whole]
    assert sum(len(r.errors) for r in whole) > 0


def _identity_results(extraction):
    """Each identity finding by rule, cell and figures (not by line: the formats number lines differently), and the
    rules that could not run with their reason."""
    ids = {r.id for r in identity_rules()}
    (report,) = validate_extractions([extraction])
    found = sorted(
        (
            f.check_id,
            str(f.severity),
            f.actual,
            f.expected,
            tuple((loc.table_id, loc.code, loc.column) for loc in f.locations if loc.table_id),
        )
        for f in report.findings
        if f.check_id in ids
    )
    return found, sorted((s["check_id"], s["reason"]) for s in report.skipped)


@pytest.mark.parametrize(
    "render",
    [extraction_to_pdf, extraction_to_docx, extraction_to_xlsx, extraction_to_html],
    ids=["pdf", "docx", "xlsx", "html"],
)
def test_a_document_rendered_in_any_format_raises_the_identity_findings_of_its_text(huangpi, render):
    """公开05 prints its 基本/项目 values in one cell over both columns: every format keeps them merged, so no format
    checks 小计 = 基本 + 项目 against a blank column the text does not have."""
    back = extract_bytes(render(huangpi), "rendered.bin")
    found, skipped = _identity_results(back)
    assert (found, skipped) == _identity_results(huangpi)
    assert ("F05-1", "the source merged columns this rule needs") in skipped
