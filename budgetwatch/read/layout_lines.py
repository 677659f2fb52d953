"""Lines of a layout text layer made readable token by token: what the text layer glued apart, what it split joined.

A text layer drops the space between two cells when the first ends at the second's edge
(`47,483,458一、社会保障和就业支出`, `20805行政事业单位养老支出`); a table that prints the 类, 款 and 项 of a code
in columns of their own gives them as separate tokens (`208 05 01`). Pure functions over one line at a time.
"""

from __future__ import annotations

import re

from budgetwatch.labels import squeeze

# a formatted amount (thousands separators or decimals) run into the Chinese label after it
_GLUED_AMOUNT = re.compile(r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)(?=[（(\u4e00-\u9fff])")
# a function (3/5/7 digits) or economic (3/5) code run into its name at the start of a line
_GLUED_CODE = re.compile(r"^(\d{3}(?:\d{2}){0,2})(?=[\u4e00-\u9fff])")
# a code printed as 类 | 款 | 项 tokens: classes are 2xx (function), 3xx and 5xx (economic); a 款 or 项 is two digits
_SPLIT_CODE = re.compile(r"(?<!\S)([235]\d{2})\s+(\d{2})(?:\s+(\d{2}))?(?!\S)")
_LEVEL_HEADER = re.compile(r"(?:^|\s)类\s+款(?:\s|$)")


def prints_code_levels(lines: list[str]) -> bool:
    """True when a header line names the 类 and 款 columns: codes there are printed one level a token."""
    return any(_LEVEL_HEADER.search(line) for line in lines)


def unglued(text: str, code_levels: bool) -> str:
    """The line with glued cells set apart and, where the table prints code levels apart, each code joined again."""
    text = _GLUED_CODE.sub(r"\1 ", _GLUED_AMOUNT.sub(r"\1 ", text))
    if code_levels:
        text = _SPLIT_CODE.sub(lambda m: "".join(g for g in m.groups() if g), text)
    return text


def without_repeated_headers(
    header: list[tuple[int, str]], body: list[tuple[int, str]], has_amounts
) -> list[tuple[int, str]]:
    """Body lines without the column header printed again at the top of a later page (a line equal to a header line
    that carries no amounts)."""
    printed = {squeeze(text) for _, text in header}
    return [(i, text) for i, text in body if squeeze(text) not in printed or has_amounts(text)]
