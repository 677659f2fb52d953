"""Alerts: one message per steward and channel, only new or changed failures, ledger written only on delivery."""

from __future__ import annotations

import socket

import pytest
from prefect.blocks.notifications import AppriseNotificationBlock, CustomWebhookNotificationBlock

from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.publish.alerts import DeliveryError, deliver, failures, ledger, pending, record
from budgetwatch.publish.dataset import Dataset

from .pipeline_fixtures import CAIDIAN, HONGSHAN, HUANGPI, checked
from .receivers import SmtpSink, WebhookSink

CHANNELS = ["email", "webhook"]


@pytest.fixture(scope="module")
def reports():
    return {name: checked(path) for name, path in (("huangpi", HUANGPI), ("hongshan", HONGSHAN), ("caidian", CAIDIAN))}


def _found(reports, stewards):
    out = []
    for name, steward in stewards.items():
        ref = DocumentRef(path=f"{name}.txt", url=f"https://{name}.example/2024.pdf", steward=steward)
        out += failures(ref, reports[name])
    return out


def _webhook_block(url):
    return CustomWebhookNotificationBlock(name="stewards", url=url, json_data={"text": "{{subject}}\n{{body}}"})


def test_one_message_per_steward_and_channel_naming_document_table_check_and_numbers(tmp_path, reports):
    found = _found(reports, {"huangpi": "a@hp.example", "hongshan": "b@hs.example", "caidian": "a@hp.example"})
    messages = pending(Dataset(tmp_path), CHANNELS, found)
    assert sorted((m.channel, m.recipient) for m in messages) == [
        ("email", "a@hp.example"), ("email", "b@hs.example"), ("webhook", "a@hp.example"), ("webhook", "b@hs.example"),
    ]  # fmt: skip
    to_a = next(m for m in messages if m.channel == "email" and m.recipient == "a@hp.example")
    errors = len(reports["huangpi"].errors) + len(reports["caidian"].errors)
    assert len(to_a.failures) == errors
    assert "https://huangpi.example/2024.pdf" in to_a.body and "https://caidian.example/2024.pdf" in to_a.body
    assert "武汉市黄陂区医疗保障局 · 2024 · 部门决算" in to_a.body
    assert "[new] N-01 text line 484:" in to_a.body and "(expected 83.68%; printed 83.70%)" in to_a.body
    to_b = next(m for m in messages if m.channel == "email" and m.recipient == "b@hs.example")
    assert "L-02 budget.09" in to_b.body
    assert "warning" not in to_b.body.lower()


def test_recorded_failures_are_not_sent_again_and_changed_numbers_are(tmp_path, reports):
    dataset = Dataset(tmp_path)
    found = _found(reports, {"huangpi": "a@hp.example"})
    for message in pending(dataset, CHANNELS, found):
        record(dataset, message)
    assert pending(dataset, CHANNELS, found) == []
    assert len(ledger(dataset)) == 2 * len(found)
    # the same failure in a new version whose lines moved is not new; one whose numbers changed is
    moved = [
        f.__class__(**{**_fields(f), "sha256": "f" * 64, "line": f.line and f.line + 6,
                       "message": f.message.replace("第484行", "第490行")})
        for f in found
    ]  # fmt: skip
    assert any(f.line == 484 for f in found) and any("第484行" in f.message for f in found)
    assert pending(dataset, CHANNELS, moved) == []
    changed = [moved[0].__class__(**{**_fields(moved[0]), "actual": "99.99%"})]
    again = pending(dataset, ["email"], changed)
    assert len(again) == 1 and "[changed]" in again[0].body


def _fields(failure):
    return {name: getattr(failure, name) for name in failure.__slots__}


def test_email_and_webhook_reach_real_receivers(tmp_path, reports):
    found = _found(reports, {"hongshan": "b@hs.example"})
    with SmtpSink() as smtp, WebhookSink() as hook:
        email_block = AppriseNotificationBlock(url=smtp.url())
        for message in pending(Dataset(tmp_path), CHANNELS, found):
            deliver(message, email_block if message.channel == "email" else _webhook_block(hook.url))
    assert [to for to, _ in smtp.messages] == [["b@hs.example"]]
    assert "L-02" in smtp.bodies()[0]
    assert smtp.messages[0][1]["subject"].startswith("budgetwatch: 1 new failures in 1 documents")
    assert len(hook.posts) == 1 and "L-02 budget.09" in hook.posts[0]["text"]


def test_a_steward_of_many_documents_gets_one_email_with_a_short_subject(tmp_path, reports):
    found = []
    for copy in range(3):  # six documents, three names: each sample under two URLs
        for name in ("huangpi", "hongshan", "caidian"):
            ref = DocumentRef(path=f"{name}.txt", url=f"https://{name}.example/{copy}.pdf", steward="s@x.example")
            found += failures(ref, reports[name])
    with SmtpSink() as smtp:
        for message in pending(Dataset(tmp_path), ["email"], found):
            deliver(message, AppriseNotificationBlock(url=smtp.url()))
    assert [to for to, _ in smtp.messages] == [["s@x.example"]]
    subject = str(smtp.messages[0][1]["subject"])
    assert "in 9 documents" in subject and subject.endswith(" and 1 more)") and len(subject) < 160
    assert all(f"https://{n}.example/2.pdf" in smtp.bodies()[0] for n in ("huangpi", "hongshan", "caidian"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_undelivered_messages_raise_and_stay_pending(tmp_path, reports):
    dataset = Dataset(tmp_path)
    found = _found(reports, {"hongshan": "b@hs.example"})
    email_block = AppriseNotificationBlock(url=f"mailto://127.0.0.1:{_closed_port()}?from=x@y.example&to=z@y.example")
    with WebhookSink() as hook:
        hook.status = 500
        for message in pending(dataset, CHANNELS, found):
            block = email_block if message.channel == "email" else _webhook_block(hook.url)
            with pytest.raises(DeliveryError, match=f"{message.channel} to b@hs.example"):
                deliver(message, block)
    assert ledger(dataset) == []
    assert len(pending(dataset, CHANNELS, found)) == 2
