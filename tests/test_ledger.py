"""The findings and crawl-problem ledgers: new, still open, fixed and withdrawn, across runs and versions."""

from __future__ import annotations

import dataclasses

import pytest

from budgetwatch.model import Finding, Location, Severity
from budgetwatch.publish.dataset import Dataset
from budgetwatch.publish.ledger import (
    Problem,
    Version,
    file_findings,
    file_problems,
    finding_keys,
    findings_of_run,
)

URL = "http://www.huangpi.gov.cn/yjs/2024-final.pdf"


def _finding(check: str, row: str, actual: str, line: int = 10) -> Finding:
    return Finding(
        check,
        Severity.ERROR,
        "identity",
        f"{row} 合计不等于各项之和（第{line}行） | total",
        expected="10.00",
        actual=actual,
        difference="1.00",
        locations=[Location("final.01", row, None, "total", 1, line)],
    )


def _version(sha: str, *findings: Finding, url: str = URL) -> Version:
    return Version(url=url, sha256=sha * 64, findings=findings, source_id="420116", district="黄陂区",
                   steward="hp@example.org", document="黄陂区医疗保障局 · 2024 · 部门决算", fiscal_year=2024,
                   kind="final_account")  # fmt: skip


def _states(dataset, run, admits=lambda _: True) -> dict[str, str]:
    return {x.place: x.state for x in findings_of_run(dataset, run, admits)}


@pytest.fixture
def dataset(tmp_path):
    return Dataset(tmp_path)


def test_a_finding_is_new_then_still_open_then_fixed_by_a_version_without_it(dataset):
    a, b = _finding("I-01", "一般公共服务支出", "11.00"), _finding("I-01", "教育支出", "12.00")
    file_findings(dataset, "r1", [_version("a", a, b)])
    assert _states(dataset, "r1") == {"一般公共服务支出 · total": "new", "教育支出 · total": "new"}
    assert _states(dataset, "r2") == {"一般公共服务支出 · total": "open", "教育支出 · total": "open"}  # nothing ran
    moved = dataclasses.replace(a, message=a.message.replace("第10行", "第16行"), actual="11.50")
    file_findings(dataset, "r3", [_version("b", moved)])  # a corrected version: one row still wrong, lines moved
    assert _states(dataset, "r3") == {"一般公共服务支出 · total": "open", "教育支出 · total": "fixed"}
    [still] = [x for x in findings_of_run(dataset, "r3") if x.state == "open"]
    assert (still.actual, still.sha256) == ("11.50", "b" * 64)  # the numbers of the version now published
    assert _states(dataset, "r4") == {"一般公共服务支出 · total": "open"}  # what was fixed is reported once


def test_a_finding_gone_from_the_same_content_is_withdrawn_and_one_that_comes_back_is_new(dataset):
    a = _finding("I-01", "一般公共服务支出", "11.00")
    file_findings(dataset, "r1", [_version("a", a)])
    file_findings(dataset, "r2", [_version("a")])  # the same file checked again: the rule changed
    assert _states(dataset, "r2") == {"一般公共服务支出 · total": "withdrawn"}
    file_findings(dataset, "r3", [_version("a", a)])
    assert _states(dataset, "r3") == {"一般公共服务支出 · total": "new"}


def test_a_dry_run_files_nothing(dataset):
    file_findings(dataset, "r1", [_version("a", _finding("I-01", "x", "1.00"))], dry_run=True)
    assert findings_of_run(dataset, "r1") == [] and not dataset.database.exists()


def test_open_findings_outside_the_runs_scope_are_left_out_but_closed_ones_of_the_run_are_not(dataset):
    file_findings(
        dataset,
        "r1",
        [
            _version("a", _finding("I-01", "x", "1.00")),
            _version("c", _finding("I-01", "y", "1.00"), url="http://other.example/b.pdf"),
        ],
    )
    mine = _states(dataset, "r2", lambda x: x.url == URL)
    assert mine == {"x · total": "open"}


def test_findings_that_read_alike_but_for_their_numbers_keep_their_own_identity():
    twice = [_finding("I-01", "x", "1.00", line=10), _finding("I-01", "x", "2.00", line=12)]
    keys = finding_keys(URL, twice)
    assert len(set(keys)) == 2 and keys[1].startswith(keys[0])
    assert finding_keys("http://elsewhere.example/a.pdf", twice[:1]) != keys[:1]


def test_a_crawl_problem_is_new_once_open_while_it_lasts_and_fixed_when_its_source_no_longer_meets_it(dataset):
    broken = Problem("420116", "http://www.huangpi.gov.cn/yjs/x.pdf", "HTTP 404", "黄陂区", "hp@example.org")
    down = Problem("420111", "http://www.hongshan.gov.cn/yjs/", "connection refused", "洪山区", "hs@example.org")
    first = file_problems(dataset, "r1", ["420116", "420111"], [broken, down])
    assert {(p.source_id, p.state) for p in first} == {("420116", "new"), ("420111", "new")}
    second = file_problems(dataset, "r2", ["420116", "420111"], [dataclasses.replace(broken, error="HTTP 410"), down])
    assert {p.state for p in second} == {"open"}
    third = file_problems(dataset, "r3", ["420116"], [])  # only 420116 crawled: its link works again
    assert {(p.source_id, p.state) for p in third} == {("420116", "fixed"), ("420111", "open")}
    fourth = file_problems(dataset, "r4", ["420116"], [broken])  # broken again: new again
    assert ("420116", "new") in {(p.source_id, p.state) for p in fourth}
