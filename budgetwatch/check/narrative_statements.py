"""Sentences that compare two numbers in words: 决算数大于 / 小于 / 等于预算数, 决算数与预算数持平, checked against the
预算 and 决算 amounts their paragraph states right before them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from budgetwatch.check.document_checks import outside_tables
from budgetwatch.check.rules import Rule
from budgetwatch.labels import squeeze
from budgetwatch.model import Extraction, Finding, Location, NarrativeFact, Severity
from budgetwatch.read.narrative import sentences

_COMPARISON = re.compile(
    r"决算数?(?:(?P<word>大于|高于|超过|多于|小于|低于|少于|等于)(?:年初|全年|调整后)?预算数?"
    r"|与(?:年初|全年|调整后)?预算数?(?:相比)?(?P<level>基本)?(?P<flat>持平|相等|一致))"
)
_RELATION = {"大于": ">", "高于": ">", "超过": ">", "多于": ">", "小于": "<", "低于": "<", "少于": "<", "等于": "="}
_SAID = {">": "大于", "<": "小于", "=": "等于"}


def _relation(m: re.Match) -> tuple[str, bool] | None:
    """The relation a comparison states, and whether it is exact (基本持平 is not)."""
    if m["word"]:
        return _RELATION[m["word"]], True
    if m["level"]:
        return None
    return "=", m["flat"] != "持平"  # 持平 is also said of nearly equal amounts


def _amounts_before(ex: Extraction, line: int, order: list[str], text: str, start: int):
    """The last 预算 and 决算 amounts of the paragraph before the comparison (in the sentences before it, or in its
    own sentence before the words)."""
    budget = final = None
    for f in ex.facts:
        if f.line != line or f.sentence not in order:
            continue
        position = order.index(f.sentence)
        if position > order.index(text) or (f.sentence == text and f.offset >= start):
            continue
        if f.kind == "budget":
            budget = f
        elif f.kind == "final":
            final = f
    return budget, final


def _holds(relation: str, final: NarrativeFact, budget: NarrativeFact) -> bool:
    return {">": final.micros > budget.micros, "<": final.micros < budget.micros, "=": final.micros == budget.micros}[
        relation
    ]


def final_versus_budget(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """决算数大于/小于/等于预算数 (or 与预算数持平) where the 决算 and 预算 amounts stated before it say otherwise: an
    error for 大于 / 小于 / 等于, a warning for 持平 (said of nearly equal amounts too); 基本持平 is not checked."""
    listed = sentences(outside_tables(ex))
    by_line: dict[int, list[str]] = {}
    for s in listed:
        by_line.setdefault(s.line, []).append(s.text)
    for s in listed:
        for m in _COMPARISON.finditer(s.text):
            said = _relation(m)
            if said is None:
                continue
            relation, exact = said
            budget, final = _amounts_before(ex, s.line, by_line[s.line], s.text, m.start())
            if budget is None or final is None or _holds(relation, final, budget):
                continue
            actual = ">" if final.micros > budget.micros else "<" if final.micros < budget.micros else "="
            detail = f"称“{squeeze(m.group(0))}”，而决算 {final.raw} {_SAID[actual]}预算 {budget.raw}"
            yield Finding(
                check_id=rule.id,
                severity=Severity("error" if exact else "warning"),
                category=rule.category,
                message=f"{rule.zh}：{detail}（第{s.line}行：{s.text[:80]}）| {rule.en}",
                expected=f"决算数{_SAID[actual]}预算数",
                actual=squeeze(m.group(0)),
                locations=[Location(line=s.line)],
                basis=rule.basis,
            )
