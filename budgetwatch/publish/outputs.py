"""Writing results: the check report as JSON (docs/check-report.schema.json) and as text, tables as Parquet and CSV."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from budgetwatch.check.batch import CheckRun, DocumentReport
from budgetwatch.frames import document_frame, facts_frame, items_frame, tables_frame
from budgetwatch.model import Extraction, format_micros

SCHEMA_VERSION = 1


def _table_json(ex: Extraction) -> list[dict]:
    rows_by_table: dict[tuple[str, str | None], set[int]] = {}
    for item in ex.items:
        rows_by_table.setdefault((item.table_id, item.instance), set()).add(item.row_order)
    return [
        {
            "table_id": t.table_id,
            "instance": t.instance,
            "title": t.title,
            "printed_number": t.printed_number,
            "pages": t.pages,
            "lines": list(t.lines) if t.lines else None,
            "status": str(t.status),
            "rows": len(rows_by_table.get((t.table_id, t.instance), ())),
            "notes": t.notes,
        }
        for t in ex.tables
    ]


def report_json(report: DocumentReport) -> dict:
    d = report.extraction.document
    return {
        "source": d.source,
        "sha256": d.sha256,
        "department": d.department,
        "district": d.district,
        "fiscal_year": d.fiscal_year,
        "kind": str(d.kind) if d.kind else None,
        "scope": d.scope,
        "published": d.published,
        "provenance": d.provenance,
        "not_disclosure": d.not_disclosure,
        "tables": _table_json(report.extraction),
        "findings": [f.to_json() for f in report.findings],
        "skipped": report.skipped,
    }


def run_json(run: CheckRun) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "documents": [report_json(r) for r in run.reports],
        "unreadable": [{"source": e.source, "reason": e.reason} for e in run.unreadable],
    }


def run_text(run: CheckRun) -> str:
    """A summary a person reads: per document its tables, then its findings, errors first."""
    out: list[str] = []
    for r in run.reports:
        d = r.extraction.document
        kind = {"budget": "部门预算", "final_account": "部门决算"}.get(str(d.kind), "?")
        out.append(f"{d.source}")
        if not d.is_disclosure:
            out.extend([f"  {d.not_disclosure}", "  not checked", ""])
            continue
        out.append(f"  {d.department or '?'} · {d.fiscal_year or '?'} · {kind}{' · ' + d.scope if d.scope else ''}")
        guessed = [k for k, v in d.provenance.items() if v.startswith("guess")]
        if guessed:
            out.append(f"  guessed, not stated in the document: {', '.join(guessed)}")
        statuses: dict[str, list[str]] = {}
        for t in r.extraction.tables:
            statuses.setdefault(str(t.status), []).append(t.table_id + (f"[{t.instance}]" if t.instance else ""))
        out.append("  tables: " + "; ".join(f"{k} {len(v)} ({', '.join(v)})" for k, v in statuses.items()))
        amounts = sum(1 for i in r.extraction.items if not i.blank)
        out.append(f"  amounts: {amounts} · narrative numbers: {len(r.extraction.facts)}")
        out.append(
            f"  findings: {len(r.errors)} errors, {len(r.warnings)} warnings; "
            f"{len(r.skipped)} identity rules could not run (see skipped in the JSON)"
        )
        for f in r.findings:
            out.append(f"    [{f.severity}] {f.check_id} {f.category}: {f.message.split(' | ')[0]}")
        out.append("")
    for e in run.unreadable:
        out.append(f"{e.source}\n  could not be read: {e.reason}\n")
    errors = sum(len(r.errors) for r in run.reports)
    warnings = sum(len(r.warnings) for r in run.reports)
    others = sum(not r.extraction.document.is_disclosure for r in run.reports)
    out.append(
        f"{len(run.reports) - others} documents checked, {others} not disclosure reports, {len(run.unreadable)} "
        f"unreadable; {errors} errors, {warnings} warnings"
    )
    return "\n".join(out)


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """CSV in UTF-8 with a BOM, so that Excel and WPS open the Chinese correctly; lists become JSON text."""
    flat = frame.with_columns(
        [
            pl.col(c).map_elements(lambda v: json.dumps(v.to_list(), ensure_ascii=False), return_dtype=pl.String)
            for c, t in frame.schema.items()
            if isinstance(t, pl.List)
        ]
    )
    path.write_bytes(b"\xef\xbb\xbf" + flat.write_csv().encode("utf-8"))


def _with_amounts(items: pl.DataFrame) -> pl.DataFrame:
    """Exact decimal text beside the integer micros, for people reading the CSV."""
    return items.with_columns(
        pl.struct("micros", "decimals")
        .map_elements(lambda c: format_micros(c["micros"], c["decimals"]) or None, return_dtype=pl.String)
        .alias("amount")
    )


def write_extractions(extractions: list[Extraction], out: Path) -> dict[str, Path]:
    """documents, tables, line_items and narrative_facts, each as Parquet and CSV in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    parts = {
        "documents": [document_frame(e) for e in extractions],
        "tables": [tables_frame(e) for e in extractions],
        "line_items": [items_frame(e) for e in extractions],
        "narrative_facts": [facts_frame(e) for e in extractions],
    }
    written = {}
    for name, frames in parts.items():
        frame = pl.concat(frames) if frames else pl.DataFrame()
        if name == "line_items" and not frame.is_empty():
            frame = _with_amounts(frame)
        frame.write_parquet(out / f"{name}.parquet")
        write_csv(frame, out / f"{name}.csv")
        written[name] = out / f"{name}.parquet"
    return written


