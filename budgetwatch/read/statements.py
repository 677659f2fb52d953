"""Where a report states what it is: its cover, its part headings, its table titles and the labelled lines above
its tables (部门：…, 预算主管部门：…), each found in the lines of a text layer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from budgetwatch.labels import squeeze
from budgetwatch.read.script import comparable

_PAGE_NUMBER = re.compile(r"^[-—─–_\s]*(?:第)?\d{1,3}(?:页)?(?:共\d{1,3}页)?[-—─–_\s]*$")
# what stands above a cover without being part of it: 附件2, 附件：, 公开版
_ABOVE_COVER = re.compile(r"^(?:附件[\d一二三四五六七八九十]*[:：]?|[(（]?公开版[)）]?)$")
# an unnumbered section heading opens the text
_SECTION_ALONE = re.compile(r"^(?:部门|单位)?(?:概况|基本情况|主要职能|主要职责|职能职责|机构设置)$")
_CONTENTS = re.compile(r"^目录")
PART = re.compile(r"^第[一二三四五六七八九十\d]+部分")
_NUMBERED = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+[、.．](?!\d))")
# a table's own lines: its number (公开表一, （表1）, 公开01表) or the unit of its amounts
_TABLE_MARK = re.compile(r"公开表[一二三四五六七八九十\d]|[(（](?:公开)?\d+表[)）]|[(（]表\d|单位[:：](?:万元|元|千元)")
_TABLE_NUMBER_ALONE = re.compile(
    r"^(?:公开\d+表|表[一二三四五六七八九十\d]+(?:-\d+)?|公开表[一二三四五六七八九十\d]+)$"
)
# words of a table's title, never of a report's (上海市普陀区财政局年度部门决算表 is a cover)
_TABLE_WORDS = re.compile(r"总表|收支|收入|支出|经费|采购|拨款|明细|分类|绩效")
_BREADCRUMB = re.compile(r"[>›»→]|首页|当前位置|您的位置")
_SENTENCE = re.compile(r"[。；;！？]|，.*，")
# labels that name the organisation a cover or a table is of; 单位： alone is the unit of amounts, never a name
_LABEL = re.compile(
    r"(预算主管部门|主管部门|主管单位|预算单位|部门名称|单位名称|编制部门|编制单位|填报单位|报送单位|公开单位|公开部门|"
    r"部门[(（]单位[)）]|部门/单位|部门)[:：]"
)
_LABEL_END = re.compile(r"(?:金额)?单位[:：]")
_DATE = re.compile(
    r"^(?:(?:公开|发布|印发|编制)(?:日期|时间)[:：])?"
    r"(20\d\d)年([一二三四五六七八九十\d]{1,3})月([一二三四五六七八九十\d]{1,3})日$"
)
_DATE_ANYWHERE = re.compile(r"(?:公开|发布)(?:日期|时间)[:：](20\d\d)[年\-./](\d{1,2})[月\-./](\d{1,2})")
_YEAR_ALONE = re.compile(r"^(20\d\d)(?:年度|年)?$")
_COVER_LINES = 8


_TABLE_NUMBER = re.compile(
    r"(?:公开表[一二三四五六七八九十\d]+|[(（](?:公开)?\d+(?:-\d+)?表[)）]|[(（]?表[一二三四五六七八九十\d]+(?:-\d+)?[)）]?)$"
)
_LEADERS = re.compile(r"[.…·．\-—]{2,}\d*$|\d+$")
_TITLE_WORDS = re.compile(r"预算|决算|收支|收入|支出|经费|采购")
_UNIT = re.compile(r"单位[:：](?:万元|元|千元)")


@dataclass(frozen=True, slots=True)
class Line:
    """One line: its number (1-based), as printed without whitespace, in comparable form, and its first cell (in
    comparable form) when its cells are apart by tabs."""

    number: int
    printed: str
    flat: str
    tabbed: bool
    first_cell: str


def prepare(lines: list[str]) -> list[Line]:
    out = []
    for number, line in enumerate(lines, start=1):
        printed = squeeze(line)
        cells = [c for c in line.split("\t") if c.strip()]
        first = comparable(squeeze(cells[0])) if cells else ""
        out.append(Line(number, printed, comparable(printed), "\t" in line.strip(), first))
    return out


def table_title(line: Line) -> str | None:
    """The table title a line (its first cell) prints, its number (（表1）, 公开表十二) and the contents' leaders
    (……3) taken off: a short text ending in 表 that names budget words."""
    head = re.split(r"部门[:：]|单位[:：]|编制", line.first_cell, maxsplit=1)[0]
    head = _TABLE_NUMBER.sub("", _LEADERS.sub("", head))
    head = re.sub(r"^(?:\d+[.．、]|[一二三四五六七八九十]+、)", "", head)
    if head.endswith("表") and len(head) <= 40 and _TITLE_WORDS.search(head) and not PART.match(head):
        return head
    return None


def printed_tables(lines: list[Line]) -> list[Line]:
    """Title lines of tables printed in the text: a table title with the unit of its amounts (单位：万元) on its line
    or on one of the three lines after it (the contents list titles without units)."""
    out = []
    for k, line in enumerate(lines):
        if table_title(line) and any(_UNIT.search(x.flat) for x in lines[k : k + 4]):
            out.append(line)
    return out


def _ends_cover(line: Line) -> bool:
    flat = line.flat
    return bool(
        line.tabbed
        or _CONTENTS.match(flat)
        or PART.match(flat)
        or _NUMBERED.match(flat)
        or len(flat) > 50
        or _SENTENCE.search(flat)
        or _TABLE_MARK.search(flat)
        or _TABLE_NUMBER_ALONE.match(flat)
        or _BREADCRUMB.search(flat)
        or _SECTION_ALONE.match(flat)
        or ((title := table_title(line)) is not None and _TABLE_WORDS.search(title) is not None)
    )


def cover(lines: list[Line]) -> list[Line]:
    """The lines of the cover: what stands before the contents, the first part heading or the first numbered
    heading, page numbers left out (at most a few lines; none when the document opens with its text)."""
    out: list[Line] = []
    for line in lines:
        if not line.flat or _PAGE_NUMBER.match(line.flat) or (not out and _ABOVE_COVER.match(line.flat)):
            continue
        if _ends_cover(line) or len(out) == _COVER_LINES:
            break
        out.append(line)
    return out


_CELL_GAP = re.compile(r"\t|[ \u3000]{2,}")


def labelled(raw: str) -> tuple[str, str, str] | None:
    """The label of a line that names an organisation after one (部门：…), and the value as printed and in comparable
    form; the value ends with its cell (a tab, a run of spaces) or at the 单位： of the amounts, and may stand in the
    next cell (部门：<tab>江苏省…)."""
    if ":" not in raw and "：" not in raw:
        return None
    cells = [squeeze(c) for c in _CELL_GAP.split(raw)]
    for k, cell in enumerate(cells):
        flat = comparable(cell)
        m = _LABEL.search(flat)
        if not m:
            continue
        end = _LABEL_END.search(flat, m.end())
        start, stop = m.end(), end.start() if end else len(flat)
        if start == stop:  # the value is in the next non-empty cell
            nxt = next((c for c in cells[k + 1 :] if c), "")
            flat_next = comparable(nxt)
            cut = _LABEL_END.search(flat_next)
            stop = cut.start() if cut else len(flat_next)
            return m.group(1), nxt[:stop], flat_next[:stop]
        return m.group(1), cell[start:stop], flat[start:stop]
    return None


def part_headings(lines: list[Line]) -> list[tuple[Line, str, str]]:
    """Headings 第N部分 …, each with its text as printed and in comparable form; a heading wrapped over two lines
    (第二部分 武汉市… / （汇总）2024年度部门决算表) is joined."""
    out = []
    for k, line in enumerate(lines):
        if not PART.match(line.flat) or line.tabbed:
            continue
        printed, flat = line.printed, line.flat
        following = next((x for x in lines[k + 1 : k + 3] if x.flat), None)
        if (
            following
            and not (PART.match(following.flat) or _NUMBERED.match(following.flat) or following.tabbed)
            and len(following.flat) <= 20
            and not re.search(r"(?:概况|表|说明|解释|情况|职能)$", flat)
        ):
            printed, flat = printed + following.printed, flat + following.flat
        out.append((line, printed, flat))
    return out


def short_lines(lines: list[Line], limit: int = 60) -> list[Line]:
    """Lines that can be headings or titles: short, not a table row, not a sentence."""
    return [x for x in lines if x.flat and not x.tabbed and len(x.flat) <= limit and not _SENTENCE.search(x.flat)]


def date_of(line: Line) -> str | None:
    """The ISO date a line states alone (2025年10月15日, 二〇二五年十月十五日) or after 公开日期：."""
    m = _DATE.match(line.flat) or _DATE_ANYWHERE.search(line.flat)
    if not m:
        return None
    y, mo, d = int(m.group(1)), _number(m.group(2)), _number(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def _number(text: str) -> int:
    """An Arabic or Chinese numeral up to 99 (十五, 二十一, 3)."""
    if text.isdigit():
        return int(text)
    digits = "一二三四五六七八九"
    tens, _, ones = text.partition("十") if "十" in text else ("", "", text)
    value = (digits.index(tens) + 1 if tens else 1) * 10 if "十" in text else 0
    return value + (digits.index(ones) + 1 if ones else 0)


def year_alone(line: Line) -> int | None:
    m = _YEAR_ALONE.match(line.flat)
    return int(m.group(1)) if m else None
