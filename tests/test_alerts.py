"""Alerts: one message per steward and channel telling what is newly wrong, with the district, the number of new
errors and the worst one in the subject, a plain part with line breaks and an HTML table; nothing told twice; the
alert ledger written only on delivery."""

from __future__ import annotations

import dataclasses
import socket

import pytest
from prefect.blocks.notifications import AppriseNotificationBlock, CustomWebhookNotificationBlock

from budgetwatch.publish.alerts import DeliveryError, RunLinks, deliver, failures, ledger, pending, record
from budgetwatch.publish.dataset import Dataset
from budgetwatch.publish.ledger import Problem, Version, file_findings, findings_of_run

from .pipeline_fixtures import CAIDIAN, HONGSHAN, HUANGPI, checked
from .receivers import SmtpSink, WebhookSink

CHANNELS = ["email", "webhook"]
DISTRICTS = {"huangpi": "黄陂区", "hongshan": "洪山区", "caidian": "蔡甸区"}
LINKS = RunLinks("quiet-fox", "http://127.0.0.1:4200/runs/flow-run/1", "http://127.0.0.1:4201/daily/runs/x/index.html")


@pytest.fixture(scope="module")
def reports():
    return {name: checked(path) for name, path in (("huangpi", HUANGPI), ("hongshan", HONGSHAN), ("caidian", CAIDIAN))}


def _version(name, report, steward, url=None, findings=None, sha=None) -> Version:
    d = report.extraction.document
    return Version(url=url or f"https://{name}.example/2024.pdf", sha256=sha or d.sha256,
                   findings=tuple(report.findings if findings is None else findings), source_id=name,
                   district=DISTRICTS[name], steward=steward, document=f"{d.department} · {d.fiscal_year}",
                   department=d.department, fiscal_year=d.fiscal_year, kind=str(d.kind))  # fmt: skip


def _found(dataset, versions, run="run-1"):
    file_findings(dataset, run, versions)
    return failures(findings_of_run(dataset, run), lambda x: f"http://127.0.0.1:4201/{x.sha256[:8]}.html")


def _webhook_block(url):
    return CustomWebhookNotificationBlock(name="stewards", url=url, json_data={"text": "{{subject}}\n{{body}}"})


def test_one_message_per_steward_and_channel_naming_district_new_errors_and_the_worst(tmp_path, reports):
    stewards = {"huangpi": "a@hp.example", "hongshan": "b@hs.example", "caidian": "a@hp.example"}
    found = _found(Dataset(tmp_path), [_version(n, reports[n], s) for n, s in stewards.items()])
    messages = pending(Dataset(tmp_path), CHANNELS, found, links=LINKS)
    assert sorted((m.channel, m.recipient) for m in messages) == [
        ("email", "a@hp.example"), ("email", "b@hs.example"), ("webhook", "a@hp.example"), ("webhook", "b@hs.example"),
    ]  # fmt: skip
    to_a = next(m for m in messages if m.channel == "email" and m.recipient == "a@hp.example")
    errors = len(reports["huangpi"].errors) + len(reports["caidian"].errors)
    assert len(to_a.failures) == errors
    districts, counts = to_a.subject.removeprefix("budgetwatch · ").split(": ", 1)
    assert set(districts.split("、")) == {"黄陂区", "蔡甸区"} and counts.startswith(f"{errors} new errors; worst: ")
    worst = max(to_a.failures, key=lambda f: f.size).entry
    assert f"worst: {worst.check_id} {worst.table_id or 'text'}" in to_a.subject
    assert "https://huangpi.example/2024.pdf" in to_a.body and "https://caidian.example/2024.pdf" in to_a.body
    assert "[new] N-01 text line 484:" in to_a.body and "(expected 83.68%; printed 83.70%)" in to_a.body
    assert f"Run: {LINKS.run_url}" in to_a.body and f"Report: {LINKS.report_url}" in to_a.body
    assert "report: http://127.0.0.1:4201/" in to_a.body  # each document's page
    assert to_a.html.count("<tr>") == errors + 1 and "83.70%" in to_a.html
    to_b = next(m for m in messages if m.channel == "email" and m.recipient == "b@hs.example")
    assert "L-02 budget.09" in to_b.body and "warning" not in to_b.body.lower()


