"""The budgetwatch command line.

Each command imports the stages it runs when it runs: `budgetwatch --help` or `budgetwatch rules` loads none of polars,
numba, DuckDB or the PDF readers. `extract`, `check` and `report` start their reading processes first, then import
what they need after reading in a thread while those processes read.
"""

# ruff: noqa: PLC0415 - imports inside the commands are the point of this module

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from budgetwatch.check.batch import CheckRun


def bundled_samples() -> list[Path]:
    """The sample reports that travel with budgetwatch (the embedded default)."""
    folder = resources.files("budgetwatch").joinpath("data/samples")
    return sorted(Path(str(folder)).glob("*.txt"))


def _start_reading(paths: list[str]) -> None:
    """The reading processes start importing the readers before this process imports anything more."""
    from budgetwatch.read.isolation import READ_WORKERS, expand, start_reading_processes

    start_reading_processes(min(READ_WORKERS, len(expand(paths))))


# what `check` and `report` need after reading: the checks (polars, numpy, pandera)
_CHECKS = ("budgetwatch.check.validate", "budgetwatch.check.document_checks", "budgetwatch.check.narrative_checks")


def _load_meanwhile(*modules: str) -> threading.Thread:
    """Modules imported in a thread while the reading processes read: they have cores of their own, and this
    process only waits for them. Join it before leaving."""

    def load() -> None:
        for module in modules:
            importlib.import_module(module)

    thread = threading.Thread(target=load, name="load-meanwhile", daemon=True)
    thread.start()
    return thread


def _extract(args: argparse.Namespace) -> int:
    _start_reading(args.paths)
    from budgetwatch.check.batch import extract_all

    loading = _load_meanwhile("budgetwatch.publish.outputs")
    extractions, failures = extract_all(args.paths)
    loading.join()
    from budgetwatch.publish.outputs import write_extractions

    written = write_extractions(extractions, Path(args.out))
    for name, path in written.items():
        print(f"{name}: {path} (+ .csv)")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 2 if failures else 0


def _checked(paths: list[str], *outputs: str) -> CheckRun:
    """Every document read and checked (`check_paths`), the checks and `outputs` loaded while reading."""
    _start_reading(paths)
    from budgetwatch.check.batch import CheckRun, extract_all, validate_extractions

    loading = _load_meanwhile(*_CHECKS, *outputs)
    extractions, failures = extract_all(paths)
    loading.join()
    return CheckRun(reports=validate_extractions(extractions), unreadable=failures)


def _check(args: argparse.Namespace) -> int:
    run = _checked(args.paths, "budgetwatch.publish.outputs")
    from budgetwatch.publish.outputs import run_json, run_text, write_findings

    if args.out:
        write_findings(run, Path(args.out))
    if args.format == "json":
        print(json.dumps(run_json(run), ensure_ascii=False, indent=2))
    else:
        print(run_text(run))
    for failure in run.unreadable:
        print(f"error: {failure}", file=sys.stderr)
    return run.exit_status


def _report(args: argparse.Namespace) -> int:
    """Check the documents and write the steward's HTML report (exit status as for check)."""
    run = _checked(args.paths, "budgetwatch.report", "budgetwatch.report.history")
    from budgetwatch.report import write_report
    from budgetwatch.report.history import PreviousRunError

    try:
        index = write_report(run, Path(args.out), previous=Path(args.previous) if args.previous else None)
    except PreviousRunError as exc:
        print(f"error: previous run {exc}", file=sys.stderr)
        return 2
    errors = sum(len(r.errors) for r in run.reports)
    warnings = sum(len(r.warnings) for r in run.reports)
    print(f"{len(run.reports)} documents, {errors} errors, {warnings} warnings: {index}")
    for failure in run.unreadable:
        print(f"error: {failure}", file=sys.stderr)
    return run.exit_status


def _publish(args: argparse.Namespace) -> int:
    """Check local documents and publish each into the dataset: published when it has no error, else quarantined
    with its findings (exit status as for check). Stewards are not told and the findings ledger is not filed: that
    is the process-documents flow's run."""
    run = _checked(args.paths, "budgetwatch.publish.dataset", "budgetwatch.acquire.docref")
    from budgetwatch.acquire.docref import DocumentRef
    from budgetwatch.publish.dataset import Dataset, publish

    dataset = Dataset(Path(args.dataset))
    for report in run.reports:
        document = report.extraction.document
        ref = DocumentRef(path=document.source, sha256=document.sha256)
        outcome = publish(dataset, ref, report)
        print(f"{outcome.action}: {document.source} ({len(report.errors)} errors, {len(report.warnings)} warnings)")
    for failure in run.unreadable:
        print(f"error: {failure}", file=sys.stderr)
    return run.exit_status


