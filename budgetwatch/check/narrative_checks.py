"""Narrative numbers checked against each other and against the tables: shares, rates, lists, totals, classes.

A stated percentage is compared at its printed precision with interval arithmetic: the parts it is computed from are
themselves rounded, so every percentage those rounded values allow is accepted; one that only truncation explains is a
warning; anything else is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache

from budgetwatch.check import approximations
from budgetwatch.check.document_checks import outside_tables
from budgetwatch.check.narrative_statements import final_versus_budget
from budgetwatch.check.rules import Rule, narrative_rules
from budgetwatch.check.share_bases import share_base
from budgetwatch.labels import squeeze
from budgetwatch.model import MICROS, Extraction, Finding, Location, NarrativeFact, Severity, format_micros
from budgetwatch.read import codes
from budgetwatch.read.narrative import sentences

MONEY = ("万元", "亿元", "元")
_INTRODUCER = re.compile(r"其中[:：]?|主要包括[:：]?|具体包括[:：]?|包括[:：]?|分别是[:：]?|分别为[:：]?")
_BUDGET_CONTEXT = re.compile(r"预算支出为|预算收入为|年初预算|全年预算|预算数|预算为")
_COUNT_OF_ITEMS = re.compile(r"涉及(\d+)个(?:二级)?项目")


def _same_sentence(a: NarrativeFact, b: NarrativeFact) -> bool:
    """The same occurrence of a sentence (a report may repeat a sentence word for word in another part)."""
    return a.sentence == b.sentence and a.line == b.line


def _money(f: NarrativeFact) -> bool:
    return f.unit in MONEY and f.kind not in ("share", "count")


def _value(f: NarrativeFact) -> Decimal:
    return Decimal(f.micros) / MICROS


def _half_unit(decimals: int) -> Decimal:
    return Decimal(5) / Decimal(10) ** (decimals + 1)


def _interval(f: NarrativeFact) -> tuple[Decimal, Decimal]:
    v, h = _value(f), _half_unit(f.decimals)
    return v - h, v + h


def _finding(rule: Rule, severity: str, category: str, detail: str, fact: NarrativeFact, **numbers) -> Finding:
    return _at_line(rule, severity, detail, fact.line, fact.sentence, category=category, **numbers)


def _at_line(rule: Rule, severity: str, detail: str, line: int, sentence: str, *, category: str, **numbers) -> Finding:
    return Finding(
        check_id=rule.id,
        severity=Severity(severity),
        category=category,
        message=f"{rule.zh}：{detail}（第{line}行：{sentence[:80]}）| {rule.en}",
        locations=[Location(line=line)],
        basis=rule.basis,
        **numbers,
    )


def _grade_percent(stated: NarrativeFact, low: Decimal, high: Decimal, exact: Decimal) -> str | None:
    """None when the stated percentage is one the rounded inputs allow; `truncated` or `error` otherwise."""
    q = Decimal(1).scaleb(-stated.decimals)
    value = _value(stated)
    lo = low.quantize(q, rounding=ROUND_HALF_UP)
    hi = high.quantize(q, rounding=ROUND_HALF_UP)
    if lo <= value <= hi:
        return None
    if exact.quantize(q, rounding=ROUND_DOWN) == value:
        return "truncated"
    return "error"


def _report_percent(
    rule: Rule, stated: NarrativeFact, grade: str, exact: Decimal, what: str, *, guess: str = ""
) -> Finding:
    """A stated percentage that its amounts do not give: an error, or a warning when only truncation explains it or
    when the amounts it is computed from are a guess (`guess` says which)."""
    q = Decimal(1).scaleb(-stated.decimals)
    expected = f"{exact.quantize(q, rounding=ROUND_HALF_UP)}%"
    if grade == "truncated":
        return _finding(
            rule,
            "warning",
            "narrative_truncated",
            f"{what}为{stated.raw}，按四舍五入应为{expected}（截尾）",
            stated,
            expected=expected,
            actual=stated.raw,
        )
    return _finding(
        rule,
        "warning" if guess else "error",
        "narrative",
        f"{what}为{stated.raw}，计算为{expected}" + (f"（{guess}）" if guess else ""),
        stated,
        expected=expected,
        actual=stated.raw,
    )


def _ratio_interval(part: NarrativeFact, base: NarrativeFact) -> tuple[Decimal, Decimal, Decimal]:
    (pl, ph), (bl, bh) = _interval(part), _interval(base)
    exact = _value(part) / _value(base) * 100
    return pl / bh * 100, ph / bl * 100, exact


def shares(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """占 p%: p = part / the amount the share names, or the amount whose list the part is an item of; a base taken
    from the section's opening amount is a guess (a warning)."""
    facts = ex.facts
    for k, f in enumerate(facts):
        if f.kind != "share":
            continue
        part = next(
            (g for g in reversed(facts[:k]) if _same_sentence(g, f) and _money(g) and g.offset < f.offset), None
        )
        base = share_base(facts, k, part) if part is not None else None
        if part is None or base is None or base.value - base.half <= 0 or base.value == _value(part):
            continue
        pv, ph = _value(part), _half_unit(part.decimals)
        exact = pv / base.value * 100
        low, high = (pv - ph) / (base.value + base.half) * 100, (pv + ph) / (base.value - base.half) * 100
        grade = _grade_percent(f, low, high, exact)
        if grade:
            guess = "" if base.certain else "基数按本节首个金额推断，未必是说明所指"
            yield _report_percent(rule, f, grade, exact, f"{part.subject} {part.raw} 占 {base.raw} 的比例", guess=guess)


_ADDITION = re.compile(r"追加|调增|调减|追减")
_ADJUSTED = re.compile(r"调整后|调整预算|变动后")
_ADJUSTED_SAID = re.compile(r"追加|调增|调减|调整|年中|变动")


