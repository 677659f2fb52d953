"""Rules that look at one document as a whole: completeness, labels, template text, classification codes."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator

from budgetwatch.check import heading_checks
from budgetwatch.check.rules import Rule, document_rules
from budgetwatch.labels import normalise_label, squeeze
from budgetwatch.model import Extraction, Finding, Location, Severity, Table, TableStatus, format_micros
from budgetwatch.read import codes, metadata, performance_tables
from budgetwatch.read.extract import ELSEWHERE_NOTE
from budgetwatch.read.locate import cn_number
from budgetwatch.read.ocr_engine import LOW_CONFIDENCE

_TEMPLATE = re.compile(
    r"请依据[^。]{0,40}|请根据[^。]{0,40}|（参考《[^》]{0,30}》[^）]{0,20}）|\(根据本部门[^)]{0,30}\)|"
    r"根据本部门使用的其他专用名词补充解释|XX|××|增长\(下降\)|增长（下降）|增加（减少）|增加\(减少\)"
)
_CITY = re.compile(r"指市级财政|是指市直部门|指市直部门|反映市级党政机关|市级党政机关和全额拨款")
_DOUBLED_UNIT = re.compile(r"万元万元|元元")
_TITLE_YEAR = re.compile(r"(20\d\d)\s*年")


def _finding(
    rule: Rule, detail: str, locations: list[Location] | None = None, *, severity: str | None = None, **numbers: str
) -> Finding:
    """A finding of a document rule, at the rule's severity unless a lower one is given (a guess, a partial list)."""
    return Finding(
        check_id=rule.id,
        severity=Severity(severity or rule.severity or "error"),
        category=rule.category,
        message=f"{rule.zh}：{detail} | {rule.en}",
        locations=locations or [],
        basis=rule.basis,
        **numbers,
    )


