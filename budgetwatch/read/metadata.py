"""What a document says about itself: department, district, fiscal year, kind, scope, publication date, title.

Each value is read where the report states it, in this order: the cover, the part headings
(第二部分 …2024年度部门决算表), the table titles and the labelled lines above the tables (部门：…), then
other headings. A value no statement gives is None; the only guesses kept (the organisation the text names most
often, the year most often said of a 预算/决算, the word 预算 or 决算 said most often) are recorded as guesses in
`provenance`. Never the most frequent year of the text: budgets quote last year's figures."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from budgetwatch.labels import squeeze
from budgetwatch.model import Document, Kind
from budgetwatch.read import report_title as rt
from budgetwatch.read import statements as st
from budgetwatch.read.script import comparable

_ORG = re.compile(
    r"((?:[\u4e00-\u9fff]{2,3}省)?(?:[\u4e00-\u9fff]{2,3}市)?[\u4e00-\u9fff]{2,4}区"
    r"[\u4e00-\u9fff]{2,12}?(?:局|委员会|办公室|委|办|院|馆|中心|所|站|队))"
)
_NOT_A_NAME_START = "年的在由和与及对为是至了"
_SAID_YEAR = re.compile(r"(20\d\d)年度?(?:部门|单位)?(?:预算|决算)")
_DEPARTMENT_LINE = re.compile(
    r"^(?:部门|单位名称|部门[/／]单位|部门（单位）|编制部门|编制单位|部门名称)[:：](.+?)(?:(?:金额)?单位[:：].*)?$"
)
_DEPARTMENT_LABELS = ("部门", "部门名称", "编制部门", "主管部门", "预算主管部门", "公开部门", "部门(单位)", "部门/单位")
_SAID_OF = re.compile(r"20\d\d年度?([\u4e00-\u9fff（）()]{4,30}?)(?:部门|单位)?(?:预算|决算)")
_HEADING_NAME = re.compile(r"(?:概况|主要职能|主要职责|职能职责|机构设置)$")


@dataclass(slots=True)
class Metadata:
    """What the document states about itself; `provenance` says where each value was read (or that it is a guess)."""

    department: str | None = None
    fiscal_year: int | None = None
    kind: Kind | None = None
    scope: str | None = None  # 部门 | 单位
    published: str | None = None
    title: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)

    @property
    def district(self) -> str | None:
        return district(self.department)


@dataclass(slots=True)
class _Evidence:
    """The places a document states things, prepared once."""

    lines: list[st.Line]
    cover: list[st.Line]
    cover_title: str  # comparable form, lines joined
    cover_printed: str
    parts: list[tuple[st.Line, str, str]]  # (line, printed, comparable)
    titles: list[tuple[int, str]]  # (line number, comparable title)
    labelled: list[tuple[st.Line, str, str, str]]  # (line, label, printed value, comparable value)


def department_from_line(line: str | None) -> str | None:
    """The department named on a table's 部门 line (without the 单位 part)."""
    if not line:
        return None
    m = _DEPARTMENT_LINE.match(squeeze(line))
    return m.group(1) if m else None


def district(department_name: str | None) -> str | None:
    if not department_name:
        return None
    m = re.search(r"([\u4e00-\u9fff]{2,4}?[区县])", re.sub(r"^.*?市", "", department_name))
    return m.group(1) if m else None


def _evidence(lines: list[str], table_titles: Iterable[str]) -> _Evidence:
    prepared = st.prepare(lines)
    cover = st.cover(prepared)
    labelled = [(x, *found) for x, raw in zip(prepared, lines, strict=True) if (found := st.labelled(raw))]
    named = {x.number for x, *_ in labelled}
    in_title = [x for x in cover if x.number not in named and not st.date_of(x) and not st.year_alone(x)]
    return _Evidence(
        lines=prepared,
        cover=cover,
        cover_title="".join(x.flat for x in in_title),
        cover_printed="".join(x.printed for x in in_title),
        parts=st.part_headings(prepared),
        titles=_table_titles(prepared, table_titles),
        labelled=labelled,
    )


def _table_titles(lines: list[st.Line], located: Iterable[str]) -> list[tuple[int, str]]:
    """Table titles: those the table locator found, and every line whose first cell reads as one."""
    out = [(0, comparable(squeeze(t))) for t in located]
    return out + [(x.number, title) for x in lines if (title := st.table_title(x))]


def _majority(found: list[tuple[object, int]]) -> tuple[object, int] | None:
    """The value stated most often (ties: the first stated) and the first line that states it."""
    if not found:
        return None
    counts = Counter(v for v, _ in found)
    best = max(counts, key=lambda v: (counts[v], -next(i for i, (w, _) in enumerate(found) if w == v)))
    return best, next(n for v, n in found if v == best)


