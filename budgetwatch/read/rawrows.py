"""Rows as a reader sees them, before they are mapped onto the canonical model."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from budgetwatch.amounts import is_amount
from budgetwatch.errors import LayoutError

FUNCTION_CODE = re.compile(r"^\d{3}(?:\d{2}){0,2}$")
ECONOMIC_CODE = re.compile(r"^3\d{2}(?:\d{2})?$")

# In a tab-separated row, a grid position covered by the merged cell to its left when that cell holds an amount: the
# value was printed once over several columns (a blank there would say the column printed nothing)
COVERED = "\u2190"


def spread(text: str, width: int) -> list[str]:
    """The grid positions of a cell `width` columns wide: its text at the first; the rest COVERED when the text is an
    amount, else blank (a merged header keeps its text once, at its first position)."""
    rest = COVERED if text and is_amount(text) else ""
    return [text, *[rest] * (width - 1)]


@dataclass(slots=True)
class RawCell:
    columns: tuple[str, ...]  # one column key; several when the source merged columns into one cell
    raw: str
    header: str = ""


@dataclass(slots=True)
class RawRow:
    label: str
    cells: list[RawCell]
    line: int  # 0-based line of the text layer where the row ends
    code: str | None = None
    side: str | None = None
    line_no: int | None = None
    group: str | None = None


@dataclass(slots=True)
class RawTable:
    rows: list[RawRow] = field(default_factory=list)
    statement: str | None = None  # 本部门…无… sentence
    notes: list[str] = field(default_factory=list)
    header_text: str = ""
    column_headers: dict[str, str] = field(default_factory=dict)  # column key → printed header
    # why some value's place is a guess (blanks dropped, a header that does not name the columns): checks on this
    # table cannot be certain, so their errors are reported as warnings
    guessed: list[str] = field(default_factory=list)
    # a guess of which whole columns the values stand in, the same for every row: sums within the table hold or fail
    # whatever the true columns are, comparisons with other tables do not
    placed_by_order: list[str] = field(default_factory=list)


class RaggedRows(LayoutError):
    """Tab-separated rows whose cells are not in their header's columns: blanks were dropped."""


__all__ = ["COVERED", "LayoutError", "RaggedRows", "RawCell", "RawRow", "RawTable", "is_empty_statement", "spread"]

_STATEMENT = re.compile(r"^本(?:部门|单位).{0,30}?(?:无|没有).{0,40}$")


def is_empty_statement(text: str) -> bool:
    return bool(_STATEMENT.match(re.sub(r"\s+", "", text)))