def completeness(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    if not ex.tables and not ex.facts and ex.document.kind is None:
        yield _finding(rule, f"{ex.document.source} 无可读文本（可能全部为图片）")
        return
    missing = [t for t in ex.tables if t.status in (TableStatus.MISSING, TableStatus.IMAGE_ONLY)]
    if missing:
        names = "、".join(f"{t.table_id} {t.title}" for t in missing)
        reason = missing[0].notes[0] if missing[0].notes else ""
        # tables the report says it publishes in another file are not missing from the disclosure, only from this file
        elsewhere = all(any(n.startswith(ELSEWHERE_NOTE) for n in t.notes) for t in missing)
        yield _finding(
            rule, f"{names}（{reason}）", [Location(table_id=t.table_id) for t in missing],
            severity="warning" if elsewhere else None,
        )  # fmt: skip


def unreadable_table(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    for t in ex.tables:
        if t.status == TableStatus.UNREADABLE:
            yield _finding(rule, f"{t.table_id} {t.title}: {'; '.join(t.notes)}", [Location(table_id=t.table_id)])


def ocr_confidence(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """Amounts OCR recognised with a score under LOW_CONFIDENCE: the invariants may not catch every misread."""
    for i in ex.items:
        if i.ocr_confidence is not None and i.ocr_confidence < LOW_CONFIDENCE:
            yield _finding(
                rule,
                f"{i.table_id} {i.label_norm} {i.column_key} = {i.raw}（置信度 {i.ocr_confidence:.2f}，页 {i.page}）",
                [Location(table_id=i.table_id, row_label=i.label, code=i.code, column=i.column_key, page=i.page)],
                actual=i.raw,
            )


def empty_without_statement(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    for t in ex.tables:
        if t.status != TableStatus.PARSED or t.statement:
            continue
        amounts = [i for i in ex.items if i.table_id == t.table_id and i.instance == t.instance and not i.blank]
        if not amounts:
            where = Location(table_id=t.table_id, line=t.lines[0] if t.lines else None)
            yield _finding(rule, f"{t.table_id} {t.title}", [where])


def department_header(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    expected = ex.document.department
    if not expected:
        return
    for t in ex.tables:
        printed = metadata.department_from_line(t.department_line)
        if not printed:
            continue
        verdict = heading_checks.same_department(printed, expected)
        if verdict != "same":
            stray = "（相差一个字，可能为印刷错误）" if verdict == "misprint" else ""
            yield _finding(
                rule,
                f"{t.table_id} 表头为“{printed}”，文档为“{expected}”{stray}",
                [Location(table_id=t.table_id, line=t.lines[0] if t.lines else None)],
                severity="warning" if stray else None,
                expected=expected,
                actual=printed,
            )


def header_label(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    for t in ex.tables:
        for note in t.notes:
            if note.startswith("header does not say"):
                yield _finding(rule, f"{t.table_id} {t.title}: {note}", [Location(table_id=t.table_id)])


def precision(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    for i in ex.items:
        if i.unit == "万元" and i.decimals > 2:
            yield _finding(
                rule,
                f"{i.table_id} {i.label_norm} {i.column_key} = {i.raw}",
                [Location(table_id=i.table_id, row_label=i.label, code=i.code, column=i.column_key, line=i.line)],
                actual=i.raw,
            )


def fiscal_year(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    year = ex.document.fiscal_year
    for t in ex.tables:
        m = _TITLE_YEAR.search(t.title)
        if year and m and int(m.group(1)) != year:
            yield _finding(
                rule,
                f"{t.table_id} 标题“{t.title}”",
                [Location(table_id=t.table_id)],
                expected=str(year),
                actual=m.group(1),
            )


def _text_lines(ex: Extraction) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(ex.text.splitlines(), start=1):
        if line.strip():
            yield number, line


def template_text(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """One finding per placeholder or instruction left in, with every line it stands on (a blank template prints XX
    hundreds of times: one finding, not hundreds)."""
    lines: dict[str, list[int]] = {}
    for number, line in _text_lines(ex):
        for m in _TEMPLATE.finditer(line):
            numbers = lines.setdefault(m.group(0), [])
            if number not in numbers[-1:]:
                numbers.append(number)
    for text, numbers in lines.items():
        where = "、".join(str(n) for n in numbers[:8]) + ("…" if len(numbers) > 8 else "")
        count = f"（共{len(numbers)}行）" if len(numbers) > 1 else ""
        locations = [Location(line=n) for n in numbers]
        yield _finding(rule, f"第{where}行{count}“{text}”", locations, actual=text)


def city_wording(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    if not ex.document.district:
        return
    for number, line in _text_lines(ex):
        for m in _CITY.finditer(squeeze(line)):
            yield _finding(rule, f"第{number}行“{m.group(0)}”", [Location(line=number)], actual=m.group(0))


def unit_words(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    wan = {f.micros for f in ex.facts if f.unit == "万元"}
    for f in ex.facts:
        if f.unit == "元" and (f.micros in wan or "万元" in f.sentence):
            yield _finding(
                rule,
                f"第{f.line}行“{f.raw}”：同一文档以万元计（{format_micros(f.micros)}）",
                [Location(line=f.line)],
                actual=f.raw,
                expected=f"{format_micros(f.micros)}万元",
            )
    for number, line in _text_lines(ex):
        for m in _DOUBLED_UNIT.finditer(squeeze(line)):
            yield _finding(rule, f"第{number}行“{m.group(0)}”", [Location(line=number)], actual=m.group(0))


def _coded_items(ex: Extraction):
    seen = set()
    for i in ex.items:
        if i.code_scheme in ("function", "economic") and i.code and (i.table_id, i.row_order) not in seen:
            seen.add((i.table_id, i.row_order))
            yield i


def unknown_code(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    for i in _coded_items(ex):
        if codes.lookup(i.code_scheme, i.code, ex.document.fiscal_year) is None:
            where = Location(table_id=i.table_id, row_label=i.label, code=i.code, line=i.line)
            yield _finding(rule, f"{i.table_id} {i.code} {i.label}", [where], actual=i.code)


def code_name(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    for i in _coded_items(ex):
        # a document whose year is not known may use the names of any year's code list
        entries = codes.versions(i.code_scheme, i.code, ex.document.fiscal_year)
        if not entries or not i.label or i.code_printed:
            continue
        printed = normalise_label(i.label)
        names = [normalise_label(n) for entry in entries for n in entry.names]
        if not any(printed == n or (len(printed) >= 3 and n.startswith(printed)) for n in names):
            where = Location(table_id=i.table_id, row_label=i.label, code=i.code, line=i.line)
            expected = entries[0].name
            yield _finding(rule, f"{i.table_id} {i.code} 印为“{i.label}”", [where], expected=expected, actual=i.label)


def code_parent(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    current: dict[tuple[str, str], str] = {}
    for i in _coded_items(ex):
        if i.code_scheme != "function":
            continue
        key = (i.table_id, i.instance or "")
        if i.level == "款":
            current[key] = i.code
        elif i.level == "类":
            current.pop(key, None)
        elif i.level == "项" and len(i.code) == 7 and key in current and not i.code.startswith(current[key]):
            where = Location(table_id=i.table_id, row_label=i.label, code=i.code, line=i.line)
            yield _finding(rule, f"{i.table_id} {i.code} {i.label} 位于 {current[key]} 之下", [where], actual=i.code)


_PATH = re.compile(
    r"([\u4e00-\u9fff、]+?)[（(]类[)）]([\u4e00-\u9fff、]+?)[（(]款[)）](?:([\u4e00-\u9fff、（）()]+?)[（(]项[)）])?"
)


def _named(parent: str | None, name: str, level: str):
    """The function code of that level, under that parent, whose name (or alias) is the printed name."""
    candidates = codes.children("function", parent)
    printed = normalise_label(re.sub(r"[（(][^（()）]*[)）]$", "", name))
    for c in candidates:
        if c.level == level and any(normalise_label(n) == printed for n in c.names):
            return c
    return None


def _kuan_placed_elsewhere(name: str, class_code: str) -> codes.Code | None:
    """The confirmed 款 of that name when the official list places it under one other 类 only."""
    printed = normalise_label(name)
    found = {
        c.code: c
        for c in codes.codes()
        if c.scheme == "function" and c.level == "款" and c.confirmed and printed in map(normalise_label, c.names)
    }
    if len(found) != 1:
        return None
    (kuan,) = found.values()
    return kuan if kuan.parent != class_code else None


def _class_named(text: str) -> codes.Code | None:
    """The 类 whose name ends the text (the pattern may have swallowed words before the name)."""
    for start in range(len(text)):
        if found := _named(None, text[start:], "类"):
            return found
    return None


_PARTIAL = "（编码表未收录，可能为清单不全）"


def classification_path(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """A 类/款/项 path written in the text (X（类）Y（款）Z（项）) must exist in the code list: Y under X, Z under Y.
    An error only where a confirmed entry places the 款 under another 类; a name the list lacks is a warning."""
    for number, line in _text_lines(ex):
        flat = squeeze(line)
        yield from _kuan_called_class(rule, number, flat)
        for m in _PATH.finditer(flat):
            cls, kuan, xiang = m.group(1), m.group(2), m.group(3)
            class_code = _class_named(cls)
            if class_code is None:
                continue
            where = [Location(line=number)]
            kuan_code = _named(class_code.code, kuan, "款")
            if kuan_code is None:
                elsewhere = _kuan_placed_elsewhere(kuan, class_code.code)
                if elsewhere is not None:
                    detail = (
                        f"“{kuan}（款）”不属于“{class_code.name}（类）”（属于 {elsewhere.parent}，{elsewhere.code}）"
                    )
                    yield _finding(rule, f"第{number}行{detail}", where, actual=m.group(0))
                else:
                    detail = f"“{kuan}（款）”不在“{class_code.name}（类）”之下{_PARTIAL}"
                    yield _finding(rule, f"第{number}行{detail}", where, severity="warning", actual=m.group(0))
                continue
            if xiang and _named(kuan_code.code, xiang, "项") is None:
                names = [n for c in codes.children("function", kuan_code.code) for n in c.names]
                if not any(normalise_label(xiang).startswith(normalise_label(n)[:4]) for n in names):
                    detail = f"“{xiang}（项）”不在“{kuan}（款）”之下{_PARTIAL}"
                    yield _finding(rule, f"第{number}行{detail}", where, severity="warning", actual=m.group(0))


_CALLED_CLASS = re.compile(r"([\u4e00-\u9fff]{2,30})[（(]类[)）]")


def _kuan_called_class(rule: Rule, number: int, flat: str) -> Iterator[Finding]:
    """A 款 written as a 类 (行政事业单位离退休（类）): an error when the confirmed list has that name as one 款 and
    no 类 of that name."""
    for m in _CALLED_CLASS.finditer(flat):
        text = m.group(1)
        if _class_named(text) is not None:
            continue
        for start in range(len(text) - 1):
            kuan = _kuan_placed_elsewhere(text[start:], "")
            if kuan is not None:
                detail = f"第{number}行“{text[start:]}（类）”是款（{kuan.code}），其类为 {kuan.parent}"
                yield _finding(rule, detail, [Location(line=number)], actual=m.group(0), expected=f"{kuan.code} 款")
                break


_CODE_LIST_HEAD = re.compile(r"使用的(?:主要)?支出功能分类科目")
_LIST_END = re.compile(
    r"^(?:[（(][一二三四五六七八九十]+[)）]|第[一二三四五六七八九十\d]+部分|[一二三四五六七八九十]+、)"
)
_ENTRY = re.compile(r"^(\d+(?:\.\d+){0,2})\.?\s*([^：:（(]+)")


def _named_codes(lines: list[str]) -> set[str]:
    """项 codes of a numbered list of function names (1. 类 / 1.1 款 / 1.1.1 项, or X（类）Y（款）Z（项） lines)."""
    found: set[str] = set()
    current: dict[int, codes.Code] = {}
    for line in lines:
        flat = squeeze(line)
        path = _PATH.search(flat)
        if path and path.group(3):
            cls = _named(None, path.group(1), "类")
            kuan = _named(cls.code, path.group(2), "款") if cls else None
            item = _named(kuan.code, path.group(3), "项") if kuan else None
            if item:
                found.add(item.code)
            continue
        m = _ENTRY.match(flat)
        if not m:
            continue
        depth = m.group(1).count(".") + 1
        level = {1: "类", 2: "款", 3: "项"}[depth]
        parent = current.get(depth - 1)
        if depth > 1 and parent is None:
            continue
        entry = _named(parent.code if parent else None, m.group(2), level)
        if entry is None:
            continue
        current[depth] = entry
        if level == "项":
            found.add(entry.code)
    return found


def function_list(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """The list of function codes the text says the department uses agrees with the codes its tables use."""
    used = {
        i.code
        for i in ex.items
        if i.code_scheme == "function" and i.level == "项" and i.code and len(i.code) == 7 and i.micros
    }
    lines = ex.text.splitlines()
    for k, line in enumerate(lines):
        if not _CODE_LIST_HEAD.search(squeeze(line)):
            continue
        block = []
        for follow in lines[k + 1 :]:
            if _LIST_END.match(squeeze(follow)):
                break
            block.append(follow)
        named = _named_codes(block)
        if not named or not used:
            continue
        unused, unnamed = sorted(named - used), sorted(used - named)
        if unused or unnamed:
            listed, missing = "、".join(unused) or "无", "、".join(unnamed) or "无"
            detail = f"第{k + 1}行起的科目清单：列出但表中未使用 {listed}；表中使用但未列出 {missing}"
            yield _finding(rule, detail, [Location(line=k + 1)], actual="、".join(unused), expected="、".join(unnamed))


def table_order(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """The standard tables printed out of their numbered order."""
    printed = []
    for t in ex.tables:
        m = re.search(r"(\d+)", t.printed_number or "")
        if m and t.lines:
            printed.append((int(m.group(1)), t.printed_number))
    numbers = [n for n, _ in printed]
    if numbers != sorted(numbers):
        order = "、".join(dict.fromkeys(p for _, p in printed))
        yield _finding(rule, f"印刷顺序为 {order}", actual=order)


# headings: 一、 / 1、 and （一） / (1): each family counts on in its own sequences
_HEADING = (
    ("、", re.compile(r"^\s*([一二三四五六七八九十]{1,3}|\d{1,2})\s*、")),
    ("（）", re.compile(r"^\s*[（(]\s*([一二三四五六七八九十]{1,3}|\d{1,2})\s*[）)]")),
)


def outside_tables(ex: Extraction) -> Iterator[tuple[int, str]]:
    """The text's non-blank lines (numbered from 1) that are not part of a table."""
    spans = [t.lines for t in ex.tables if t.lines]
    for number, line in _text_lines(ex):
        if not any(first <= number <= last for first, last in spans):
            yield number, line


def heading_numbering(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """A run of headings counting 1, 2, 3 … that switches between Chinese and Arabic numerals (一、 then 4、)."""
    for family, pattern in _HEADING:
        runs: list[list[tuple[int, int, str]]] = []  # (value, line, marker) in order
        for number, line in outside_tables(ex):
            m = pattern.match(line)
            if not m:
                continue
            value = int(cn_number(m.group(1)))
            # a heading continues the latest run it counts on from, preferring one in its own numerals (a nested
            # list in the other numerals may lie between); 1 opens a new run
            counts_on = [r for r in reversed(runs) if r[-1][0] == value - 1] if value > 1 else []
            same = [r for r in counts_on if r[-1][2].isdigit() == m.group(1).isdigit()]
            run = (same or counts_on or [None])[0]
            if run is None:
                runs.append([(value, number, m.group(1))])
            else:
                run.append((value, number, m.group(1)))
        for run in runs:
            styles = {marker.isdigit() for _, _, marker in run}
            if len(run) >= 3 and len(styles) == 2:
                printed = " ".join(f"{_marker(marker, family)}" for _, _, marker in run)
                yield _finding(
                    rule,
                    f"第{run[0][1]}行起的标题编号混用中文与阿拉伯数字：{printed}",
                    [Location(line=line) for _, line, _ in run],
                    actual=printed,
                )


def _marker(number: str, family: str) -> str:
    return f"{number}、" if family == "、" else f"（{number}）"


_PROJECT_NAME = re.compile(r"项目名称\s*[:：]?\s*([^\s:：]{2,40}?)\s*(?:项目代码|项目编码|项目类别|$)")


def project_names(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """A project in a 项目支出绩效目标表 (表12-n) whose name is not among the projects of the 项目支出表 (表10)."""
    listed = {normalise_label(i.label) for i in ex.items if i.table_id == "budget.10" and i.label}
    if not listed:
        return
    text = ex.text.splitlines()
    for t in ex.tables:
        if t.table_id != "budget.12" or not t.lines:
            continue
        first, last = t.lines
        found = next((m for line in text[first - 1 : last] if (m := _PROJECT_NAME.search(line.strip()))), None)
        if found is None or normalise_label(found.group(1)) in listed:
            continue
        name = found.group(1)
        close = difflib.get_close_matches(normalise_label(name), sorted(listed), n=1, cutoff=0.5)
        hint = f"，表10 中最接近的是“{close[0]}”" if close else ""
        where = Location(table_id=t.table_id, row_label=name, line=first)
        yield _finding(rule, f"{t.instance or t.table_id} 项目“{name}”不在表10 项目中{hint}", [where], actual=name)


def _performance_tables(ex: Extraction) -> Iterator[tuple[Table, list[str]]]:
    """Each 项目支出绩效目标表 (表12-n) with the lines of text it spans."""
    text = ex.text.splitlines()
    for t in ex.tables:
        if t.table_id == "budget.12" and t.lines:
            yield t, text[t.lines[0] - 1 : t.lines[1]]


def performance_blocks(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """A block (项目资金来源, 年度绩效目标表 …) that more than half of the document's 表12-n carry, missing from one."""
    tables = list(_performance_tables(ex))
    present = {
        (t.instance, block): any(performance_tables.has_label(lines, w) for w in words)
        for t, lines in tables
        for block, words in rule.labels.items()
    }
    for block in rule.labels:
        having = [t.instance for t, _ in tables if present[(t.instance, block)]]
        if len(having) < 2 or len(having) * 2 <= len(tables):
            continue
        for t, _ in tables:
            if not present[(t.instance, block)]:
                where = Location(table_id=t.table_id, line=t.lines[0] if t.lines else None)
                others = "、".join(f"表{i}" for i in having)
                detail = f"表{t.instance} 无“{block}”栏目（{others} 均有）"
                yield _finding(rule, detail, [where], expected=block, actual="无")


def indicator_types(ex: Extraction, rule: Rule) -> Iterator[Finding]:
    """An indicator of a 表12-n that its target tables (长期, 年度) file under different 二级指标 types."""
    for t, lines in _performance_tables(ex):
        first: dict[str, performance_tables.Indicator] = {}
        reported: set[str] = set()
        for indicator in performance_tables.indicators(lines, t.lines[0]):  # type: ignore[index]
            seen = first.setdefault(indicator.name, indicator)
            if seen.kind == indicator.kind or indicator.name in reported:
                continue
            reported.add(indicator.name)
            detail = (
                f"表{t.instance} “{indicator.name}”在{seen.sub_table}绩效目标表为{seen.kind}（第{seen.line}行），"
                f"在{indicator.sub_table}绩效目标表为{indicator.kind}（第{indicator.line}行）"
            )
            where = [
                Location(table_id=t.table_id, row_label=indicator.name, line=seen.line),
                Location(table_id=t.table_id, row_label=indicator.name, line=indicator.line),
            ]
            yield _finding(rule, detail, where, expected=seen.kind, actual=indicator.kind)


CHECKS: dict[str, Callable[[Extraction, Rule], Iterator[Finding]]] = {
    "completeness": completeness,
    "unreadable_table": unreadable_table,
    "ocr_confidence": ocr_confidence,
    "empty_without_statement": empty_without_statement,
    "department_header": department_header,
    "header_label": header_label,
    "precision": precision,
    "fiscal_year": fiscal_year,
    "template_text": template_text,
    "city_wording": city_wording,
    "unit_words": unit_words,
    "unknown_code": unknown_code,
    "code_name": code_name,
    "code_parent": code_parent,
    "classification_path": classification_path,
    "function_list": function_list,
    "table_order": table_order,
    "heading_numbering": heading_numbering,
    "project_names": project_names,
    "performance_blocks": performance_blocks,
    "indicator_types": indicator_types,
    "heading_years": heading_checks.heading_years,
    "department_headings": heading_checks.department_headings,
    "empty_note_with_amounts": heading_checks.empty_note_with_amounts,
}


def document_findings(ex: Extraction) -> list[Finding]:
    out: list[Finding] = []
    for rule in document_rules():
        out.extend(CHECKS[rule.relation](ex, rule))
    return out
