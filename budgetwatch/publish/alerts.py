"""Alerts to data stewards: one message per steward and channel per run, listing new or changed error-level failures.

A failure is identified across versions of a document by its source URL, check, place and wording (line numbers
left out, since a corrected version moves lines); its numbers (expected, printed, difference) tell a changed failure
from one already told. The alert ledger (table ``alert_ledger`` in the dataset's DuckDB) records what each recipient
was sent on each channel; it is written only after the channel accepted the message, so an undelivered message is
composed again by the next run.

Delivery goes through Prefect notification blocks: an Apprise ``mailto://`` block for e-mail (addressed to the steward)
and a Slack-compatible webhook block. Apprise blocks report failure only inside ``raise_on_failure()``; every failure
becomes a ``DeliveryError``.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from prefect.blocks.abstract import NotificationBlock
from prefect.blocks.notifications import AppriseNotificationBlock
from pydantic import SecretStr

from budgetwatch.acquire.docref import DocumentRef
from budgetwatch.check.batch import DocumentReport
from budgetwatch.errors import BudgetwatchError
from budgetwatch.model import Severity
from budgetwatch.publish.dataset import Dataset, connect

_LINE_REF = re.compile(r"[（(]?第\s*\d+\s*行[)）：:]?")
_NUMBER = re.compile(r"\d[\d,.]*%?")
KIND_NAMES = {"budget": "部门预算", "final_account": "部门决算"}

_LEDGER = """
CREATE TABLE IF NOT EXISTS alert_ledger (
    channel VARCHAR NOT NULL, recipient VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, failure_key VARCHAR NOT NULL,
    url VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, check_id VARCHAR NOT NULL, sent_at TIMESTAMP DEFAULT now(),
    PRIMARY KEY (channel, recipient, fingerprint));
"""


class DeliveryError(BudgetwatchError):
    """A channel did not accept a message (names the channel, the recipient and the reason)."""

    def __init__(self, channel: str, recipient: str, reason: str):
        super().__init__(f"{channel} to {recipient or 'default recipients'}: {reason}")
        self.channel = channel
        self.recipient = recipient
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Failure:
    """One error-level finding of one document version, as a steward is told of it."""

    recipient: str  # the steward's address; "" for the channel's default recipients
    url: str
    sha256: str
    document: str  # department · year · kind
    check_id: str
    table_id: str | None
    place: str  # row · code · column, as far as known
    message: str
    expected: str | None
    actual: str | None
    difference: str | None
    line: int | None = None  # line of the text layer (left out of the identity: versions move lines)

    @property
    def failure_key(self) -> str:
        """The same failure in any version of the document (numbers and line numbers left out)."""
        wording = _NUMBER.sub("#", _LINE_REF.sub("", self.message))
        return _digest(self.url, self.check_id, self.table_id, self.place, wording)

    @property
    def fingerprint(self) -> str:
        """The failure with its numbers: differs when the same failure now has other numbers."""
        return _digest(self.failure_key, self.expected, self.actual, self.difference, _LINE_REF.sub("", self.message))

    def text(self, changed: bool) -> str:
        numbers = "; ".join(
            f"{label} {value}"
            for label, value in (("expected", self.expected), ("printed", self.actual), ("difference", self.difference))
            if value is not None
        )
        where = " ".join(x for x in (self.table_id or "text", self.place, self.line and f"line {self.line}") if x)
        head = self.message.split(" | ")[0]
        return f"  - [{'changed' if changed else 'new'}] {self.check_id} {where}: {head}" + (
            f" ({numbers})" if numbers else ""
        )


def _digest(*parts: str | None) -> str:
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode("utf-8")).hexdigest()[:32]


def failures(ref: DocumentRef, report: DocumentReport) -> list[Failure]:
    """The error-level findings of one validated document, addressed to its steward."""
    doc = report.extraction.document
    kind = KIND_NAMES.get(str(ref.kind or doc.kind or ""), "?")
    name = f"{ref.department or doc.department or '?'} · {ref.fiscal_year or doc.fiscal_year or '?'} · {kind}"
    out = []
    for f in report.findings:
        if f.severity != Severity.ERROR:
            continue
        first = f.locations[0] if f.locations else None
        place = " · ".join(x for x in (first and first.row_label, first and first.code, first and first.column) if x)
        out.append(
            Failure(
                recipient=ref.steward or "",
                url=ref.identity,
                sha256=doc.sha256,
                document=name,
                check_id=f.check_id,
                table_id=first.table_id if first else None,
                place=place,
                message=f.message,
                expected=f.expected,
                actual=f.actual,
                difference=f.difference,
                line=first.line if first else None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Message:
    """One run's message to one recipient on one channel."""

    channel: str
    recipient: str
    subject: str
    body: str
    failures: tuple[Failure, ...]


