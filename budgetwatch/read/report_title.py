"""What one title or heading says of its report: fiscal year, budget or final account, 部门 or 单位, and the
organisation it names (上海市普陀区财政局2024年度部门决算 → 2024, final_account, 部门, 上海市普陀区财政局).

Every function takes the comparable form of the text (read.script.comparable) with whitespace removed."""

from __future__ import annotations

import re

from budgetwatch.model import Kind

# a year the title is of: 2024年, 2024年度; never a date's year (2025年10月15日)
YEAR = re.compile(r"(20\d\d)年(?!\d{1,2}月)")
# where the words that name the report begin: the name stands before them
_REPORT_WORDS = re.compile(r"(?:区级|市级|省级|县级|乡级|镇级|本级)?(?:部门|单位)?(?:预决算|预算|决算)")
_YEAR_WORDS = re.compile(r"20\d\d(?:年度|年)?")
_PART = re.compile(r"^第[一二三四五六七八九十\d]+部分")
SUFFIX = re.compile(r"[(（](汇总|本级|部门|单位|本部)[)）]")
# a name that is only a region (上海市普陀区) names no department
_REGION = re.compile(r"^(?:[\u4e00-\u9fff]{2,8}?(?:省|市|自治区|自治州|州|盟|区|县|旗))+(?:区级|市级|县级|省级)?$")
_GENERIC = {"部门", "单位", "本部门", "本单位", "预算单位", "主管部门", "预算主管部门", "各部门", "区级", "市级"}
# the last character of an organisation's name (局, 厅, 委员会, 办事处, 中心, 医院, 中学, 镇 …)
_ORG_END = re.compile(r"[局厅委会办院馆心所站队处部室社校园台府庭署司行团联宫场库组镇乡厂学狱段]$")
_PLACEHOLDER = re.compile(r"XX|xx|××|ＸＸ|\*\*|某某|○○")
_NOT_IN_A_NAME = re.compile(r"[。，,；;：:！？!?、…“”\"]|\d{3,}")
_SCOPE_OF_SUFFIX = {"汇总": "部门", "部门": "部门", "本级": "单位", "单位": "单位", "本部": "单位"}


def kind(flat: str) -> Kind | None:
    """决算 anywhere makes a final account (its tables say 一般公共预算…决算表); 预算 alone a budget."""
    words = flat.replace("预决算", "")
    if "决算" in words:
        return Kind.FINAL_ACCOUNT
    if "预算" in words:
        return Kind.BUDGET
    return None


def year(flat: str) -> int | None:
    m = YEAR.search(flat)
    return int(m.group(1)) if m else None


def scope(flat: str) -> str | None:
    """单位 for a unit's report (单位预算, 预算单位…, （本级）), 部门 for a department's (部门决算, （汇总）)."""
    suffix = SUFFIX.search(flat)
    if suffix:
        return _SCOPE_OF_SUFFIX[suffix.group(1)]
    words = _YEAR_WORDS.sub("", flat)
    m = re.search(
        r"(预算单位|单位|部门)(?:预决算|预算|决算|财务收支|收入|支出|财政拨款|一般公共|政府性基金|国有资本|“三公”)",
        words,
    )
    if m:
        return "部门" if m.group(1) == "部门" else "单位"
    return None


def name(flat: str) -> tuple[slice | None, str | None]:
    """Where a title names an organisation before its report words (a slice of `flat`), and why there is none when
    there is none (a placeholder such as 上海市XX局 is reported as one, not taken for a name)."""
    part = _PART.match(flat)
    start = part.end() if part else 0
    cut = _REPORT_WORDS.search(flat, start)
    return clean_name(flat, start, cut.start() if cut else len(flat))


_LEADING = re.compile(r"^(?:20\d\d(?:年度|年)?|[-—_·.．、:：])+")
_TRAILING = re.compile(
    r"(?:20\d\d(?:年度|年)?|年度|年|[(（](?:汇总|本级|部门|单位|本部)[)）]|[-—_·.．、:：]|"
    r"(?:部门|单位)?(?:概况|基本情况|主要职能|主要职责|职能职责|职责|机构设置|单位构成)|情况说明|公开|的)+$"
)


def clean_name(flat: str, start: int = 0, end: int | None = None) -> tuple[slice | None, str | None]:
    """The organisation name within flat[start:end], without years, scope suffix and heading words around it; or
    None and the reason it is not a name (None when it is simply not one)."""
    end = len(flat) if end is None else end
    lead = _LEADING.match(flat, start, end)
    start = lead.end() if lead else start
    trail = _TRAILING.search(flat[start:end])
    end = start + trail.start() if trail else end
    text = flat[start:end]
    if len(text) > 4 and text.endswith(("部门", "单位")):
        end -= 2
        text = text[:-2]
    if not text or text in _GENERIC:
        return None, None
    if _PLACEHOLDER.search(text):
        return None, f"placeholder {text} printed (a template, not a department)"
    if _REGION.match(text) or len(text) < 3 or _NOT_IN_A_NAME.search(text) or not _ORG_END.search(text):
        return None, None
    return slice(start, end), None
