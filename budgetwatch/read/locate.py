"""Finding the standard tables in a text layer by their titles, not by their printed numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from budgetwatch.labels import squeeze
from budgetwatch.read.catalogue import TableSpec, match_title

_PRINTED_NUMBER = re.compile(
    r"^(?:[（(]?公开\s*(\d{1,2})\s*表[)）]?|[（(]?表\s*(\d{1,2}(?:\s*-\s*\d{1,2})?|[一二三四五六七八九十]{1,3})[)）]?)$"
)
_CN_DIGITS = {c: k for k, c in enumerate("一二三四五六七八九", start=1)}


def cn_number(text: str) -> str:
    """表十二 → 12 (numbers up to 99 written in Chinese)."""
    if text.isdigit() or "-" in text:
        return text
    if text == "十":
        return "10"
    if text.startswith("十"):
        return str(10 + _CN_DIGITS[text[1]])
    if "十" in text:
        tens, _, ones = text.partition("十")
        return str(_CN_DIGITS[tens] * 10 + (_CN_DIGITS[ones] if ones else 0))
    return str(_CN_DIGITS[text])


_DEPARTMENT = re.compile(r"^(?:部门|单位名称|部门\s*[/／]\s*单位|部门（单位）|编制部门|编制单位|部门名称)\s*[:：]")
_UNIT = re.compile(r"单位\s*[:：]\s*(万元|元|千元)?")
_PART_HEADING = re.compile(r"^第\s*[一二三四五六七八九十\d]+\s*部分")
_TABLE_SECTION = re.compile(r"^第\s*[一二三四五六七八九十\d]+\s*部分.*(?:预算表|决算表|报表)\s*$")
# How far from a title its printed number, 部门 line or 单位 line may stand.
_WINDOW_AFTER = 6
_WINDOW_BEFORE = 2


@dataclass(slots=True)
class Span:
    """Where one table stands in the lines of a text layer (0-based, end exclusive)."""

    spec: TableSpec
    title_line: int
    start: int
    end: int
    printed_number: str | None = None
    instance: str | None = None
    department_line: str | None = None
    unit_line: str | None = None
    unit: str = "万元"
    header_lines: list[int] = field(default_factory=list)  # lines holding the number/部门/单位 metadata


@dataclass(slots=True)
class TableSection:
    """A heading that announces the table part of a document (e.g. 第二部分 … 部门决算表)."""

    line: int
    text: str
    end: int


def _nonblank(lines: list[str], start: int, stop: int, step: int) -> list[int]:
    out = []
    i = start
    while 0 <= i < len(lines) and i != stop and len(out) < (_WINDOW_AFTER if step > 0 else _WINDOW_BEFORE):
        if lines[i].strip():
            out.append(i)
        i += step
    return out


def _printed_number(text: str) -> tuple[str, str | None] | None:
    m = _PRINTED_NUMBER.match(squeeze(text) if "公开" in text else text.strip())
    if not m:
        return None
    if m.group(1):
        return f"公开{int(m.group(1)):02d}表", None
    number = cn_number(squeeze(m.group(2)))
    return f"表{number}", (number if "-" in number else None)


def _unit_from(lines: list[str], i: int) -> str | None:
    m = _UNIT.search(lines[i])
    if not m:
        return None
    if m.group(1):
        return m.group(1)
    follow = _nonblank(lines, i + 1, len(lines), 1)
    if follow:
        word = squeeze(lines[follow[0]])
        for unit in ("万元", "千元", "元"):
            if word.startswith(unit) or word == unit[-1:]:
                return unit
        tail = squeeze(lines[i]).split("：")[-1] + word
        for unit in ("万元", "千元", "元"):
            if tail.startswith(unit):
                return unit
    return None


def _confirm(lines: list[str], i: int, spec: TableSpec) -> Span | None:
    """A title line is a table title only when a printed number, 部门 line or 单位 line stands beside it."""
    span = Span(spec=spec, title_line=i, start=i, end=i + 1)
    evidence = False
    for j in _nonblank(lines, i - 1, -1, -1):
        number = _printed_number(lines[j])
        if number:
            span.printed_number, span.instance = number
            span.start = j
            span.header_lines.append(j)
            evidence = True
    for j in _nonblank(lines, i + 1, len(lines), 1):
        text = lines[j].strip()
        if match_title(text):
            break
        number = _printed_number(text)
        if number and not span.printed_number:
            span.printed_number, span.instance = number
            span.header_lines.append(j)
            evidence = True
            continue
        if _DEPARTMENT.match(text):
            span.department_line = text
            span.header_lines.append(j)
            evidence = True
        if "单位" in text and (unit := _unit_from(lines, j)):
            span.unit_line = _UNIT.search(text).group(0) if _UNIT.search(text) else text
            span.unit = unit
            if j not in span.header_lines:
                span.header_lines.append(j)
            evidence = True
        if text.startswith("填报日期"):
            evidence = True
    return span if evidence else None


def locate_tables(lines: list[str]) -> list[Span]:
    """Every standard table found in the lines, in printed order, each ending where the next begins."""
    spans: list[Span] = []
    for i, line in enumerate(lines):
        text = line.strip()
        if not text or len(squeeze(text)) > 40:
            continue
        spec = match_title(text)
        if spec is None:
            continue
        span = _confirm(lines, i, spec)
        if span is not None and not (spans and spans[-1].title_line == i):
            spans.append(span)
    for k, span in enumerate(spans):
        limit = spans[k + 1].start if k + 1 < len(spans) else len(lines)
        span.end = limit
        for j in range(span.title_line + 1, limit):
            if _PART_HEADING.match(lines[j].strip()):
                span.end = j
                break
    return spans


def table_sections(lines: list[str]) -> list[TableSection]:
    """Headings of table parts (第二部分 … 部门决算表), each with the line where the next part begins."""
    heads = [i for i, line in enumerate(lines) if _PART_HEADING.match(line.strip())]
    sections = []
    for k, i in enumerate(heads):
        text = lines[i].strip()
        # a part heading may wrap: 第二部分 武汉市… / (汇总) 2024 年度部门决算表
        nxt = _nonblank(lines, i + 1, len(lines), 1)
        joined = text + (lines[nxt[0]].strip() if nxt and not _PART_HEADING.match(lines[nxt[0]].strip()) else "")
        if _TABLE_SECTION.match(text) or _TABLE_SECTION.match(joined):
            end = heads[k + 1] if k + 1 < len(heads) else len(lines)
            sections.append(
                TableSection(line=i, text=squeeze(joined if not _TABLE_SECTION.match(text) else text), end=end)
            )
    return sections
