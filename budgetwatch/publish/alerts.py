"""Alerts to data stewards: one message per steward and channel per run, telling what is newly wrong — error-level
findings not told before (or told with other numbers) and new crawl problems of the steward's sources.

What is told comes from the ledgers (budgetwatch.publish.ledger); the alert ledger (table ``alert_ledger`` in the
dataset's DuckDB) records what each recipient was sent on each channel. It is written only after the channel accepted
the message, so an undelivered message is composed again by the next run, even when nothing else changed.

A message names the district, the number of new errors and the worst one in its subject; its body has a plain-text
part (one line a finding) and, by e-mail, an HTML part with a table (document, table, check, expected, printed,
difference, link). Each message links the flow run in the Prefect UI and each document's page of the run's report,
when the report is served. E-mail goes straight to the SMTP server of the e-mail block's ``mailto://`` URL (addressed
to the steward); the webhook is a Slack-compatible Prefect block.
"""

from __future__ import annotations

import html as _html_text
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from prefect.blocks.abstract import NotificationBlock
from prefect.blocks.notifications import AppriseNotificationBlock
from pydantic import SecretStr

from budgetwatch.errors import BudgetwatchError
from budgetwatch.publish import mail
from budgetwatch.publish.dataset import Dataset, connect
from budgetwatch.publish.ledger import Entry, Problem

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


def e(value: object) -> str:
    return "" if value is None else _html_text.escape(str(value))


def shown_url(url: str) -> str:
    """A document's address as people may see it: its http(s) URL, or only the file name of a local file."""
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") else parts.path.rsplit("/", 1)[-1] or url


@dataclass(frozen=True, slots=True)
class Failure:
    """One open error-level finding as a steward is told of it, with the report page that shows it."""

    entry: Entry
    page_url: str | None = None

    @property
    def recipient(self) -> str:
        return self.entry.steward or ""  # "" for the channel's default recipients

    @property
    def failure_key(self) -> str:
        return self.entry.key

    @property
    def fingerprint(self) -> str:
        return self.entry.fingerprint

    @property
    def where(self) -> str:
        x = self.entry
        return " ".join(str(p) for p in (x.table_id or "text", x.place, x.line and f"line {x.line}") if p)

    @property
    def size(self) -> Decimal:
        """The difference as a number (0 when none is printed), to rank failures."""
        try:
            return abs(Decimal((self.entry.difference or "0").replace(",", "").rstrip("%")))
        except InvalidOperation:
            return Decimal(0)

    def text(self, changed: bool) -> str:
        x = self.entry
        numbers = "; ".join(f"{label} {value}" for label, value in
                            (("expected", x.expected), ("printed", x.actual), ("difference", x.difference))
                            if value is not None)  # fmt: skip
        head = x.message.split(" | ")[0]
        return f"  - [{'changed' if changed else 'new'}] {x.check_id} {self.where}: {head}" + (
            f" ({numbers})" if numbers else ""
        )


def failures(entries: list[Entry], page_url=lambda _entry: None) -> list[Failure]:
    """The open error-level findings among ``entries`` (new in this run or open from before), to be told."""
    return [Failure(x, page_url(x)) for x in entries if x.severity == "error" and x.state in ("new", "open")]


@dataclass(frozen=True, slots=True)
class RunLinks:
    """What a message links: the flow run in the UI and the run's report, when known."""

    run_name: str = ""
    run_url: str | None = None
    report_url: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """One run's message to one recipient on one channel."""

    channel: str
    recipient: str
    subject: str
    body: str  # plain text
    failures: tuple[Failure, ...]
    problems: tuple[Problem, ...] = ()
    html: str | None = None

    @property
    def told(self) -> list[tuple[str, str, str, str, str]]:
        """(fingerprint, key, url, sha256, check) of everything the message tells."""
        rows = [(f.fingerprint, f.failure_key, f.entry.url, f.entry.sha256, f.entry.check_id) for f in self.failures]
        return rows + [(p.fingerprint, p.key, p.url, "", "crawl") for p in self.problems]


