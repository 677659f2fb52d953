"""The versioned classification code list (data/codes.csv): lookups by code and by printed name."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from budgetwatch.labels import normalise_label

LEVEL_BY_LENGTH = {"function": {3: "类", 5: "款", 7: "项"}, "economic": {3: "类", 5: "款"}}


@dataclass(frozen=True, slots=True)
class Code:
    scheme: str
    code: str
    level: str
    name: str
    parent: str | None
    valid_from: int | None
    valid_to: int | None
    aliases: tuple[str, ...]
    confirmed: bool = True  # taken from the official code book; False: seen printed in real reports only

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def valid_in(self, year: int | None) -> bool:
        if year is None:
            return True
        return (self.valid_from is None or year >= self.valid_from) and (self.valid_to is None or year <= self.valid_to)


def _year(text: str) -> int | None:
    return int(text) if text.strip() else None


@cache
def codes() -> tuple[Code, ...]:
    text = resources.files("budgetwatch").joinpath("data/codes.csv").read_text(encoding="utf-8")
    return tuple(
        Code(
            scheme=row["scheme"],
            code=row["code"],
            level=row["level"],
            name=row["name"],
            parent=row["parent"] or None,
            valid_from=_year(row["valid_from"]),
            valid_to=_year(row["valid_to"]),
            aliases=tuple(a for a in (row.get("aliases") or "").split("|") if a),
            confirmed=row["confirmed"] == "yes",
        )
        for row in csv.DictReader(text.splitlines())
    )


@cache
def _by_code() -> dict[tuple[str, str], tuple[Code, ...]]:
    index: dict[tuple[str, str], list[Code]] = {}
    for c in codes():
        index.setdefault((c.scheme, c.code), []).append(c)
    return {k: tuple(v) for k, v in index.items()}


def lookup(scheme: str, code: str, year: int | None = None) -> Code | None:
    """The entry of a code valid in the year (any year when None)."""
    for c in _by_code().get((scheme, code), ()):
        if c.valid_in(year):
            return c
    return None


def versions(scheme: str, code: str, year: int | None = None) -> tuple[Code, ...]:
    """Every entry of a code valid in the year (every version when the year is not known)."""
    return tuple(c for c in _by_code().get((scheme, code), ()) if c.valid_in(year))


@cache
def children(scheme: str, parent: str | None) -> tuple[Code, ...]:
    return tuple(c for c in codes() if c.scheme == scheme and c.parent == parent)


def _name_matches(printed: str, official: str) -> int:
    """2 for an exact match, 1 when one name is a truncation of the other, 0 otherwise."""
    p, o = normalise_label(printed), normalise_label(official)
    if p == o:
        return 2
    if len(p) >= 3 and (o.startswith(p) or p.startswith(o)):
        return 1
    return 0


@lru_cache(maxsize=8192)  # the code list is fixed; a report names the same classes again and again
def child_by_name(scheme: str, parent: str | None, printed_name: str, exact: bool = False) -> Code | None:
    """The unique child of ``parent`` whose name (or an alias) matches the printed name, exactly or truncated."""
    best: dict[str, int] = {}
    found: dict[str, Code] = {}
    for c in children(scheme, parent):
        score = max(_name_matches(printed_name, n) for n in c.names)
        if score:
            best[c.code] = max(score, best.get(c.code, 0))
            found[c.code] = c
    if not best:
        return None
    top = max(best.values())
    if exact and top < 2:
        return None
    winners = [code for code, s in best.items() if s == top]
    return found[winners[0]] if len(winners) == 1 else None


def function_class_by_name(printed_name: str, exact: bool = False) -> Code | None:
    """The 支出功能分类 类 whose name the printed label is (e.g. 卫生健康支出 → 210)."""
    return child_by_name("function", None, printed_name, exact)


def level_of(scheme: str, code: str) -> str | None:
    return LEVEL_BY_LENGTH.get(scheme, {}).get(len(code))
