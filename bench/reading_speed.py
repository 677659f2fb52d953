"""Reading speed, side by side in one run: this reader, plain pdfplumber and pypdfium2 text; processes; OCR.

1. Milliseconds a page (median of REPEATS whole-document reads, divided by its pages) on the real reports of
   ../shared/real (or tests/documents) and on the bundled samples rendered as PDF by the project's generator: this
   project's reader (`read_pdf`: tables as rows, text around them), pdfplumber's `extract_tables` on every page, and
   pypdfium2's text of every page.
2. Whole processes, wall clock: a pypdfium2 text dump of the real reports and `budgetwatch extract` of the same files;
   `budgetwatch --help`; `budgetwatch check` on one report; the demo. Each command runs once before it is timed (so
   Python has written its bytecode, as on any machine after the first run) and PYTHONDONTWRITEBYTECODE is dropped.
3. One report from bytes to published with findings (extraction, every check, publication into a fresh dataset):
   as a fresh process (`budgetwatch publish`), and in a warm worker (the same calls again in one process, reading
   in its reading process as the flows do), with the peak memory of the worker and its reading process.
   Then a 300-page PDF of table pages read whole: time and peak memory.
4. OCR: the samples' tables as page images (200 dpi) in an image-only PDF, read back: seconds a page, cells read
   exactly, the lowest recognition score of an amount; this reader (each piece of text recognised at its own width,
   again padded where unsure) against every piece padded to 320 px as the recogniser was trained, alternating.

    uv run python bench/reading_speed.py [REPEATS]
"""

# ruff: noqa: PLC0415 - each method imports its own library, as a caller of only that library would

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import peak_rss_mb

from budgetwatch.cli.main import bundled_samples
from budgetwatch.fixtures.render_image import cjk_font_file, extraction_to_pngs, pngs_to_pdf
from budgetwatch.fixtures.render_pdf import extraction_to_pdf
from budgetwatch.read import ocr_engine
from budgetwatch.read.extract import extract_bytes, extract_path
from budgetwatch.read.pdf_reader import read_pdf

ROOT = Path(__file__).resolve().parent.parent
REAL = next((p for p in (ROOT.parent / "shared" / "real", ROOT / "tests" / "documents") if p.is_dir()), None)
ONE_REPORT = "sh-putuo-wanli-2024-budget.pdf"  # the longest real report (33 pages)
PYTHON = sys.executable
BUDGETWATCH = str(Path(PYTHON).with_name("budgetwatch"))


def real_pdfs() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(REAL.glob("*.pdf"))] if REAL else []


def rendered_samples() -> list[tuple[str, bytes]]:
    out = []
    for path in bundled_samples():
        source = extract_path(path)
        if source.items:
            out.append((path.stem, extraction_to_pdf(source, with_narrative=True)))
            protected = extraction_to_pdf(source, with_narrative=True, owner_password="o")
            out.append((f"{path.stem} (copy-protected)", protected))
    return out


def _ours(data: bytes) -> None:
    read_pdf(data, "bench.pdf")


def _pdfplumber(data: bytes) -> None:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            page.extract_tables()
            page.flush_cache()


def _pdfium(data: bytes) -> None:
    import pypdfium2

    doc = pypdfium2.PdfDocument(data)
    for page in doc:
        page.get_textpage().get_text_range()
    doc.close()