def _districts(failures: list[Failure], problems: list[Problem]) -> str:
    names = list(dict.fromkeys([f.entry.district or f.entry.source_id or "?" for f in failures]
                               + [p.district or p.source_id for p in problems]))  # fmt: skip
    return "、".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def subject_of(failures: list[Failure], problems: list[Problem]) -> str:
    """District, how many new errors and crawl problems, and the worst error (the largest difference)."""
    counts = []
    if failures:
        counts.append(f"{len(failures)} new error{'s' * (len(failures) > 1)}")
    if problems:
        counts.append(f"{len(problems)} new crawl problem{'s' * (len(problems) > 1)}")
    subject = f"budgetwatch · {_districts(failures, problems)}: {', '.join(counts)}"
    if failures:
        worst = max(failures, key=lambda f: f.size)
        x = worst.entry
        figure = f" difference {x.difference}" if x.difference else ""
        subject += f"; worst: {x.check_id} {x.table_id or 'text'}{figure} ({x.department or x.document})"
    elif problems:
        subject += f": {problems[0].error}"
    return subject[:180]  # an encoded subject must fit SMTP's line limit


def _text(failures: list[Failure], problems: list[Problem], told: dict[str, set[str]], links: RunLinks) -> str:
    lines = [f"budgetwatch run {links.run_name}".rstrip() + ":", ""]
    lines += [f"Run: {links.run_url}"] if links.run_url else []
    lines += [f"Report: {links.report_url}"] if links.report_url else []
    by_document: dict[tuple[str, str], list[Failure]] = defaultdict(list)
    for f in failures:
        by_document[(f.entry.document, f.entry.url)].append(f)
    if failures:
        lines += ["", f"{len(failures)} new or changed errors in {len(by_document)} documents:"]
    for (document, url), group in by_document.items():
        lines += ["", document, f"  {shown_url(url)} (sha256 {group[0].entry.sha256[:12]})"]
        lines += [f"  report: {group[0].page_url}"] if group[0].page_url else []
        lines += [f.text(changed=f.failure_key in told) for f in group]
    if problems:
        lines += ["", f"{len(problems)} new crawl problems (the run failed for them; told once while they last):"]
        lines += [
            f"  - {p.district or p.source_id} ({p.source_id}): {p.url or 'the source'}: {p.error}" for p in problems
        ]
    return "\n".join(lines).rstrip() + "\n"


_HEAD = ("文档 document", "表 table", "检查 check", "问题 message", "应为 expected", "印刷 printed", "差额 difference",
         "链接 link")  # fmt: skip


def _html(failures: list[Failure], problems: list[Problem], told: dict[str, set[str]], links: RunLinks) -> str:
    run = f'<a href="{e(links.run_url)}">{e(links.run_name or "run")}</a>' if links.run_url else e(links.run_name)
    report = f' · <a href="{e(links.report_url)}">报告 report</a>' if links.report_url else ""
    parts = [f"<p>budgetwatch run {run}{report}</p>"]
    if failures:
        rows = []
        for f in failures:
            x = f.entry
            mark = "changed" if f.failure_key in told else "new"
            link = f'<a href="{e(f.page_url)}">报告页 page</a>' if f.page_url else e(shown_url(x.url))
            cells = [x.document, f.where, f"{x.check_id} ({mark})", x.message.split(" | ")[0], x.expected, x.actual,
                     x.difference]  # fmt: skip
            rows.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + f"<td>{link}</td></tr>")
        head = "".join(f'<th align="left">{h}</th>' for h in _HEAD)
        parts.append(
            f"<h3>{len(failures)} new or changed errors</h3>"
            f'<table border="1" cellpadding="4" cellspacing="0"><tr>{head}</tr>{"".join(rows)}</table>'
        )
    if problems:
        items = "".join(f"<li>{e(p.district or p.source_id)} ({e(p.source_id)}): "
                        f'<a href="{e(p.url)}">{e(p.url)}</a>: {e(p.error)}</li>' for p in problems)  # fmt: skip
        parts.append(f"<h3>{len(problems)} new crawl problems</h3><ul>{items}</ul>")
    return f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{"".join(parts)}</body></html>'


