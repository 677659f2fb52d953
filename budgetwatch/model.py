"""The canonical data model that every stage speaks: documents, tables, line items, narrative facts, findings.

Amounts are exact: ``micros`` is the printed value times 10**6 in the printed unit (an integer; for 万元 one micro is
one 分), so ``2,031.52`` 万元 is ``2_031_520_000``. A blank cell has ``micros = None`` and ``blank = True``; a printed
zero is ``0``. Floats never hold money.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum

MICROS = 10**6


class Kind(StrEnum):
    BUDGET = "budget"
    FINAL_ACCOUNT = "final_account"


class TableStatus(StrEnum):
    PARSED = "parsed"
    DECLARED_EMPTY = "declared_empty"
    MISSING = "missing"
    IMAGE_ONLY = "image_only"
    UNREADABLE = "unreadable"  # present, but its layout could not be mapped (the reason is in the notes)
    UNRECOGNISED = "unrecognised"  # a table of codes or 合计 rows that no template family describes, read as printed


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


def micros_to_decimal(micros: int | None) -> Decimal | None:
    """Exact Decimal of a micros amount (None stays None)."""
    if micros is None:
        return None
    return (Decimal(micros) / MICROS).normalize() if micros % MICROS else Decimal(micros // MICROS)


def format_micros(micros: int | None, decimals: int = 2) -> str:
    """Render an amount with at least ``decimals`` places, more only if the value has them."""
    if micros is None:
        return ""
    value = Decimal(micros) / MICROS
    places = decimals
    while places < 6 and value != value.quantize(Decimal(1).scaleb(-places)):
        places += 1
    return f"{value:.{places}f}"


@dataclass(slots=True)
class Document:
    sha256: str
    source: str
    media_type: str
    department: str | None = None
    district: str | None = None
    fiscal_year: int | None = None
    kind: Kind | None = None
    scope: str | None = (
        None  # 部门 (a department's report, 汇总) | 单位 (a unit's: 单位预算, 预算单位…, 本级) when stated
    )
    published: str | None = None  # ISO date when printed
    title: str | None = None
    family: str | None = None  # the template family its tables follow (data/families.yaml)
    provenance: dict[str, str] = field(default_factory=dict)  # where each value above was read, or "guess: …"
    not_disclosure: str | None = None  # why the file is not a disclosure report; None when it is one

    @property
    def is_disclosure(self) -> bool:
        return self.not_disclosure is None


@dataclass(slots=True)
class Table:
    table_id: str
    title: str
    status: TableStatus
    printed_number: str | None = None
    instance: str | None = None  # 12-1, 12-2 … for budget.12
    department_line: str | None = None
    unit_line: str | None = None
    unit: str = "万元"
    pages: list[int] = field(default_factory=list)
    lines: tuple[int, int] | None = None  # first and last line of the table in a text layer
    notes: list[str] = field(default_factory=list)
    statement: str | None = None  # 本部门…无… sentence when present
    family: str | None = None  # the template family whose header map it was read with
    columns: list[str] = field(default_factory=list)  # the column keys its header printed
    guessed: list[str] = field(default_factory=list)  # why the place of some of its values is a guess
    placed_by_order: list[str] = field(default_factory=list)  # why which columns its values stand in is a guess


@dataclass(slots=True)
class LineItem:
    """One amount cell of a table, in long format."""

    table_id: str
    row_order: int
    label: str  # as printed (wrapped parts joined)
    label_norm: str
    column_key: str
    header: str  # printed header of the column
    micros: int | None
    raw: str
    blank: bool
    unit: str = "万元"
    decimals: int = 2
    side: str | None = None  # income | expenditure for two-sided tables
    row_key: str | None = None  # fixed-row key from the catalogue (two-sided, footer and funding rows)
    code: str | None = None
    code_scheme: str | None = None  # function | economic | unit | project
    level: str | None = None  # 类 | 款 | 项
    code_printed: str | None = None  # the code as printed, when rebuilt
    line_no: int | None = None  # printed 行次
    group: str | None = None  # column group (final.06: personnel | public)
    page: int | None = None
    line: int | None = None  # line of the text layer
    instance: str | None = None
    ocr_confidence: float | None = None  # recognition score (0–1) of a printed amount read by OCR from a page image

    @property
    def amount(self) -> Decimal | None:
        return micros_to_decimal(self.micros)


@dataclass(slots=True)
class NarrativeFact:
    kind: str  # total | share | change | change_rate | budget | final | completion_rate | count | amount
    micros: int
    unit: str
    raw: str
    subject: str
    sentence: str
    section: str
    line: int
    offset: int  # character offset of the number within the sentence
    decimals: int = 2
    after: str = ""  # the words right after the number and its unit (…8 个二级项目 → 二级项目)

    @property
    def value(self) -> Decimal:
        return micros_to_decimal(self.micros) or Decimal(0)


@dataclass(slots=True)
class Location:
    table_id: str | None = None
    row_label: str | None = None
    code: str | None = None
    column: str | None = None
    page: int | None = None
    line: int | None = None


@dataclass(slots=True)
class Finding:
    check_id: str
    severity: Severity
    category: str
    message: str
    expected: str | None = None
    actual: str | None = None
    difference: str | None = None
    locations: list[Location] = field(default_factory=list)
    # what the finding rests on: identity (exact arithmetic between cells), narrative (a statement read from the text),
    # reference (a list the project keeps), layout (labels, years, units, template text); declared per rule
    basis: str | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data


@dataclass(slots=True)
class Extraction:
    """What extraction makes of one document."""

    document: Document
    tables: list[Table]
    items: list[LineItem]
    facts: list[NarrativeFact]
    text: str = ""

    def table(self, table_id: str) -> Table | None:
        return next((t for t in self.tables if t.table_id == table_id), None)
