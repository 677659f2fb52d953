"""Amount columns by what their header says: each position's header path mapped onto the table's column map.

A printed header is several rows; a group header (本年支出, 预算数, 公务用车购置及运行费) stands over the columns it
spans, its text at the first of them. A position's path is the text above it, top to bottom, with a group's text
carried to the columns it spans. A column fits a path when its label (or an alias) is printed in it with nothing below
but its parents and words every column carries (决算数 under each); the best fit is the one with all its parents
there, printed exactly, with the nearest group. A header that names no column, or two equally well, maps to nothing:
the reader never guesses by position.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from budgetwatch.labels import normalise_label, squeeze
from budgetwatch.read.catalogue import ColumnSpec

# words a header may carry over every amount column, saying nothing about which column it is
NEUTRAL = frozenset(
    {"决算数", "预算数", "金额", "决算", "预算", "数额", "本年预算数", "本年决算数", "年度决算数", "年初预算数"}
)
# header words of the columns that hold a row's code, name or number rather than amounts
STUB_WORDS = (
    "项目", "项目名称", "科目名称", "科目编码", "科目代码", "功能分类", "经济分类", "支出功能分类", "功能科目名称",
    "功能科目编码", "功能科目代码", "功能分类科目编码", "功能分类科目名称", "经济分类科目编码", "经济分类科目名称",
    "部门预算经济分类科目编码", "部门经济分类科目名称", "支出功能分类科目编码", "单位名称", "单位编码", "项目单位",
    "类", "款", "项", "行次", "行", "栏次", "编码", "名称", "序号", "科目", "支出用途", "经济分类科目", "功能分类科目",
)  # fmt: skip
_YEAR = re.compile(r"^\d{4}年度?")
_QUOTES = re.compile(r"[“”\"'‘’「」]")


def header_word(text: str) -> str:
    """A header cell's comparable form: no spaces, quotes, numbering or leading year; NFKC-folded."""
    text = _QUOTES.sub("", squeeze(unicodedata.normalize("NFKC", text)))
    text = _YEAR.sub("", normalise_label(text))
    for suffix in ("预算数", "决算数"):
        if text.endswith(suffix) and len(text) > len(suffix) and text != "本年" + suffix:
            return text[: -len(suffix)]
    return text


def is_stub(text: str) -> bool:
    word = header_word(text)
    return word in STUB_WORDS or word.endswith(("编码", "代码", "名称"))


def _names(header: str, label: str) -> bool:
    """The header word says the label: exactly, as its ending, or with the label's characters all there (narrow PDF
    cells give wrapped header text back with neighbouring characters mixed in)."""
    if header == label or (header.endswith(label) and len(label) >= 2):
        return True
    return len(label) >= 3 and not (Counter(label) - Counter(header)) and len(header) <= 2 * len(label)


def header_paths(header_rows: list[list[str]], positions: list[int]) -> dict[int, tuple[str, ...]]:
    """Each position's header words, top to bottom; a group header's text is carried right over the blank cells of
    its row while the group's own column goes on below it (a cell that is itself the lowest text of its column spans
    rows, not columns), and never past a column where a row above starts another cell (spans nest)."""
    width = max((len(r) for r in header_rows), default=0)
    grid = [[header_word(r[k]) if k < len(r) else "" for k in range(width)] for r in header_rows]
    lowest = {k: max((r for r in range(len(grid)) if grid[r][k]), default=-1) for k in range(width)}
    paths: dict[int, tuple[str, ...]] = {}
    for pos in positions:
        words: list[str] = []
        for r, row in enumerate(grid):
            word = row[pos] if pos < width else ""
            if not word and pos < width and r < lowest.get(pos, -1):
                word = _carried(grid, pos, r, lowest)
            if word and (not words or words[-1] != word):
                words.append(word)
        paths[pos] = tuple(words)
    return paths


def _carried(grid: list[list[str]], pos: int, r: int, lowest: dict[int, int]) -> str:
    """The group header to the left of a blank cell in row r, if one spans it: the nearest text to the left, unless
    a row above starts a cell in between (a group lies inside the one above it) or that text spans rows instead."""
    row = grid[r]
    for q in range(pos - 1, -1, -1):
        if any(grid[upper][q + 1] for upper in range(r)):
            return ""
        if row[q]:
            return row[q] if lowest.get(q, -1) > r and not is_stub(row[q]) else ""
    return ""


