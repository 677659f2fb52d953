"""Finding the tables in a text layer by what they print: titles of any template family, wherever they stand.

A title may follow a year, a department or a number (`1. 2024年部门财务收支预算总表`, `表一`), come before a number in
any bracket (`（表1）`, `(公开01表)`), wrap over two lines, carry quotes of any kind, or share its line with the 部门 /
单位 caption. A line is a table's title only when a printed number, a 部门 line or a 单位 line stands beside it, so the
table of contents is never taken for tables; where the bodies print no number, the contents' numbering is kept. The
document's template family is the one whose titles the tables use most; each table is then read with that family's
spec.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from budgetwatch.labels import squeeze, title_key
from budgetwatch.read.catalogue import TableSpec, TitleMatch, effective_spec, families, family, title_matches

_CN = "一二三四五六七八九十"
_NUMBER_TEXT = (
    rf"公开\s*(\d{{1,2}})\s*表|公开表\s*([{_CN}]{{1,3}})|附?表\s*(\d{{1,2}}(?:\s*-\s*\d{{1,2}})?|[{_CN}]{{1,3}})"
)
_PRINTED_NUMBER = re.compile(rf"^[（(]?(?:{_NUMBER_TEXT})[)）：:]?$")
_INLINE_NUMBER = re.compile(rf"[（(]?(?:{_NUMBER_TEXT})[)）]?")
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
_CAPTION = re.compile(r"(?:部门|单位名称|编制部门|编制单位|部门名称)\s*[:：]")
_UNIT = re.compile(r"单位\s*[:：]\s*(万元|元|千元)?")
_PART_HEADING = re.compile(r"^第\s*[一二三四五六七八九十\d]+\s*部分")
_TABLE_SECTION = re.compile(r"^第\s*[一二三四五六七八九十\d]+\s*部分.*(?:预算表|决算表|报表|公开表)\s*$")
_CONTENTS_NUMBER = re.compile(rf"^\s*(?:([{_CN}]{{1,3}})\s*[、.．]|(\d{{1,2}})\s*[.．、])")
# How far from a title its printed number, 部门 line or 单位 line may stand.
_WINDOW_AFTER = 6
_WINDOW_BEFORE = 2
_MAX_TITLE = 60  # characters: longer lines are sentences, not titles


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
    unit: str | None = None  # from the table's 单位 line; None when it prints none
    header_lines: list[int] = field(default_factory=list)  # lines holding the number/部门/单位 metadata
    matches: tuple[TitleMatch, ...] = ()
    title_lines: int = 1  # a title wrapped over two lines
    family: str | None = None

    @property
    def title(self) -> str:
        return self.spec.title


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


def _number_from(match: re.Match) -> tuple[str, str | None]:
    if match.group(1):
        return f"公开{int(match.group(1)):02d}表", None
    number = cn_number(squeeze(match.group(2) or match.group(3)))
    return f"表{number}", (number if "-" in number else None)


def _printed_number(text: str) -> tuple[str, str | None] | None:
    m = _PRINTED_NUMBER.match(squeeze(text))
    return _number_from(m) if m else None


def _inline_number(text: str) -> tuple[str, str | None] | None:
    """A number printed on the title's own line (公开06表财政拨款…, …（表1）, …公开表一部门：…)."""
    m = _INLINE_NUMBER.search(squeeze(text))
    return _number_from(m) if m else None


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


_UNIT_CAPTION = re.compile(r"\s*(?:金额)?单位\s*[:：]")


def _caption(span: Span, lines: list[str], j: int) -> bool:
    """Take a 部门 / 单位 caption line (or the caption on the title's own line) into the span; whether it was one."""
    text = lines[j].strip()
    found = False
    if _DEPARTMENT.match(text) or (j == span.title_line and _CAPTION.search(text)):
        m = _CAPTION.search(text) or _DEPARTMENT.match(text)
        name = _UNIT_CAPTION.split(text[m.end() :], maxsplit=1)[0]  # the 单位 caption may follow on the line
        span.department_line = (text[m.start() : m.end()] + name).strip()
        found = True
    if "单位" in text and (unit := _unit_from(lines, j)):
        span.unit_line = _UNIT.search(text).group(0)
        span.unit = unit
        found = True
    if found and j != span.title_line and j not in span.header_lines:
        span.header_lines.append(j)
    return found or text.startswith("填报日期")