def compose(  # noqa: PLR0917 - the message's parts, in the order they are told
    channel: str,
    recipient: str,
    told: dict[str, set[str]],
    failures: list[Failure],
    problems: list[Problem] = (),
    links: RunLinks = RunLinks(),
) -> Message:
    """The message telling ``failures`` and ``problems`` (not yet told); ``told`` maps keys to fingerprints sent."""
    failures, problems = list(failures), list(problems)
    return Message(channel, recipient, subject_of(failures, problems), _text(failures, problems, told, links),
                   tuple(failures), tuple(problems), _html(failures, problems, told, links))  # fmt: skip


@dataclass(slots=True)
class _Outbox:
    failures: list[Failure] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _sent(dataset: Dataset) -> dict[tuple[str, str], dict[str, set[str]]]:
    with connect(dataset, _LEDGER) as con:
        rows = con.execute("SELECT channel, recipient, failure_key, fingerprint FROM alert_ledger").fetchall()
    sent: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for channel, recipient, key, fingerprint in rows:
        sent[(channel, recipient)][key].add(fingerprint)
    return sent


def pending(
    dataset: Dataset,
    channels: list[str],
    found: list[Failure],
    problems: list[Problem] = (),
    links: RunLinks = RunLinks(),
) -> list[Message]:
    """One message per channel and recipient with what was not yet told there; none when everything was told.
    ``problems``: crawl problems new in this run or still open (an open one is told until a channel takes it)."""
    sent = _sent(dataset) if dataset.exists() else defaultdict(lambda: defaultdict(set))
    by_recipient: dict[str, _Outbox] = defaultdict(_Outbox)
    for f in found:
        by_recipient[f.recipient].failures.append(f)
    for p in problems:
        if p.state in ("new", "open"):
            by_recipient[p.steward or ""].problems.append(p)
    messages = []
    for channel in channels:
        for recipient, box in sorted(by_recipient.items()):
            told = sent[(channel, recipient)]
            fresh = {f.fingerprint: f for f in box.failures if f.fingerprint not in told.get(f.failure_key, set())}
            crawl = {p.key: p for p in box.problems if p.fingerprint not in told.get(p.key, set())}
            if fresh or crawl:
                messages.append(compose(channel, recipient, told, list(fresh.values()), list(crawl.values()), links))
    return messages


def record(dataset: Dataset, message: Message) -> None:
    """Note in the ledger that ``message`` was delivered."""
    rows = [(message.channel, message.recipient, fp, key, url, sha, check) for fp, key, url, sha, check in message.told]
    with connect(dataset, _LEDGER) as con:
        con.executemany(
            "INSERT INTO alert_ledger (channel, recipient, fingerprint, failure_key, url, sha256, check_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )


def ledger(dataset: Dataset) -> list[dict]:
    """Every recorded delivery."""
    with connect(dataset, _LEDGER) as con:
        cursor = con.execute("SELECT * FROM alert_ledger ORDER BY sent_at, channel, recipient")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def email_url(block: NotificationBlock) -> str:
    url = getattr(block, "url", "")
    return url.get_secret_value() if isinstance(url, SecretStr) else str(url)


def deliver(message: Message, block: NotificationBlock) -> None:
    """Send one message through a channel's block; DeliveryError naming the channel, recipient and reason."""
    try:
        if message.channel == "email" and isinstance(block, AppriseNotificationBlock):
            url = email_url(block)
            mail.send(url, mail.message(url, message.recipient, message.subject, message.body, message.html))
        else:
            with block.raise_on_failure():
                block.notify(body=message.body, subject=message.subject)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, mail.MailError) else f"{type(exc).__name__}: {exc}"
        raise DeliveryError(message.channel, message.recipient, reason) from exc