def _ms_a_page(method, data: bytes, pages: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        method(data)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000 / pages


def pages_table(corpus: list[tuple[str, bytes]], repeats: int) -> None:
    import pypdfium2

    print(f"{'document':44} {'pages':>5} {'ours':>7} {'pdfplumber':>10} {'pypdfium2':>9}   (ms a page)")
    totals = Counter()
    for name, data in corpus:
        pages = len(pypdfium2.PdfDocument(data))
        row = [_ms_a_page(m, data, pages, repeats) for m in (_ours, _pdfplumber, _pdfium)]
        totals.update({"pages": pages})
        totals.update({k: v * pages for k, v in zip(("ours", "plumber", "pdfium"), row, strict=True)})
        print(f"{name:44} {pages:>5} {row[0]:>7.1f} {row[1]:>10.1f} {row[2]:>9.1f}")
    n = totals["pages"]
    print(f"{'all':44} {n:>5} {totals['ours'] / n:>7.1f} {totals['plumber'] / n:>10.1f} {totals['pdfium'] / n:>9.1f}")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _timed(command: list[str], runs: int = 3) -> float:
    """Median wall-clock seconds of a command, after one untimed run."""
    return _alternating([command], runs)[0][0]


def _alternating(commands: list[list[str]], runs: int) -> list[list[float]]:
    """Wall-clock seconds of each run of each command, the commands taking turns (after one untimed run each), so
    that the machine's drift touches all alike; each command's list sorted."""
    for command in commands:
        subprocess.run(command, env=_env(), capture_output=True, check=False)
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for command, took in zip(commands, times, strict=True):
            t = time.perf_counter()
            subprocess.run(command, env=_env(), capture_output=True, check=False)
            took.append(time.perf_counter() - t)
    return [[statistics.median(took), *sorted(took)] for took in times]


DUMP = """import sys, pypdfium2
for f in sys.argv[1:]:
    [p.get_textpage().get_text_range() for p in pypdfium2.PdfDocument(f)]
"""


def processes(out: Path) -> None:
    files = [str(p) for p in sorted(REAL.glob("*.pdf"))]
    (dump, *_), (extract, *_) = _alternating(
        [[PYTHON, "-c", DUMP, *files], [BUDGETWATCH, "extract", *files, "--out", str(out / "extract")]], runs=5
    )
    print(f"process: pypdfium2 text dump of {len(files)} real reports {dump:.2f} s (median of 5, taking turns)")
    print(f"process: budgetwatch extract of the same files {extract:.2f} s ({extract / dump:.1f}× the dump)")
    print(f"process: budgetwatch --help {_timed([BUDGETWATCH, '--help']):.2f} s")
    print(f"process: budgetwatch rules {_timed([BUDGETWATCH, 'rules']):.2f} s")
    one = str(REAL / ONE_REPORT)
    print(f"process: budgetwatch check {ONE_REPORT} {_timed([BUDGETWATCH, 'check', one]):.2f} s")
    demo = _timed([BUDGETWATCH, "demo", "--out", str(out / "demo")], runs=1)
    print(f"process: budgetwatch demo {demo:.2f} s (its crawl waits on purpose between requests to one host)")


WARM = """
import resource, sys, tempfile, time
from pathlib import Path
from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.check.batch import validate_extractions
from budgetwatch.publish.dataset import Dataset, publish
from budgetwatch.read.isolation import read_document

def once(path, folder):
    t = time.perf_counter()
    extraction = read_document(path)  # in the worker's reading process, as the flows read
    [report] = validate_extractions([extraction])
    ref = DocumentRef(path=str(path), url="https://example.org/" + path.name)
    action = publish(Dataset(Path(folder)), ref, report).action
    return time.perf_counter() - t, action, len(report.findings)

path = Path(sys.argv[1])
with tempfile.TemporaryDirectory() as root:
    once(path, root + "/first")
    runs = [once(path, f"{root}/{k}") for k in range(int(sys.argv[2]))]  # a fresh dataset each time
took = sorted(r[0] for r in runs)
peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
print(f"{took[len(took) // 2]:.3f} {peak:.0f} {runs[0][1]} {runs[0][2]}")
"""


def _published_fresh(path: Path, folder: Path, runs: int = 3) -> tuple[float, str]:
    """Median wall-clock seconds of `budgetwatch publish` of one report into a new dataset, after one untimed run."""
    times, said = [], ""
    for k in range(runs + 1):
        t = time.perf_counter()
        done = subprocess.run([BUDGETWATCH, "publish", str(path), "--dataset", str(folder / str(k))], env=_env(),
                              capture_output=True, text=True, check=False)  # fmt: skip
        if k:
            times.append(time.perf_counter() - t)
        said = done.stdout.strip()
    return statistics.median(times), said


def bytes_to_published() -> None:
    path = REAL / ONE_REPORT
    with tempfile.TemporaryDirectory() as folder:
        fresh, said = _published_fresh(path, Path(folder))
    done = subprocess.run([PYTHON, "-c", WARM, str(path), "5"], env=_env(), capture_output=True, text=True, check=True)
    warm, peak, action, findings = done.stdout.split()
    print(
        f"bytes to published with findings, {ONE_REPORT}: fresh process (budgetwatch publish) {fresh:.2f} s "
        f"[{said}]; warm worker {float(warm):.2f} s (its reading process warm too), peak memory {float(peak):.0f} MB "
        f"({action}, {findings} findings)"
    )


def _cells(extraction, only=None) -> Counter:
    return Counter(
        (i.table_id, i.side, i.code, i.label_norm, i.column_key, i.micros)
        for i in extraction.items
        if not i.blank and "|" not in i.column_key and (only is None or i.table_id in only)
    )


def scanned(repeats: int) -> None:
    """The samples' tables as page images in an image-only PDF, read by OCR: time a page and cells right, pieces of
    text at their own width (this reader) and padded to 320 px as the recogniser was trained, alternating."""
    if not ocr_engine.available() or cjk_font_file() is None:
        print("scanned pages: skipped (needs the OCR engine and a TrueType CJK font such as fonts-wqy-zenhei)")
        return
    from budgetwatch.read import ocr_grid

    sources = [(path.stem, source) for path in bundled_samples() if (source := extract_path(path)).items]
    pages = [(stem, source, extraction_to_pngs(source)) for stem, source in sources]
    docs = [(stem, source, len(pngs), pngs_to_pdf(pngs)) for stem, source, pngs in pages]
    own_width, widths = ocr_grid.PIECE_WIDTH, {"own width": ocr_grid.PIECE_WIDTH, "padded to 320": 320}
    for width in widths.values():
        ocr_grid._engine(width)  # the models load once a process, before the first page
    seconds: dict[str, list[float]] = {name: [] for name in widths}
    for _ in range(repeats):
        for name, width in widths.items():
            ocr_grid.PIECE_WIDTH = width
            seconds[name].append(_scanned_once(docs, name))
    ocr_grid.PIECE_WIDTH = own_width
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    print(
        "scanned pages, median s a page: "
        + ", ".join(f"{name} {value:.2f}" for name, value in medians.items())
        + f" ({medians['own width'] / medians['padded to 320']:.2f}×); peak memory {peak_rss_mb():.0f} MB"
    )


def _scanned_once(docs, name: str) -> float:
    right = total = pages = 0
    elapsed, lowest = 0.0, 1.0
    for stem, source, count, pdf in docs:
        t = time.perf_counter()
        back = extract_bytes(pdf, "scanned.pdf")
        elapsed += time.perf_counter() - t
        read = {t.table_id for t in back.tables if str(t.status) in ("parsed", "declared_empty")}
        expected = _cells(source, read)
        ok, n = sum((expected & _cells(back)).values()), sum(expected.values())
        right, total, pages = right + ok, total + n, pages + count
        lowest = min([lowest, *(i.ocr_confidence for i in back.items if i.ocr_confidence is not None)])
        print(f"scanned {stem:30} {count:>3} pages {ok:>5}/{n} cells ({name})")
    print(
        f"scanned pages {pages} ({name}): {elapsed / pages:.2f} s a page, cell accuracy {right}/{total} = "
        f"{right / total:.2%}, lowest amount confidence {lowest:.3f}"
    )
    return elapsed / pages


def long_document(target_pages: int = 300) -> None:
    """A 300-page PDF (the hongshan tables over and over) read whole: seconds and peak memory."""
    from budgetwatch.fixtures.render_pdf import render_tables

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
        f"peak memory {peak_rss_mb():.0f} MB (before {before:.0f} MB)"
    )


def main(repeats: int) -> None:
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    if REAL is None:
        print("real reports: none found (../shared/real or tests/documents)")
    else:
        print(f"== real reports ({REAL})")
        pages_table(real_pdfs(), repeats)
    print("== the samples rendered by the generator")
    pages_table(rendered_samples(), repeats)
    long_document()
    if REAL is not None:
        with tempfile.TemporaryDirectory() as out:
            processes(Path(out))
        bytes_to_published()
    scanned(repeats)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