def _first(tiers: list[tuple[str, list[tuple[object, int]]]]) -> tuple[object, str] | None:
    """The value of the first tier that states one, with where it was read."""
    for where, found in tiers:
        chosen = _majority([(v, n) for v, n in found if v is not None])
        if chosen:
            value, number = chosen
            return value, f"{where} (line {number})" if number else where
    return None


def _cover_labels(ev: _Evidence) -> list[tuple[st.Line, str, str, str]]:
    numbers = {x.number for x in ev.cover}
    return [entry for entry in ev.labelled if entry[0].number in numbers]


def _table_labels(ev: _Evidence) -> list[tuple[st.Line, str, str, str]]:
    numbers = {x.number for x in ev.cover}
    return [entry for entry in ev.labelled if entry[0].number not in numbers]


def _cover_number(ev: _Evidence) -> int:
    return ev.cover[0].number if ev.cover else 0


def _year(ev: _Evidence) -> tuple[int | None, str | None]:
    cover_years = [(rt.year(ev.cover_title), _cover_number(ev))] + [(st.year_alone(x), x.number) for x in ev.cover]
    said = [(int(m.group(1)), x.number) for x in st.short_lines(ev.lines) if (m := _SAID_YEAR.search(x.flat))]
    chosen = _first(
        [
            ("cover", cover_years),
            ("part heading", [(rt.year(t), x.number) for x, _, t in ev.parts if rt.kind(t)]),
            ("table titles", [(rt.year(t), n) for n, t in ev.titles]),
            ("heading", said),
        ]
    )
    if chosen:
        return chosen  # type: ignore[return-value]
    every = Counter(int(y) for x in ev.lines for y in _SAID_YEAR.findall(x.flat))
    if every:
        return every.most_common(1)[0][0], "guess: the year the text most often says of a 预算/决算"
    return None, None


def _name_at(printed: str, flat: str) -> str | None:
    """The organisation a title or heading names, as printed."""
    where, _ = rt.name(flat)
    return printed[where] if where else None


def _label_names(entries, labels: tuple[str, ...] | None) -> list[tuple[str, int]]:
    out = []
    for x, label, printed, flat in entries:
        if labels is None or label in labels:
            where, _ = rt.clean_name(flat)
            if where is not None:
                out.append((printed[where], x.number))
    return out


def _placeholder(ev: _Evidence) -> str | None:
    texts = [ev.cover_title, *(flat for *_, flat in _cover_labels(ev))]
    return next((reason for t in texts if t for _, reason in [rt.name(t)] if reason), None)


def _department(ev: _Evidence, text: str) -> tuple[str | None, str | None]:
    cover_name = rt.name(ev.cover_title)[0]
    headings = [x for x in st.short_lines(ev.lines) if _HEADING_NAME.search(x.flat) and not st.PART.match(x.flat)]
    chosen = _first(
        [
            ("cover", _label_names(_cover_labels(ev), None)),
            ("cover title", [(ev.cover_printed[cover_name], _cover_number(ev))] if cover_name else []),
            ("table header", _label_names(_table_labels(ev), _DEPARTMENT_LABELS)),
            ("part heading", [(_name_at(printed, t), x.number) for x, printed, t in ev.parts]),
            ("table header", _label_names(_table_labels(ev), None)),
            ("heading", [(_name_at(x.printed, x.flat), x.number) for x in headings]),
            ("text", _said_of(ev)),
        ]
    )
    if chosen:
        return _long_form(chosen[0], ev), chosen[1]  # type: ignore[arg-type]
    placeholder = _placeholder(ev)
    if placeholder:
        return None, placeholder
    guess = most_named(text)
    return (guess, "guess: the organisation the text names most often") if guess else (None, None)


def _said_of(ev: _Evidence) -> list[tuple[str, int]]:
    """Organisations the text says a year's 预算/决算 is of (2024年武汉市蔡甸区医疗保障局预算数…)."""
    out = []
    for x in ev.lines:
        for m in _SAID_OF.finditer(x.flat):
            where, _ = rt.clean_name(x.flat, m.start(1), m.end(1))
            if where is not None:
                out.append((x.printed[where], x.number))
    return out


def _long_form(name: str, ev: _Evidence) -> str:
    """A short form (洪山区医疗保障局) where a heading or a labelled line of the document prints the long form
    (武汉市洪山区医疗保障局) at its start."""
    pattern = re.compile(
        r"^(?:第[一二三四五六七八九十\d]+部分)?(?:20\d\d年度?)?([\u4e00-\u9fff]{2,3}[省市]" + re.escape(name) + ")"
    )
    texts = [x.printed for x in st.short_lines(ev.lines)] + [printed for _, _, printed, _ in ev.labelled]
    longer = Counter(m.group(1) for t in texts if (m := pattern.match(t)))
    return longer.most_common(1)[0][0] if longer else name


