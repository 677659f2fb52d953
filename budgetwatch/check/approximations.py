"""Approximate quantities of the explanatory text (5000余人, 300多万元, 逾20家, 超过1万人次, 100人以上) and the exact
statements of the same quantity that contradict them.

An approximate quantity bounds the value it stands for: “N余/N多” says more than N (and, for a round N = d×10^k, less
than N + 10^k), “逾/超过/突破 N” says more than N, “N以上” at least N. The same quantity stated exactly elsewhere — on
its own, or as listed parts whose names together make up the approximate one (因病返贫预警人员 693 人、因病致贫预警人员
4290 人 for 因病返贫致贫预警人员 5000 余人) — must lie within those bounds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from budgetwatch.labels import squeeze
from budgetwatch.model import MICROS, NarrativeFact
from budgetwatch.read.narrative import Sentence

# printed unit → (unit compared in, its size in that unit)
UNITS: dict[str, tuple[str, Decimal]] = {
    "万人次": ("人次", Decimal(10000)),
    "万人": ("人", Decimal(10000)),
    "人次": ("人次", Decimal(1)),
    "人": ("人", Decimal(1)),
    "名": ("人", Decimal(1)),
    "亿元": ("万元", Decimal(10000)),
    "万元": ("万元", Decimal(1)),
    "元": ("万元", Decimal("0.0001")),
    **{u: (u, Decimal(1)) for u in ("个", "家", "项", "次", "件", "户", "辆", "台", "套", "条", "所")},
}
_MULTIPLIER = {"万": Decimal(10000), "亿": Decimal(100000000)}
_UNIT = "|".join(sorted(UNITS, key=len, reverse=True))
_NUM = r"\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_NOT_RATE = r"(?!百分点)"
_MORE_THAN = re.compile(
    rf"(?<![\d.])(?P<num>{_NUM})\s*(?P<mult>[万亿])?\s*(?P<mark>余|多)\s*(?P<unit>{_UNIT}){_NOT_RATE}"
)
_ABOVE = re.compile(
    rf"(?P<mark>逾|超过|超|突破|多于|高于|大于)\s*(?P<num>{_NUM})\s*(?P<mult>[万亿])?\s*(?P<unit>{_UNIT}){_NOT_RATE}"
)
_AT_LEAST = re.compile(rf"(?<![\d.])(?P<num>{_NUM})\s*(?P<mult>[万亿])?\s*(?P<unit>{_UNIT})\s*(?P<mark>以上)")
# words around a number that make it approximate, not exact
_VAGUE_BEFORE = re.compile(r"(?:约|近|大约|将近|接近|逾|超过|超|突破|多于|高于|大于|不少于|不低于|不足|不到)\s*$")
_VAGUE_AFTER = re.compile(r"^\s*(?:余|多|以上|以下|左右|以内|上下)")
_CLAUSE_BREAK = re.compile(r"[，,。；;：:、（）()]")
_LEAD = re.compile(r"^(?:和|及|与|以及|其中|此外|另外|另|共计|合计|累计|总计|共|全年|全区|年内|年度)+")
_JOINED = re.compile(r"(?:、|和|及|与|或|以及|及其)$")
_LIST_JOIN = re.compile(r"^\s*(?:、|和|及|以及|与)\s*")
_OTHER_PERIOD = re.compile(r"上年|去年|上一年|前年|同期")
_YEAR = re.compile(r"(20\d\d)\s*年")


@dataclass(frozen=True, slots=True)
class Quantity:
    """A count or amount as said in one sentence, in the unit it is compared in."""

    value: Decimal
    unit: str
    subject: str  # the words of its clause up to the number
    raw: str
    line: int
    sentence: str
    start: int  # span of the number (and its marks) in the sentence
    end: int


@dataclass(frozen=True, slots=True)
class Approximation:
    quantity: Quantity
    low: Decimal  # the value is above this (or at least this when low_inclusive)
    low_inclusive: bool
    high: Decimal | None  # the value is below this, when the wording says so


@dataclass(frozen=True, slots=True)
class Contradiction:
    approximation: Approximation
    parts: tuple[Quantity, ...]  # one exact statement, or the listed parts of one
    total: Decimal
    bound: str  # low | high


def _value(num: str, mult: str | None, unit: str) -> tuple[Decimal, str]:
    base, size = UNITS[unit]
    return Decimal(re.sub(r"[,，]", "", num)) * _MULTIPLIER.get(mult or "", Decimal(1)) * size, base


def _step(num: str, mult: str | None, unit: str) -> Decimal | None:
    """10^k of a round number d×10^k (5000 → 1000, 1.5万 → 1000), in the compared unit; None when it is not round."""
    digits = re.sub(r"[,，]", "", num)
    if "." in digits:
        whole, fraction = digits.split(".")
        places = -len(fraction.rstrip("0")) if fraction.rstrip("0") else len(whole) - len(whole.rstrip("0"))
    else:
        places = len(digits) - len(digits.rstrip("0"))
    if places <= 0 and not mult:
        return None
    step, _ = _value(str(Decimal(10) ** places), mult, unit)
    return step


def _subject(sentence: str, start: int) -> str:
    clause = _CLAUSE_BREAK.split(sentence[:start])[-1]
    clause = re.split(rf"(?:{_NUM})\s*(?:{_UNIT})", clause)[-1]
    clause = re.sub(r"^\d{4}\s*年度?", "", squeeze(clause))
    return _LEAD.sub("", re.sub(r"(?:为|是|达到|达|约|近|共计|共|有)$", "", clause))


def approximations(sentences: Iterable[Sentence]) -> Iterator[Approximation]:
    """Every approximate count or amount of the sentences, with the bounds its wording sets."""
    for s in sentences:
        for pattern in (_MORE_THAN, _ABOVE, _AT_LEAST):
            for m in pattern.finditer(s.text):
                value, base = _value(m["num"], m["mult"], m["unit"])
                mark = m["mark"]
                step = _step(m["num"], m["mult"], m["unit"]) if mark in ("余", "多") else None
                quantity = Quantity(
                    value=value,
                    unit=base,
                    subject=_subject(s.text, m.start()),
                    raw=squeeze(m.group(0)),
                    line=s.line,
                    sentence=s.text,
                    start=m.start(),
                    end=m.end(),
                )
                yield Approximation(quantity, value, mark == "以上", value + step if step else None)


def exact_quantities(facts: Iterable[NarrativeFact]) -> list[Quantity]:
    """The counts and amounts stated without a word that makes them approximate."""
    out = []
    for f in facts:
        if f.unit not in UNITS or f.kind in ("share", "increase", "decrease") or "%" in f.raw:
            continue
        number_end = f.offset + len(re.match(r"[\d,，.]+", f.raw).group(0))
        after = f.sentence[number_end:]
        if _VAGUE_BEFORE.search(f.sentence[: f.offset]) or _VAGUE_AFTER.match(after):
            continue
        printed_unit = re.match(rf"\s*{re.escape(f.unit)}", after)  # a bare 2-decimal amount is read as 万元
        unit_end = number_end + (printed_unit.end() if printed_unit else 0)
        value, base = _value(str(Decimal(f.micros) / MICROS), None, f.unit)
        out.append(
            Quantity(
                value=value,
                unit=base,
                subject=_subject(f.sentence, f.offset),
                raw=f.raw,
                line=f.line,
                sentence=f.sentence,
                start=f.offset,
                end=unit_end,
            )
        )
    return out


def _lists(quantities: list[Quantity]) -> Iterator[tuple[Quantity, ...]]:
    """Runs of quantities of one unit listed in one sentence (A 1 人、B 2 人和 C 3 人)."""
    run: list[Quantity] = []
    for q in quantities:
        if run and q.sentence == run[-1].sentence and q.line == run[-1].line and q.unit == run[-1].unit:
            between = q.sentence[run[-1].end : q.start]
            if _LIST_JOIN.match(between) and not re.search(r"[，,。；;：:]", between):
                run.append(q)
                continue
        if len(run) >= 2:
            yield tuple(run)
        run = [q]
    if len(run) >= 2:
        yield tuple(run)


def _common_suffix(words: list[str]) -> str:
    n = 0
    while all(len(w) > n for w in words) and len({w[len(w) - n - 1] for w in words}) == 1:
        n += 1
    return words[0][len(words[0]) - n :] if n else ""


def _names_the_parts(whole: str, parts: tuple[Quantity, ...]) -> bool:
    """The approximate subject is made of the listed parts: they share a head noun it ends with, and each part's own
    words (those no other part has) occur in it (因病返贫 + 因病致贫 预警人员 → 因病返贫致贫预警人员)."""
    subjects = [p.subject for p in parts]
    head = _common_suffix(subjects)
    if len(head) < 2 or not whole.endswith(head) or len(whole) == len(head):
        return False
    qualifiers = [set(s[: len(s) - len(head)]) for s in subjects]
    named = set(whole[: len(whole) - len(head)])
    for k, own in enumerate(qualifiers):
        others = set().union(*(q for j, q in enumerate(qualifiers) if j != k))
        if not (own - others - set(head)) & named:
            return False
    return True


def _same_subject(whole: str, exact: str) -> bool:
    """An exact statement of the same or a wider quantity: its words end the approximate subject, and not as the last
    of words joined (城镇职工和城乡居民参保人员 is more than 城乡居民参保人员)."""
    return len(exact) >= 4 and whole.endswith(exact) and not _JOINED.search(whole[: len(whole) - len(exact)])


def _same_period(a: Quantity, b: Quantity) -> bool:
    if _OTHER_PERIOD.search(a.subject) or _OTHER_PERIOD.search(b.subject):
        return False
    years_a, years_b = set(_YEAR.findall(a.sentence)), set(_YEAR.findall(b.sentence))
    return not (years_a and years_b and not years_a & years_b)


def _outside(a: Quantity, b: Quantity) -> bool:
    """b is not the number a itself (a fact parser may read the N of “逾N人” as a count)."""
    return not (a.line == b.line and a.sentence == b.sentence and a.start <= b.start < a.end)


def contradictions(approximate: Iterable[Approximation], exact: list[Quantity]) -> Iterator[Contradiction]:
    """Each approximate quantity that an exact statement of the same quantity puts outside its bounds (the first
    such statement in the text)."""
    listed = list(_lists(exact))
    in_lists = {id(p) for parts in listed for p in parts}
    singles = [e for e in exact if id(e) not in in_lists]  # a listed part is one part of something
    for a in approximate:
        q = a.quantity
        candidates: list[tuple[int, tuple[Quantity, ...]]] = [
            (e.line, (e,)) for e in singles if e.unit == q.unit and _same_subject(q.subject, e.subject)
        ]
        candidates += [
            (parts[0].line, parts) for parts in listed if parts[0].unit == q.unit and _names_the_parts(q.subject, parts)
        ]
        for _, parts in sorted(candidates, key=lambda c: c[0]):
            if not all(_outside(q, p) and _same_period(q, p) for p in parts):
                continue
            total = sum((p.value for p in parts), Decimal(0))
            too_low = total < a.low or (total == a.low and not a.low_inclusive)
            too_high = a.high is not None and total >= a.high
            if too_low or too_high:
                yield Contradiction(a, parts, total, "low" if too_low else "high")
                break