def _confirm(lines: list[str], i: int, matches: tuple[TitleMatch, ...], wrapped: int) -> Span | None:
    """A title line is a table title only when a printed number, 部门 line or 单位 line stands beside it."""
    span = Span(spec=_first_spec(matches), title_line=i, start=i, end=i + wrapped, matches=matches, title_lines=wrapped)
    evidence = _caption(span, lines, i)
    if number := _inline_number(lines[i]):
        span.printed_number, span.instance = number
        evidence = True
    for j in _nonblank(lines, i - 1, -1, -1):
        if not span.printed_number and (number := _printed_number(lines[j])):
            span.printed_number, span.instance = number
            span.start = j
            span.header_lines.append(j)
            evidence = True
    for j in _nonblank(lines, i + wrapped, len(lines), 1):
        text = lines[j].strip()
        if _title_at(lines, j)[0]:
            break
        if not span.printed_number and (number := _printed_number(text)):
            span.printed_number, span.instance = number
            span.header_lines.append(j)
            evidence = True
            continue
        evidence = _caption(span, lines, j) or evidence
    return span if evidence else None


def _first_spec(matches: tuple[TitleMatch, ...]) -> TableSpec:
    return effective_spec(matches[0].table_id, None)


def _title_at(lines: list[str], i: int) -> tuple[tuple[TitleMatch, ...], int]:
    """The tables the line at i names as a title, and over how many lines the title stands (1, or 2 when wrapped)."""
    text = lines[i].strip()
    if not text or len(squeeze(text)) > _MAX_TITLE + 40 or "\t" in text.rstrip("\t"):
        return (), 1
    key = title_key(text)
    if len(key) > _MAX_TITLE:
        return (), 1
    if found := title_matches(text):
        return found, 1
    # a title wrapped over two lines (2024 年度收入 / 支出决算总表): the first line names no table, the two together
    # do; the second may name one on its own (支出决算总表), the joined title wins
    following = lines[i + 1].strip() if i + 1 < len(lines) else ""
    fragment = key and not _printed_number(text) and not _CAPTION.search(text) and not _UNIT.search(text)
    if (
        fragment
        and following
        and len(squeeze(text + following)) <= _MAX_TITLE
        and title_key(following)
        and (found := title_matches(text + following))
        and len(title_key(text + following)) > len(title_key(following))
    ):
        return found, 2
    return (), 1


def _contents_numbers(lines: list[str], titles: list[tuple[int, tuple[TitleMatch, ...]]], used: set[int]) -> dict:
    """Numbers the table of contents gives to the tables it lists (一、收入支出决算总表 → 表1), by table id."""
    numbers: dict[str, str] = {}
    for i, matches in titles:
        if i in used:
            continue
        m = _CONTENTS_NUMBER.match(lines[i])
        if m:
            numbers.setdefault(matches[0].table_id, f"表{cn_number(m.group(1) or m.group(2))}")
    return numbers


def choose_family(spans: list[Span]) -> str | None:
    """The family whose titles the document's tables use most; ties go to the family listing fewer tables."""
    votes: Counter[str] = Counter()
    for span in spans:
        for fam in {m.family_id for m in span.matches if m.family_id}:
            votes[fam] += 1
    if not votes:
        return None
    sizes = {f.id: len(f.tables) for f in families()}
    return max(votes, key=lambda f: (votes[f], -sizes[f]))


def _apply_family(spans: list[Span], family_id: str | None) -> None:
    for span in spans:
        match = next((m for m in span.matches if m.family_id == family_id), span.matches[0])
        span.family = family_id if match.family_id == family_id else match.family_id
        span.spec = effective_spec(match.table_id, span.family)
        if span.unit is None and span.family:
            fam = family(span.family)
            entry = fam.table(match.table_id)
            span.unit = (entry.unit if entry and entry.unit else None) or fam.unit


@dataclass(slots=True)
class Located:
    """The tables of a text layer, its template family, and the tables its contents list without printing them."""

    spans: list[Span]
    family: str | None
    listed: list[str]  # table ids named by the contents (or elsewhere as a title) but not found as tables


