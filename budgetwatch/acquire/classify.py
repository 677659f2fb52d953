"""Which portal items are reports to fetch (pure): department, fiscal year, budget or final account, 本级 or 汇总,
from an item's title and page; anything else is skipped with its reason. Every department's reports are followed
unless the crawl is restricted to some departments (the command's --department, the source's registry entry)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from budgetwatch.labels import squeeze
from budgetwatch.model import Kind

# short forms portals print for a department's full name
ALIASES = {"医保局": "医疗保障局", "卫健局": "卫生健康局", "人社局": "人力资源和社会保障局"}
# a government's (not a department's) budget, its execution report or a fund budget: not the reports checked here
_NOT_DEPARTMENT = (
    "预算执行",
    "预算草案",
    "政府预算",
    "财政预算",
    "财政决算",
    "总预算",
    "总决算",
    "政府债务",
    "预算调整",
)
_ORG = re.compile(
    r"((?:[\u4e00-\u9fff]{2,3}市)?[\u4e00-\u9fff]{2,4}区[\u4e00-\u9fff]{2,14}?"
    r"(?:局|委员会|办公室|委|办|院|馆|中心|所|站|队))(?=[\u4e00-\u9fff\d（(]|$)"
)
_LEADING_ORG = re.compile(r"([\u4e00-\u9fff（）()]{2,20}?(?:局|委员会|办公室|委|办|院|馆|中心|所|站|队))20\d\d")
_YEAR = re.compile(r"(20\d\d)\s*年")
# why an item is skipped: not a report at all, a government's (not a department's) budget, a report whose department
# a restricted crawl cannot tell, a report of a department the crawl does not follow
SKIP_CATEGORIES = ("not_a_report", "government", "department_not_named", "other_department")


@dataclass(frozen=True, slots=True)
class Classification:
    department: str | None
    fiscal_year: int | None
    kind: Kind | None
    scope: str | None  # 本级 | 汇总 when stated
    skip_reason: str | None = None  # why the item is not a report to fetch; None when it is
    skip_category: str | None = None  # one of SKIP_CATEGORIES when skipped

    @property
    def wanted(self) -> bool:
        return self.skip_reason is None


def _expand_aliases(text: str) -> str:
    for short, full in ALIASES.items():
        text = text.replace(short, full)
    return text


def kind_of(text: str) -> Kind | None:
    if "决算" in text:
        return Kind.FINAL_ACCOUNT
    if "预算" in text:
        return Kind.BUDGET
    return None


def department_of(title: str, stated: str | None = None) -> str | None:
    """The department a title names (武汉市黄陂区医疗保障局…), else the one the page states (来源, breadcrumb)."""
    flat = _expand_aliases(squeeze(title))
    m = _ORG.search(flat)
    if m:
        return m.group(1)
    before_year = _LEADING_ORG.match(flat)  # 区教育局2024年部门预算
    if before_year:
        return before_year.group(1)
    return _expand_aliases(squeeze(stated)) if stated else None


def follows(department: str | None, followed: Iterable[str]) -> bool:
    """Whether a department is one of those followed (none given, or "*", follows every department)."""
    names = [_expand_aliases(squeeze(n)) for n in followed]
    if every_department(names):
        return True
    return bool(department) and any(n and n in department for n in names)


def every_department(followed: Iterable[str]) -> bool:
    names = [n for n in followed if n and n.strip()]
    return not names or "*" in names


def classify(
    title: str,
    *,
    department: str | None = None,
    text: str = "",
    followed: Iterable[str] = (),
) -> Classification:
    """Classify an item from its title, the department its page states, and its text (the first lines are enough).
    A report is a department's (or unit's) budget or final account of a followed department; when every department
    is followed, one whose department neither title nor page names is still a report (its document names it)."""
    flat = _expand_aliases(squeeze(title))
    head = _expand_aliases(squeeze(text[:3000]))
    kind = kind_of(flat) or (kind_of(head) if re.search(r"(?:部门|单位)(?:预算|决算)", head) else None)
    years = _YEAR.findall(flat) or _YEAR.findall(head)
    fiscal_year = int(years[0]) if years else None
    scope = "汇总" if "汇总" in flat else "本级" if "本级" in flat else None
    dept = department_of(title, department)

    def skipped(reason: str, category: str) -> Classification:
        return Classification(dept, fiscal_year, kind, scope, reason, category)

    if kind is None:
        return skipped("not a budget or final account (no 预算/决算 in the title)", "not_a_report")
    if any(word in flat for word in _NOT_DEPARTMENT) and not re.search(r"部门|单位", flat):
        return skipped("a government budget or its execution, not a department's report", "government")
    followed = tuple(followed)
    if every_department(followed):
        return Classification(dept, fiscal_year, kind, scope)
    if not dept:
        return skipped("the department is not named in the title or on the page", "department_not_named")
    if not follows(dept, followed):
        return skipped(f"department {dept} is not followed (following {'、'.join(followed)})", "other_department")
    return Classification(dept, fiscal_year, kind, scope)
