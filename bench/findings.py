"""Findings against what is known to be wrong, per corpus: of the errors each document is known to contain (found by
exact arithmetic from the document), how many are reported as errors, only as warnings, or not at all; and how many
error-level findings are not among them (false errors: a good figure quarantined).

Known errors: the samples' hand-checked errata (tests/test_sample_errata.py), the real documents' errors
(tests/test_real_documents.py) and the real errors no check establishes yet (KNOWN_UNFOUND below). A finding matches a
known error when its message or value contains the text that names it. With `--against DIR` another checkout's engine
checks the same files, side by side. `uv run python bench/findings.py [--against DIR]`; false errors are listed on
stderr."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _engine

from budgetwatch.cli.main import bundled_samples
from tests.test_real_documents import DOCUMENTS, NAMES, TRUE_ERRORS
from tests.test_sample_errata import EXPECTED

# real errors (by exact arithmetic from the document) that no check reports yet: (document, id, text, why)
KNOWN_UNFOUND = [
    ("js-rdbgt-2017-budget", "JS17-E01", "商品和服务支出", "机关运行经费 said equal to 302 (1,585.96): 5,619.31"),
    ("js-rdbgt-2017-budget", "JS17-E02", "10528.33", "行政运行（项） given the 类 total; 2010101 is 4,545.94"),
    ("sh-putuo-czj-2024-final", "CZJ-E3", "持平", "总计 said 持平; by 五（一） it fell by at least 41.51 万元"),
]


def known() -> dict[str, list[tuple[str, str]]]:
    """Each document's known errors as (id, text that names it)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for path in bundled_samples():
        short = path.stem.split("-")[0]
        out[str(path)] = [(item, text) for s, item, _, sev, _, text in EXPECTED if s == short and sev == "error"]
    for name in NAMES:
        path = str(next(DOCUMENTS.glob(f"{name}.*")))
        found = [(f"{check} {text}", text) for n, check, text, _ in TRUE_ERRORS if n == name]
        out[path] = found + [(item, text) for n, item, text, _ in KNOWN_UNFOUND if n == name]
    return out


def _corpus(path: str) -> str:
    return "samples" if "/data/samples/" in path else "real and texts"


def score(expected: dict[str, list[tuple[str, str]]], results: dict) -> dict[str, Counter]:
    rows: dict[str, Counter] = {}
    for path, wanted in expected.items():
        row = rows.setdefault(_corpus(path), Counter())
        findings = results[path]
        errors = [(m, a) for _, sev, m, a in findings if sev == "error"]
        warnings = [(m, a) for _, sev, m, a in findings if sev == "warning"]
        row["documents"] += 1
        row["known errors"] += len({item for item, _ in wanted})
        for item in {item for item, _ in wanted}:
            texts = [t for i, t in wanted if i == item]
            if any(t in m or t == a for t in texts for m, a in errors):
                row["reported as error"] += 1
            elif any(t in m or t == a for t in texts for m, a in warnings):
                row["only as warning"] += 1
        row["error findings"] += len(errors)
        for check, sev, message, actual in findings:
            if sev == "error" and not any(t in message or t == actual for _, t in wanted):
                row["false errors"] += 1
                print(f"  false? {Path(path).name}: {check} {message[:160]}", file=sys.stderr)
        row["warnings"] += len(warnings)
    return rows


COLUMNS = ("documents", "known errors", "reported as error", "only as warning", "error findings", "false errors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="another checkout whose engine checks the same files")
    args = parser.parse_args()
    expected = known()
    engines = {"this engine": None, **({f"engine at {args.against}": args.against} if args.against else {})}
    scored = {name: score(expected, _engine.run("check", list(expected), root)) for name, root in engines.items()}
    print("| corpus | engine | " + " | ".join(COLUMNS) + " | warnings |")
    print("|---|---|" + "---|" * (len(COLUMNS) + 1))
    for corpus in ("samples", "real and texts"):
        for name, rows in scored.items():
            row = rows[corpus]
            print(f"| {corpus} | {name} | " + " | ".join(str(row[c]) for c in (*COLUMNS, "warnings")) + " |")


if __name__ == "__main__":
    main()