FINDING_COLUMNS = (
    "source", "department", "fiscal_year", "kind", "check_id", "severity", "basis", "category", "message",
    "expected", "actual", "difference", "table_id", "row_label", "code", "column", "page", "line",
)  # fmt: skip


_HEADERS_ZH = ("文档", "部门", "年度", "类型", "检查", "级别", "依据", "类别", "问题", "应为", "印刷", "差额", "表",
               "行", "科目编码", "列", "页", "行号")  # fmt: skip
# people read the Chinese; a program finds the column by the English key after the space
FINDING_HEADERS = {key: f"{zh} {key}" for key, zh in zip(FINDING_COLUMNS, _HEADERS_ZH, strict=True)}


def findings_frame(run: CheckRun) -> pl.DataFrame:
    """One row per finding, located at its first cell, for stewards who work in Excel or WPS."""
    rows = []
    for r in run.reports:
        d = r.extraction.document
        for f in r.findings:
            first = f.locations[0] if f.locations else None
            rows.append(
                {
                    "source": d.source,
                    "department": d.department,
                    "fiscal_year": d.fiscal_year,
                    "kind": str(d.kind) if d.kind else None,
                    "check_id": f.check_id,
                    "severity": str(f.severity),
                    "basis": f.basis,
                    "category": f.category,
                    "message": f.message,
                    "expected": f.expected,
                    "actual": f.actual,
                    "difference": f.difference,
                    **{k: getattr(first, k) if first else None for k in ("table_id", "row_label", "code", "column")},
                    "page": first.page if first else None,
                    "line": first.line if first else None,
                }
            )
    schema = {c: pl.String for c in FINDING_COLUMNS} | {"fiscal_year": pl.Int32, "page": pl.Int32, "line": pl.Int32}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def write_findings(run: CheckRun, out: Path) -> Path:
    """check.json (the report) and findings.csv (one row a finding, UTF-8 with BOM) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "check.json"
    path.write_text(json.dumps(run_json(run), ensure_ascii=False, indent=2), encoding="utf-8")
    write_csv(findings_frame(run).rename(FINDING_HEADERS), out / "findings.csv")
    return path


__all__ = ["FINDING_HEADERS", "report_json", "run_json", "run_text", "write_extractions", "write_findings"]
