"""Whether a file is a disclosure report at all: a budget or final account prints its standard tables, or at least
the sections of its explanatory part (概况, 机构设置, 收支总体情况, 情况说明, “三公”经费, 名词解释 …) as headings.
A reviewer's checklist, a notice or a news page names the same words inside sentences or table cells, not as the
headings of a report."""

from __future__ import annotations

import re

from budgetwatch.read import statements as st

# the sections a report's explanatory part is made of; a heading is a short line of its own
SECTIONS: dict[str, re.Pattern[str]] = {
    "overview": re.compile(r"概况|主要职能|主要职责|职能职责|部门职责|基本职能"),
    "structure": re.compile(r"机构设置|单位构成|人员构成|所属单位|决算单位构成|预算单位构成"),
    "totals": re.compile(
        r"收支(?:预算|决算)?.{0,4}总体|总体情况|收入(?:预算|决算).{0,4}情况|支出(?:预算|决算).{0,4}情况"
    ),
    "explanation": re.compile(r"(?:预算|决算).{0,4}(?:情况说明|编制说明)|编制说明|情况说明$"),
    "appropriation": re.compile(r"财政拨款.{0,10}(?:情况|说明)"),
    "three_public": re.compile(r"“?三公”?经费|机关运行经费"),
    "procurement": re.compile(r"政府采购"),
    "assets": re.compile(r"国有资产占用"),
    "performance": re.compile(r"绩效"),
    "glossary": re.compile(r"名词解释|名称解释"),
    "table_part": re.compile(r"(?:预算|决算)(?:公开)?表$"),
}
HEADING_KINDS = 2  # distinct sections printed as headings that make a disclosure narrative
PRINTED_TABLES = 2  # budget tables printed with the unit of their amounts that make a report's table part
_HEADING = re.compile(
    r"^(?:第[一二三四五六七八九十\d]+部分|[一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+[、.．])"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_MIN_TEXT = 40  # CJK characters below which nothing can be told (an empty or picture-only file)


def section_headings(lines: list[st.Line]) -> dict[str, int]:
    """The report sections printed as headings, each with the first line that prints it."""
    found: dict[str, int] = {}
    for x in st.short_lines(lines, limit=40):
        numbered = _HEADING.match(x.flat)
        text = x.flat[numbered.end() :] if numbered else x.flat
        if not numbered and len(text) > 20:
            continue
        for name, pattern in SECTIONS.items():
            if name not in found and pattern.search(text):
                found[name] = x.number
    return found


def not_disclosure(lines: list[str], *, tables: int, image_pages: bool = False) -> str | None:
    """Why the text is not a disclosure report, or None when it is one or cannot be told (a file of pictures, a text
    too short to judge). `tables` is the number of standard tables located in it."""
    if tables or image_pages:
        return None
    text = "\n".join(lines)
    if len(_CJK.findall(text)) < _MIN_TEXT:
        return None
    prepared = st.prepare(lines)
    if len(st.printed_tables(prepared)) >= PRINTED_TABLES:
        return None  # tables the catalogue does not know, but tables of a report
    found = section_headings(prepared)
    if len(found) >= HEADING_KINDS:
        return None
    seen = f"only one, on line {next(iter(found.values()))}" if found else "none"
    return (
        "not a disclosure report: no budget table (a title …预算表 / …决算表 with the unit of its amounts) and no "
        "explanatory part (of the sections 概况, 机构设置, 收支总体情况, 情况说明, 三公经费, 政府采购, 绩效, "
        f"名词解释 … printed as headings, {seen})"
    )
