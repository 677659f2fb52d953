"""What a document says about itself: department, district, fiscal year, kind, scope, publication date."""

from __future__ import annotations

import re
from collections import Counter

from budgetwatch.labels import normalise_label, squeeze
from budgetwatch.model import Kind

_ORG = re.compile(
    r"((?:[\u4e00-\u9fff]{2,3}省)?(?:[\u4e00-\u9fff]{2,3}市)?[\u4e00-\u9fff]{2,4}区"
    r"[\u4e00-\u9fff]{2,12}?(?:局|委员会|办公室|委|办|院|馆|中心|所|站|队))"
)
_NOT_A_NAME_START = "年的在由和与及对为是至了"
_YEAR = re.compile(r"(20\d\d)年度?(?:部门|单位)?(?:预算|决算)")
_DATE = re.compile(r"^(20\d\d)年(\d{1,2})月(\d{1,2})日$")
_DEPARTMENT_LINE = re.compile(
    r"^(?:部门|单位名称|部门[/／]单位|部门（单位）|编制部门|编制单位|部门名称)[:：](.+?)(?:(?:金额)?单位[:：].*)?$"
)


def department_from_line(line: str | None) -> str | None:
    """The department named on a table's 部门 line (without the 单位 part)."""
    if not line:
        return None
    m = _DEPARTMENT_LINE.match(squeeze(line))
    return m.group(1) if m else None


def _strip_scope(name: str) -> str:
    return re.sub(r"[（(](?:汇总|本级|部门|单位)[)）]$", "", name)


def _trim_name(name: str) -> str:
    """Cut words that the pattern swallowed before the name (其中武汉市… → 武汉市…)."""
    m = re.search(r"[\u4e00-\u9fff]{2}市[\u4e00-\u9fff]{2,4}区", name)
    return name[m.start() :] if m else name.lstrip(_NOT_A_NAME_START)


_COVER_LINES = 8
_ORG_SUFFIX = r"(?:局|委员会|办公厅|办公室|办事处|委|办|院|馆|中心|所|站|队|会)"
_NAME = r"([\u4e00-\u9fff]{4,40}?" + _ORG_SUFFIX + r")"
_SCOPE_MARK = r"(?:[（(](?:汇总|本级)[)）])?"
_COVER_NAME = re.compile(r"^(?:预算主管部门|预算单位|部门名称|单位名称)[:：](.+)$|^" + _NAME + _SCOPE_MARK + "$")
_COVER_NAME_BEFORE_YEAR = re.compile(r"^" + _NAME + _SCOPE_MARK + r"20\d\d\s*年")
_COVER_NAME_AFTER_YEAR = re.compile(r"^20\d\d\s*年度?" + _NAME + _SCOPE_MARK + r"(?:部门|单位)")


def _cover(lines: list[str]) -> list[str]:
    """The first lines with Chinese text (the cover), squeezed; page markers and comment lines left out."""
    return [squeeze(x) for x in lines if re.search(r"[\u4e00-\u9fff]", x) and not x.lstrip().startswith("#")][
        :_COVER_LINES
    ]


def cover_department(lines: list[str]) -> str | None:
    """The department the cover names (江苏省人大常委会办公厅 / 预算主管部门：… / …2018年度部门预算), if any."""
    for line in _cover(lines):
        for pattern in (_COVER_NAME, _COVER_NAME_BEFORE_YEAR, _COVER_NAME_AFTER_YEAR):
            m = pattern.match(line)
            name = m and next((g for g in m.groups() if g), None)
            if name and "XX" not in name.upper() and not re.search(r"\d|目录|部分", name):
                return _strip_scope(name)
    return None


def department(text: str, table_lines: list[str]) -> str | None:
    """The department as printed: the name on most table headers, else the one the cover names, else the
    organisation named most often."""
    named = Counter(_strip_scope(d) for d in map(department_from_line, table_lines) if d)
    cover = cover_department(text.splitlines())
    # a header may print the name wrapped over two lines (江苏省人大 / 常委会办公厅): the cover's full name stands
    if cover and any(cover.startswith(n) or cover.endswith(n) for n in named):
        return cover
    if named:
        return named.most_common(1)[0][0]
    if cover:
        return cover
    flat = squeeze(text)
    counts = Counter(_trim_name(m.group(1)) for m in _ORG.finditer(flat))
    if not counts:
        return None
    # a longer name (武汉市洪山区医疗保障局) absorbs the mentions of its short form (洪山区医疗保障局)
    scored = {name: sum(c for other, c in counts.items() if name.endswith(other)) for name in counts}
    ranked = sorted(scored, key=lambda n: (-scored[n], not n.endswith("局"), -len(n)))
    best = ranked[0]
    longer = [n for n in counts if n.endswith(best) and len(n) > len(best)]
    return max(longer, key=lambda n: counts[n]) if longer else best


def district(department_name: str | None) -> str | None:
    if not department_name:
        return None
    m = re.search(r"([\u4e00-\u9fff]{2,4}?区)", re.sub(r"^.*?市", "", department_name))
    return m.group(1) if m else None


_COVER_YEAR = re.compile(r"(20\d\d)年度?[^。；，,]{0,30}?(?:预算|决算)")


def cover_year(lines: list[str]) -> int | None:
    """The fiscal year the cover names (上海市普陀区2024年区级部门预算, 2024年度部门决算), if any."""
    m = _COVER_YEAR.search("".join(_cover(lines)))
    return int(m.group(1)) if m else None


def fiscal_year(text: str) -> int | None:
    """The year the cover names; else the year most often said of the 预算/决算 (a budget quotes the previous
    year's execution many times, so the cover comes first)."""
    if year := cover_year(text.splitlines()):
        return year
    counts = Counter(int(y) for y in _YEAR.findall(squeeze(text)))
    return counts.most_common(1)[0][0] if counts else None


def kind(text: str, table_kinds: list[str]) -> Kind | None:
    if table_kinds:
        return Kind(Counter(table_kinds).most_common(1)[0][0])
    flat = squeeze(text[:3000])
    final = flat.count("决算")
    budget = flat.count("预算")
    if not final and not budget:
        return None
    return Kind.FINAL_ACCOUNT if final > budget else Kind.BUDGET


def scope(text: str, table_lines: list[str]) -> str | None:
    heads = "".join(squeeze(x) for x in table_lines) + squeeze(text[:500])
    if "汇总" in heads:
        return "汇总"
    if "本级" in heads:
        return "本级"
    return None


def published(lines: list[str]) -> str | None:
    """A date standing alone on a line near the top (the cover date)."""
    for line in lines[:40]:
        m = _DATE.match(squeeze(line))
        if m:
            y, mo, d = (int(x) for x in m.groups())
            return f"{y:04d}-{mo:02d}-{d:02d}"
    return None


def title(lines: list[str]) -> str | None:
    """The cover title when the first lines carry one (…部门预算 / …部门决算 …)."""
    for line in lines[:20]:
        flat = squeeze(line)
        numbered = normalise_label(flat) != flat.rstrip("：:")
        if (
            re.search(r"(?:部门|单位)(?:预算|决算)", flat)
            and not numbered
            and not flat.startswith("第")
            and len(flat) <= 60
        ):
            return line.strip()
    return None
