"""A run's findings by their life cycle (budgetwatch.publish.ledger): what is new, what is still open from earlier
runs, what was fixed or withdrawn — as the report's section, the rows of the run's findings table and its summary.

Errors count as open until they are fixed: a run that processed nothing new still shows every open error."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from budgetwatch.publish.ledger import STATES, Entry, Problem
from budgetwatch.report.html import e

STATE_ZH = {"new": "新 new", "open": "仍未解决 still open", "fixed": "已修正 fixed", "withdrawn": "撤回 withdrawn"}
KIND_ZH = {"budget": "部门预算", "final_account": "部门决算"}


def tally(entries: Iterable[Entry], severity: str = "error") -> Counter[str]:
    """Findings of one severity by state (new, open, fixed, withdrawn)."""
    return Counter(x.state for x in entries if x.severity == severity)


def open_count(counts: Counter[str]) -> int:
    """Open now: new in this run or still open from earlier ones."""
    return counts["new"] + counts["open"]


def headline(entries: list[Entry], severity: str = "error") -> str:
    """ "3 open (1 new, 2 still open), 1 fixed": 0 only when nothing is open."""
    c = tally(entries, severity)
    closed = [f"{c[s]} {s}" for s in ("fixed", "withdrawn") if c[s]]
    text = f"{open_count(c)} open ({c['new']} new, {c['open']} still open)"
    return text + (", " + ", ".join(closed) if closed else "")


def _order(x: Entry) -> tuple:
    return (STATES.index(x.state), x.severity != "error", x.document, x.table_id or "~", x.line or 0)


def section(entries: list[Entry], href: Callable[[Entry], str | None]) -> str:
    """The report's section: counts by state, then one row a finding, open errors first."""
    if not entries:
        return '<p class="note">没有未解决的问题 nothing open: no finding recorded for these documents</p>'
    errors, warnings = tally(entries, "error"), tally(entries, "warning")
    counts = "".join(
        f'<tr data-severity="{sev}"><td>{label}</td>'
        + "".join(f'<td class=num data-state="{s}">{c[s]}</td>' for s in STATES)
        + "</tr>"
        for sev, label, c in (("error", "错误 errors", errors), ("warning", "警告 warnings", warnings))
    )
    head = "".join(f"<th>{STATE_ZH[s]}</th>" for s in STATES)
    rows = []
    for x in sorted(entries, key=_order):
        link = href(x)
        document = f'<a href="{e(link)}">{e(x.document)}</a>' if link else e(x.document)
        rows.append(
            f'<tr class="ledger" data-state="{x.state}" data-severity="{x.severity}"><td>{STATE_ZH[x.state]}</td>'
            f"<td><code>{e(x.check_id)}</code></td><td>{e(x.message.split(' | ')[0])}</td>"
            f"<td class=num>{e(x.expected)}</td><td class=num>{e(x.actual)}</td><td class=num>{e(x.difference)}</td>"
            f"<td>{e(' '.join(p for p in (x.table_id or '', x.place) if p))}</td><td>{document}</td>"
            f"<td>{e(x.opened_at[:16].replace('T', ' '))}</td></tr>"
        )
    return (
        f'<table class="lifecycle-counts"><thead><tr><th></th>{head}</tr></thead><tbody>{counts}</tbody></table>'
        '<table class="lifecycle"><thead><tr><th>状态 state</th><th>检查 check</th><th>问题 message</th>'
        "<th>应为 expected</th><th>印刷 printed</th><th>差额 difference</th><th>位置 place</th><th>文档 document</th>"
        f"<th>首次发现 first seen</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def rows(entries: list[Entry], link: Callable[[Entry], str | None]) -> list[dict]:
    """The run's findings table: check, message and figures first, then where, the document and its page."""
    return [
        {"state": x.state, "check": x.check_id, "message": x.message.split(" | ")[0], "expected": x.expected,
         "printed": x.actual, "difference": x.difference, "severity": x.severity,
         "table": " ".join(p for p in (x.table_id or "", x.place) if p) or None, "line": x.line,
         "document": x.document, "page": link(x)}
        for x in sorted(entries, key=_order)
    ]  # fmt: skip


def problems_markdown(problems: list[Problem]) -> list[str]:
    """Crawl problems by state, one line each, in words."""
    if not problems:
        return ["none"]
    label = {"new": "**new**", "open": "still open", "fixed": "fixed"}
    return [
        f"- {label.get(p.state, p.state)}: {p.district or p.source_id} ({p.source_id}): {p.url or 'the source'}: "
        f"{p.error}"
        for p in sorted(problems, key=lambda p: (("new", "open", "fixed").index(p.state), p.url))
    ]


def document_name(department: str | None, year: int | None, kind: str | None) -> str:
    return " · ".join([department or "?", str(year or "?"), KIND_ZH.get(kind or "", "?")])
