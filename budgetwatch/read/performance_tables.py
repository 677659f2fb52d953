"""The blocks and indicators of a 项目支出绩效目标表 (表12-n) as its text prints them.

Layout text wraps a label over several lines of its cell (项目资 / 金来源, 项 / 目 / 支 / 出 …), and the lines of a
neighbouring cell may stand between the pieces; a label is found when its pieces open successive lines in order. The
indicator rows are read from the table's text with whitespace removed: a 二级指标 type (数量指标, 质量指标 …)
followed by the name of the 三级指标 up to its first value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from budgetwatch.labels import squeeze

# how far (in lines) the pieces of one wrapped label may stand apart
_LABEL_WINDOW = 40
# 二级指标 types of the 绩效目标表 template, and the 一级指标 that close a name too
SECOND_LEVEL = (
    "服务对象满意度指标",
    "生态环境成本指标",
    "可持续影响指标",
    "经济效益指标",
    "社会效益指标",
    "生态效益指标",
    "经济成本指标",
    "社会成本指标",
    "数量指标",
    "质量指标",
    "时效指标",
    "成本指标",
)
FIRST_LEVEL = ("产出指标", "效益指标", "满意度指标")
_TOKENS = re.compile("|".join(sorted(SECOND_LEVEL + FIRST_LEVEL, key=len, reverse=True)))
_VALUE_START = re.compile(r"[\d≥≤<>＜＞=%％]|计划标准|历史标准|行业标准|其他标准|标准")
# qualitative values printed right after a name (达标 达标 达标): not part of it
_VALUE_WORDS = re.compile(r"(?:达标|及时|优秀|良好|合格|较好|有效|完成|是|否)+$")
_SUB_TABLE = re.compile(r"(长期|长效|中长期|年度)绩效目标表?$")


@dataclass(frozen=True, slots=True)
class Indicator:
    name: str  # the 三级指标 as printed, wrapped pieces joined
    kind: str  # its 二级指标 type
    sub_table: str  # 长期 / 年度 …: the part of the 表12-n it stands in
    line: int  # line of the text (1-based) where its type is printed


def cells(line: str) -> list[str]:
    """The cells of one line: tab-separated when tabs are used, else separated by spaces."""
    parts = line.split("\t") if "\t" in line else line.split()
    return [c for c in (squeeze(p) for p in parts) if c]


def has_label(lines: list[str], label: str) -> bool:
    """The label is printed in one cell, or wrapped: a cell that begins it, then pieces opening later lines."""
    label = squeeze(label)
    rows = [cells(line) for line in lines]
    for k, row in enumerate(rows):
        if any(label in c for c in row):
            return True
        for start in (row[:1] + row[-1:]) if row else []:
            if not label.startswith(start) or len(start) >= len(label):
                continue
            rest = label[len(start) :]
            for follow in rows[k + 1 : k + 1 + _LABEL_WINDOW]:
                if follow and rest.startswith(follow[0]):
                    rest = rest[len(follow[0]) :]
                    if not rest:
                        return True
    return False


def _sub_tables(lines: list[str], first_line: int) -> Iterator[tuple[str, int, list[str]]]:
    """(name, first line number, lines) of the target tables (长期绩效目标表, 年度绩效目标表) inside one 表12-n."""
    starts = []
    for k, line in enumerate(lines):
        m = _SUB_TABLE.search(squeeze(line))
        if m:
            starts.append((k, m.group(1)))
    for n, (k, name) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        yield name, first_line + k, lines[k + 1 : end]


def indicators(lines: list[str], first_line: int) -> list[Indicator]:
    """The indicators each target table of a 表12-n names right after a 二级指标 type."""
    out = []
    for sub_table, start, body in _sub_tables(lines, first_line):
        text, line_of = "", []
        for k, line in enumerate(body):
            piece = squeeze(line)
            text += piece
            line_of.extend([start + 1 + k] * len(piece))
        tokens = list(_TOKENS.finditer(text))
        for n, m in enumerate(tokens):
            if m.group(0) not in SECOND_LEVEL:
                continue
            end = tokens[n + 1].start() if n + 1 < len(tokens) else len(text)
            following = text[m.end() : end]
            value = _VALUE_START.search(following)
            name = following[: value.start()] if value else following
            name = _VALUE_WORDS.sub("", name) if len(_VALUE_WORDS.sub("", name)) >= 4 else name
            if len(name) >= 4:
                out.append(Indicator(name=name, kind=m.group(0), sub_table=sub_table, line=line_of[m.start()]))
    return out