def most_named(text: str) -> str | None:
    """The organisation named most often, in its longest form (a guess, for documents that state no department)."""
    printed = squeeze(text)
    counts = Counter(_trim_name(printed[m.start(1) : m.end(1)]) for m in _ORG.finditer(comparable(printed)))
    if not counts:
        return None
    # a longer name (武汉市洪山区医疗保障局) absorbs the mentions of its short form (洪山区医疗保障局)
    scored = {name: sum(c for other, c in counts.items() if name.endswith(other)) for name in counts}
    ranked = sorted(scored, key=lambda n: (-scored[n], not n.endswith("局"), -len(n)))
    best = ranked[0]
    longer = [n for n in counts if n.endswith(best) and len(n) > len(best)]
    return max(longer, key=lambda n: counts[n]) if longer else best


def _trim_name(name: str) -> str:
    """Cut words that the pattern swallowed before the name (其中武汉市… → 武汉市…)."""
    m = re.search(r"[\u4e00-\u9fff]{2}市[\u4e00-\u9fff]{2,4}区", comparable(name))
    return name[m.start() :] if m else name.lstrip(_NOT_A_NAME_START)


def _kind(ev: _Evidence, table_kinds: list[str], text: str) -> tuple[Kind | None, str | None]:
    chosen = _first(
        [
            ("cover", [(rt.kind(ev.cover_title), _cover_number(ev))]),
            ("part heading", [(rt.kind(t), x.number) for x, _, t in ev.parts]),
            ("tables recognised", [(Kind(k), 0) for k in table_kinds]),
            ("table titles", [(rt.kind(t), n) for n, t in ev.titles]),
        ]
    )
    if chosen:
        return chosen  # type: ignore[return-value]
    flat = comparable(squeeze(text[:3000]))
    final, budget = flat.count("决算"), flat.count("预算")
    if not final and not budget:
        return None, None
    guess = Kind.FINAL_ACCOUNT if final > budget else Kind.BUDGET
    return guess, "guess: the word (预算 or 决算) said most often at the start of the text"


_LABEL_SCOPE = {"预算单位": "单位", "预算主管部门": "部门", "主管部门": "部门", "部门": "部门", "部门名称": "部门"}


def _scope(ev: _Evidence) -> tuple[str | None, str | None]:
    cover_labels = _cover_labels(ev)
    chosen = _first(
        [
            (
                "cover",
                [(rt.scope(flat) if rt.SUFFIX.search(flat) else None, x.number) for x, _, _, flat in cover_labels],
            ),
            ("cover", [(_LABEL_SCOPE.get(label), x.number) for x, label, _, _ in cover_labels]),
            ("cover title", [(rt.scope(ev.cover_title), _cover_number(ev))]),
            (
                "table header",
                [(rt.scope(flat) if rt.SUFFIX.search(flat) else None, x.number) for x, *_, flat in _table_labels(ev)],
            ),
            ("part heading", [(rt.scope(t), x.number) for x, _, t in ev.parts]),
            ("table titles", [(rt.scope(t), n) for n, t in ev.titles]),
            ("table header", [(_LABEL_SCOPE.get(label), x.number) for x, label, *_ in _table_labels(ev)]),
        ]
    )
    return chosen if chosen else (None, None)  # type: ignore[return-value]


def _published(ev: _Evidence) -> tuple[str | None, str | None]:
    for x in ev.cover + ev.lines[:80]:
        date = st.date_of(x)
        if date:
            return date, f"{'cover' if x in ev.cover else 'dated line'} (line {x.number})"
    return None, None


def _title(ev: _Evidence) -> str | None:
    if ev.cover_title and rt.kind(ev.cover_title):
        return ev.cover_printed
    for x in st.short_lines(ev.lines[:30]):
        if re.search(r"(?:部门|单位)(?:预决算|预算|决算)(?:公开|报告)?$", x.flat) and not st.PART.match(x.flat):
            return x.printed
    return None


def describe(lines: list[str], *, table_titles: Iterable[str] = (), table_kinds: Iterable[str] = ()) -> Metadata:
    """What the lines of a document state about it (the titles and kinds of the tables located in it help)."""
    ev = _evidence(lines, table_titles)
    text = "\n".join(lines)
    out = Metadata()
    out.fiscal_year, year_from = _year(ev)
    out.department, department_from = _department(ev, text)
    out.kind, kind_from = _kind(ev, list(table_kinds), text)
    out.scope, scope_from = _scope(ev)
    out.published, published_from = _published(ev)
    out.title = _title(ev)
    sources = {
        "fiscal_year": year_from,
        "department": department_from,
        "kind": kind_from,
        "scope": scope_from,
        "published": published_from,
    }
    out.provenance = {k: v for k, v in sources.items() if v}
    return out


def document(about: Metadata, *, sha256: str, source: str, media_type: str) -> Document:
    return Document(
        sha256=sha256,
        source=source,
        media_type=media_type,
        department=about.department,
        district=about.district,
        fiscal_year=about.fiscal_year,
        kind=about.kind,
        scope=about.scope,
        published=about.published,
        title=about.title,
        provenance=dict(about.provenance),
    )
