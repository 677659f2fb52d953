"""Several processes on one archive or dataset: writers take turns (nothing lost, nothing doubled), a reader that
holds a file open blocks no writer and keeps its snapshot, a writer that cannot get its turn says who holds it, and
a publisher killed at any moment leaves a dataset the next run completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from budgetwatch.acquire.archive import Archive, Description
from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.check.batch import validate_extractions
from budgetwatch.fixtures.sample_portal import serve_directory
from budgetwatch.publish.dataset import Dataset, DatasetError, publish, sync_parquet, versions
from budgetwatch.read.extract import extract_bytes

from .measure import ROOT

SAMPLE = ROOT / "budgetwatch" / "data" / "samples" / "huangpi-2024-final.txt"

# publishes documents numbered FIRST..LAST of one tag (each a distinct version of the sample report)
PUBLISHER = """
import sys, time
from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.check.batch import validate_extractions
from budgetwatch.publish.dataset import Dataset, publish
from budgetwatch.read.extract import extract_bytes
root, sample, tag, first, last, pause = sys.argv[1:7]
text = open(sample, encoding="utf-8").read()
for k in range(int(first), int(last) + 1):
    data = (text + f"\\n备注 {tag} {k}\\n").encode()
    [report] = validate_extractions([extract_bytes(data, f"{tag}-{k}.txt")])
    publish(Dataset(root), DocumentRef(path=f"{tag}-{k}.txt", url=f"http://x/{tag}/{k}", source_id="420116"), report)
    print(k, flush=True)
    time.sleep(float(pause))
"""

# opens a DuckDB file read-only, says how many rows a table has, and keeps it open until told to look again
READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
query = f"SELECT count(*) FROM {sys.argv[2]}"
print(con.execute(query).fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute(query).fetchone()[0], flush=True)
"""