def _demo(args: argparse.Namespace) -> int:
    """The whole pipeline on the embedded sample portal (budgetwatch.cli.demo)."""
    from budgetwatch.cli import demo

    return demo.run(Path(args.out))


def _sources(args: argparse.Namespace) -> int:
    """List the sources and check the registry: exit 2 when an entry is unsound."""
    from budgetwatch.acquire import sources

    try:
        registry = sources.load(args.file)
    except sources.RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bad = 0
    for s in registry:
        state = "enabled" if s.enabled else "disabled"
        verified = sum(c.verified for c in s.columns)
        columns = f"{len(s.columns)} columns ({verified} verified)"
        print(f"{s.id}\t{s.name}\t{state}\t{s.scheme}\t{columns}\t{'、'.join(s.departments)}")
        for problem in s.problems:
            bad += 1
            print(f"error: {s.id} {s.name}: {problem}", file=sys.stderr)
    return 2 if bad else 0


def _serve(args: argparse.Namespace) -> int:
    """A local Prefect server and worker with every deployment, limit, block and automation of budgetwatch.

    Runs as its own program (budgetwatch.service.orchestration) so that the other commands do not pay for importing
    Prefect.
    """
    os.execv(sys.executable, [sys.executable, "-m", "budgetwatch.service.orchestration", *args.options])
    return 0


def _tables(_: argparse.Namespace) -> int:
    from budgetwatch.read import catalogue

    for spec in catalogue.tables():
        columns = ", ".join(c.key for c in spec.all_columns())
        print(f"{spec.id}\t{spec.title}\t{spec.layout}\t{columns}")
    return 0


def _rules(_: argparse.Namespace) -> int:
    from budgetwatch.check.rules import rules

    for rule in rules():
        print(f"{rule.id}\t{rule.relation}\t{rule.basis}\t{rule.category}\t{rule.zh}\t{rule.en}")
    return 0


def crawl_parser(sub: argparse._SubParsersAction) -> None:
    from budgetwatch.cli import crawl

    crawl.add_parser(sub)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="budgetwatch", description="Check department budgets and final accounts.")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("extract", help="canonical tables of documents as Parquet and CSV")
    e.add_argument("paths", nargs="+", help="documents, or folders of documents")
    e.add_argument("--out", required=True, help="output folder")
    e.set_defaults(run=_extract)
    c = sub.add_parser("check", help="extraction plus every validation; exit 0 clean, 1 errors, 2 unreadable")
    c.add_argument("paths", nargs="+", help="documents, or folders of documents")
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.add_argument("--out", help="also write check.json and findings.csv (UTF-8 with BOM) to this folder")
    c.set_defaults(run=_check)
    h = sub.add_parser("report", help="check documents and write an HTML report with CSV/XLSX exports")
    h.add_argument("paths", nargs="+", help="documents, or folders of documents")
    h.add_argument("--out", required=True, help="report folder (entry page: OUT/index.html)")
    h.add_argument("--previous", help="a previous report folder or check.json, to show how the counts changed")
    h.set_defaults(run=_report)
    u = sub.add_parser("publish", help="check documents and publish or quarantine each into a dataset folder")
    u.add_argument("paths", nargs="+", help="documents, or folders of documents")
    u.add_argument("--dataset", required=True, help="dataset folder (created on first publication)")
    u.set_defaults(run=_publish)
    d = sub.add_parser("demo", help="crawl the embedded sample portal, check, publish and report what it holds")
    d.add_argument("--out", default="budgetwatch-demo", help="output folder (default: ./budgetwatch-demo)")
    d.set_defaults(run=_demo)
    r = sub.add_parser("sources", help="list the portal sources and check the registry")
    r.add_argument("--file", help="a registry file (default: the bundled budgetwatch/data/sources.yaml)")
    r.set_defaults(run=_sources)
    crawl_parser(sub)
    v = sub.add_parser(
        "serve",
        add_help=False,
        prefix_chars="+",  # every option goes to budgetwatch.service.orchestration's own parser
        help="start a local Prefect server and worker and deploy every budgetwatch flow (serve --help: options)",
    )
    v.add_argument("options", nargs=argparse.REMAINDER, help="see budgetwatch serve --help")
    v.set_defaults(run=_serve)
    sub.add_parser("tables", help="list the standard tables of the catalogue").set_defaults(run=_tables)
    sub.add_parser("rules", help="list the validation rules").set_defaults(run=_rules)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
