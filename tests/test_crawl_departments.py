"""A crawl follows every department's reports unless the command or the source restricts it, and says which it
followed and which items it skipped for being another department (over real HTTP on loopback)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from budgetwatch.acquire import sources as registry
from budgetwatch.acquire.archive import Archive
from budgetwatch.acquire.crawl import crawl_json, crawl_sources
from budgetwatch.acquire.fetch import Fetcher
from budgetwatch.cli.main import main
from budgetwatch.fixtures.sample_portal import serve_directory

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "crawl-report.schema.json").read_text(encoding="utf-8"))

# a district column listing three departments' reports, each article with its attachment
DEPARTMENTS = {
    "1": "武汉市新洲区教育局",
    "2": "武汉市新洲区医疗保障局",
    "3": "武汉市新洲区财政局",
}


@pytest.fixture
def district_column(tmp_path):
    site = tmp_path / "portal"
    items = "".join(
        f'<li><a href="2025/t2025010{n}_{n}.html">{name}2025年部门预算</a><span>2025-01-0{n}</span></li>'
        for n, name in DEPARTMENTS.items()
    )
    files: dict[str, str | bytes] = {"col/index.html": f'<meta charset="utf-8"><ul class="news">{items}</ul>'}
    for n, name in DEPARTMENTS.items():
        files[f"col/2025/t2025010{n}_{n}.html"] = (
            f'<meta charset="utf-8"><h1>{name}2025年部门预算</h1><a href="P{n}.pdf">附件</a>'
        )
        files[f"col/2025/P{n}.pdf"] = f"%PDF-1.4\n%{n}\n".encode()
    for relative, content in files.items():
        target = site / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    with serve_directory(site) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}/col/index.html"


def _source(column: str, departments: tuple[str, ...]) -> registry.Source:
    return registry.Source(
        id="x", name="新洲区", scheme="http", allowed_hosts=("127.0.0.1",), columns=(registry.Column(url=column),),
        departments=departments, min_interval=0, local_test=True, pagination="none",
    )  # fmt: skip


def _crawl(source: registry.Source, tmp_path: Path):
    with Archive(tmp_path / "archive") as archive:
        [result] = crawl_sources([source], archive, allow_local=True, session=Fetcher(retries=1, timeout=2.0))
    jsonschema.validate(crawl_json([result]), SCHEMA)
    return result


def test_a_source_without_departments_follows_every_department(district_column, tmp_path):
    result = _crawl(_source(district_column, ()), tmp_path)
    assert sorted(r.department for r in result.reports) == sorted(DEPARTMENTS.values())
    about = result.departments_json()
    assert about["restricted_to"] is None
    assert sorted(d["department"] for d in about["followed"]) == sorted(DEPARTMENTS.values())
    assert about["skipped_other"] == [] and result.skipped == []


def test_a_restricted_source_skips_the_other_departments_and_says_so(district_column, tmp_path):
    result = _crawl(_source(district_column, ("教育局",)), tmp_path)
    assert [r.department for r in result.reports] == ["武汉市新洲区教育局"]
    about = result.departments_json()
    assert about["restricted_to"] == ["教育局"]
    assert about["followed"] == [{"department": "武汉市新洲区教育局", "items": 1}]
    assert sorted(d["department"] for d in about["skipped_other"]) == ["武汉市新洲区医疗保障局", "武汉市新洲区财政局"]
    assert {s["category"] for s in result.skipped} == {"other_department"}


def test_a_registry_entry_with_an_empty_department_list_follows_every_department(tmp_path):
    file = tmp_path / "sources.yaml"
    file.write_text(
        "defaults: {departments: [医疗保障局]}\n"
        "sources:\n"
        "  - {id: a, name: 甲, scheme: http, allowed_hosts: [h], columns: [http://h/]}\n"
        "  - {id: b, name: 乙, scheme: http, allowed_hosts: [h], departments: [], columns: [http://h/]}\n",
        encoding="utf-8",
    )
    a, b = registry.load(file)
    assert a.departments == ("医疗保障局",) and not a.problems
    assert b.departments == () and not b.problems


def test_an_adhoc_crawl_of_the_sample_portal_follows_every_department(portal, tmp_path, capsys):
    column = portal.base_url + "/yjs/"
    archive = ["--allow-local", "--archive", str(tmp_path / "a")]
    main(["crawl", column, *archive, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, SCHEMA)
    [source] = report["sources"]
    followed = {d["department"] for d in source["departments"]["followed"]}
    assert "区教育局" in followed and "武汉市黄陂区医疗保障局" in followed
    assert source["departments"]["restricted_to"] is None
    assert not [s for s in source["skipped"] if s["category"] == "other_department"]

    main(["crawl", column, *archive])
    out = capsys.readouterr().out
    assert "departments: every department; followed: " in out and "区教育局 (1)" in out


def test_an_adhoc_crawl_restricted_by_the_command_reports_what_it_skipped(portal, tmp_path, capsys):
    column = portal.base_url + "/yjs/"
    args = ["crawl", column, "--department", "医疗保障局", "--department", "财政局", "--allow-local"]
    main([*args, "--archive", str(tmp_path / "a"), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, SCHEMA)
    [source] = report["sources"]
    assert source["departments"]["restricted_to"] == ["医疗保障局", "财政局"]
    assert source["departments"]["skipped_other"] == [{"department": "区教育局", "items": 1}]
    [skipped] = [s for s in source["skipped"] if s["category"] == "other_department"]
    assert skipped["department"] == "区教育局" and skipped["title"] == "区教育局2024年部门预算公开"

    main([*args, "--archive", str(tmp_path / "a")])
    out = capsys.readouterr().out
    assert "departments: only 医疗保障局、财政局; followed: " in out
    assert "skipped as another department: 区教育局 (1)" in out