HOLDER = """
import sys, time
from pathlib import Path
from budgetwatch.locking import exclusive
with exclusive(Path(sys.argv[1]), "the test's file"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _python(script: str, *args: str, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=ROOT, text=True, **options)


def _checked(tag: str):
    data = (SAMPLE.read_text(encoding="utf-8") + f"\n备注 {tag}\n").encode()
    [report] = validate_extractions([extract_bytes(data, f"{tag}.txt")])
    return report


def _publish_one(root: Path, tag: str, report=None) -> None:
    ref = DocumentRef(path=f"{tag}.txt", url=f"http://x/{tag}", source_id="420116")
    publish(Dataset(root), ref, report or _checked(tag))


def test_two_publishers_on_one_dataset_take_turns_and_lose_nothing(tmp_path):
    # writers-two-publishers-one-dataset
    root = tmp_path / "data"
    runs = [_python(PUBLISHER, root, SAMPLE, tag, 1, 2, 0, stdout=subprocess.PIPE) for tag in ("a", "b")]
    assert [run.wait(300) for run in runs] == [0, 0]
    urls = sorted(v["url"] for v in versions(Dataset(root)))
    assert urls == [f"http://x/{tag}/{k}" for tag in ("a", "b") for k in (1, 2)]


def test_a_reader_holding_the_dataset_open_blocks_no_publication_and_keeps_its_snapshot(tmp_path):
    # writers-reader-holding-the-dataset
    root = tmp_path / "data"
    _publish_one(root, "first")
    reader = _python(READER, Dataset(root).database, "registry", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert reader.stdout.readline().strip() == "1"
    _publish_one(root, "second")  # the reader still holds the file open
    reader.stdin.write("\n")
    reader.stdin.flush()
    assert reader.stdout.readline().strip() == "1"  # its snapshot, unchanged under it
    assert reader.wait(30) == 0
    with duckdb.connect(str(Dataset(root).database), read_only=True) as con:  # a new reader sees both
        assert con.execute("SELECT count(*) FROM registry").fetchone()[0] == 2


def test_a_reader_holding_the_archive_manifest_blocks_no_crawl(tmp_path):
    # writers-reader-holding-the-manifest
    with Archive(tmp_path / "archive") as archive:
        archive.record("http://x/1.pdf", b"%PDF-1.4 one", {}, 200, Description())
        reader = _python(READER, archive.manifest, "documents", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert reader.stdout.readline().strip() == "1"
        assert archive.record("http://x/2.pdf", b"%PDF-1.4 two", {}, 200, Description()).status == "new"
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.wait(30) == 0
        assert [r["url"] for r in archive.manifest_rows()] == ["http://x/1.pdf", "http://x/2.pdf"]


def test_a_writer_waits_for_its_turn_and_says_who_holds_it_when_it_does_not_come(tmp_path, monkeypatch):
    # writers-wait-then-say-who-holds-it
    root = tmp_path / "data"
    refused, waited = _checked("refused"), _checked("waited")
    holder = _python(HOLDER, root / ".dataset.duckdb.lock", 3, stdout=subprocess.PIPE)
    assert holder.stdout.readline().strip() == "held"
    monkeypatch.setenv("BUDGETWATCH_LOCK_TIMEOUT", "0.5")
    busy = rf"dataset .*dataset\.duckdb is in use by another process \(pid {holder.pid}\); waited 0\.5 s"
    with pytest.raises(DatasetError, match=busy):
        _publish_one(root, "refused", refused)
    monkeypatch.setenv("BUDGETWATCH_LOCK_TIMEOUT", "60")
    _publish_one(root, "waited", waited)  # waits until the holder lets go
    assert holder.wait(30) == 0
    assert [v["url"] for v in versions(Dataset(root))] == ["http://x/waited"]


def test_two_crawls_into_one_archive_take_turns(tmp_path):
    # writers-two-crawls-one-archive
    site = tmp_path / "portal"
    pages = "".join(f'<li><a href="r{k}.pdf">武汉市新洲区医疗保障局2024年部门预算{k}</a></li>' for k in range(4))
    (site / "col").mkdir(parents=True)
    (site / "col" / "index.html").write_text(f'<meta charset="utf-8"><ul class="news">{pages}</ul>', encoding="utf-8")
    for k in range(4):
        (site / "col" / f"r{k}.pdf").write_bytes(b"%PDF-1.4\n" + bytes([k]) * 5000)
    with serve_directory(site) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/col/index.html"
        args = ["-m", "budgetwatch.cli.main", "crawl", url, "--allow-local", "--format", "json"]
        runs = [
            subprocess.Popen([sys.executable, *args, "--archive", str(tmp_path / "archive")], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]  # fmt: skip
        outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    found = [json.loads(out)["sources"][0]["reports"] for out, _ in outputs]
    assert [len(f) for f in found] == [4, 4]
    with Archive(tmp_path / "archive") as archive:
        rows = archive.manifest_rows()
    assert sorted(r["url"].rsplit("/", 1)[-1] for r in rows) == [f"r{k}.pdf" for k in range(4)]  # each once
    assert {r["version"] for r in rows} == {1}


def test_a_publisher_killed_at_any_moment_leaves_a_dataset_the_next_run_completes(tmp_path):
    # writers-killed-while-publishing
    root = tmp_path / "data"
    for delay in (4.0,):
        run = _python(PUBLISHER, root, SAMPLE, "k", 1, 4, 0, stdout=subprocess.PIPE, start_new_session=True)
        time.sleep(delay)
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    done = _python(PUBLISHER, root, SAMPLE, "k", 1, 4, 0, stdout=subprocess.PIPE)
    assert done.wait(300) == 0
    sync_parquet(Dataset(root))
    assert sorted(v["url"] for v in versions(Dataset(root))) == [f"http://x/k/{k}" for k in (1, 2, 3, 4)]
    with duckdb.connect(str(Dataset(root).database), read_only=True) as con:
        doubled = con.execute("SELECT sha256, count(*) FROM registry GROUP BY sha256 HAVING count(*) > 1").fetchall()
    assert doubled == []
    assert not list(root.glob(".*.writing*"))  # no copy left behind