@dataclass(frozen=True, slots=True)
class _Candidate:
    column: ColumnSpec
    complete: bool  # every parent the column declares stands in the path
    exact: bool  # the label is printed as such, not only found in a longer or mixed header
    parents_found: int
    nearest: int  # how low in the path its lowest parent stands: the closer group decides between two


def _parts(alias: str) -> list[str]:
    return [header_word(p) for p in alias.split("/")]


def _matches(column: ColumnSpec, path: tuple[str, ...]) -> _Candidate | None:
    """How a column fits a path: its label (or an alias, which may be a path a/b) printed in it, nothing but its
    parents and neutral words below the label, and its parents above or below."""
    for alias in column.labels:
        parts = _parts(alias)
        at = next((i for i in range(len(path) - 1, -1, -1) if _names(path[i], parts[-1])), None)
        if at is None:
            continue
        wanted = [header_word(p) for p in column.parents] + parts[:-1]
        rest = path[:at] + path[at + 1 :]
        below = path[at + 1 :]
        if any(w not in NEUTRAL and not any(_names(w, p) for p in wanted) for w in below):
            continue
        hits = [i for i, w in enumerate(path) if i != at and any(_names(w, p) for p in wanted)]
        found = sum(1 for p in wanted if any(_names(w, p) for w in rest))
        return _Candidate(column, found == len(wanted), path[at] == parts[-1], found, max(hits, default=-1))
    return None


def map_path(columns: tuple[ColumnSpec, ...], path: tuple[str, ...]) -> ColumnSpec | None:
    """The column a header path names, or None when it names none, or two equally well."""
    words = tuple(w for w in path if w)
    if not words:
        return None
    candidates = [c for col in columns if (c := _matches(col, words))]
    if not candidates:
        return None
    best = max((c.complete, c.exact, c.parents_found, c.nearest) for c in candidates)
    chosen = [c for c in candidates if (c.complete, c.exact, c.parents_found, c.nearest) == best]
    if not best[0] and len({c.column.key for c in candidates}) > 1:
        return None  # a label several columns share, printed without the group that tells them apart
    return chosen[0].column if len({c.column.key for c in chosen}) == 1 else None


def map_header(columns: tuple[ColumnSpec, ...], path: tuple[str, ...]) -> tuple[ColumnSpec, ...]:
    """The column(s) a header path names: one, or several when one merged header cell prints their labels side by
    side (基本支出 项目支出); none when it names none."""
    if column := map_path(columns, path):
        return (column,)
    word = path[-1] if path else ""
    found: list[ColumnSpec] = []
    rest = word
    for column in columns:
        label = next((w for w in map(header_word, column.labels) if len(w) >= 2 and rest.startswith(w)), None)
        if label:
            found.append(column)
            rest = rest[len(label) :]
    return tuple(found) if len(found) >= 2 and not rest else ()


def _overlap(word: str, label: str) -> float:
    return sum((Counter(word) & Counter(label)).values()) / max(len(word), len(label))


def assign_mixed(columns: list[ColumnSpec], words: dict[int, str], floor: float = 0.7) -> dict[int, ColumnSpec]:
    """Headers whose characters a narrow PDF cell mixed with its neighbours' (府性基金预算财政国拨): each goes to the
    unused column whose label shares most of its characters, best pairs first, one column each."""
    pairs = sorted(
        (
            (max(_overlap(word, header_word(label)) for label in column.labels), pos, k)
            for pos, word in words.items()
            for k, column in enumerate(columns)
        ),
        reverse=True,
    )
    taken_pos: set[int] = set()
    taken_col: set[int] = set()
    out: dict[int, ColumnSpec] = {}
    for score, pos, k in pairs:
        if score < floor or pos in taken_pos or k in taken_col:
            continue
        out[pos] = columns[k]
        taken_pos.add(pos)
        taken_col.add(k)
    return out
