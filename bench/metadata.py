"""Metadata right out of N, per corpus: fiscal year, department, kind and scope read from each document, against the
hand-made ground truth (tests/documents/metadata.csv); and the same on variants of those documents made by code
(other departments, other years, the cover's first line split, 附件2 above the cover, traditional characters),
which no rule was written against. Prints a table; `uv run python bench/metadata.py`."""

from __future__ import annotations

import csv
import hashlib
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from budgetwatch.model import Extraction
from budgetwatch.read import script
from budgetwatch.read.extract import extract_path, extract_text

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ROOT / "tests" / "documents"
SAMPLES = ROOT / "budgetwatch" / "data" / "samples"
FIELDS = ("fiscal_year", "department", "kind", "scope")
OTHERS = ("上海市普陀区绿化和市容管理局", "中共上海市普陀区委宣传部", "江苏省教育厅")
TO_TRADITIONAL = str.maketrans(script._SIMPLIFIED, script._TRADITIONAL)


def truth() -> list[dict]:
    rows = list(csv.DictReader((DOCUMENTS / "metadata.csv").open(encoding="utf-8")))
    for row in rows:
        row["path"] = (SAMPLES if row["corpus"] == "samples" else DOCUMENTS) / row["file"]
        row["fiscal_year"] = int(row["fiscal_year"]) if row["fiscal_year"] else None
        for name in ("department", "kind", "scope"):
            row[name] = row[name] or None
    return rows


def read(ex: Extraction) -> dict:
    d = ex.document
    got = {"fiscal_year": d.fiscal_year, "department": d.department, "kind": str(d.kind) if d.kind else None}
    got["scope"] = d.scope
    got["guessed"] = [k for k, v in d.provenance.items() if v.startswith("guess")]
    return got


def _shift_years(text: str, by: int) -> str:
    return re.sub(r"20\d\d(?=\s*年)", lambda m: str(int(m.group(0)) + by), text)


def _split_first_line(text: str) -> str:
    lines = text.split("\n")
    k = next(i for i, line in enumerate(lines) if line.strip())
    half = len(lines[k]) // 2
    lines[k : k + 1] = [lines[k][:half], lines[k][half:]]
    return "\n".join(lines)


def variants(row: dict, text: str) -> dict[str, tuple[str, dict]]:
    """Variants of one document and what each must read as."""
    expected = {k: row[k] for k in FIELDS}
    out: dict[str, tuple[str, dict]] = {
        "years +3": (_shift_years(text, 3), {**expected, "fiscal_year": (row["fiscal_year"] or 0) + 3 or None}),
        "cover line split": (_split_first_line(text), expected),
        "附件 above the cover": ("附件2\n" + text, expected),
        "traditional": (
            text.translate(TO_TRADITIONAL),
            {**expected, "department": row["department"] and row["department"].translate(TO_TRADITIONAL)},
        ),
    }
    for other in OTHERS if row["department"] else ():
        out[other] = (text.replace(row["department"], other), {**expected, "department": other})
    if row["fiscal_year"] is None:
        out["years +3"] = (out["years +3"][0], expected)
    return out


def score(corpus: str, results: list[tuple[str, dict, dict]], table: dict) -> None:
    for name, got, expected in results:
        right = table.setdefault(corpus, defaultdict(int))
        right["files"] += 1
        right["guessed"] += bool(got["guessed"])
        for field in FIELDS:
            if got[field] == expected[field]:
                right[field] += 1
            else:
                print(f"  {corpus} {name}: {field} {got[field]!r}, expected {expected[field]!r}", file=sys.stderr)


def run(make: Callable[[dict], list[tuple[str, dict, dict]]]) -> dict:
    table: dict = {}
    for row in truth():
        for corpus, results in make(row):
            score(corpus, results, table)
    return table


def _documents(row: dict) -> list:
    ex = extract_path(row["path"])
    expected = {k: row[k] for k in FIELDS}
    out = [(row["corpus"], [(row["file"], read(ex), expected)])]
    made = []
    for name, (text, want) in variants(row, ex.text).items():
        sha = hashlib.sha256(text.encode()).hexdigest()
        made.append((f"{row['file']} ({name})", read(extract_text(text, source=name, sha256=sha)), want))
    return [*out, ("variants", made)]


def main() -> None:
    table = run(_documents)
    print("| corpus | files | fiscal year | department | kind | scope | a value guessed |")
    print("|---|---|---|---|---|---|---|")
    for corpus in ("samples", "real", "texts", "variants"):
        r = table.get(corpus)
        if r:
            cells = " | ".join(f"{r[f]} / {r['files']}" for f in FIELDS)
            print(f"| {corpus} | {r['files']} | {cells} | {r['guessed']} |")


if __name__ == "__main__":
    main()
