"""The rules file (data/rules.yaml) as typed objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where built: some 6× faster

IDENTITY_RELATIONS = ("columns_sum", "rows_sum", "hierarchy", "equal", "cross_rows")
DOCUMENT_RELATIONS = (
    "completeness",
    "unreadable_table",
    "ocr_confidence",
    "empty_without_statement",
    "department_header",
    "header_label",
    "precision",
    "fiscal_year",
    "template_text",
    "city_wording",
    "unit_words",
    "unknown_code",
    "code_name",
    "code_parent",
    "classification_path",
    "function_list",
    "table_order",
    "heading_numbering",
    "project_names",
    "performance_blocks",
    "indicator_types",
    "heading_years",
    "department_headings",
    "empty_note_with_amounts",
)
NARRATIVE_RELATIONS = (
    "narrative_share",
    "narrative_completion",
    "narrative_change_rate",
    "narrative_list_sum",
    "narrative_class",
    "narrative_table",
    "narrative_hierarchy",
    "narrative_repeated_count",
    "narrative_named_items",
    "narrative_no_assets",
    "narrative_project_amount",
    "narrative_listed_count",
    "narrative_structure",
    "narrative_approximate",
    "narrative_running_costs",
    "narrative_comparison",
)
RELATIONS = IDENTITY_RELATIONS + DOCUMENT_RELATIONS + NARRATIVE_RELATIONS
# what a finding rests on: exact arithmetic between cells, a statement read from the text, a list the project keeps,
# or the document's labels, years, units and template text
BASES = ("identity", "narrative", "reference", "layout")


@dataclass(frozen=True, slots=True)
class CellRef:
    table: str
    row: str
    column: str
    side: str | None = None


@dataclass(frozen=True, slots=True)
class RowsRef:
    table: str
    column: str
    side: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    relation: str
    zh: str
    en: str
    basis: str
    table: str | None = None
    side: str | None = None
    total: str | None = None
    parts: tuple[str, ...] | str | None = None
    columns: tuple[str, ...] | None = None
    left: tuple[CellRef, ...] | RowsRef | None = None
    right: tuple[CellRef, ...] | RowsRef | None = None
    category: str = "arithmetic"
    severity: str | None = None  # fixed severity of document rules; identities are graded by their difference
    condition: str | None = None
    tables: tuple[str, ...] = field(default=())
    subjects: dict[str, tuple[CellRef, ...]] = field(default_factory=dict)
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # named things a rule looks for → their wordings


def _cells(raw) -> tuple[CellRef, ...] | RowsRef:
    if isinstance(raw, dict):
        return RowsRef(table=raw["table"], column=raw["column"], side=raw.get("side"))
    return tuple(CellRef(table=c["table"], row=str(c["row"]), column=c["column"], side=c.get("side")) for c in raw)


def _rule(raw: dict) -> Rule:
    if raw["relation"] not in RELATIONS:
        raise ValueError(f"rule {raw['id']}: unknown relation {raw['relation']}")
    if raw.get("basis") not in BASES:
        raise ValueError(f"rule {raw['id']}: basis must be one of {', '.join(BASES)}, not {raw.get('basis')!r}")
    parts = raw.get("parts")
    left = _cells(raw["left"]) if "left" in raw else None
    right = _cells(raw["right"]) if "right" in raw else None
    subjects = {name: _cells(refs) for name, refs in (raw.get("subjects") or {}).items()}
    tables = {raw["table"]} if raw.get("table") else set()
    for ref in (left, right):
        if isinstance(ref, RowsRef):
            tables.add(ref.table)
        elif ref:
            tables.update(c.table for c in ref)
    return Rule(
        id=raw["id"],
        relation=raw["relation"],
        zh=raw["zh"],
        en=raw["en"],
        basis=raw["basis"],
        table=raw.get("table"),
        side=raw.get("side"),
        total=str(raw["total"]) if raw.get("total") is not None else None,
        parts=parts if isinstance(parts, str) or parts is None else tuple(str(p) for p in parts),
        columns=tuple(raw["columns"]) if raw.get("columns") else None,
        left=left,
        right=right,
        category=raw.get("category", "arithmetic"),
        severity=raw.get("severity"),
        condition=raw.get("condition"),
        tables=tuple(sorted(tables)),
        subjects=subjects,  # type: ignore[arg-type]
        labels={name: tuple(words) for name, words in (raw.get("labels") or {}).items()},
    )


def identity_rules() -> tuple[Rule, ...]:
    return tuple(r for r in rules() if r.relation in IDENTITY_RELATIONS)


def document_rules() -> tuple[Rule, ...]:
    return tuple(r for r in rules() if r.relation in DOCUMENT_RELATIONS)


def narrative_rules() -> tuple[Rule, ...]:
    return tuple(r for r in rules() if r.relation in NARRATIVE_RELATIONS)


def basis_of(check_id: str) -> str:
    """The declared basis of a rule."""
    return _by_id()[check_id].basis


@cache
def _by_id() -> dict[str, Rule]:
    return {r.id: r for r in rules()}


@cache
def rules() -> tuple[Rule, ...]:
    text = resources.files("budgetwatch").joinpath("data/rules.yaml").read_text(encoding="utf-8")
    loaded = tuple(_rule(r) for r in yaml.load(text, Loader=_YAML_LOADER)["rules"])
    ids = [r.id for r in loaded]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate rule ids in rules.yaml")
    return loaded
