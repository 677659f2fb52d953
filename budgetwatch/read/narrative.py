"""Numbers stated in the explanatory text (情况说明), as facts with their kind, subject and sentence."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from budgetwatch.amounts import AmountOutOfRange, parse_amount
from budgetwatch.labels import squeeze, strip_numbering
from budgetwatch.model import NarrativeFact

_HEADING = re.compile(
    r"^(?:第\s*[一二三四五六七八九十\d]+\s*部分|[一二三四五六七八九十]+\s*[、.．]|[（(][一二三四五六七八九十\d]+[)）]|\d+\s*[、．]|⑴|⑵|⑶|⑷|⑸)"
)
_SENTENCE_END = "。；;！!？?"
_NUMBER = re.compile(
    r"(?<![\d.])(?P<num>\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*"
    r"(?P<unit>亿元|万元|元|%|％|个百分点|万人次|万人|人次|个|人|辆|家|项|次|套|台|平方米|平米|户|件|条)?"
)
_CHANGE_UP = ("增加", "增长", "上升", "提高", "增幅")
_CHANGE_DOWN = ("减少", "下降", "降低", "压减", "降幅")
_SUBJECT_TRIM = re.compile(r"(?:均为|分别为|为|是|达到|达|共|约|近|各)$")


@dataclass(slots=True)
class Sentence:
    text: str
    line: int  # 1-based line where it starts
    section: str


def _is_heading_line(text: str) -> bool:
    """A short numbered line without figures (三、支出决算情况说明): it stands alone even without a full stop."""
    return _HEADING.match(text) is not None and len(text) < 30 and not re.search(r"\d", strip_numbering(text))


def _paragraphs(lines: Iterable[tuple[int, str]]) -> list[tuple[int, str, str]]:
    """(first line, text, section) of each paragraph; wrapped lines are joined, headings start new ones."""
    out: list[list] = []
    section = ""
    for number, raw in lines:
        text = raw.strip()
        if not text:
            continue
        starts_new = (
            not out
            or _HEADING.match(text) is not None
            or out[-1][1][-1:] in _SENTENCE_END + "：:"
            or _is_heading_line(out[-1][1])
        )
        if _HEADING.match(text) and len(text) < 40 and not _NUMBER.search(text.split("、", 1)[-1]):
            section = text
        if starts_new:
            out.append([number, text, section])
        else:
            out[-1][1] += text
    return [(n, t, s) for n, t, s in out]


def sentences(lines: Iterable[tuple[int, str]]) -> list[Sentence]:
    out = []
    for number, text, section in _paragraphs(lines):
        for part in re.split(r"(?<=[。；;！!？?])", text):
            if part.strip():
                out.append(Sentence(part.strip(), number, section))
    return out


def _kind(before: str, unit: str) -> str:
    window = squeeze(before)[-14:]
    if unit in ("%", "％", "个百分点"):
        if "占" in window or "比重" in window or "占比" in window:
            return "share"
        if "完成" in window or "执行率" in window or "完成率" in window:
            return "completion_rate"
        if any(w in window for w in _CHANGE_UP):
            return "increase_rate"
        if any(w in window for w in _CHANGE_DOWN):
            return "decrease_rate"
        return "rate"
    if unit in ("亿元", "万元", "元", ""):
        if any(w in window[-6:] for w in _CHANGE_UP):
            return "increase"
        if any(w in window[-6:] for w in _CHANGE_DOWN):
            return "decrease"
        if re.search(r"(?:总预算|总计|合计[)）]?|小计|总额|共计|共支出)(?:均为|为|是)?[:：]?$", window):
            return "total"
        if re.search(r"(?:年初|全年)?预算(?:数|金额)?(?:为|是)?$", window) or "年初预算" in window[-8:]:
            return "budget"
        if re.search(r"(?:决算|执行数|支出决算)(?:数)?(?:为|是)?$", window):
            return "final"
        if re.search(r"(?:总计|合计|总额|共计)", window[-8:]):
            return "total"
        return "amount"
    return "count"


def _subject(before: str) -> str:
    """The words the number is said of: its clause up to the number, without year, numbering or a linking verb."""
    clause = squeeze(re.split(r"[，,。；;：:]", before)[-1])
    clause = re.split(r"\d[\d,.]*(?:亿元|万元|元|%|％)", clause)[-1]  # …人员经费1286.43万元和公用经费 → 和公用经费
    clause = re.sub(r"^(?:其中|主要包括|包括|分别是|和|及|与|、)", "", clause)
    clause = re.sub(r"^\d{4}年度?", "", strip_numbering(clause))
    return _SUBJECT_TRIM.sub("", clause)


def facts(lines: Iterable[tuple[int, str]]) -> list[NarrativeFact]:
    """Every number with a unit (and every 2-decimal amount) stated in the text."""
    out = []
    for sentence in sentences(lines):
        for m in _NUMBER.finditer(sentence.text):
            unit = m.group("unit") or ""
            raw = m.group("num")
            before = sentence.text[: m.start()]
            # bare numbers count only when they look like money (two decimals), not like a date or a code
            if not unit and not re.fullmatch(r"[\d,，]+\.\d{2}", raw):
                continue
            if re.match(r"\s*年", sentence.text[m.end() :]) or re.match(r"\s*[月日]", sentence.text[m.end() :]):
                continue
            try:
                micros, decimals = parse_amount(raw)
            except AmountOutOfRange:
                continue  # a number no budget holds is not a stated amount
            out.append(
                NarrativeFact(
                    kind=_kind(before, unit),
                    micros=micros,
                    unit={"％": "%"}.get(unit, unit) or "万元",
                    raw=m.group(0).strip(),
                    subject=_subject(before),
                    sentence=sentence.text,
                    section=sentence.section,
                    line=sentence.line,
                    offset=m.start(),
                    decimals=decimals,
                    after=re.split(r"[，,。；;：:、（()）\s\d]", sentence.text[m.end() :], maxsplit=1)[0][:12],
                )
            )
    return out
