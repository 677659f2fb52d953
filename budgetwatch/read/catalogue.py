"""The table catalogue (data/tables.yaml) as typed objects, and the title matcher derived from it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml

from budgetwatch.labels import normalise_label, normalise_title


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    key: str
    label: str
    parents: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    unit: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.label, *self.aliases)

    @property
    def header(self) -> str:
        return "/".join((*self.parents, self.label))


@dataclass(frozen=True, slots=True)
class RowSpec:
    key: str
    label: str
    aliases: tuple[str, ...] = ()
    total: bool = False
    block: str | None = None

    def matches(self, label_norm: str) -> bool:
        return any(label_norm == normalise_label(x) for x in (self.label, *self.aliases) if x)


@dataclass(frozen=True, slots=True)
class SideSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    rows: tuple[RowSpec, ...]
    class_rows: bool = False


@dataclass(frozen=True, slots=True)
class TableSpec:
    id: str
    kind: str
    title: str
    layout: str
    aliases: tuple[str, ...] = ()
    columns: tuple[ColumnSpec, ...] = ()
    sides: tuple[SideSpec, ...] = ()
    footer_rows: tuple[RowSpec, ...] = ()
    fixed_rows: tuple[RowSpec, ...] = ()
    printed: dict[int, str] = field(default_factory=dict)
    empty_statement: str | None = None
    expected_header: str | None = None
    instances: bool = False

    @property
    def titles(self) -> tuple[str, ...]:
        return (self.title, *self.aliases)

    def side(self, name: str) -> SideSpec:
        return next(s for s in self.sides if s.name == name)

    def all_columns(self) -> tuple[ColumnSpec, ...]:
        if self.sides:
            seen: dict[str, ColumnSpec] = {}
            for side in self.sides:
                for col in side.columns:
                    seen.setdefault(col.key, col)
            return tuple(seen.values())
        return self.columns


def _columns(raw: list[dict] | None) -> tuple[ColumnSpec, ...]:
    return tuple(
        ColumnSpec(
            key=c["key"],
            label=c["label"],
            parents=tuple(c.get("parents", ())),
            aliases=tuple(c.get("aliases", ())),
            unit=c.get("unit"),
        )
        for c in raw or ()
    )


def _rows(raw: list[dict] | None) -> tuple[RowSpec, ...]:
    return tuple(
        RowSpec(
            key=r["key"],
            label=r.get("label") or "",
            aliases=tuple(r.get("aliases", ())),
            total=bool(r.get("total", False)),
            block=r.get("block"),
        )
        for r in raw or ()
    )


def _table(raw: dict) -> TableSpec:
    sides = tuple(
        SideSpec(
            name=name,
            columns=_columns(s.get("columns")),
            rows=_rows(s.get("rows")),
            class_rows=bool(s.get("class_rows")),
        )
        for name, s in (raw.get("sides") or {}).items()
    )
    return TableSpec(
        id=raw["id"],
        kind=raw["kind"],
        title=raw["title"],
        layout=raw["layout"],
        aliases=tuple(raw.get("aliases", ())),
        columns=_columns(raw.get("columns")),
        sides=sides,
        footer_rows=_rows(raw.get("footer_rows")),
        fixed_rows=_rows(raw.get("fixed_rows")),
        printed=dict(raw.get("printed") or {}),
        empty_statement=raw.get("empty_statement"),
        expected_header=raw.get("expected_header"),
        instances=bool(raw.get("instances")),
    )


@cache
def tables() -> tuple[TableSpec, ...]:
    """Every standard table, in catalogue order."""
    text = resources.files("budgetwatch").joinpath("data/tables.yaml").read_text(encoding="utf-8")
    return tuple(_table(t) for t in yaml.safe_load(text)["tables"])


@cache
def table(table_id: str) -> TableSpec:
    for spec in tables():
        if spec.id == table_id:
            return spec
    raise KeyError(table_id)


def tables_of_kind(kind: str) -> tuple[TableSpec, ...]:
    return tuple(t for t in tables() if t.kind == kind)


@cache
def _title_index() -> dict[str, TableSpec]:
    return {normalise_title(t): spec for spec in tables() for t in spec.titles}


_TITLE_PREFIX = re.compile(
    r"^(?:[\u4e00-\u9fff]{2,40}?(?:局|委员会|委|办公室|办|中心|院|所|馆|站|队))?"
    r"(?:[（(](?:汇总|本级)[)）])?(?:\d{4}年度?)?(?:部门)?$"
)


def match_title(line: str) -> TableSpec | None:
    """The table whose title (or alias) the whole line is, ignoring year, numbering, quotes and spaces; a title may be
    preceded by the department's name (武汉市某区某局2024年部门收支总表)."""
    norm = normalise_title(line)
    found = _title_index().get(norm)
    if found is not None:
        return found
    for key, spec in _titles_longest_first():
        if norm.endswith(key) and len(norm) > len(key) and _TITLE_PREFIX.match(norm[: -len(key)]):
            return spec
    return None


@cache
def _titles_longest_first() -> list[tuple[str, TableSpec]]:
    return sorted(_title_index().items(), key=lambda kv: -len(kv[0]))
