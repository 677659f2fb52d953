"""What a stated share (占 p%) is a share of: the amount it names (占“三公”经费的, 占本年支出合计的), or, when it names
none, the amount whose list it belongs to (…合计 a 万元，其中：b 万元，占 p%).

A base is certain when the sentence names it and the text states it, when it is the “三公”经费 made of its three parts
stated beside it, or when the share's amount is an item of a list the base opens; otherwise it is the amount that
opens the section, a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from budgetwatch.labels import squeeze
from budgetwatch.model import MICROS, NarrativeFact

MONEY = ("万元", "亿元", "元")
_OPENS_LIST = re.compile(r"其中|主要用于|主要包括|具体包括|包括|分别为|分别是|如下|构成")
_QUOTES = re.compile(r"[“”\"'‘’「」《》\s]")
_NAMED_TAIL = re.compile(r"(?:的)?(?:比重|比例|份额)?(?:为|达|约|达到)?$")
_YEAR = re.compile(r"\d{4}年度?")
# “三公”经费 is by definition 因公出国（境）费 + 公务用车购置及运行（维护）费 + 公务接待费
_THREE_PUBLIC = "三公经费"
_THREE_PUBLIC_PARTS = ("因公出国", "公务用车", "公务接待")


@dataclass(frozen=True, slots=True)
class Base:
    value: Decimal
    half: Decimal  # half a unit of the last printed digit of every value it is made of, summed
    raw: str
    certain: bool


def _money(f: NarrativeFact) -> bool:
    return f.unit in MONEY and f.kind not in ("share", "count")


def _half(decimals: int) -> Decimal:
    return Decimal(5) / Decimal(10) ** (decimals + 1)


def _single(f: NarrativeFact, certain: bool) -> Base:
    return Base(Decimal(f.micros) / MICROS, _half(f.decimals), f.raw, certain)


def _norm(words: str) -> str:
    return _YEAR.sub("", _QUOTES.sub("", squeeze(words)))


def named_base(share: NarrativeFact) -> str:
    """The words between 占 and the percentage (占“三公”经费的 → 三公经费); empty when the share names no base."""
    before = share.sentence[: share.offset]
    at = before.rfind("占")
    if at < 0:
        return ""
    name = _NAMED_TAIL.sub("", _norm(before[at + 1 :]))
    return "" if name in ("", "比") else name


def _said_of(f: NarrativeFact, name: str) -> bool:
    subject = _norm(f.subject)
    return len(subject) >= 2 and (
        subject == name or subject.endswith(name) or (len(subject) >= 4 and name.endswith(subject))
    )


def _three_public(facts: list[NarrativeFact], share: NarrativeFact) -> Base | None:
    """“三公”经费 as the sum of its three parts stated in the same paragraph."""
    parts = {}
    for g in facts:
        if g.line == share.line and _money(g):
            for word in _THREE_PUBLIC_PARTS:
                if word in g.subject and word not in parts:
                    parts[word] = g
    if len(parts) < len(_THREE_PUBLIC_PARTS):
        return None
    value = sum((Decimal(g.micros) / MICROS for g in parts.values()), Decimal(0))
    half = sum((_half(g.decimals) for g in parts.values()), Decimal(0))
    return Base(value, half, f"{value}万元（{' + '.join(g.raw for g in parts.values())}）", True)


def _opens_list(facts: list[NarrativeFact], g: NarrativeFact) -> bool:
    """The amount is followed, before the next number of its sentence, by words that open a list (其中、主要用于 …)."""
    after = [h.offset for h in facts if h.sentence == g.sentence and h.line == g.line and h.offset > g.offset]
    return _OPENS_LIST.search(g.sentence[g.offset : min(after, default=len(g.sentence))]) is not None


def _list_opener(facts: list[NarrativeFact], k: int, part: NarrativeFact) -> NarrativeFact | None:
    """Walking back from the share over the list's other items (an amount with its share), the amount that opens
    the list; None when something else comes first."""
    j = facts.index(part) - 1
    while j >= 0:
        g = facts[j]
        if g.section != part.section:
            return None
        if g.kind == "share":
            j -= 1
            continue
        if not _money(g):
            return None
        if _opens_list(facts, g):
            return g
        if j + 1 < len(facts) and facts[j + 1].kind == "share":
            j -= 1  # a sibling item of the list
            continue
        return None
    return None


def share_base(facts: list[NarrativeFact], k: int, part: NarrativeFact) -> Base | None:
    """The base of the share facts[k] whose amount is `part`, with whether it is certain."""
    share = facts[k]
    name = named_base(share)
    if name:
        if name == _THREE_PUBLIC and (base := _three_public(facts, share)):
            return base
        stated = next((g for g in reversed(facts[: facts.index(part)]) if _money(g) and _said_of(g, name)), None)
        return _single(stated, True) if stated is not None else None
    opener = _list_opener(facts, k, part)
    if opener is not None:
        return _single(opener, True)
    opening = next((g for g in facts if g.section == share.section and g.line <= share.line and _money(g)), None)
    return _single(opening, False) if opening is not None and opening is not part else None