def _budget_kind(g: NarrativeFact) -> str:
    """年初 (original), 调整后 (adjusted), 追加 (a change during the year) or plain, as the budget's words say."""
    words = squeeze(g.sentence[max(0, g.offset - 12) : g.offset])
    if _ADDITION.search(words[-8:]):
        return "addition"
    if _ADJUSTED.search(words):
        return "adjusted"
    return "original" if "年初" in words else "plain"


def _budget_readings(budgets: list[NarrativeFact], named: str) -> list[tuple[str, Decimal, Decimal]]:
    """The budgets a rate may be computed against (raw, value, half unit): the one it names, else every one stated,
    and the original budget with the changes stated beside it."""
    kinds = {id(g): _budget_kind(g) for g in budgets}
    wanted = {"original": ("original",), "adjusted": ("adjusted",)}.get(named, ("original", "adjusted", "plain"))
    readings = [(g.raw, _value(g), _half_unit(g.decimals)) for g in budgets if kinds[id(g)] in wanted]
    original = [g for g in budgets if kinds[id(g)] in ("original", "plain")]
    changes = [g for g in budgets if kinds[id(g)] == "addition"]
    if named != "original" and original and changes:
        value = _value(original[0]) + sum(_value(g) for g in changes)
        half = _half_unit(original[0].decimals) + sum(_half_unit(g.decimals) for g in changes)
        readings.append((f"{original[0].raw} + {' + '.join(g.raw for g in changes)}", value, half))
    return readings


