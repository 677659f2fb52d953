"""The page of one document: completeness checklist, each table as printed with its findings beside it, the narrative
sentences whose numbers disagree, every finding, and the rules that could not run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from budgetwatch.check.batch import DocumentReport
from budgetwatch.model import Extraction, Finding, LineItem, Table, TableStatus
from budgetwatch.read import catalogue
from budgetwatch.report.html import (
    KIND_ZH,
    STATUS_EN,
    amount,
    badge,
    basis_label,
    e,
    message_parts,
    numbers,
    page,
    status_badge,
)
from budgetwatch.report.layout import Block, Marks, PrintedTable, Row, cell_key, finding_marks, printed_tables

SIDE_ZH = {"income": "收入", "expenditure": "支出"}
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class SourceLink:
    href: str
    label: str
    is_pdf: bool = False

    def at_page(self, number: int | None) -> str:
        return f"{self.href}#page={number}" if self.is_pdf and number else self.href


def title_of(report: DocumentReport) -> str:
    d = report.extraction.document
    parts = [d.department or d.district or d.source, str(d.fiscal_year or ""), KIND_ZH.get(str(d.kind), "")]
    return " ".join(p for p in parts if p)


# ----------------------------------------------------------------------------------------------- completeness
def checklist_rows(ex: Extraction) -> list[tuple[str, str, Table | None]]:
    """(table id, title, the document's table or None) for every table the document's family prints, then the
    document's other tables."""
    kind = str(ex.document.kind) if ex.document.kind and ex.document.is_disclosure else None
    if kind is None:
        return [(t.table_id, t.title, t) for t in ex.tables]
    rows: list[tuple[str, str, Table | None]] = []
    listed = set()
    for table_id, title in catalogue.expected_tables(kind, ex.document.family):
        found = [t for t in ex.tables if t.table_id == table_id]
        for t in found or [None]:
            rows.append((table_id, title, t))
        listed.add(table_id)
    rows.extend((t.table_id, t.title, t) for t in ex.tables if t.table_id not in listed)
    return rows


def _where(table: Table) -> str:
    parts = []
    if table.pages:
        first, last = min(table.pages), max(table.pages)
        parts.append(f"第{first}页" if first == last else f"第{first}–{last}页")
    if table.lines:
        parts.append(f"第{table.lines[0]}–{table.lines[1]}行")
    return " ".join(parts)


def completeness(ex: Extraction, anchors: dict[tuple[str, str], str]) -> str:
    if not ex.document.is_disclosure:  # a checklist or a news page: no table can be missing from it, nothing checked
        return f'<p class="note">不是预决算公开报告，未检查。 {e(ex.document.not_disclosure)}</p>'
    out = [
        '<table class="checklist"><thead><tr><th>表</th><th>标准表名 standard table</th><th>印刷表号</th>'
        "<th>状态 status</th><th>位置</th><th>说明 notes</th></tr></thead><tbody>"
    ]
    for table_id, title, table in checklist_rows(ex):
        status = table.status if table else TableStatus.MISSING
        instance = f" {table.instance}" if table and table.instance else ""
        anchor = anchors.get((table_id, (table.instance or "") if table else ""))
        name = f'<a href="#{anchor}">{e(title)}</a>' if anchor else e(title)
        notes = "；".join(table.notes) if table else "not found in the document"
        if table and table.statement:
            notes = table.statement + ("；" + notes if notes else "")
        out.append(
            f'<tr class="check-row" data-table="{e(table_id)}" data-status="{STATUS_EN[status]}">'
            f"<td class=code>{e(table_id)}{e(instance)}</td><td>{name}</td>"
            f"<td>{e(table.printed_number if table else '')}</td><td>{status_badge(status)}</td>"
            f"<td class=pos>{e(_where(table) if table else '')}</td><td class=note>{e(notes)}</td></tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


# ----------------------------------------------------------------------------------------------- tables as printed
def _header_rows(blocks: list[Block], leading: list[list[str]], two_sided: bool) -> str:
    """Header rows: side names (two-sided tables), then the column labels with their parent groups spanning."""
    depth = max((len(c.parents) + 1 for b in blocks for c in b.columns), default=1)
    rows: list[list[str]] = [[] for _ in range(depth)]
    for block, lead in zip(blocks, leading, strict=True):
        for label in lead:
            rows[0].append(f'<th rowspan="{depth}">{e(label)}</th>')
        for level in range(depth):
            n = 0
            while n < len(block.columns):
                col = block.columns[n]
                if level < len(col.parents):
                    group = col.parents[: level + 1]
                    span = 1
                    while n + span < len(block.columns) and block.columns[n + span].parents[: level + 1] == group:
                        span += 1
                    rows[level].append(f'<th colspan="{span}">{e(group[-1])}</th>')
                    n += span
                    continue
                if level == len(col.parents):
                    rows[level].append(f'<th rowspan="{depth - level}" data-column="{e(col.key)}">{e(col.label)}</th>')
                n += 1
    out = "".join(f"<tr>{''.join(r)}</tr>" for r in rows if r)
    if two_sided:
        top = "".join(
            f'<th colspan="{len(lead) + len(b.columns)}">{e(SIDE_ZH.get(b.side or "", b.side or ""))}</th>'
            for b, lead in zip(blocks, leading, strict=True)
        )
        out = f"<tr>{top}</tr>{out}"
    return f"<thead>{out}</thead>"


def _leading(block: Block) -> list[str]:
    """Row-header columns this block prints: group, 行次, code, name, page, line."""
    cols = []
    if any(r.group for r in block.rows):
        cols.append("group")
    if any(r.line_no is not None for r in block.rows):
        cols.append("line_no")
    if any(r.code for r in block.rows):
        cols.append("code")
    cols.append("label")
    if any(r.page is not None for r in block.rows):
        cols.append("page")
    if any(r.line is not None for r in block.rows):
        cols.append("line")
    return cols


_LEADING_ZH = {"group": "类别", "line_no": "行次", "code": "科目编码", "label": "项目", "page": "页", "line": "行"}
_GROUP_HEADER = {"projects": "单位名称", "groups": "类别", "funding": "构成"}
_GROUP_ZH = {"personnel": "人员经费", "public": "公用经费"}


def _lead_cells(row: Row | None, cols: list[str]) -> str:
    if row is None:
        return "".join("<td></td>" for _ in cols)
    values = {
        "group": _GROUP_ZH.get(row.group or "", row.group),
        "line_no": row.line_no,
        "code": row.code,
        "label": row.label,
        "page": row.page,
        "line": row.line,
    }
    css = {"label": "label", "page": "pos page", "line": "pos line", "code": "code", "line_no": "pos", "group": "code"}
    return "".join(f'<td class="{css[c]}">{e(values[c])}</td>' for c in cols)


def _amount_cell(item: LineItem | None, marks: Marks, findings: list[Finding]) -> str:
    if item is None:
        return '<td class="num blank"></td>'
    text = "" if item.blank else amount(item.micros, item.decimals)
    flags = marks.cells.get(cell_key(item), [])
    raw = f' title="印刷为 printed: {e(item.raw)}"' if item.raw and item.raw != text else ""
    if not flags:
        return f'<td class="num{" blank" if item.blank else ""}"{raw}>{e(text)}</td>'
    numbers_ = sorted({no for no, _ in flags})
    checked = any(c for _, c in flags)
    worst = min((str(findings[no - 1].severity) for no in numbers_), key=lambda s: _SEVERITY_RANK.get(s, 9))
    links = "".join(f'<a class="mark" href="#f{no}">{no}</a>' for no in numbers_)
    tip = " · ".join(f"{no}: {message_parts(findings[no - 1])[0][:120]}" for no in numbers_)
    return (
        f'<td class="num flag sev-{worst} {"checked" if checked else "involved"}" '
        f'data-findings="{" ".join(map(str, numbers_))}" data-column="{e(item.column_key)}" '
        f'data-row="{e(item.label)}" data-code="{e(item.code or "")}" title="{e(tip)}">{e(text)}{links}</td>'
    )


def table_grid(printed: PrintedTable, marks: Marks, findings: list[Finding]) -> str:
    blocks = printed.blocks
    if not blocks:
        return ""
    leading = [_leading(b) for b in blocks]
    two_sided = len(blocks) > 1 or blocks[0].side is not None
    names = _LEADING_ZH | {"group": _GROUP_HEADER.get(printed.spec.layout if printed.spec else "", "类别")}
    head = _header_rows(blocks, [[names[c] for c in lead] for lead in leading], two_sided)
    body = []
    for n in range(max(len(b.rows) for b in blocks)):
        cells = []
        level = ""
        for block, lead in zip(blocks, leading, strict=True):
            row = block.rows[n] if n < len(block.rows) else None
            level = level or (row.level if row and row.level else "")
            cells.append(_lead_cells(row, lead))
            cells.extend(_amount_cell(row.cells.get(c.key) if row else None, marks, findings) for c in block.columns)
        body.append(f'<tr class="level-{e(level)}">{"".join(cells)}</tr>' if level else f"<tr>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table class="printed">{head}<tbody>{"".join(body)}</tbody></table></div>'


def _finding_item(no: int, finding: Finding, *, anchor: bool, where: str = "") -> str:
    zh, en = message_parts(finding)
    ident = f' id="f{no}"' if anchor else ""
    ref = "" if anchor else f' <a href="#f{no}">→</a>'
    return (
        f'<li{ident} class="finding sev-{e(finding.severity)}" data-check="{e(finding.check_id)}">'
        f"<b>{no}</b> {badge(finding.severity)} <code>{e(finding.check_id)}</code> {e(finding.category)}"
        f"{basis_label(finding.basis)}{ref}"
        f"<div>{e(zh)}</div>"
        + (f'<div class="en">{e(en)}</div>' if en else "")
        + numbers(finding)
        + (f'<div class="note">{where}</div>' if where else "")
        + "</li>"
    )


def _location_text(finding: Finding, anchors: dict[str, str]) -> str:
    """Where a finding points, each place a link to its table or line on this page."""
    out = []
    for loc in finding.locations:
        bits = [b for b in (loc.table_id, loc.code, loc.row_label, loc.column) if b]
        if loc.page:
            bits.append(f"第{loc.page}页")
        if loc.line:
            bits.append(f"第{loc.line}行")
        text = e(" ".join(bits))
        target = anchors.get(loc.table_id or "") or (f"line-{loc.line}" if loc.line else None)
        out.append(f'<a href="#{target}">{text}</a>' if target and text else text)
    return "；".join(x for x in out if x)


# ----------------------------------------------------------------------------------------------- narrative
_DIGIT = re.compile(r"[\d.]")


def _spans(text: str, needle: str, kind: str) -> list[tuple[int, int, str]]:
    """Occurrences of a number in the text that are not part of a longer number."""
    out = []
    if not needle:
        return out
    start = text.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        numeric_edge = _DIGIT.match(needle[0]) and before and _DIGIT.match(before)
        numeric_tail = _DIGIT.match(needle[-1]) and after and after.isdigit()
        if not numeric_edge and not numeric_tail:
            out.append((start, end, kind))
        start = text.find(needle, start + 1)
    return out


def marked_line(text: str, ex: Extraction, line: int, findings: list[Finding]) -> str:
    """The line with the numbers its findings disagree about marked (the stated value strongest)."""
    detail = " ".join(message_parts(f)[0].split("（第")[0] for f in findings)
    spans: list[tuple[int, int, str]] = []
    for f in findings:
        for value in (f.actual, f.expected):
            if value and len(value) <= 40:
                spans.extend(_spans(text, value, "bad" if value == f.actual else "num"))
    for fact in ex.facts:
        if fact.line == line and fact.raw and fact.raw.replace(" ", "") in detail.replace(" ", ""):
            spans.extend(_spans(text, fact.raw, "num"))
    spans.sort(key=lambda s: (s[0], s[2] != "bad", -(s[1] - s[0])))
    out, pos = [], 0
    for start, end, kind in spans:
        if start < pos:
            continue
        out.append(e(text[pos:start]))
        out.append(f'<mark class="{kind}">{e(text[start:end])}</mark>')
        pos = end
    out.append(e(text[pos:]))
    return "".join(out)


# ----------------------------------------------------------------------------------------------- the page
def _heading_parts(report: DocumentReport, source: SourceLink | None, index_href: str) -> list[str]:
    ex = report.extraction
    d = ex.document
    facts = (
        d.district,
        d.scope,
        f"发布 {d.published}" if d.published else None,
        f"{len(ex.tables)} 张表",
        f"{sum(1 for i in ex.items if not i.blank)} 个金额",
        f"{len(ex.facts)} 个说明数字",
    )
    origin = (
        f'<a class="source-link" href="{e(source.href)}">{e(source.label)}</a>'
        if source
        else f"{e(d.source)} (no copy)"
    )
    return [
        f'<p class="no-print"><a href="{e(index_href)}">← 总览 overview</a></p>',
        f"<h1>{e(title_of(report))}</h1>",
        '<p class="meta">' + " · ".join(e(x) for x in facts if x) + "</p>",
        f'<p class="meta">原文 source: {origin} · sha256 <code>{e(d.sha256[:16])}</code></p>',
        f"<p>{badge('error')} {len(report.errors)} &nbsp; {badge('warning')} {len(report.warnings)} &nbsp; "
        f'<span class="note">{len(report.skipped)} 条规则未能执行 rules could not run</span></p>',
        *_nothing_read(ex),
        '<nav class="sections"><a href="#completeness">完整性 completeness</a><a href="#tables">表格 tables</a>'
        '<a href="#narrative">说明文字 narrative</a><a href="#all-findings">全部问题 all findings</a>'
        '<a href="#skipped">未执行规则 skipped</a></nav>',
    ]


def _nothing_read(ex: Extraction) -> list[str]:
    """A plain statement when not one table could be read, with the reason the tables give."""
    if any(t.status in (TableStatus.PARSED, TableStatus.DECLARED_EMPTY) for t in ex.tables):
        return []
    reasons = list(dict.fromkeys(n for t in ex.tables for n in t.notes)) or [
        "the document holds no text the standard tables could be read from (pictures only?)"
    ]
    return [
        '<p class="nothing-read"><strong>未能读取任何表格 No table could be read from this document.</strong> '
        + "；".join(e(r) for r in reasons[:3])
        + " 以下检查无法执行 The checks of the tables could not run.</p>"
    ]


@dataclass(slots=True)
class _Placing:
    """Where each finding is shown in full (the first section that names it) and each table's first anchor."""

    findings: list[Finding]
    marks: Marks
    first_anchor: dict[str, str]
    primary: dict[int, str] = field(default_factory=dict)

    def item(self, no: int, section: str, *, with_where: bool = False) -> str:
        first = self.primary.setdefault(no, section)
        where = _location_text(self.findings[no - 1], self.first_anchor) if with_where else ""
        return _finding_item(no, self.findings[no - 1], anchor=first == section, where=where)


def _table_section(p: PrintedTable, placing: _Placing, source: SourceLink | None) -> str:
    t = p.table
    items = [placing.item(no, p.anchor, with_where=True) for no in placing.marks.findings_of_table(t)]
    page_link = ""
    if source and t.pages:
        page_link = f' · <a class="source-link" href="{e(source.at_page(min(t.pages)))}">原文第{min(t.pages)}页</a>'
    heading = " ".join(x for x in (t.printed_number, t.title) if x)
    grid = (
        table_grid(p, placing.marks, placing.findings)
        or f'<p class="note">{e("；".join(t.notes) or t.statement or "")}</p>'
    )
    side = f'<ol class="findings">{"".join(items)}</ol>' if items else '<p class="note">本表无问题 no findings</p>'
    return (
        f'<section class="table" id="{p.anchor}" data-table="{e(t.table_id)}" data-instance="{e(t.instance or "")}">'
        f"<h3>{e(heading)} <code>{e(t.table_id)}{e(' ' + t.instance if t.instance else '')}</code> "
        f'{status_badge(t.status)} <span class="note">{e(_where(t))}</span>{page_link}</h3>'
        f'<div class="with-findings"><div>{grid}</div><div>{side}</div></div></section>'
    )


def _narrative_sections(ex: Extraction, placing: _Placing) -> list[str]:
    parts = ['<h2 id="narrative">说明文字 Narrative</h2>']
    lines = ex.text.splitlines()
    text_lines = placing.marks.text_lines
    if not text_lines:
        parts.append('<p class="note">说明文字无问题 no findings in the text</p>')
    for line in sorted(text_lines):
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        items = [placing.item(no, f"line-{line}") for no in text_lines[line]]
        marked = marked_line(text.strip(), ex, line, [placing.findings[n - 1] for n in text_lines[line]])
        parts.append(
            f'<section class="sentence" id="line-{line}" data-line="{line}"><h3>第{line}行 line {line}</h3>'
            f'<div class="with-findings"><blockquote class="sentence">{marked}</blockquote>'
            f'<ol class="findings">{"".join(items)}</ol></div></section>'
        )
    return parts


def _all_findings(placing: _Placing) -> list[str]:
    findings = placing.findings
    parts = ['<h2 id="all-findings">全部问题 All findings</h2>']
    others = [no for no in range(1, len(findings) + 1) if no not in placing.primary]
    if others:
        items = "".join(_finding_item(no, findings[no - 1], anchor=True) for no in others)
        parts.append(f'<ol class="findings">{items}</ol>')
    parts.append(
        '<table class="summary"><thead><tr><th>#</th><th>级别</th><th>检查</th><th>依据 basis</th><th>类别</th>'
        "<th>问题</th><th>位置 where</th></tr></thead><tbody>"
    )
    for no, f in enumerate(findings, start=1):
        parts.append(
            f'<tr><td><a href="#f{no}">{no}</a></td><td>{badge(f.severity)}</td><td><code>{e(f.check_id)}</code></td>'
            f"<td>{basis_label(f.basis)}</td><td>{e(f.category)}</td><td>{e(message_parts(f)[0][:160])}</td>"
            f"<td>{_location_text(f, placing.first_anchor)}</td></tr>"
        )
    parts.append("</tbody></table>")
    if not findings:
        parts.append('<p class="note">无问题 no findings</p>')
    return parts


def _skipped_section(report: DocumentReport) -> list[str]:
    parts = ['<h2 id="skipped">未能执行的规则 Rules that could not run</h2>']
    if not report.skipped:
        if not any(t.status == TableStatus.PARSED for t in report.extraction.tables):
            return [*parts, '<p class="note">没有读到表格，表格的规则均未执行 no table was read: no rule on the tables '
                    "could run</p>"]  # fmt: skip
        return [*parts, '<p class="note">全部规则均已执行 every rule ran</p>']
    rows = "".join(
        f"<tr><td><code>{e(s.get('check_id'))}</code></td><td>{e(s.get('reason'))}</td></tr>" for s in report.skipped
    )
    return [*parts, f"<details><summary>{len(report.skipped)} 条 rules, with the reason</summary><table><tbody>{rows}"
            "</tbody></table></details>"]  # fmt: skip


def document_page(report: DocumentReport, *, index_href: str = "index.html", source: SourceLink | None = None) -> str:
    ex = report.extraction
    printed = printed_tables(ex)
    anchors = {(p.table.table_id, p.table.instance or ""): p.anchor for p in printed if p.table.lines or p.blocks}
    first_anchor = {tid: a for (tid, _), a in reversed(list(anchors.items()))}
    placing = _Placing(report.findings, finding_marks(ex, report.findings), first_anchor)
    parts = [
        *_heading_parts(report, source, index_href),
        '<h2 id="completeness">完整性 Completeness</h2>',
        completeness(ex, anchors),
        '<h2 id="tables">表格（按印刷样式）Tables as printed</h2>',
        f'<p class="note">金额单位 {e(ex.tables[0].unit if ex.tables else "万元")}；'
        "标红/标黄的单元格为问题所在，编号链接到右侧的问题说明。 Highlighted cells are where findings point; "
        "solid outline: the checked cell; dashed: the cells it was compared with.</p>",
    ]
    parts.extend(
        _table_section(p, placing, source) for p in printed if p.blocks or p.table.status != TableStatus.MISSING
    )
    parts.extend(_narrative_sections(ex, placing))
    parts.extend(_all_findings(placing))
    parts.extend(_skipped_section(report))
    return page(title_of(report), "\n".join(parts))