_SUBJECT_NAMES = 2  # documents named in a subject; the body lists them all


def compose(channel: str, recipient: str, told: dict[str, set[str]], items: list[Failure]) -> Message:
    """The message listing ``items`` (not yet told) by document; ``told`` maps failure keys to fingerprints sent."""
    by_document: dict[tuple[str, str], list[Failure]] = defaultdict(list)
    for f in items:
        by_document[(f.document, f.url)].append(f)
    lines = [f"budgetwatch found {len(items)} new or changed error-level failures in {len(by_document)} documents.", ""]
    for (document, url), group in by_document.items():
        lines.append(f"{document}")
        lines.append(f"  {url} (sha256 {group[0].sha256[:12]})")
        lines.extend(f.text(changed=f.failure_key in told) for f in group)
        lines.append("")
    names = list(dict.fromkeys(d for d, _ in by_document))
    more = f" and {len(names) - _SUBJECT_NAMES} more" if len(names) > _SUBJECT_NAMES else ""
    documents = "; ".join(names[:_SUBJECT_NAMES]) + more  # short: an encoded subject must fit SMTP's line limit
    subject = f"budgetwatch: {len(items)} new failures in {len(by_document)} documents ({documents})"
    return Message(channel, recipient, subject, "\n".join(lines).rstrip() + "\n", tuple(items))


def pending(dataset: Dataset, channels: list[str], found: list[Failure]) -> list[Message]:
    """One message per channel and recipient with the failures not yet told there; none when all were told."""
    with connect(dataset) as con:
        con.execute(_LEDGER)
        ledger = con.execute("SELECT channel, recipient, failure_key, fingerprint FROM alert_ledger").fetchall()
    sent: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for channel, recipient, key, fingerprint in ledger:
        sent[(channel, recipient)][key].add(fingerprint)
    by_recipient: dict[str, list[Failure]] = defaultdict(list)
    for f in found:
        by_recipient[f.recipient].append(f)
    messages = []
    for channel in channels:
        for recipient, items in sorted(by_recipient.items()):
            told = sent[(channel, recipient)]
            unique = {f.fingerprint: f for f in items if f.fingerprint not in told.get(f.failure_key, set())}
            if unique:
                messages.append(compose(channel, recipient, told, list(unique.values())))
    return messages


def record(dataset: Dataset, message: Message) -> None:
    """Note in the ledger that ``message`` was delivered."""
    rows = [
        (message.channel, message.recipient, f.fingerprint, f.failure_key, f.url, f.sha256, f.check_id)
        for f in message.failures
    ]
    with connect(dataset) as con:
        con.execute(_LEDGER)
        con.executemany(
            "INSERT INTO alert_ledger (channel, recipient, fingerprint, failure_key, url, sha256, check_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )


def ledger(dataset: Dataset) -> list[dict]:
    """Every recorded delivery."""
    with connect(dataset) as con:
        con.execute(_LEDGER)
        cursor = con.execute("SELECT * FROM alert_ledger ORDER BY sent_at, channel, recipient")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def addressed(block: NotificationBlock, recipient: str) -> NotificationBlock:
    """The e-mail block sending to ``recipient`` (an Apprise ``mailto://`` URL with its ``to`` replaced)."""
    if not recipient or not isinstance(block, AppriseNotificationBlock):
        return block
    parts = urlsplit(block.url.get_secret_value())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "to"] + [("to", recipient)]
    url = urlunsplit(parts._replace(query=urlencode(query)))
    return type(block)(url=SecretStr(url), notify_type=block.notify_type, allow_private_urls=block.allow_private_urls)


def deliver(message: Message, block: NotificationBlock) -> None:
    """Send one message through a notification block; DeliveryError when the channel does not accept it."""
    target = addressed(block, message.recipient) if message.channel == "email" else block
    try:
        with target.raise_on_failure():
            target.notify(body=message.body, subject=message.subject)
    except Exception as exc:
        raise DeliveryError(message.channel, message.recipient, f"{type(exc).__name__}: {exc}") from exc