def locate_tables(lines: list[str]) -> list[Span]:
    """Every table found in the lines, in printed order (see `locate`)."""
    return locate(lines).spans


def locate(lines: list[str]) -> Located:
    """Every table found in the lines, in printed order, each ending where the next begins, read as the document's
    template family prints it; where no table is printed, the family is the one its contents name."""
    spans: list[Span] = []
    titles: list[tuple[int, tuple[TitleMatch, ...]]] = []
    skip_to = -1
    for i in range(len(lines)):
        if i < skip_to:
            continue
        matches, wrapped = _title_at(lines, i)
        if not matches:
            continue
        titles.append((i, matches))
        span = _confirm(lines, i, matches, wrapped)
        if span is not None:
            spans.append(span)
            skip_to = i + wrapped
    _close_spans(lines, spans)
    used = {s.title_line for s in spans}
    unconfirmed = [
        Span(spec=_first_spec(m), title_line=i, start=i, end=i, matches=m) for i, m in titles if i not in used
    ]
    fam = choose_family(spans) or choose_family(unconfirmed)
    _apply_family(spans, fam)
    numbers = _contents_numbers(lines, titles, used)
    for span in spans:
        span.printed_number = span.printed_number or numbers.get(span.spec.id)
        span.unit = span.unit or "万元"
    found = {s.spec.id for s in spans}
    listed = list(dict.fromkeys(_chosen(m, fam) for i, m in titles if i not in used and _chosen(m, fam) not in found))
    return Located(spans, fam, listed)


def _chosen(matches: tuple[TitleMatch, ...], fam: str | None) -> str:
    return next((m.table_id for m in matches if m.family_id == fam), matches[0].table_id)


# what may follow a grid's last row before prose resumes: its 合计 line, notes, the empty-table statement, a page number
_NOTE = re.compile(
    r"^(?:注|说明|备注|本部门|本单位|合\s*计|总\s*计|[（(]?无|填报|单位|\d{1,3}$|[─—\-]\s*\d+\s*[─—\-]$)"
)


def _close_spans(lines: list[str], spans: list[Span]) -> None:
    """Each table ends where the next begins, at a part heading, or (a grid read as tab-separated rows) where prose
    resumes after its last row and the notes under it."""
    for k, span in enumerate(spans):
        limit = spans[k + 1].start if k + 1 < len(spans) else len(lines)
        span.end = limit
        for j in range(span.title_line + span.title_lines, limit):
            if _PART_HEADING.match(lines[j].strip()):
                span.end = j
                break
        title = squeeze(" ".join(lines[span.title_line : span.title_line + span.title_lines]))
        span.end = _other_title(lines, span.title_line + span.title_lines, span.end, title)
        span.end = _after_grid(lines, span.title_line + span.title_lines, span.end)


# a line standing as a table's title: short, no sentence punctuation, ending in 表 (and maybe its bracketed number)
_TITLE_LIKE = re.compile(r"^[^，。；：:\t]{4,60}表\s*(?:[(（][^)）]{1,12}[)）])?$")


def _other_title(lines: list[str], start: int, end: int, title: str) -> int:
    """Where a table no template names begins after this table's grid: a title-like line other than this table's own
    (which continuation pages repeat); `end` when there is none."""
    seen_grid = False
    for j in range(start, end):
        text = lines[j].strip()
        seen_grid = seen_grid or "\t" in text
        foreign = squeeze(text) not in title and "续" not in text  # 续表: this table continued
        if seen_grid and foreign and _TITLE_LIKE.match(text) and not _NOTE.match(text):
            return j
    return end


def _after_grid(lines: list[str], start: int, end: int) -> int:
    """Where prose resumes after a tab-separated grid: past its last row, its notes (注：…, 本部门…无…) and their
    wrapped lines; `end` when the section holds no grid."""
    last = max((j for j in range(start, end) if "\t" in lines[j]), default=None)
    if last is None:
        return end
    j = last + 1
    in_note = False
    while j < end:
        text = lines[j].strip()
        if text and not _NOTE.match(text) and not (in_note and not _CONTENTS_NUMBER.match(text)):
            return j
        in_note = in_note or bool(text and _NOTE.match(text))
        j += 1
    return end


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
