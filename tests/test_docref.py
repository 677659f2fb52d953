"""Document references: content hashes, what a document adds about itself, and the run's selection."""

from __future__ import annotations

import pytest

from budgetwatch.acquire import sources
from budgetwatch.acquire.docref import DocumentRef, Selection, completed, verified
from budgetwatch.errors import DocumentError
from budgetwatch.service.orchestration import DATASET_LIMIT, LOOPBACK_RATE, deployment_sources_files, host_limit, limits

from .pipeline_fixtures import HUANGPI


def test_verified_fills_the_hash_and_refuses_a_file_that_is_not_the_recorded_content(tmp_path):
    ref = verified(DocumentRef(path=str(HUANGPI)))
    assert len(ref.sha256) == 64
    changed = tmp_path / "changed.txt"
    changed.write_bytes(HUANGPI.read_bytes() + b"\n")
    with pytest.raises(DocumentError, match="differs from the recorded"):
        verified(DocumentRef(path=str(changed), sha256=ref.sha256))
    with pytest.raises(DocumentError, match="cannot read"):
        verified(DocumentRef(path=str(tmp_path / "absent.pdf")))


def test_completed_takes_district_and_steward_from_the_registry_by_the_district_the_document_names(huangpi):
    registry = [s if s.id != "420116" else sources.Source(**{**_fields(s), "steward": "hp@example.org"})
                for s in sources.load()]  # fmt: skip
    ref = completed(DocumentRef(path=str(HUANGPI)), huangpi.document, registry)
    assert (ref.source_id, ref.steward, ref.fiscal_year, ref.kind) == (
        "420116",
        "hp@example.org",
        2024,
        "final_account",
    )
    kept = completed(DocumentRef(path="x", source_id="420111", steward="own@example.org"), huangpi.document, registry)
    assert (kept.source_id, kept.steward) == ("420111", "own@example.org")


def _fields(source):
    return {name: getattr(source, name) for name in source.__slots__}


def test_selection_excludes_only_known_values_outside_it():
    selection = Selection(districts=["420116"], fiscal_years=[2024], kinds=["budget"], departments=["医疗保障局"])
    assert selection.admits("420116", "武汉市黄陂区医疗保障局", 2024, "budget")
    assert selection.admits(None, None, None, None)  # decided again after extraction
    assert not selection.admits("420111", None, None, None)
    assert not selection.admits(None, None, 2023, None)
    assert not selection.admits(None, "武汉市黄陂区财政局", None, None)
    assert Selection().admits("any", "any", 1999, "final_account")


def test_limits_cover_every_portal_host_and_notification_host():
    wanted = limits(sources.load(), ["mailto://smtp.example.org:25?to=a@b.example", "https://hooks.example.org/x"])
    assert wanted["host-www.huangpi.gov.cn"] == (1, 1.0)
    assert host_limit("https://hooks.example.org/x") in wanted and "host-smtp.example.org" in wanted
    assert wanted[DATASET_LIMIT] == (1, 0.0)


def test_limits_cover_loopback_test_portals_and_the_sources_files_deployments_name(tmp_path):
    wanted = limits(sources.load(), ["mailto://127.0.0.1:2525?to=a@b.example"])
    assert wanted["host-127.0.0.1"] == wanted["host-localhost"] == (1, LOOPBACK_RATE)
    prefect_file = tmp_path / "prefect.yaml"
    prefect_file.write_text(
        "deployments:\n  - name: a\n    parameters: {sources_file: portals/extra.yaml}\n  - name: b\n",
        encoding="utf-8",
    )
    assert deployment_sources_files(prefect_file) == ["portals/extra.yaml"]
    assert deployment_sources_files(tmp_path / "missing.yaml") == []
