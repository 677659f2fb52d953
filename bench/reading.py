"""Reading, per corpus and template family: of the tables each document prints, how many are recognised (on their
page, where the truth names it), missed, or reported where none is printed; how many tables are listed unrecognised
or unreadable; and how many hand-transcribed cells are read exactly.

Corpora: `real` — the PDFs of tests/documents (tables.csv: what each prints, from the page images; golden/real: cells);
`samples` — the bundled text layers (every table of their family; golden: cells); `renders` — the samples drawn by
code as text, PDF, Word, Excel and HTML, under every title form of the template generations (truth: what the
sample's own text layer gives). With `--against DIR` the same files are read by another checkout's engine and the
figures printed side by side. `uv run python bench/reading.py [--against DIR]`."""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections import Counter, defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _engine

from budgetwatch.cli.main import bundled_samples
from budgetwatch.read import catalogue
from budgetwatch.read.extract import extract_path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ROOT / "tests" / "documents"
GOLDEN = ROOT / "tests" / "golden"
FOUND = ("parsed", "declared_empty")


def _number(raw: str) -> str | None:
    try:
        return str(Decimal(raw.replace(",", "").replace(" ", "")).normalize())
    except InvalidOperation:
        return None


class Truth:
    """What one file prints: its family, its tables (with first page where known) and transcribed cells."""

    def __init__(self, corpus: str, family: str, tables: set, cells: Counter, paged: bool):
        self.corpus, self.family, self.tables, self.cells, self.paged = corpus, family, tables, cells, paged


def _real() -> dict[str, Truth]:
    printed: dict[str, set] = defaultdict(set)
    for row in csv.DictReader((DOCUMENTS / "tables.csv").open(encoding="utf-8")):
        printed[row["file"]].add((row["table_id"], int(row["first_page"])))
    out = {}
    for row in csv.DictReader((DOCUMENTS / "metadata.csv").open(encoding="utf-8")):
        if row["file"].endswith(".pdf"):
            golden = GOLDEN / "real" / (Path(row["file"]).stem + ".csv")
            cells = Counter()
            if golden.exists():
                cells = Counter(
                    (r["table_id"], r["side"], r["row"], r["column_key"], _number(r["value"]))
                    for r in csv.DictReader(golden.open(encoding="utf-8"))
                    if r["value"]
                )
            out[str(DOCUMENTS / row["file"])] = Truth("real", row["family"], printed[row["file"]], cells, True)
    return out


# samples README: caidian's table section is empty (its tables were published as images)
NO_TABLES = {"caidian-2024-budget"}


def _samples() -> dict[str, Truth]:
    out = {}
    for path in bundled_samples():
        ex = extract_path(path)
        family = ex.document.family or catalogue.default_family(ex.document.kind).id
        expected = catalogue.expected_tables(ex.document.kind, family) if path.stem not in NO_TABLES else []
        tables = {(t, None) for t, _ in expected}
        golden = GOLDEN / f"{path.stem}.csv"
        cells = Counter()
        if golden.exists():
            cells = Counter(
                (r["table_id"], r["side"], r["code"], r["label"] if not r["code"] else "", r["column_key"],
                 _number(r["amount"]))
                for r in csv.DictReader(golden.open(encoding="utf-8"))
            )  # fmt: skip
        out[str(path)] = Truth("samples", family, tables, cells, False)
    return out


def _render_cells(ex) -> Counter:
    return Counter(
        (i.table_id, i.side or "", i.code or "", i.row_key or "", i.column_key.split("|")[0], _number(i.raw or ""))
        for i in ex.items
        if not i.blank
    )


