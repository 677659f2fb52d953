"""The table catalogue (data/tables.yaml) and the template families (data/families.yaml) as typed objects.

The catalogue is the canonical vocabulary: table ids and every column and fixed-row key. A family says how its
reports title, number and label those tables; `effective_spec` is a table as one family prints it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml

from budgetwatch.labels import normalise_label, title_key

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where built: some 6× faster


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
    side: str | None = None  # the side its amounts belong to, when printed in another side's block

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
            side=r.get("side"),
        )
        for r in raw or ()
    )


def _sides(raw: dict | None) -> tuple[SideSpec, ...]:
    return tuple(
        SideSpec(
            name=name,
            columns=_columns(s.get("columns")),
            rows=_rows(s.get("rows")),
            class_rows=bool(s.get("class_rows")),
        )
        for name, s in (raw or {}).items()
    )


def _table(raw: dict) -> TableSpec:
    sides = _sides(raw.get("sides"))
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
    return tuple(_table(t) for t in yaml.load(text, Loader=_YAML_LOADER)["tables"])


@cache
def table(table_id: str) -> TableSpec:
    for spec in tables():
        if spec.id == table_id:
            return spec
    raise KeyError(table_id)


def tables_of_kind(kind: str) -> tuple[TableSpec, ...]:
    return tuple(t for t in tables() if t.kind == kind)


@dataclass(frozen=True, slots=True)
class FamilyTable:
    """One table as a family prints it: its titles, unit, and header map where it differs from the catalogue's."""

    table_id: str
    titles: tuple[str, ...]
    unit: str | None = None
    optional: bool = False
    columns: tuple[ColumnSpec, ...] = ()
    sides: tuple[SideSpec, ...] = ()
    expected_header: str | None = None  # a group header the family prints over the amount columns


@dataclass(frozen=True, slots=True)
class Family:
    id: str
    name: str
    kind: str
    unit: str
    tables: tuple[FamilyTable, ...]

    def table(self, table_id: str) -> FamilyTable | None:
        return next((t for t in self.tables if t.table_id == table_id), None)


def _family(raw: dict) -> Family:
    tables = tuple(
        FamilyTable(
            table_id=t["table"],
            titles=tuple(t["titles"]),
            unit=t.get("unit"),
            optional=bool(t.get("optional")),
            columns=_columns(t.get("columns")),
            sides=_sides(t.get("sides")),
            expected_header=t.get("expected_header"),
        )
        for t in raw["tables"]
    )
    return Family(id=raw["id"], name=raw["name"], kind=raw["kind"], unit=raw["unit"], tables=tables)


@cache
def families() -> tuple[Family, ...]:
    """Every template family, in file order."""
    text = resources.files("budgetwatch").joinpath("data/families.yaml").read_text(encoding="utf-8")
    return tuple(_family(f) for f in yaml.load(text, Loader=_YAML_LOADER)["families"])


def family(family_id: str) -> Family:
    return next(f for f in families() if f.id == family_id)


def default_family(kind: str) -> Family | None:
    """The family a document of this kind is held to when none of its tables names one (the first of its kind)."""
    return next((f for f in families() if f.kind == kind), None)


def expected_tables(kind: str | None, family_id: str | None) -> list[tuple[str, str]]:
    """The tables a document should print, in its family's order, with the family's title for each: its family's
    (or, when no table names one, the default family of its kind); optional ones left out."""
    fam = family(family_id) if family_id else default_family(kind) if kind else None
    if fam is None:
        return []
    return [(t.table_id, t.titles[0]) for t in fam.tables if not t.optional]


@cache
def effective_spec(table_id: str, family_id: str | None) -> TableSpec:
    """A catalogue table as a family prints it: the family's header map and fixed rows where it declares them."""
    spec = table(table_id)
    entry = family(family_id).table(table_id) if family_id else None
    if entry is None:
        return spec
    changes: dict = {"expected_header": entry.expected_header}
    if entry.columns:
        changes["columns"] = entry.columns
    if entry.sides:
        changes["sides"] = entry.sides
    return dataclasses.replace(spec, **changes)


@dataclass(frozen=True, slots=True)
class TitleMatch:
    """A table a printed title names: in which family (None for a catalogue title no family lists)."""

    table_id: str
    family_id: str | None


@cache
def _title_index() -> dict[str, tuple[TitleMatch, ...]]:
    index: dict[str, list[TitleMatch]] = {}
    for fam in families():
        for entry in fam.tables:
            for title in entry.titles:
                index.setdefault(title_key(title), []).append(TitleMatch(entry.table_id, fam.id))
    for spec in tables():
        for title in spec.titles:
            matches = index.setdefault(title_key(title), [])
            if not any(m.table_id == spec.id for m in matches):
                matches.append(TitleMatch(spec.id, None))
    return {key: tuple(matches) for key, matches in index.items()}


# what may stand before a title on its line: the department's name, its scope, the year
# (武汉市某区某局（汇总）2024年度…)
_TITLE_PREFIX = re.compile(
    r"^(?:[\u4e00-\u9fff]{2,40}?(?:局|委员会|委|办公室|办公厅|办|中心|院|所|馆|站|队|处|街道办事处|街道|镇|乡|政府|会|部|厅))?"
    r"(?:\((?:汇总|本级)\))?(?:\d{4}年度?)?$"
)


@cache
def _titles_by_length() -> tuple[tuple[int, frozenset[str]], ...]:
    """The titles grouped by length, longest first: a line's ending is looked up once for each length."""
    lengths = sorted({len(t) for t in _title_index()}, reverse=True)
    return tuple((n, frozenset(t for t in _title_index() if len(t) == n)) for n in lengths)


def title_matches(line: str) -> tuple[TitleMatch, ...]:
    """The tables (and families) whose title the line is, ignoring year, numbering, quotes and spaces; the title may
    follow the department's name and the year (武汉市洪山区医疗保障局2024年部门收支总表)."""
    key = title_key(line)
    index = _title_index()
    if key in index:
        return index[key]
    for length, titles in _titles_by_length():
        cut = len(key) - length
        if cut > 0 and key[cut:] in titles and _TITLE_PREFIX.match(key[:cut]):
            return index[key[cut:]]
    return ()


def match_title(line: str) -> TableSpec | None:
    """The catalogue table a title line names (the first family's reading where families differ)."""
    found = title_matches(line)
    return table(found[0].table_id) if found else None
