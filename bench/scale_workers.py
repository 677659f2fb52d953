"""Documents a second with one and with two workers: extraction and validation of generated PDF reports on a local
Dask cluster of 1, then 2 worker processes (one thread each), as ``revalidate-dataset`` runs them.

Each report is one of the bundled samples rendered as a PDF with its narrative (the sample portal's way), one amount
of its own changed so that every copy has its own content. A worker reads a document the way the product does (in
its reading process, under the limits) and validates it. Each cluster first takes one document a worker, untimed (a
worker's first document pays for imports and compiled loops); then the N documents are timed. The runs alternate
(1, 2, 1, 2, …) so that drift on a shared machine falls on both; each round prints the load average before it
(other jobs on the machine take cores from the two workers). Prints documents a second, seconds a page and a
document per worker, and the ratio, as medians; how one worker's time splits between reading and validating; the
CPU time the work took (workers and their reading processes, whatever else ran); and the cost of publishing a
document, embedded and (with BUDGETWATCH_DATABASE_URL set) into PostgreSQL.

    uv run python bench/scale_workers.py [N] [ROUNDS]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

# isort: off
import budgetwatch  # noqa: F401  first, as in the product: it sets up the allocators before polars is loaded

# isort: on
import _common  # noqa: F401  puts the repository on the path
import pypdfium2
from distributed import Client, LocalCluster

from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.check.batch import validate_extractions
from budgetwatch.cli.main import bundled_samples
from budgetwatch.database import database_url
from budgetwatch.fixtures.render_pdf import extraction_to_pdf
from budgetwatch.publish.dataset import Dataset, publish
from budgetwatch.read.extract import extract_path
from budgetwatch.read.isolation import read_document


def generate(folder: Path, n: int) -> list[Path]:
    """``n`` PDF reports cycling through the samples that have tables, each with one amount of its own changed."""
    samples = [x for x in (extract_path(p) for p in bundled_samples()) if any(i.micros for i in x.items)]
    paths = []
    for k in range(n):
        sample = samples[k % len(samples)]
        amounts = [i for i in sample.items if i.micros]
        moved = amounts[(k * 7) % len(amounts)]
        items = [replace(i, micros=i.micros + (k + 1) * 10_000) if i is moved else i for i in sample.items]
        path = folder / f"report-{k:04d}.pdf"
        path.write_bytes(extraction_to_pdf(replace(sample, items=items), with_narrative=True))
        paths.append(path)
    return paths


def pages(paths: list[Path]) -> int:
    return sum(len(pypdfium2.PdfDocument(str(p))) for p in paths)


def check_one(path: str) -> tuple[float, float]:
    """What a worker does with one document: read it, validate it; the seconds each took."""
    start = time.perf_counter()
    extraction = read_document(path)
    read = time.perf_counter()
    validate_extractions([extraction])
    return read - start, time.perf_counter() - read


def cpu_seconds() -> float:
    """CPU time of this process and its children (the reading process), from /proc: what the work cost whatever
    else the machine was doing."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [str(os.getpid())]
    for children in Path("/proc/self/task").glob("*/children"):
        pids += children.read_text().split()
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def timed(client: Client, paths: list[Path], workers: int) -> tuple[float, float, float, float]:
    """Seconds for the documents (after one untimed document a worker); the seconds reading and validating took in
    the workers, summed; and the CPU seconds the workers and their reading processes spent."""
    client.gather(client.map(check_one, [str(p) for p in paths[:workers]], pure=False))
    before = sum(client.run(cpu_seconds).values())
    start = time.perf_counter()
    parts = client.gather(client.map(check_one, [str(p) for p in paths], pure=False))
    wall = time.perf_counter() - start
    cpu = sum(client.run(cpu_seconds).values()) - before
    return wall, sum(r for r, _ in parts), sum(v for _, v in parts), cpu


def publishing(paths: list[Path]) -> None:
    """Milliseconds a publication into a fresh embedded dataset and, when BUDGETWATCH_DATABASE_URL names one, into a
    shared PostgreSQL catalogue (one document after another; validation not timed)."""
    reports = [(p, validate_extractions([read_document(p)])[0]) for p in paths]
    targets = {"embedded DuckDB": None, "shared PostgreSQL": database_url()}
    for name, url in targets.items():
        if name != "embedded DuckDB" and not url:
            print(f"publishing into {name}: not measured (BUDGETWATCH_DATABASE_URL is not set)")
            continue
        dataset = Dataset(Path(tempfile.mkdtemp(prefix="budgetwatch-publish-")), url=url)
        start = time.perf_counter()
        for k, (path, report) in enumerate(reports):
            ref = DocumentRef(path=str(path), url=f"https://bench.example.gov.cn/{time.time_ns()}/{k}.pdf")
            publish(dataset, ref, report)
        took = (time.perf_counter() - start) / len(reports) * 1000
        print(f"publishing into {name}: {took:.0f} ms a document ({len(reports)} documents)")


def main(n: int = 24, rounds: int = 3) -> None:
    folder = Path(tempfile.mkdtemp(prefix="budgetwatch-scale-"))
    paths = generate(folder, n)
    total_pages = pages(paths)
    print(f"{n} generated PDF reports, {total_pages} pages ({total_pages / n:.1f} a report); {rounds} rounds")
    seconds: dict[int, list[float]] = {1: [], 2: []}
    ratios, split, cpu = [], [], []
    for round_ in range(rounds):
        load = os.getloadavg()[0]
        for workers in (1, 2):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            with cluster, Client(cluster) as client:
                wall, read, validate, used = timed(client, paths, workers)
            seconds[workers].append(wall)
            cpu.append(used)
            if workers == 1:
                split.append((read, validate))
        ratios.append(seconds[1][-1] / seconds[2][-1])
        print(f"round {round_ + 1}: load {load:.1f} before; 1 worker {seconds[1][-1]:.1f} s, 2 workers "
              f"{seconds[2][-1]:.1f} s: {ratios[-1]:.2f}x", flush=True)  # fmt: skip
    read, validate = (statistics.median(x) for x in zip(*split, strict=True))
    print(f"one worker, per document: reading {read / n:.2f} s ({read / total_pages * 1000:.1f} ms a page), "
          f"validating {validate / n * 1000:.0f} ms (medians)")  # fmt: skip
    used = statistics.median(cpu)
    print(f"CPU time (workers and reading processes, every run): {used / n:.2f} s a document, "
          f"{used / total_pages * 1000:.1f} ms a page (median of {len(cpu)} runs, {min(cpu) / n:.2f}–"
          f"{max(cpu) / n:.2f} s a document)")  # fmt: skip
    rates = {}
    for workers, runs in seconds.items():
        median = statistics.median(runs)
        rates[workers] = n / median
        print(f"{workers} worker(s): {rates[workers]:6.2f} documents/s  {total_pages / median:6.1f} pages/s  "
              f"{median * workers / total_pages * 1000:6.1f} ms a page per worker  "
              f"{median * workers / n:6.2f} s a document per worker  (runs: "
              f"{', '.join(f'{s:.1f}' for s in runs)} s)")  # fmt: skip
    print(f"two workers / one: {rates[2] / rates[1]:.2f}x (median rates); median of the rounds' ratios "
          f"{statistics.median(ratios):.2f}x, best {max(ratios):.2f}x")  # fmt: skip
    publishing(paths[:12])


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
