"""Every hostile document of the corpus, checked in one real `budgetwatch check` run beside good reports: each ends
as read or as an error naming the file and the reason, the good reports are still read, nothing hangs past its
deadline and no process of the run grows past 1.5 GB."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from budgetwatch.fixtures.render_office import extraction_to_docx
from budgetwatch.fixtures.render_pdf import extraction_to_pdf

from .documents import DOCUMENT_PROBES
from .measure import ROOT, run_measured

PEAK_BYTES = 1536 * 2**20  # the bar: no process of the run past 1.5 GB resident
LIMITS = {
    "BUDGETWATCH_READ_SECONDS": "5",
    "BUDGETWATCH_READ_MEMORY_MB": "1280",
    "BUDGETWATCH_READ_WORKERS": "2",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, huangpi) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("hostile")
    for probe in DOCUMENT_PROBES:
        (folder / probe.name).write_bytes(probe.make())
    good = {
        "huangpi.txt": (ROOT / "budgetwatch" / "data" / "samples" / "huangpi-2024-final.txt").read_bytes(),
        "huangpi.pdf": extraction_to_pdf(huangpi),
        "huangpi.docx": extraction_to_docx(huangpi),
    }
    for name, data in good.items():
        (folder / name).write_bytes(data)
    return folder, {name: folder / name for name in good}


@pytest.fixture(scope="module")
def checked(corpus, tmp_path_factory):
    """One run over the whole corpus: (status, report, stderr, peak bytes)."""
    folder, _ = corpus
    run = run_measured(["check", str(folder), "--format", "json"], LIMITS, tmp_path_factory.mktemp("measure"))
    return run.status, json.loads(run.out), run.err, run.peak_bytes


def test_the_corpus_holds_at_least_a_hundred_kinds_with_the_network_faults():
    from .network import NETWORK_PROBE_NAMES  # noqa: PLC0415

    names = [p.name for p in DOCUMENT_PROBES] + NETWORK_PROBE_NAMES
    assert len(names) == len(set(names))
    assert len(names) >= 100


def test_every_hostile_document_ends_as_read_or_as_an_error_naming_it(corpus, checked):
    folder, _ = corpus
    status, report, stderr, _ = checked
    assert status == 2  # some documents could not be read; the run itself finished and reported
    read = {Path(d["source"]).name for d in report["documents"]}
    failed = {Path(u["source"]).name: u["reason"] for u in report["unreadable"]}
    assert not read & failed.keys()
    missing = [p.name for p in DOCUMENT_PROBES if p.name not in read | failed.keys()]
    assert missing == []
    for name, reason in failed.items():
        assert reason.strip(), name
        assert f"error: {folder / name}: {reason}" in stderr


@pytest.mark.parametrize("probe", [p for p in DOCUMENT_PROBES if p.expect != "verdict"], ids=lambda p: p.name)
def test_each_kind_comes_to_what_it_must(checked, probe):
    _, report, _, _ = checked
    read = {Path(d["source"]).name for d in report["documents"]}
    failed = {Path(u["source"]).name: u["reason"] for u in report["unreadable"]}
    if probe.expect == "read":
        assert probe.name in read, failed.get(probe.name)
    else:
        assert probe.name in failed, f"{probe.name} was read"
        assert re.search(probe.reason, failed[probe.name]), failed[probe.name]


def test_the_good_reports_beside_them_are_read_in_full(corpus, checked, huangpi):
    _, good = corpus
    _, report, _, _ = checked
    by_name = {Path(d["source"]).name: d for d in report["documents"]}
    parsed = sorted(t.table_id for t in huangpi.tables if str(t.status) == "parsed")
    for name in good:
        assert sorted(t["table_id"] for t in by_name[name]["tables"] if t["status"] == "parsed") == parsed, name


def test_no_process_of_the_run_grew_past_the_bar(checked):
    _, _, _, peak = checked
    assert 0 < peak < PEAK_BYTES, f"{peak / 2**20:.0f} MB"


def test_limits_are_named_in_the_errors_they_cause(checked):
    _, report, _, _ = checked
    reasons = " ".join(u["reason"] for u in report["unreadable"])
    for limit in ("READ_SECONDS", "MAX_LINE_CHARS", "MAX_TEXT_BYTES", "MAX_TABLE_CELLS", "MAX_DEPTH", "MAX_LINES"):
        assert limit in reasons, limit