def _renders(folder: Path) -> dict[str, Truth]:
    """The samples drawn in every format (the final account under every title form), written to `folder`."""
    from budgetwatch.fixtures.headings import DEFAULT  # noqa: PLC0415
    from budgetwatch.fixtures.render_pdf import renderable_tables  # noqa: PLC0415
    from tests.test_title_forms import FORMS, RENDERERS  # noqa: PLC0415

    out = {}
    for path in bundled_samples():
        if path.stem in NO_TABLES:
            continue
        ex = extract_path(path)
        forms = FORMS if ex.document.kind == "final_account" else {"default": DEFAULT}
        drawn = renderable_tables(ex)  # performance-target tables (表11, 表12) are not drawn as grids
        found = {(t.table_id, None) for t, _ in drawn}
        drawn_cells = Counter({k: v for k, v in _render_cells(ex).items() if (k[0], None) in found})
        for form, heading in forms.items():
            for fmt, render in RENDERERS.items():
                target = folder / f"{path.stem}.{form}.{fmt}.{_SUFFIX[fmt]}"
                target.write_bytes(render(ex, heading))
                out[str(target)] = Truth(f"renders ({fmt})", ex.document.family, found, drawn_cells, False)
    return out


_SUFFIX = {"text": "txt", "pdf": "pdf", "docx": "docx", "xlsx": "xlsx", "html": "html"}


def _read_cells(truth: Truth, cells: list[list]) -> Counter:
    """The engine's cells keyed as the truth keys them."""
    out = Counter()
    for table_id, side, code, row_key, label, printed_column, raw in cells:
        # plain text cannot say a value is printed over two columns: renders and real cells keep the first key
        number = _number(raw)
        column = printed_column if truth.corpus == "samples" else printed_column.split("|")[0]
        if truth.corpus == "real":
            row = code or row_key or ("合计" if label in ("合计", "总计", "") else label)
            out[(table_id, side, row, column, number)] += 1
        elif truth.corpus == "samples":
            out[(table_id, side, code, label if not code else "", column, number)] += 1
        else:
            out[(table_id, side, code, row_key, column, number)] += 1
    return out


def score(truths: dict[str, Truth], results: dict) -> dict[tuple[str, str], Counter]:
    """Per (corpus, family): documents, tables printed / recognised / missed / reported where not printed,
    unrecognised and unreadable tables, transcribed cells and those read exactly."""
    rows: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for path, truth in truths.items():
        got = results[path]
        row = rows[(truth.corpus, truth.family or "(none)")]
        row["documents"] += 1
        row["failed"] += bool(got.get("error"))
        found = [(t, p) for t, status, p in got["tables"] if status in FOUND]
        found_ids = {t for t, _ in found}
        hits = (
            len(truth.tables & set(found))
            if truth.paged
            else len({t for t, _ in truth.tables} & found_ids)
        )  # fmt: skip
        row["printed"] += len(truth.tables)
        row["recognised"] += hits
        row["missed"] += len(truth.tables) - hits
        row["not printed"] += len(found_ids - {t for t, _ in truth.tables})
        row["unrecognised"] += sum(status == "unrecognised" for _, status, _ in got["tables"])
        row["unreadable"] += sum(status == "unreadable" for _, status, _ in got["tables"])
        row["cells"] += sum(truth.cells.values())
        row["cells exact"] += sum((truth.cells & _read_cells(truth, got["cells"])).values())
    return rows


COLUMNS = ("documents", "printed", "recognised", "missed", "not printed", "unrecognised", "unreadable", "cells exact")


def _cell(row: Counter, column: str) -> str:
    if column == "cells exact":
        return f"{row['cells exact']} / {row['cells']}" if row["cells"] else "–"
    if column == "documents" and row["failed"]:
        return f"{row['documents']} ({row['failed']} failed)"
    return str(row[column])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="another checkout whose engine reads the same files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        truths = {**_real(), **_samples(), **_renders(Path(tmp))}
        engines = {"this engine": None, **({f"engine at {args.against}": args.against} if args.against else {})}
        scored = {name: score(truths, _engine.run("read", list(truths), root)) for name, root in engines.items()}
    print("| corpus | family | engine | " + " | ".join(COLUMNS) + " |")
    print("|---|---|---|" + "---|" * len(COLUMNS))
    for key in sorted(next(iter(scored.values()))):
        for name, rows in scored.items():
            print(f"| {key[0]} | {key[1]} | {name} | " + " | ".join(_cell(rows[key], c) for c in COLUMNS) + " |")


if __name__ == "__main__":
    main()
