"""The source registry: every Wuhan district is there, and an unsound entry is named with what is wrong."""

from __future__ import annotations

import subprocess
import sys

import pytest

from budgetwatch.acquire import sources


def test_bundled_registry_lists_every_district_soundly():
    registry = sources.load()
    names = {s.name for s in registry}
    for district in (
        "江岸区",
        "江汉区",
        "硚口区",
        "汉阳区",
        "武昌区",
        "青山区",
        "洪山区",
        "东西湖区",
        "蔡甸区",
        "江夏区",
        "黄陂区",
        "新洲区",
    ):
        assert district in names
    assert any(name.startswith("汉南区") for name in names)
    assert all(not s.problems for s in registry), [(s.id, s.problems) for s in registry if s.problems]
    assert {s.id for s in registry if s.scheme == "http"} >= {"420111", "420112", "420114", "420117"}


def test_unsound_entries_are_named(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "defaults: {departments: [医疗保障局]}\n"
        "sources:\n"
        "  - {id: a, name: 甲区, scheme: https, allowed_hosts: [www.a.gov.cn], columns: [https://evil.example/x]}\n"
        "  - {id: b, name: 乙区, scheme: ftp, allowed_hosts: [www.b.gov.cn], columns: [ftp://www.b.gov.cn/]}\n",
        encoding="utf-8",
    )
    registry = {s.id: s.problems for s in sources.load(path)}
    assert registry["a"] == ["https://evil.example/x: host evil.example is not in allowed_hosts"]
    assert "scheme must be http or https, not 'ftp'" in registry["b"]
    result = subprocess.run(
        [sys.executable, "-m", "budgetwatch.cli.main", "sources", "--file", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "error: a 甲区: https://evil.example/x: host evil.example is not in allowed_hosts" in result.stderr


def test_duplicate_ids_and_missing_fields_are_refused(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - {id: a, name: 甲区}\n", encoding="utf-8")
    with pytest.raises(sources.RegistryError, match="entry 1: missing scheme, allowed_hosts"):
        sources.load(path)
    path.write_text(
        "sources:\n"
        "  - {id: a, name: 甲, scheme: http, allowed_hosts: [h], departments: [x], columns: [http://h/]}\n"
        "  - {id: a, name: 乙, scheme: http, allowed_hosts: [h], departments: [x], columns: [http://h/]}\n",
        encoding="utf-8",
    )
    with pytest.raises(sources.RegistryError, match="duplicate source ids a"):
        sources.load(path)


def test_crawl_settings_are_read_and_checked(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "defaults: {departments: [医疗保障局], min_interval: 2.5}\n"
        "sources:\n"
        "  - {id: a, name: 甲区, scheme: http, allowed_hosts: [h], encoding: gbk, pagination: next,\n"
        "     item_selector: 'ul.list li', local_test: true,\n"
        "     columns: [{url: 'http://h/yjs/', declared_empty: true}]}\n"
        "  - {id: b, name: 乙区, scheme: http, allowed_hosts: [h], encoding: klingon, pagination: scroll,\n"
        "     columns: [http://h/]}\n",
        encoding="utf-8",
    )
    a, b = sources.load(path)
    assert (a.encoding, a.pagination, a.item_selector, a.local_test, a.min_interval) == (
        "gbk",
        "next",
        "ul.list li",
        True,
        2.5,
    )
    assert a.columns[0].declared_empty and not a.problems
    assert "unknown encoding 'klingon'" in b.problems
    assert any(p.startswith("unknown pagination 'scroll'") for p in b.problems)
    path.write_text("sources:\n  - {id: a, name: 甲, scheme: http, allowed_hosts: [h], colums: []}\n", encoding="utf-8")
    with pytest.raises(sources.RegistryError, match="entry 1: unknown field colums"):
        sources.load(path)
