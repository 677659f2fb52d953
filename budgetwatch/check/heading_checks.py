"""What headings, notes and dates say about the document itself: its fiscal year, its department, its empty tables.

A year or a department is compared only where the document states its own (the cover's year, the department its
headers or cover name); a name that differs by one stray character is a misprint (a warning), another name an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from budgetwatch.check.rules import Rule
from budgetwatch.labels import squeeze
from budgetwatch.model import Extraction, Finding, Location, Severity

_PART_HEADING = re.compile(r"^第[一二三四五六七八九十\d]+部分")
_OWN_REPORT = re.compile(r"(20\d\d)\s*年度?(?:[\u4e00-\u9fff]{0,2}级)?(?:部门|单位)(?:汇总)?(?:预算|决算)")
_OWN_SCOPE = re.compile(r"(?:本部门|本单位|我部门|我单位)(20\d\d)\s*年度?(?:部门|单位)?(?:汇总)?(?:预算|决算)")
_COMPARED = re.compile(r"比|较|相比|对比|上年|去年|同期")
_AS_OF = re.compile(r"截[至止](20\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ORG_END = r"(?:局|委员会|办公厅|办公室|办事处|委|院|馆|中心|所|站|队)"
_NAMED_IN_HEADING = re.compile(
    r"^第[一二三四五六七八九十\d]+部分\s*([\u4e00-\u9fff（）()]{4,40}?" + _ORG_END + r")(?=20\d\d|概况|$)"
)
_NAMED_IN_NOTE = re.compile(
    r"^(?:注|说明)[:：]\s*([\u4e00-\u9fff（）()]{4,40}?" + _ORG_END + r")(?:本年度)?(?:无|没有|未)"
)


def _finding(rule: Rule, severity: str, detail: str, line: int | None, **numbers: str) -> Finding:
    return Finding(
        check_id=rule.id,
        severity=Severity(severity),
        category=rule.category,
        message=f"{rule.zh}：{detail} | {rule.en}",
        locations=[Location(line=line)],
        basis=rule.basis,
        **numbers,
    )


def _lines(ex: Extraction) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(ex.text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, squeeze(line)


def _expected_as_of(ex: Extraction, year: int) -> tuple[int, ...]:
    """The years a balance date (截至…) of the report may name: the fiscal year for a 决算 (its year end), the year
    before for a 预算 (截至上年8月31日, 上年12月31日)."""
    return (year,) if str(ex.document.kind) == "final_account" else (year - 1, year)


def heading_years(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """Headings that name the report's own 预算/决算 with another year, the report's scope said of another year
    (本部门2018年部门汇总预算 in a 2019 budget), and balance dates older than the report (截至2023年12月31日 in a 2024
    决算). Errors where the document states its year (cover, title, headings, tables), warnings where the year is a
    guess."""
    year = ex.document.fiscal_year
    if not year:
        return
    certain = not ex.document.provenance.get("fiscal_year", "guess").startswith("guess")
    severity = "error" if certain else "warning"
    for number, line in _lines(ex):
        said = []
        if _PART_HEADING.match(line):
            said += [(int(m.group(1)), m.group(0)) for m in _OWN_REPORT.finditer(line)]
        for clause in re.split(r"[，,。；;]", line):
            if not _COMPARED.search(clause):
                said += [(int(m.group(1)), m.group(0)) for m in _OWN_SCOPE.finditer(clause)]
        for printed, words in said:
            if printed != year:
                yield _finding(rule, severity, f"第{number}行“{words}”，报告年度为{year}", number,
                               expected=str(year), actual=str(printed))  # fmt: skip
        for m in _AS_OF.finditer(line):
            if int(m.group(1)) < min(_expected_as_of(ex, year)):
                detail = f"第{number}行“{m.group(0)}”早于{year}年度报告的时点"
                yield _finding(rule, severity, detail, number, expected=str(max(_expected_as_of(ex, year))),
                               actual=m.group(1))  # fmt: skip


def _one_stray(printed: str, expected: str) -> bool:
    """The printed name is the expected one with one character added, dropped or changed."""
    if abs(len(printed) - len(expected)) > 1:
        return False
    if len(printed) == len(expected):
        return sum(a != b for a, b in zip(printed, expected, strict=True)) == 1
    longer, shorter = (printed, expected) if len(printed) > len(expected) else (expected, printed)
    return any(longer[:k] + longer[k + 1 :] == shorter for k in range(len(longer)))


def same_department(printed: str, expected: str) -> str:
    """`same`, `misprint` (one stray character) or `other`, for a department name printed where the document's
    own is expected; a short form (洪山区医疗保障局 for 武汉市洪山区医疗保障局) is the same."""
    name = re.sub(r"[（(](?:汇总|本级)[)）]$", "", squeeze(printed))
    if name.endswith(expected) or expected.endswith(name) or (len(name) >= 4 and expected.startswith(name)):
        return "same"  # a short form, or a name wrapped over two lines of the header
    if _one_stray(name, expected) or any(_one_stray(name, expected[k:]) for k in range(1, len(expected) - 3)):
        return "misprint"
    return "other"


def department_headings(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """Part headings (第二部分 上海市普陀区财政局2024年度部门决算表) and notes (注：上海市普陀区财政局无…) that name
    another department than the document's."""
    expected = ex.document.department
    if not expected:
        return
    for number, line in _lines(ex):
        m = _NAMED_IN_HEADING.match(line) or _NAMED_IN_NOTE.match(line)
        if m is None:
            continue
        printed = re.sub(r"20\d\d.*$", "", m.group(1))
        verdict = same_department(printed, expected)
        if verdict == "same":
            continue
        stray = "（相差一个字，可能为印刷错误）" if verdict == "misprint" else ""
        yield _finding(
            rule,
            "warning" if stray else "error",
            f"第{number}行为“{printed}”，文档为“{expected}”{stray}",
            number,
            expected=expected,
            actual=printed,
        )


_FUND_WORDS = ("政府性基金", "国有资本经营", "三公")
_EMPTY_NOTE = re.compile(r"(?:无|没有)[^。]{0,40}(?:故本表为空表|本表为空表|故本表无数据|本表无数据)")


def empty_note_with_amounts(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """A table whose note says it is empty (本部门无…，故本表为空表) while its cells print non-zero amounts."""
    for t in ex.tables:
        said = next((n for n in [t.statement or "", *t.notes] if _EMPTY_NOTE.search(squeeze(n))), None)
        if said is None or any(w in said and w not in squeeze(t.title) for w in _FUND_WORDS):
            continue  # a note about another table (无政府性基金… read under the table before it)
        printed = [i for i in ex.items if i.table_id == t.table_id and i.instance == t.instance and i.micros]
        if printed:
            shown = "、".join(f"{i.label_norm} {i.raw}" for i in printed[:4])
            detail = f"{t.table_id} {t.title} 注明“{squeeze(said)[:40]}”，表中却有金额 {shown}"
            yield _finding(rule, "error", detail, t.lines[0] if t.lines else None, actual=shown)
