"""PDF reading, side by side on the generated corpus: this project's reader, plain pdfplumber, pypdfium2 text.

The corpus is the bundled samples rendered by the project's generator (tables and narrative, plain and copy-protected).
Prints median milliseconds a page for each method and, for this project's reader, the share of printed table amounts
read back exactly (cell accuracy against the source text layer). Then, when the `ocr` extra and a CJK font are
installed, the same tables as scanned pages (PNG at 200 dpi in an image-only PDF) read by OCR: seconds a page and
cell accuracy (run once; OCR takes seconds a page).

    uv run python bench/pdf_pages.py [REPEATS]
"""

# ruff: noqa: PLC0415 - each method imports its own library, as a caller of only that library would

from __future__ import annotations

import io
import statistics
import sys
import time
from collections import Counter

from _common import peak_rss_mb

from budgetwatch.cli.main import bundled_samples
from budgetwatch.fixtures.render_image import cjk_font_file, extraction_to_pngs, pngs_to_pdf
from budgetwatch.fixtures.render_pdf import extraction_to_pdf, render_tables
from budgetwatch.read import ocr_engine
from budgetwatch.read.extract import extract_bytes, extract_path
from budgetwatch.read.pdf_reader import RULED_PAGE_PATHS, _decode_cids, _page_blocks, _plain_lines, _ruled, read_pdf


def corpus():
    for path in bundled_samples():
        source = extract_path(path)
        if not source.items:
            continue
        yield f"{path.stem}", source, extraction_to_pdf(source, with_narrative=True)
        yield (
            f"{path.stem} (copy-protected)",
            source,
            extraction_to_pdf(source, with_narrative=True, owner_password="o"),
        )


def per_page_ours(data: bytes) -> list[float]:
    import pdfplumber
    import pypdfium2

    times = []
    doc = pypdfium2.PdfDocument(data)
    cids: dict[str, str] = {}
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for n in range(len(doc)):
            t = time.perf_counter()
            page = doc[n]
            if _ruled(page):
                plumber_page = pdf.pages[n]
                if any(c["text"].startswith("(cid:") for c in plumber_page.chars):
                    _decode_cids(plumber_page, page, cids)
                _page_blocks(plumber_page)
            else:
                _plain_lines(page)
            times.append((time.perf_counter() - t) * 1000)
    return times


def per_page_pdfplumber(data: bytes) -> list[float]:
    import pdfplumber

    times = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            t = time.perf_counter()
            page.extract_tables()
            times.append((time.perf_counter() - t) * 1000)
    return times


def per_page_pdfium(data: bytes) -> list[float]:
    import pypdfium2

    times = []
    doc = pypdfium2.PdfDocument(data)
    for n in range(len(doc)):
        t = time.perf_counter()
        doc[n].get_textpage().get_text_range()
        times.append((time.perf_counter() - t) * 1000)
    return times


def accuracy(source, data: bytes, back=None) -> tuple[int, int]:
    back = back or extract_bytes(data, "bench.pdf")
    rendered = {t.table_id for t in back.tables if str(t.status) in ("parsed", "declared_empty")}

    def cells(ex, only=None):
        return Counter(
            (i.table_id, i.side, i.code, i.label_norm, i.column_key, i.micros)
            for i in ex.items
            if not i.blank and "|" not in i.column_key and (only is None or i.table_id in only)
        )

    expected = cells(source, rendered)
    return sum((expected & cells(back)).values()), sum(expected.values())


def main(repeats: int) -> None:
    rows = []
    right = total = 0
    pages = 0
    for name, source, data in corpus():
        ours, plumber, pdfium = [], [], []
        for _ in range(repeats):
            ours += per_page_ours(data)
            plumber += per_page_pdfplumber(data)
            pdfium += per_page_pdfium(data)
        ok, n = accuracy(source, data)
        right, total = right + ok, total + n
        pages += len(ours) // repeats
        rows.append(
            (
                name,
                len(ours) // repeats,
                statistics.median(ours),
                statistics.median(plumber),
                statistics.median(pdfium),
                ok,
                n,
            )
        )
    print(f"{'document':38} {'pages':>5} {'ours ms':>8} {'pdfplumber':>10} {'pypdfium2':>9} {'cells right':>12}")
    for name, n_pages, a, b, c, ok, n in rows:
        print(f"{name:38} {n_pages:>5} {a:>8.1f} {b:>10.1f} {c:>9.1f} {ok:>6}/{n:<5}")
    print(
        f"pages {pages}; cell accuracy {right}/{total} = {right / total:.2%}; "
        f"ruled-page threshold {RULED_PAGE_PATHS} paths"
    )
    print(f"peak memory so far {peak_rss_mb():.0f} MB")
    long_document()
    scanned()


def scanned() -> None:
    """The samples' tables as page images in an image-only PDF, read by OCR: time a page and cells right."""
    if not ocr_engine.available() or cjk_font_file() is None:
        print("scanned pages: skipped (needs the ocr extra and a TrueType CJK font such as fonts-wqy-zenhei)")
        return
    right = total = pages = 0
    elapsed = 0.0
    lowest = 1.0
    for path in bundled_samples():
        source = extract_path(path)
        if not source.items:
            continue
        pngs = extraction_to_pngs(source)
        data = pngs_to_pdf(pngs)
        t = time.perf_counter()
        back = extract_bytes(data, "scanned.pdf")
        seconds = time.perf_counter() - t
        ok, n = accuracy(source, data, back)
        right, total, pages, elapsed = right + ok, total + n, pages + len(pngs), elapsed + seconds
        lowest = min([lowest, *(i.ocr_confidence for i in back.items if i.ocr_confidence is not None)])
        print(f"scanned {path.stem:30} {len(pngs):>3} pages {seconds / len(pngs) * 1000:>7.0f} ms a page {ok:>5}/{n}")
    print(
        f"scanned pages {pages}: {elapsed / pages * 1000:.0f} ms a page ({pages / elapsed:.2f} pages/s), "
        f"cell accuracy {right}/{total} = {right / total:.2%}, lowest amount confidence {lowest:.3f}; "
        f"peak memory {peak_rss_mb():.0f} MB"
    )


def long_document(target_pages: int = 300) -> None:
    """A 300-page PDF (the hongshan tables over and over) read whole: seconds and peak memory."""
    source = extract_path(next(p for p in bundled_samples() if "hongshan" in p.name))
    tables = [
        (t, [i for i in source.items if i.table_id == t.table_id and i.instance == t.instance]) for t in source.tables
    ]
    tables = [(t, items) for t, items in tables if str(t.status) == "parsed" and t.table_id <= "budget.10"]
    one = render_tables(tables, department=source.document.department, year=2024)
    per_copy = read_pdf(one, "one.pdf").page_count
    data = render_tables(tables * -(-target_pages // per_copy), department=source.document.department, year=2024)
    before = peak_rss_mb()
    t = time.perf_counter()
    text = read_pdf(data, "long.pdf")
    elapsed = time.perf_counter() - t
    print(
        f"long PDF: {text.page_count} pages read in {elapsed:.1f} s "
        f"({elapsed / text.page_count * 1000:.0f} ms a page), "
        f"peak memory {peak_rss_mb():.0f} MB (before {before:.0f} MB; target < 500 MB)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