def completion_rates(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """完成 r%: r = 决算 / 预算 of the same sentence, against the budget the rate names (年初 or 调整后); a rate that
    names neither may be against either. A rate stated against a zero budget is reported."""
    for f in ex.facts:
        if f.kind != "completion_rate":
            continue
        same = [g for g in ex.facts if _same_sentence(g, f) and g.offset < f.offset]
        budgets = [g for g in same if g.kind == "budget"]
        final = next((g for g in reversed(same) if g.kind in ("final", "amount", "total")), None)
        words = squeeze(f.sentence[max(0, f.offset - 10) : f.offset])
        named = "original" if "年初" in words else "adjusted" if _ADJUSTED.search(words) else ""
        readings = _budget_readings(budgets, named)
        if not readings or final is None:
            continue
        if all(value == 0 for _, value, _ in readings):
            detail = f"预算为{readings[0][0]}时不应计算完成率{f.raw}（除数为零）"
            yield _finding(rule, "warning", "narrative", detail, f, actual=f.raw)
            continue
        graded = []
        for raw, value, half in readings:
            if value - half <= 0:
                continue
            fv, fh = _value(final), _half_unit(final.decimals)
            exact = fv / value * 100
            graded.append(
                (
                    _grade_percent(f, (fv - fh) / (value + half) * 100, (fv + fh) / (value - half) * 100, exact),
                    raw,
                    exact,
                )
            )
        if not graded or any(grade is None for grade, _, _ in graded):
            continue
        grade, raw, exact = graded[0]
        paragraph = "".join({g.sentence for g in ex.facts if g.line == f.line})
        certain = len(graded) == 1 and (named or not _ADJUSTED_SAID.search(paragraph))
        guess = "" if certain else "未说明按年初预算还是调整后预算计算"
        yield _report_percent(rule, f, grade, exact, f"完成率（{final.raw} / {raw}）", guess=guess)


def _common(a: str, b: str) -> int:
    best = 0
    for i in range(len(a)):
        for j in range(i + 2, len(a) + 1):
            if a[i:j] in b:
                best = max(best, j - i)
    return best


_RATE_LEAD = re.compile(
    r"^[，,、\s]*(?:同比|比上年|较上年)?(?:增长|增加|上升|提高|增幅|下降|减少|降低|降幅|压减)了?(?:为|达)?\s*$"
)


def _change_before(facts: list[NarrativeFact], k: int) -> NarrativeFact | None:
    """The change amount a rate is said right after, in its own sentence (增加 a 万元，增长 p%)."""
    f = facts[k]
    change = next((g for g in reversed(facts[max(0, k - 3) : k]) if g.kind in ("increase", "decrease")), None)
    if change is None or not _same_sentence(change, f) or change.offset > f.offset:
        return None
    between = f.sentence[change.offset + len(change.raw) : f.offset]
    return change if _RATE_LEAD.match(between) else None


def _current_of(facts: list[NarrativeFact], change: NarrativeFact) -> tuple[NarrativeFact, bool] | None:
    """The amount a change is of, and whether that reading is certain: stated in the change's sentence, named by the
    change's words, or the one amount of the sentence right before."""
    j = facts.index(change)
    earlier = [
        g
        for g in facts[max(0, j - 6) : j]
        if g.line == change.line and _money(g) and g.kind not in ("increase", "decrease")
    ]
    if not earlier:
        return None
    topic = re.sub(r"(?:比|较|与)(?:上年|去年|\d{4}年度?)(?:年初)?(?:预算数?|决算数?)?(?:相比)?", "", change.subject)
    topic = re.sub(r"各?(?:增加|增长|减少|下降)$", "", topic)
    nearest = list(reversed(earlier))
    current = max(nearest, key=lambda g: (_common(topic, g.subject), -len(g.subject))) if topic else nearest[0]
    alone = [g for g in earlier if _same_sentence(g, current)] == [current] and current is nearest[0]
    certain = _same_sentence(current, change) or (topic and _common(topic, current.subject) >= 2) or alone
    return current, bool(certain)


def change_rates(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """增长/下降 p%: p = change / (current ∓ change), the change stated right before the rate and the current amount
    before it in the paragraph; or p = (current − base) / base where the rate names its base (比 X 增加 p%)."""
    facts = ex.facts
    for k, f in enumerate(facts):
        if f.kind not in ("increase_rate", "decrease_rate"):
            continue
        change = _change_before(facts, k)
        if change is None:
            yield from _rate_against_named_base(facts, k, rule)
            continue
        found = _current_of(facts, change)
        if found is None:
            continue
        current, certain = found
        sign = 1 if change.kind == "decrease" else -1
        prior = _value(current) + sign * _value(change)
        if prior <= 0:
            continue
        h_c, h_x = _half_unit(current.decimals), _half_unit(change.decimals)
        exact = _value(change) / prior * 100
        low = (_value(change) - h_x) / (prior + h_c + h_x) * 100
        high = (_value(change) + h_x) / (prior - h_c - h_x) * 100
        grade = _grade_percent(f, low, high, exact)
        if grade:
            what = f"变动率（{change.raw} / 上年 {format_micros(int(prior * MICROS))}万元）"
            guess = "" if certain else f"按{current.subject} {current.raw}推算上年数，未必是说明所指"
            yield _report_percent(rule, f, grade, exact, what, guess=guess)


_NAMED_BASE = re.compile(r"(?:比|较)(.{2,20}?)(?:增加|增长|上升|提高|减少|下降|降低)了?\s*$")


def _plain(words: str) -> str:
    return re.sub(r"\d{4}年度?|当年|上年|去年|[“”\s]", "", squeeze(words))


def _rate_against_named_base(facts: list[NarrativeFact], k: int, rule: Rule) -> Iterator[Finding]:
    """比 X 增加 p% with both amounts stated in the sentence (X 为 b 万元，… 安排 a 万元，比 X 增加 p%)."""
    f = facts[k]
    m = _NAMED_BASE.search(f.sentence[: f.offset])
    if m is None or not (name := _plain(m.group(1))):
        return
    before = [g for g in facts[:k] if _same_sentence(g, f) and _money(g) and g.offset < m.start()]
    base = next((g for g in reversed(before) if _plain(g.subject) and _plain(g.subject).endswith(name)), None)
    current = before[-1] if before else None
    if base is None or current is None or current is base:
        return
    if base.micros == 0:
        detail = f"{base.subject}为{base.raw}时不应计算变动率{f.raw}（除数为零）"
        yield _finding(rule, "warning", "narrative", detail, f, actual=f.raw)
        return
    change = abs(_value(current) - _value(base))
    rising = _value(current) > _value(base)
    if change and rising != (f.kind == "increase_rate"):
        said = "增加" if f.kind == "increase_rate" else "减少"
        detail = f"称比{base.subject}（{base.raw}）{said}{f.raw}，而 {current.raw} {'高于' if rising else '低于'}它"
        yield _finding(rule, "error", "narrative", detail, f, expected=current.raw, actual=f.raw)
        return
    h_c, h_b = _half_unit(current.decimals), _half_unit(base.decimals)
    exact = change / _value(base) * 100
    low = max(change - h_c - h_b, Decimal(0)) / (_value(base) + h_b) * 100
    high = (change + h_c + h_b) / (_value(base) - h_b) * 100 if _value(base) > h_b else exact
    grade = _grade_percent(f, low, high, exact)
    if grade:
        yield _report_percent(rule, f, grade, exact, f"变动率（{current.raw} 比 {base.subject} {base.raw}）")


def _list_totals(facts: list[NarrativeFact], first: int, sentence_facts: list[NarrativeFact], start: int):
    """Candidates for the amount a list breaks down: the last one before it in its sentence; for a list that opens its
    sentence, the amount of a short previous sentence and the nearest stated total."""
    before = [g for g in sentence_facts if g.offset < start and _money(g)]
    if before:
        return [before[-1]]
    previous = [g for g in facts[max(0, first - 15) : first] if _money(g)]
    candidates = []
    if previous and len([g for g in previous if _same_sentence(g, previous[-1])]) <= 2:
        candidates.append(previous[-1])
    total = next((g for g in reversed(previous) if g.kind == "total"), None)
    if total is not None and total not in candidates:
        candidates.append(total)
    if not candidates:  # a list closing a paragraph breaks down the amount the paragraph opens with (预算数：a。…)
        opening = next((g for g in facts[:first] if g.line == facts[first].line and _money(g)), None)
        if opening is not None:
            candidates.append(opening)
    return candidates


def list_sums(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """其中 / 主要包括 / 分别是 a、b、c: the listed amounts add up to the total they break down (and their count)."""
    facts = ex.facts
    seen: set[tuple[int, str]] = set()
    for f in facts:
        if (f.line, f.sentence) in seen:
            continue
        seen.add((f.line, f.sentence))
        sentence_facts = [g for g in facts if _same_sentence(g, f)]
        intros = list(_INTRODUCER.finditer(f.sentence))
        for n, m in enumerate(intros):
            end = intros[n + 1].start() if n + 1 < len(intros) else len(f.sentence)
            items = [g for g in sentence_facts if m.end() <= g.offset < end and _money(g)]
            segment = f.sentence[m.end() : end]
            # items apart by 、, or by ， when every item is a function class (社会保障和就业支出a，卫生健康支出b)
            by_class = len(items) >= 2 and all(_class_of(g.subject) for g in items)
            if len(items) < 2 or ("、" not in segment and not by_class):
                continue
            first = facts.index(sentence_facts[0])
            candidates = _list_totals(facts, first, sentence_facts, m.start())
            if not candidates:
                continue
            listed = sum(_value(g) for g in items)
            total = min(candidates, key=lambda g: abs(_value(g) - listed))
            following = [g for g in facts[facts.index(items[-1]) + 1 :][:3] if g.line == f.line and _money(g)]
            complete = not _PARTIAL_LIST.match(m.group(0)) and not _closed_by_deng(items[-1], f.sentence[:end])
            yield from _check_list(rule, total, items, following, complete=complete)


_PARTIAL_LIST = re.compile(r"主要包括|主要用于|具体包括")


def _closed_by_deng(last: NarrativeFact, segment: str) -> bool:
    """The list ends with 等 right after its last amount (…、C 5万元等): it names some of the parts, not all."""
    return re.match(r"\s*(?:等|等等)", segment[last.offset + len(last.raw) :]) is not None


def _check_list(
    rule: Rule,
    total: NarrativeFact,
    items: list[NarrativeFact],
    following: list[NarrativeFact],
    *,
    complete: bool = True,
) -> Iterator[Finding]:
    """The listed amounts add up to the total; a list that names only the main parts (主要包括, …等) only may not
    exceed it."""
    listed = sum(_value(g) for g in items)
    if not complete and listed <= _value(total):
        return
    # a list may go on in the next sentence (…其中，人员经费a、公用经费b。项目支出c。): accept it when it then adds up
    running = listed
    for g in following:
        running += _value(g)
        if running == _value(total):
            return
    diff = _value(total) - listed
    tolerance = _half_unit(total.decimals) + sum(_half_unit(g.decimals) for g in items)
    raws = " + ".join(g.raw for g in items)
    places = max([total.decimals, *(g.decimals for g in items)])
    numbers = {
        "expected": format_micros(int(listed * MICROS), places),
        "actual": format_micros(total.micros, places),
        "difference": format_micros(int(diff * MICROS), places),
    }
    if diff != 0:
        severity, category = ("warning", "rounding") if abs(diff) <= tolerance else ("error", "narrative")
        detail = f"{total.subject or '段首金额'} {total.raw} ≠ {raws} = {numbers['expected']}"
        yield _finding(rule, severity, category, detail, items[0], **numbers)
    said = _COUNT_OF_ITEMS.search(squeeze(total.sentence))
    if said and int(said.group(1)) != len(items):
        yield _finding(
            rule,
            "error",
            "narrative",
            f"称涉及{said.group(1)}个项目，列出{len(items)}个",
            items[0],
            expected=said.group(1),
            actual=str(len(items)),
        )


def _spending_part(subject: str) -> str | None:
    subject = re.sub(r"支出$", "", re.sub(r"[（(]合计[)）]$", "", subject))
    return next((p for p in ("人员经费", "公用经费", "项目") if subject.endswith(p)), None)


_INCOME_PARTS = (
    "一般公共预算财政拨款收入", "政府性基金预算财政拨款收入", "国有资本经营预算财政拨款收入", "财政专户管理资金收入",
    "事业单位经营收入", "事业收入", "上级补助收入", "附属单位上缴收入", "其他收入", "用事业基金弥补收支差额",
)  # fmt: skip


def _income_part(subject: str) -> str | None:
    subject = re.sub(r"^(?:其中|包括)[:：，,]?", "", subject)
    if subject.startswith("上年结转"):
        return "上年结转"
    return next((p for p in _INCOME_PARTS if subject.endswith(p)), None)


# (what the total is of, how a part is named, how many distinct parts make a breakdown)
_STRUCTURES: tuple[tuple[Callable[[str], bool], Callable[[str], str | None], int], ...] = (
    (lambda s: "合计" in s and _spending_part(s) is None, _spending_part, 3),
    (
        lambda s: "收入" in s and re.search(r"合计|总收入|总计", s) is not None and _income_part(s) is None,
        _income_part,
        3,
    ),
)


def structure_sums(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """A total followed by its standard parts (人员经费、公用经费、项目支出; income categories and 上年结转): the
    parts add up to it, where no 其中 / 包括 list already says so."""
    by_line: dict[int, list[NarrativeFact]] = {}
    for f in ex.facts:
        if _money(f):
            by_line.setdefault(f.line, []).append(f)
    for facts in by_line.values():
        for is_total, part_of, needed in _STRUCTURES:
            for k, total in enumerate(facts):
                if not is_total(total.subject):
                    continue
                parts: dict[str, NarrativeFact] = {}
                for g in facts[k + 1 :]:
                    if g.subject.endswith("小计"):
                        continue  # a subtotal restated between the total and its parts
                    part = part_of(g.subject)
                    if part is None or part in parts:
                        break
                    parts[part] = g
                if len(parts) < needed:
                    continue
                first = next(iter(parts.values()))
                if _INTRODUCER.search(first.sentence[: first.offset]):
                    continue  # a 其中 list: the list rule checks it
                yield from _check_list(rule, total, list(parts.values()), [])
                break


def _function_code_of(subject: str) -> codes.Code | None:
    """The 类 or 款 a narrative subject names (卫生健康支出（合计）, 医疗救助（合计）, 行政事业单位医疗), if any."""
    name = re.sub(r"(?:类支出|（类）|\(类\)|（款）|\(款\)|（合计）|\(合计\)|合计|类)$", "", subject)
    name = re.sub(r"^(?:其中|主要用于|用于)", "", name)
    if not name:
        return None
    found = codes.function_class_by_name(name, exact=True)
    return found or _kuan_by_name().get(name)


@cache
def _kuan_by_name() -> dict[str, codes.Code]:
    names: dict[str, list[codes.Code]] = {}
    for c in codes.codes():
        if c.scheme == "function" and c.level == "款":
            for n in c.names:
                names.setdefault(n, []).append(c)
    return {n: cs[0] for n, cs in names.items() if len({c.code for c in cs}) == 1}


def narrative_hierarchy(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """A class total the text states equals the 款 amounts it goes on to state for that class."""
    blocks: list[tuple[NarrativeFact, codes.Code, dict[str, NarrativeFact]]] = []
    for f in ex.facts:
        if f.unit != "万元" or f.kind not in ("total", "amount"):
            continue
        code = _function_code_of(f.subject)
        if code is None:
            continue
        if code.level == "类":
            blocks.append((f, code, {}))
        elif code.level == "款" and blocks and code.parent == blocks[-1][1].code:
            blocks[-1][2].setdefault(code.code, f)
    for total, _, parts in blocks:
        if len(parts) < 2:
            continue
        items = list(parts.values())
        yield from _check_list(rule, total, items, [])


def _class_of(subject: str) -> codes.Code | None:
    name = re.sub(r"(?:类支出|（类）|\(类\)|（合计）|\(合计\)|合计|类)$", "", subject)
    name = re.sub(r"^(?:其中|主要用于|用于)", "", name)
    return codes.function_class_by_name(name, exact=True) if name.endswith("支出") else None


def class_amounts(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """An amount said of a function class agrees with that class in at least one of the document's tables."""
    by_class: dict[str, list[tuple[str, int, int]]] = {}
    for i in ex.items:
        whole_row = i.column_key in ("amount", "subtotal", "total", "total_expenditure", "total_income")
        if i.level == "类" and i.code_scheme == "function" and i.micros is not None and whole_row:
            by_class.setdefault(i.code, []).append((i.table_id, i.micros, i.decimals))
    if not by_class:
        return
    for f in ex.facts:
        if f.kind not in ("amount", "total") or f.unit != "万元":
            continue
        cls = _class_of(f.subject)
        if cls is None or cls.code not in by_class:
            continue
        tolerance = _half_unit(f.decimals) * MICROS
        values = by_class[cls.code]
        if any(abs(f.micros - v) <= tolerance + _half_unit(d) * MICROS for _, v, d in values):
            continue
        yield _differs_from_tables(rule, f, cls.name, [(t, v) for t, v, _ in values])


def _differs_from_tables(
    rule: Rule, f: NarrativeFact, what: str, cells: list[tuple[str, int]], *, guess: str = ""
) -> Finding:
    shown = "、".join(f"{table} {format_micros(m)}" for table, m in cells)
    return _finding(
        rule,
        "warning" if guess else "error",
        "narrative",
        f"{what} 说明为{f.raw}，表中为 {shown}" + (f"（{guess}）" if guess else ""),
        f,
        expected=format_micros(cells[0][1]),
        actual=f.raw,
    )


_TO_WAN = {"万元": Fraction(1), "元": Fraction(1, 10_000), "亿元": Fraction(10_000)}


def _cell_wan(ex: Extraction, ref) -> tuple[Fraction, Fraction] | None:
    """A referenced table cell of this document in 万元, with half a unit of its last printed digit (None when the
    table or the cell is not there, or its unit is not money)."""
    for i in ex.items:
        if i.table_id != ref.table or i.column_key != ref.column or (ref.side and i.side != ref.side):
            continue
        is_total = i.label_norm in ("合计", "总计") and i.code is None and i.row_key is None
        if (ref.row == "total" and is_total) or i.row_key == ref.row:
            scale = _TO_WAN.get(i.unit)
            if scale is None:
                return None
            half = Fraction(5, 10 ** (i.decimals + 1)) * scale if i.micros else Fraction(0)
            return Fraction(i.micros or 0, MICROS) * scale, half
    return None


_SUBJECT_LEAD = re.compile(r"^(?:其中|部门|本部门|本单位|本年度|本年|全年|[:：，,、])+")


def _total_subject(ex: Extraction, f: NarrativeFact) -> str:
    """The subject of a stated total as the rules name it: without the department, years and leading words;
    收入支出 and 收、支 as 收支."""
    subject = f.subject
    department = ex.document.department
    if department and department in subject:
        subject = subject.split(department, 1)[1]
    subject = re.sub(r"\d{4}\s*年度?", "", subject)
    subject = _SUBJECT_LEAD.sub("", subject).replace("收入支出", "收支").replace("收、支", "收支")
    return subject


def _paragraph_scope(ex: Extraction, f: NarrativeFact, rule: Rule) -> str | None:
    """The scope prefix the amount opening f's paragraph names (一般公共预算财政拨款基本支出 a。其中：人员经费 b)."""
    opening = next((g for g in ex.facts if g.line == f.line and _money(g)), None)
    if opening is None or opening is f:
        return None
    return next((prefix for prefix, words in rule.labels.items() if any(w in opening.subject for w in words)), None)


def table_totals(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """A total the text states (收支总计, 基本支出, 人员经费 …) agrees with a table that carries it, in the table's
    unit. An error where the wording names one quantity; a warning where the scope is not said (人员经费 of all funds
    or of 一般公共预算)."""
    final = str(ex.document.kind) == "final_account"
    year = ex.document.fiscal_year
    for f in ex.facts:
        if f.kind not in ("total", "amount") or f.unit != "万元":
            continue
        if final and _BUDGET_CONTEXT.search(squeeze(f.sentence)):
            continue  # budget figures quoted in a final account (年初预算, 预算支出为 …) are not the final figures
        said_years = {int(y) for y in re.findall(r"(20\d\d)\s*年", f.sentence[: f.offset])}
        if (year and said_years - {year}) or re.search(r"上年|去年|上一年", f.subject):
            continue  # another year's figure
        subject = _total_subject(ex, f)
        subject = re.sub(r"(?:合计|（合计）|\(合计\))$", "", subject) if subject not in rule.subjects else subject
        scope = _paragraph_scope(ex, f, rule)
        key = scope + subject if scope and scope + subject in rule.subjects else subject
        refs = rule.subjects.get(key)
        if not refs:
            continue
        cells = [(r, c) for r in refs if (c := _cell_wan(ex, r)) is not None]
        if not cells:
            continue
        stated = Fraction(f.micros, MICROS)
        allowance = Fraction(5, 10 ** (f.decimals + 1))
        if any(abs(stated - value) <= allowance + half for _, (value, half) in cells):
            continue
        guess = key in rule.labels.get("scope_unknown", ())
        shown = [(r.table, int(value * MICROS)) for r, (value, _) in cells]
        yield _differs_from_tables(rule, f, key, shown, guess="未说明口径，可能指全部资金" if guess else "")


_COUNT_LEAD = re.compile(r"^(?:共|合计|我部门|本部门|我单位|本单位)")
# words that make a count a part, a change or a bound of something else, not the quantity itself
_NOT_THE_QUANTITY = re.compile(r"其中|新增|增加|减少|累计|分别|各|每|约|近|超过|以上|不少于|多于|少于")


def _count_key(f: NarrativeFact) -> tuple[str, str, str] | None:
    """What a count is of: (owner, 项目, '') for project counts, else (subject, unit, the words after the number)
    when the subject is specific. Two counts are of the same quantity only when all three agree: 家, 个, 人 count
    many different things."""
    if "项目" in f.subject + f.after and f.unit == "个":
        owner = _COUNT_LEAD.sub("", f.subject.split("涉及")[0]) if "涉及" in f.subject else None
        return None if owner is None else (owner, "项目", "")
    clause = _CLAUSE_END.split(f.sentence[: f.offset])[-1]
    subject = _COUNT_LEAD.sub("", f.subject)
    if len(subject) < 4 or re.search(r"[\d、]", subject) or _NOT_THE_QUANTITY.search(clause):
        return None
    return subject, f.unit, f.after


def _years_said(f: NarrativeFact) -> set[str]:
    return set(re.findall(r"(20\d\d)\s*年", _CLAUSE_END.split(f.sentence[: f.offset])[-1]))


def repeated_counts(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """The same count said twice with different numbers (项目 5 个 … 8 个二级项目; 赔付 6.7 万人次 … 11.35 万人次)."""
    seen: dict[tuple[str, str, str], NarrativeFact] = {}
    reported: set[tuple[str, str, str]] = set()
    for f in ex.facts:
        if f.kind != "count" or (key := _count_key(f)) is None:
            continue
        first = seen.setdefault(key, f)
        years, first_years = _years_said(f), _years_said(first)
        if years and first_years and years != first_years:
            continue  # the same words said of another year
        # within one paragraph the same words may name two things (编制 6 人 … 实有 5 人): compare across paragraphs
        if first.micros != f.micros and first.line != f.line and key not in reported:
            reported.add(key)
            what = "、".join(x for x in key[:2] if x)
            yield _finding(
                rule,
                "error",
                "narrative",
                f"{what}：第{first.line}行为{first.raw}{first.after}，第{f.line}行为{f.raw}{f.after}",
                f,
                expected=first.raw,
                actual=f.raw,
            )


_NUMBERING = re.compile(
    r"^\s*(?:\d{1,2}\s*[.、．]|[（(]\s*[\d一二三四五六七八九十]{1,3}\s*[)）]|[一二三四五六七八九十]{1,3}、)\s*"
)
_PROJECT_SENTENCE = re.compile(r"^(?:\d{4}\s*年度?)?([^：:，,。；]{2,30}?)(?:项目绩效自评|绩效自评|项目)")


def _project_spending(f: NarrativeFact) -> str | None:
    """The project a fact gives the spending of: `X项目 5.24 万元`, or 执行数/支出 in a sentence about project X."""
    if f.unit not in MONEY:
        return None
    if f.kind == "amount" and f.subject.endswith("项目") and f.offset <= len(f.subject) + 4:
        name = _NUMBERING.sub("", f.subject)[:-2]
    elif f.kind == "final" and (m := _PROJECT_SENTENCE.match(_NUMBERING.sub("", f.sentence))):
        name = m.group(1)
    else:
        return None
    name = re.sub(r"^\d{4}\s*", "", squeeze(name))
    return name if len(name) >= 4 else None


def project_amounts(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """A project's spending said twice with different amounts (X项目 5.24 万元 … X项目 … 执行数为 5.21 万元)."""
    seen: dict[str, NarrativeFact] = {}
    for f in ex.facts:
        if (name := _project_spending(f)) is None:
            continue
        first = seen.setdefault(name, f)
        if first.line == f.line or first.unit != f.unit or first.micros == f.micros:
            continue
        seen[name] = f  # a third mention is compared with the latest
        difference = abs(first.micros - f.micros)
        unit_step = MICROS // 10 ** max(first.decimals, f.decimals)
        severity, category = ("warning", "rounding") if difference <= unit_step else ("error", "narrative")
        yield _finding(
            rule,
            severity,
            category,
            f"{name}项目：第{first.line}行为{first.raw}，第{f.line}行为{f.raw}",
            f,
            expected=first.raw,
            actual=f.raw,
            difference=format_micros(f.micros - first.micros),
        )


_CLAUSE_END = re.compile(r"[，,。；;：:]")
_PARENTHESES = re.compile(r"（[^（）]*）|\([^()]*\)")
_LIST_SEPARATOR = re.compile(r"、|以及")


_JOINED_TO_LIST = re.compile(r"(?:和|及|与|以及|、|或)\s*$")
_OPEN_ENDED = re.compile(r"(?:等|等等)\s*$")


def listed_counts(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """A count right after the items it counts (A以及B、C、D 3个一级指标) that differs from the number of items. A
    count joined to the list by 和 / 、 is one more item of it (办公厅、研究室和 3 个专门委员会), not their number; a
    list closed by 等 names some of the items, so only more items than the count contradict it."""
    for f in ex.facts:
        if f.kind != "count" or f.unit != "个" or not f.after:
            continue
        clause = _NUMBERING.sub("", _PARENTHESES.sub("", _CLAUSE_END.split(f.sentence[: f.offset])[-1]))
        if _JOINED_TO_LIST.search(clause):
            continue
        open_ended = _OPEN_ENDED.search(clause) is not None
        clause = _OPEN_ENDED.sub("", clause)
        items = [i.strip() for i in _LIST_SEPARATOR.split(clause)]
        if len(items) < 2 or not all(items) or any(re.search(r"\d", i) for i in items):
            continue
        if len(items) > round(f.value) or (len(items) != round(f.value) and not open_ended):
            yield _finding(
                rule,
                "error",
                "narrative",
                f"称{f.raw}{f.after}，列出{len(items)}个：{'、'.join(items)}",
                f,
                expected=str(len(items)),
                actual=f.raw,
            )


_GROUP_CLASSES = {"人员经费": ("301", "303"), "公用经费": ("302", "307", "310", "312", "399")}
_USED_FOR = re.compile(r"(?:主要用于|主要包括|包括)[:：]?(.+?)等")


def _economic_classes(subject: str) -> tuple[str, ...]:
    for group, classes in _GROUP_CLASSES.items():
        if group in subject:
            return classes
    for c in codes.children("economic", None):
        if any(n and n in subject for n in c.names):
            return (c.code,)
    return ()


def _bracketless(text: str) -> str:
    return re.sub(r"[()（）]", "", text)


def named_items(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """Spending items the text says the basic expenditure is used for, which the basic-expenditure table lacks."""
    table_id = "final.06" if str(ex.document.kind) == "final_account" else "budget.06"
    printed = {i.code for i in ex.items if i.table_id == table_id and i.code_scheme == "economic" and i.level == "款"}
    if not printed:
        return
    done: set[tuple[int, str]] = set()
    for f in ex.facts:
        if not _money(f) or (f.line, f.sentence) in done:
            continue
        classes = _economic_classes(f.subject)
        m = _USED_FOR.search(f.sentence[f.offset :])
        if not classes or not m:
            continue
        done.add((f.line, f.sentence))
        candidates = [c for cls in classes for c in codes.children("economic", cls)]
        missing = []
        for said in re.split(r"[、，,]", m.group(1)):
            name = _bracketless(re.sub(r"^(?:在职人员|退休人员的|人员的)", "", squeeze(said)))
            code = next(
                (c for c in candidates if any(_bracketless(n).startswith(name) for n in c.names) and len(name) >= 2),
                None,
            )
            if code is not None and code.code not in printed:
                missing.append(f"{name}（{code.code}）")
        if missing:
            yield _finding(
                rule,
                "warning",
                "narrative",
                f"{f.subject}说明用于{'、'.join(missing)}，{table_id} 中没有这些科目",
                f,
                actual="、".join(missing),
            )


_NO_ASSETS = re.compile(
    r"(?:无|没有|未占用|未占有)(?:任何)?国有资产(?:占用|占有|使用)*情况|未(?:占用|占有)(?:使用)?国有资产"
)
_VEHICLES = re.compile(r"(?:公务用车|车辆|用车)[^。；，,]{0,12}?(\d+)\s*辆")
_ASSETS_LISTED = re.compile(r"有形资产|有型资产|实物资产|无形资产")
_FIXED_ASSETS_USED = re.compile(r"固定资产(?:全部在使用|利用率|原值|净值|总额|账面)")
_ASSETS_HELD = re.compile(r"(?:占有|占用|拥有)(?:使用)?国有资产\s*([\d,，.]+)\s*万元")


def _assets_said(text: str) -> str | None:
    """The words of `text` that say assets are held (a vehicle, listed or used fixed assets), if any."""
    for m in _VEHICLES.finditer(text):
        if int(m.group(1)) > 0:
            return m.group(0)
    for pattern in (_ASSETS_LISTED, _FIXED_ASSETS_USED):
        if m := pattern.search(text):
            return m.group(0)
    return None


def no_assets(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """无国有资产占用 contradicted by the same line (有形资产为：公务用车1辆), or, when the text speaks of one holder
    only, by another line (固定资产利用率) or by capital spending (310) in the tables."""
    lines = list(outside_tables(ex))
    stated = [(n, line, m) for n, line in lines if (m := _NO_ASSETS.search(line))]
    others_hold = any(_ASSETS_HELD.search(line) for _, line in lines)
    for number, line, m in stated:
        sentence = line.strip()
        here = _assets_said(line[m.end() :])
        if here:
            detail = f"称{m.group(0)}，同一处又称“{here}”"
            yield _at_line(rule, "error", detail, number, sentence, category=rule.category, actual=here)
            continue
        if len(stated) > 1 or others_hold:
            continue  # several holders (本级, 下属单位): another line may speak of another one
        elsewhere = [(n, said) for n, text in lines if n != number and (said := _assets_said(text))]
        capital = [i for i in ex.items if i.code and i.code.startswith("310") and i.micros]
        if elsewhere:
            n, said = elsewhere[0]
            detail = f"称{m.group(0)}，第{n}行又称“{said}”"
            yield _at_line(rule, "error", detail, number, sentence, category=rule.category, actual=said)
        elif capital:
            spent = "、".join(f"{i.table_id} {i.code} {i.label} {format_micros(i.micros)}" for i in capital[:3])
            detail = f"称{m.group(0)}，表中有资本性支出 {spent}"
            yield _at_line(rule, "warning", detail, number, sentence, category=rule.category, actual=spent)


def approximate_quantities(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """An approximate quantity (5000余人, 逾300万元, 100家以上) that an exact statement of the same quantity — alone or
    as listed parts — puts outside the bounds its wording sets."""
    text_lines = [(n, line) for n, line in outside_tables(ex) if "\t" not in line]
    approximate = approximations.approximations(sentences(text_lines))
    exact = approximations.exact_quantities(ex.facts)
    for c in approximations.contradictions(approximate, exact):
        q, a = c.approximation.quantity, c.approximation
        total = f"{c.total.normalize():f}{q.unit}"
        stated = " + ".join(f"{p.raw}" for p in c.parts)
        said = f"{stated} = {total}" if len(c.parts) > 1 else total
        where = f"第{c.parts[0].line}行{'、'.join(p.subject for p in c.parts)}"
        if c.bound == "low":
            bound = f"{'不少于' if a.low_inclusive else '多于'}{a.low.normalize():f}{q.unit}"
            severity, difference = "error", c.total - a.low
        else:
            bound = f"少于{a.high.normalize():f}{q.unit}"  # type: ignore[union-attr]
            severity, difference = "warning", c.total - a.high  # type: ignore[operator]
        detail = f"“{q.raw}”表示{bound}，{where}为 {said}"
        yield _at_line(
            rule,
            severity,
            detail,
            q.line,
            q.sentence,
            category=rule.category,
            expected=said,
            actual=q.raw,
            difference=f"{difference.normalize():f}",
        )


_RUNNING_COSTS = "机关运行经费"
_GOODS = re.compile(r"^(?:其中)?商品(?:和)?服务(?:支出)?(?:[（(]合计[)）])?$")
_SCOPES = ("本级",)
_PUBLIC_CELLS = (("budget.05", "public", None), ("budget.06", "public", None), ("final.06", None, "public_total"))
_TOTAL_CELLS = (("budget.03", "total", None), ("final.03", "total_expenditure", None))


def _table_total(ex: Extraction, table: str, column: str | None, row_key: str | None) -> int | None:
    """The 合计 row of a column, or the amount of a fixed row (final.06 公用经费合计)."""
    for i in ex.items:
        if i.table_id != table or i.micros is None:
            continue
        if row_key is not None and i.row_key == row_key:
            return i.micros
        if column is not None and i.column_key == column and i.label_norm in ("合计", "总计") and i.code is None:
            return i.micros
    return None


def _following_parts(paragraph: list[NarrativeFact], start: int):
    """The standard parts (人员经费, 公用经费, 项目支出) and the 商品和服务支出 stated right after a fact."""
    parts: dict[str, NarrativeFact] = {}
    goods = None
    for g in paragraph[start + 1 :]:
        part = _spending_part(g.subject)
        if part is not None and part not in parts and _RUNNING_COSTS not in g.subject:
            parts[part] = g
        elif goods is None and _GOODS.match(g.subject):
            goods = g
        else:
            break
    return parts, goods


def _scope_paragraphs(ex: Extraction, scope: str, line: int) -> Iterator[list[NarrativeFact]]:
    """Other paragraphs that open with a spending total of the scope (…本级一般公共预算支出合计 a。其中，人员经费 …)."""
    by_line: dict[int, list[NarrativeFact]] = {}
    for f in ex.facts:
        if _money(f):
            by_line.setdefault(f.line, []).append(f)
    for number, facts in by_line.items():
        first = facts[0]
        if number != line and scope in first.subject and first.kind == "total" and "支出" in first.subject:
            yield facts


def running_costs(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """机关运行经费 is what the administrative units spend on goods and services (a part of 公用经费): it lies below
    the spending total of its scope and does not exceed its 公用经费; one that equals 人员经费 + 公用经费 + 项目支出 is
    the whole budget."""
    final = str(ex.document.kind) == "final_account"
    paragraphs: dict[int, list[NarrativeFact]] = {}
    for f in ex.facts:
        if _money(f) and f.unit == "万元":
            paragraphs.setdefault(f.line, []).append(f)
    for paragraph in paragraphs.values():
        for k, f in enumerate(paragraph):
            if _RUNNING_COSTS not in f.subject or f.kind in ("increase", "decrease"):
                continue
            errors: list[tuple[str, int]] = []  # (why, the amount it may not reach or pass)
            warnings: list[tuple[str, int]] = []
            tolerance = int(_half_unit(f.decimals) * MICROS)
            parts, goods = _following_parts(paragraph, k)
            if len(parts) >= 2 and ("人员经费" in parts or "项目" in parts):
                listed = sum(g.micros for g in parts.values())
                slack = tolerance + sum(int(_half_unit(g.decimals) * MICROS) for g in parts.values())
                if abs(f.micros - listed) <= slack:
                    named = " + ".join(f"{g.subject} {g.raw}" for g in parts.values())
                    errors.append((f"等于其后所列 {named} 之和，即全部支出而非公用经费", listed))
            if "公用经费" in parts and f.micros > parts["公用经费"].micros + tolerance:
                errors.append((f"超过同段所列公用经费 {parts['公用经费'].raw}", parts["公用经费"].micros))
            if goods is not None and f.micros > goods.micros + tolerance:
                warnings.append((f"超过同段所列{goods.subject} {goods.raw}", goods.micros))
            for scope in (s for s in _SCOPES if s in f.subject):
                for facts in _scope_paragraphs(ex, scope, f.line):
                    total = facts[0]
                    if f.micros >= total.micros - tolerance:
                        errors.append((f"不低于第{total.line}行{total.subject} {total.raw}", total.micros))
                    public = next((g for g in facts[1:] if _spending_part(g.subject) == "公用经费"), None)
                    if public is not None and f.micros > public.micros + tolerance:
                        errors.append((f"超过第{public.line}行{scope}公用经费 {public.raw}", public.micros))
            budget_figure = final and (f.kind == "budget" or _BUDGET_CONTEXT.search(squeeze(f.subject)))
            if not budget_figure:  # a final account's tables hold final figures, not the budget quoted beside them
                for table, column, row in _PUBLIC_CELLS:
                    cell = _table_total(ex, table, column, row)
                    if cell is not None and f.micros > cell + tolerance:
                        errors.append((f"超过 {table} 公用经费 {format_micros(cell)}万元", cell))
                for table, column, row in _TOTAL_CELLS:
                    cell = _table_total(ex, table, column, row)
                    if cell is not None and f.micros >= cell - tolerance:
                        errors.append((f"不低于 {table} 支出合计 {format_micros(cell)}万元", cell))
            reasons = errors + warnings
            if not reasons:
                continue
            bound = min(m for _, m in reasons)
            detail = f"{f.subject} {f.raw}：" + "；".join(why for why, _ in reasons)
            yield _finding(
                rule,
                "error" if errors else "warning",
                rule.category,
                detail,
                f,
                expected=f"≤ {format_micros(bound)}",
                actual=f.raw,
                difference=format_micros(f.micros - bound),
            )


CHECKS: dict[str, Callable[[Extraction, Rule], Iterator[Finding]]] = {
    "narrative_share": shares,
    "narrative_completion": completion_rates,
    "narrative_change_rate": change_rates,
    "narrative_list_sum": list_sums,
    "narrative_class": class_amounts,
    "narrative_table": table_totals,
    "narrative_hierarchy": narrative_hierarchy,
    "narrative_repeated_count": repeated_counts,
    "narrative_named_items": named_items,
    "narrative_no_assets": no_assets,
    "narrative_project_amount": project_amounts,
    "narrative_listed_count": listed_counts,
    "narrative_structure": structure_sums,
    "narrative_approximate": approximate_quantities,
    "narrative_running_costs": running_costs,
    "narrative_comparison": final_versus_budget,
}


def narrative_findings(ex: Extraction) -> list[Finding]:
    out: list[Finding] = []
    for rule in narrative_rules():
        out.extend(CHECKS[rule.relation](ex, rule))
    return out
