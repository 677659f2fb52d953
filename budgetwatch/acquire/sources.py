"""The source registry (data/sources.yaml): which portal columns to crawl, for which departments, within which hosts."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from budgetwatch.errors import BudgetwatchError

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where built: some 6× faster

PAGINATION = ("auto", "trs", "next", "none")


class RegistryError(BudgetwatchError):
    """The source registry is malformed (the message names the entry and the field)."""


@dataclass(frozen=True, slots=True)
class Column:
    url: str
    verified: bool = False
    note: str | None = None
    declared_empty: bool = False  # the column is known to list nothing yet: an empty list page is not a failure


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    name: str
    scheme: str
    allowed_hosts: tuple[str, ...]
    columns: tuple[Column, ...]
    platform: str = "trs"
    encoding: str = "auto"
    departments: tuple[str, ...] = ()  # the departments to follow; empty (or "*"): every department
    steward: str | None = None
    enabled: bool = True
    note: str | None = None
    item_selector: str | None = None  # CSS selector of the list items' links; None: links that look like articles
    pagination: str = "auto"  # trs (createPageHTML / index_N), next (a 下一页 link), none, auto (trs, else next)
    max_pages: int = 20  # list pages read per column at most
    min_interval: float = 1.0  # seconds between two requests to the same host
    http_fallback: bool = True  # an https column may be fetched over http when https fails
    local_test: bool = False  # a test portal on loopback: reachable only when a crawl allows local portals
    problems: list[str] = field(default_factory=list, compare=False)


_SOURCE_FIELDS = {f for f in Source.__dataclass_fields__ if f != "problems"}
_COLUMN_FIELDS = set(Column.__dataclass_fields__)


def _column(raw: dict | str, where: str) -> Column:
    if not isinstance(raw, dict):
        return Column(url=str(raw))
    unknown = sorted(set(raw) - _COLUMN_FIELDS)
    if unknown or "url" not in raw:
        raise RegistryError(f"{where}: column {raw.get('url', '(no url)')}: unknown field or no url {unknown}")
    return Column(**raw)


def _source(raw: dict, defaults: dict, where: str) -> Source:
    merged = {**defaults, **raw}
    missing = [k for k in ("id", "name", "scheme", "allowed_hosts") if not merged.get(k)]
    if missing:
        raise RegistryError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(merged) - _SOURCE_FIELDS)
    if unknown:
        raise RegistryError(f"{where}: unknown field {', '.join(unknown)}")
    columns = tuple(_column(c, where) for c in merged.get("columns") or ())
    return Source(
        id=str(merged["id"]),
        name=merged["name"],
        scheme=merged["scheme"],
        allowed_hosts=tuple(merged["allowed_hosts"]),
        columns=columns,
        platform=merged.get("platform", "trs"),
        encoding=merged.get("encoding", "auto"),
        departments=tuple(merged.get("departments") or ()),
        steward=merged.get("steward"),
        enabled=bool(merged.get("enabled", True)),
        note=merged.get("note"),
        item_selector=merged.get("item_selector"),
        pagination=merged.get("pagination", "auto"),
        max_pages=int(merged.get("max_pages", 20)),
        min_interval=float(merged.get("min_interval", 1.0)),
        http_fallback=bool(merged.get("http_fallback", True)),
        local_test=bool(merged.get("local_test", False)),
    )


def problems(source: Source) -> list[str]:
    """What is wrong with one entry (an empty list when it is sound)."""
    out = []
    if source.scheme not in ("http", "https"):
        out.append(f"scheme must be http or https, not {source.scheme!r}")
    if source.platform not in ("trs", "generic"):
        out.append(f"unknown platform {source.platform!r}")
    if source.pagination not in PAGINATION:
        out.append(f"unknown pagination {source.pagination!r} (one of {', '.join(PAGINATION)})")
    if source.encoding != "auto":
        try:
            codecs.lookup(source.encoding)
        except LookupError:
            out.append(f"unknown encoding {source.encoding!r}")
    if source.max_pages < 1:
        out.append("max_pages must be at least 1")
    if source.min_interval < 0:
        out.append("min_interval must not be negative")
    if source.enabled and not source.columns:
        out.append("enabled but has no column")
    for column in source.columns:
        parts = urlsplit(column.url)
        if parts.scheme not in ("http", "https"):
            out.append(f"{column.url}: not an http(s) URL")
        elif parts.hostname not in source.allowed_hosts:
            out.append(f"{column.url}: host {parts.hostname} is not in allowed_hosts")
    return out


def load(path: str | Path | None = None) -> list[Source]:
    """The registry (the bundled one by default); raises RegistryError naming the entry when it is malformed."""
    if path is None:
        text = resources.files("budgetwatch").joinpath("data/sources.yaml").read_text(encoding="utf-8")
        where = "sources.yaml"
    else:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    try:
        data = yaml.load(text, Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        raise RegistryError(f"{where}: not valid YAML: {exc}") from exc
    defaults = data.get("defaults") or {}
    sources = [_source(raw, defaults, f"{where} entry {k + 1}") for k, raw in enumerate(data.get("sources") or [])]
    ids = [s.id for s in sources]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise RegistryError(f"{where}: duplicate source ids {', '.join(duplicated)}")
    for s in sources:
        s.problems.extend(problems(s))
    return sources
