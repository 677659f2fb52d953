"""Validation: the rules compiled into comparisons, checked through pandera, graded, and turned into findings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import polars as pl

from budgetwatch.check.evaluate import Evaluation, evaluate
from budgetwatch.check.rules import Rule, identity_rules, rules
from budgetwatch.frames import items_frame, tables_frame
from budgetwatch.model import Extraction, Finding, Location, Severity, format_micros
from schemas.identities import failing

_FINAL_01 = {"table_id": "final.01"}


# Σ |amount| of some rows of a table, per document, and how many of its items there are (keys None: every row)
RowTotals = Callable[[str, str | None, Sequence[str] | None], tuple[np.ndarray, np.ndarray]]


def conditions(rows: RowTotals) -> dict[str, np.ndarray]:
    """Per document, whether each conditional rule applies (judged from 公开01)."""
    _, has_01 = rows("final.01", None, None)
    carry = (
        rows("final.01", "income", ["use_of_balance", "carryover_begin"])[0]
        + rows("final.01", "expenditure", ["balance_distribution", "carryover_end"])[0]
    )
    other = rows(
        "final.01",
        "income",
        ["higher_subsidy", "business_income", "operating_income", "affiliated_remittance", "other_income"],
    )[0]
    funds = rows("final.01", "income", ["government_fund", "state_capital"])[0]
    no_carry = (has_01 > 0) & (carry == 0)
    all_fiscal = no_carry & (other == 0)
    return {"no_carryover": no_carry, "all_fiscal": all_fiscal, "all_general_budget": all_fiscal & (funds == 0)}


def comparisons(items: pl.DataFrame, tables: pl.DataFrame) -> pl.DataFrame:
    """Every place where an identity rule can be evaluated, for all documents at once, held or not."""
    return evaluate(items, tables, identity_rules(), conditions).comparisons


def evaluated(items: pl.DataFrame, tables: pl.DataFrame) -> Evaluation:
    """The comparisons that fail (those that hold are counted, not listed) and the rules that ran in each document."""
    return evaluate(items, tables, identity_rules(), conditions, held=False)


def grade(failed: pl.DataFrame) -> pl.DataFrame:
    """rounding (warning) when rounding each printed value involved can explain the difference, else error."""
    rounding = pl.col("difference").abs() <= pl.col("tolerance")
    blank_total = pl.col("actual_blank").fill_null(False)
    return failed.with_columns(
        pl.when(rounding | blank_total).then(pl.lit("warning")).otherwise(pl.lit("error")).alias("severity"),
        pl.when(blank_total)
        .then(pl.lit("blank_total"))
        .when(rounding)
        .then(pl.lit("rounding"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("grade"),
    )


def _locations(row: dict, cells: list[dict]) -> list[Location]:
    """The checked cell first, then every other printed cell the identity involves."""
    head = Location(
        table_id=row["table_id"], row_label=row["row_label"], code=row["code"], column=row["column"], line=row["line"]
    )
    return [head, *(Location(**cells[i]) for i in row["cells"] or [])]


def _where(row: dict) -> str:
    parts = [row["table_id"]]
    if row.get("instance"):
        parts.append(row["instance"])
    if row.get("side"):
        parts.append(row["side"])
    label = row.get("row_label") or ""
    code = row.get("code") or ""
    parts.append(f"{code} {label}".strip() or "-")
    parts.append(row["column"] or "")
    return " ".join(p for p in parts if p)


def comparison_findings(graded: pl.DataFrame, items: pl.DataFrame) -> dict[str, list[Finding]]:
    """Findings of graded comparisons; `items` are the line items they were evaluated on (their cells point there)."""
    by_id = {r.id: r for r in rules()}
    out: dict[str, list[Finding]] = defaultdict(list)
    wanted = graded.select(pl.col("cells").explode().drop_nulls().unique().sort()).to_series()
    located = items.select(
        "table_id", pl.col("label").alias("row_label"), "code", pl.col("column_key").alias("column"), "line"
    ).gather(wanted)
    cells = dict(zip(wanted.to_list(), located.iter_rows(named=True), strict=True))
    for row in graded.iter_rows(named=True):
        rule = by_id[row["check_id"]]
        decimals = int(row["decimals"] or 2)
        actual = format_micros(row["actual"], decimals)
        expected = format_micros(row["expected"], decimals)
        difference = format_micros(row["difference"], decimals)
        category = row["grade"] or rule.category
        message = (
            f"{rule.zh}：{_where(row)} 为 {actual}，应为 {expected}（{row['other']}），差 {difference}"
            f" | {rule.en}: {actual} printed, {expected} expected, difference {difference}"
        )
        out[row["sha256"]].append(
            Finding(
                check_id=rule.id,
                severity=Severity(row["severity"]),
                category=category,
                message=message,
                expected=expected,
                actual=actual,
                difference=difference,
                locations=_locations(row, cells),
                basis=rule.basis,
            )
        )
    return out


def frames(extractions: Iterable[Extraction]) -> tuple[pl.DataFrame, pl.DataFrame]:
    extractions = list(extractions)
    items = pl.concat([items_frame(e) for e in extractions]) if extractions else None
    tables = pl.concat([tables_frame(e) for e in extractions]) if extractions else None
    return items, tables


def identity_findings(items: pl.DataFrame, tables: pl.DataFrame) -> dict[str, list[Finding]]:
    """Findings of every arithmetic and cross-table rule, for all documents in the frames."""
    return comparison_findings(grade(failing(evaluated(items, tables).comparisons)), items)


def checked_and_skipped(
    items: pl.DataFrame, tables: pl.DataFrame
) -> tuple[dict[str, list[Finding]], dict[str, list[dict[str, str]]]]:
    """Findings, and for each document the identity rules that could not run there, each with its reason."""
    evaluation = evaluated(items, tables)
    findings = comparison_findings(grade(failing(evaluation.comparisons)), items)
    ran = evaluation.ran.by_document()
    status = {(sha, t): st for sha, t, st in tables.select("sha256", "table_id", "status").iter_rows()}
    merged = {
        (sha, t)
        for sha, t in items.filter(pl.col("column_key").str.contains("|", literal=True))
        .select("sha256", "table_id")
        .unique()
        .iter_rows()
    }
    skipped: dict[str, list[dict[str, str]]] = defaultdict(list)
    families = defaultdict(set)  # budget / final: a rule of the other family does not apply
    for sha, table in status:
        families[sha].add(table.split(".")[0])
    for sha in tables.get_column("sha256").unique().to_list():
        for rule in identity_rules():
            if rule.id in ran.get(sha, ()) or not {t.split(".")[0] for t in rule.tables} <= families[sha]:
                continue
            skipped[sha].append({"check_id": rule.id, "reason": _skip_reason(rule, sha, status, merged)})
    return findings, skipped


def _skip_reason(rule: Rule, sha: str, status: dict, merged: set) -> str:
    for table in rule.tables:
        st = status.get((sha, table))
        if st in (None, "missing", "image_only", "unreadable"):
            return f"{table} is {st or 'missing'}"
        if st == "declared_empty":
            return f"{table} is declared empty"
    if any((sha, t) in merged for t in rule.tables):
        return "the source merged columns this rule needs"
    return "no printed values to compare"


__all__ = ["checked_and_skipped", "comparisons", "evaluated", "frames", "grade", "identity_findings"]