def test_recorded_failures_are_not_sent_again_and_changed_numbers_are(tmp_path, reports):
    dataset = Dataset(tmp_path)
    report = reports["huangpi"]
    found = _found(dataset, [_version("huangpi", report, "a@hp.example")])
    for message in pending(dataset, CHANNELS, found):
        record(dataset, message)
    assert pending(dataset, CHANNELS, found) == []
    assert len(ledger(dataset)) == 2 * len(found)
    # the same failure in a new version whose lines moved is not new; one whose numbers changed is
    assert any("第484行" in f.message for f in report.findings)
    moved = [dataclasses.replace(f, message=f.message.replace("第484行", "第490行")) for f in report.findings]
    found = _found(dataset, [_version("huangpi", report, "a@hp.example", findings=moved, sha="f" * 64)], "run-2")
    assert found and {f.entry.state for f in found} == {"open"}
    assert pending(dataset, CHANNELS, found) == []
    n01 = next(k for k, f in enumerate(moved) if f.check_id == "N-01")
    changed = [dataclasses.replace(f, actual="99.99%") if k == n01 else f for k, f in enumerate(moved)]
    found = _found(dataset, [_version("huangpi", report, "a@hp.example", findings=changed, sha="e" * 64)], "run-3")
    again = pending(dataset, ["email"], found)
    assert len(again) == 1 and len(again[0].failures) == 1 and "[changed] N-01" in again[0].body


def test_email_has_a_plain_part_with_line_breaks_and_an_html_table_and_the_webhook_the_text(tmp_path, reports):
    found = _found(Dataset(tmp_path), [_version("hongshan", reports["hongshan"], "b@hs.example")])
    with SmtpSink() as smtp, WebhookSink() as hook:
        email_block = AppriseNotificationBlock(url=smtp.url())
        for message in pending(Dataset(tmp_path), CHANNELS, found, links=LINKS):
            deliver(message, email_block if message.channel == "email" else _webhook_block(hook.url))
    [(to, mail)] = smtp.messages
    assert to == ["b@hs.example"] and mail["subject"].startswith("budgetwatch · 洪山区: 1 new error; worst: L-02")
    plain, html = mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()
    assert "\nhttps://hongshan.example/2024.pdf" not in plain and "  https://hongshan.example/2024.pdf" in plain
    assert plain.count("\n") >= 6 and "L-02 budget.09" in plain
    assert "<table" in html and "<th" in html and "L-02" in html and LINKS.run_url in html
    assert (
        len(hook.posts) == 1 and "L-02 budget.09" in hook.posts[0]["text"] and LINKS.report_url in hook.posts[0]["text"]
    )


def test_a_steward_of_many_documents_gets_one_email_with_a_short_subject(tmp_path, reports):
    versions = [_version(name, reports[name], "s@x.example", url=f"https://{name}.example/{copy}.pdf")
                for copy in range(3) for name in ("huangpi", "hongshan", "caidian")]  # fmt: skip
    found = _found(Dataset(tmp_path), versions)
    with SmtpSink() as smtp:
        for message in pending(Dataset(tmp_path), ["email"], found):
            deliver(message, AppriseNotificationBlock(url=smtp.url()))
    assert [to for to, _ in smtp.messages] == [["s@x.example"]]
    subject = str(smtp.messages[0][1]["subject"])
    assert set(subject.removeprefix("budgetwatch · ").split(": ")[0].split("、")) == set(DISTRICTS.values())
    assert len(subject) <= 180
    assert all(f"https://{n}.example/2.pdf" in smtp.bodies()[0] for n in ("huangpi", "hongshan", "caidian"))


def test_a_new_crawl_problem_is_told_to_its_sources_steward_once(tmp_path):
    dataset = Dataset(tmp_path)
    problem = Problem("420116", "http://www.huangpi.gov.cn/yjs/x.pdf", "HTTP 404", "黄陂区", "hp@stewards.example")
    [message] = pending(dataset, ["email"], [], [problem])
    assert message.recipient == "hp@stewards.example" and "1 new crawl problem" in message.subject
    assert "黄陂区 (420116): http://www.huangpi.gov.cn/yjs/x.pdf: HTTP 404" in message.body
    record(dataset, message)
    assert pending(dataset, ["email"], [], [dataclasses.replace(problem, state="open", error="HTTP 410")]) == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_undelivered_messages_say_why_and_stay_pending(tmp_path, reports):
    dataset = Dataset(tmp_path)
    found = _found(dataset, [_version("hongshan", reports["hongshan"], "b@hs.example")])
    port = _closed_port()
    email_block = AppriseNotificationBlock(url=f"mailto://127.0.0.1:{port}?from=x@y.example&to=z@y.example")
    with WebhookSink() as hook:
        hook.status = 500
        for message in pending(dataset, CHANNELS, found):
            block = email_block if message.channel == "email" else _webhook_block(hook.url)
            with pytest.raises(DeliveryError, match=f"{message.channel} to b@hs.example") as raised:
                deliver(message, block)
            if message.channel == "email":  # a dead mail server is named, with the reason
                assert f"SMTP server 127.0.0.1:{port}" in str(raised.value) and "refused" in str(raised.value)
    assert ledger(dataset) == []
    assert len(pending(dataset, CHANNELS, found)) == 2
