"""The report of a check run as one folder of static files: index.html, a page per document, charts, exports.

Nothing is served and nothing loads from the network: the style sheet is a file beside the pages, the charts are
inline SVG, and the only external links are the source URLs of documents when they are known.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from budgetwatch.check.batch import CheckRun, DocumentReport
from budgetwatch.check.rules import rules
from budgetwatch.model import TableStatus
from budgetwatch.publish.ledger import Entry, local_now
from budgetwatch.publish.outputs import run_json
from budgetwatch.report.charts import key_figures, structure_svg, totals_svg
from budgetwatch.report.document_page import SourceLink, checklist_rows, document_page, title_of
from budgetwatch.report.exports import Exports, write_exports
from budgetwatch.report.history import Change, changes, load_previous
from budgetwatch.report.html import CSS, KIND_ZH, badge, basis_label, e, page
from budgetwatch.report.lifecycle import headline, open_count, section, tally

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def page_name(report: DocumentReport) -> str:
    """A file name for the document's page: its file stem made safe, and the start of its hash (names never clash)."""
    d = report.extraction.document
    stem = _UNSAFE.sub("_", Path(d.source).stem).strip("._")[:60] or "document"
    return f"{stem}-{d.sha256[:8]}.html"


def _source_link(
    report: DocumentReport, out_dir: Path, sources: Mapping[str, str], copy_sources: bool
) -> SourceLink | None:
    """The document's URL when known, else a copy of the file in documents/ (linked relatively), else nothing."""
    d = report.extraction.document
    is_pdf = d.media_type == "application/pdf"
    path = Path(d.source)
    url = sources.get(d.source) or sources.get(str(path.resolve()))
    if url:
        return SourceLink(url, url, is_pdf)
    if copy_sources and path.is_file():
        name = f"{d.sha256[:12]}-{_UNSAFE.sub('_', path.name).strip('._')[:80] or 'document'}"
        target = out_dir / "documents" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copyfile(path, target)
        return SourceLink(f"documents/{name}", path.name, is_pdf)
    return None


def _status(report: DocumentReport) -> str:
    if not report.extraction.document.is_disclosure:
        return "other"
    return "error" if report.errors else "warning" if report.warnings else "clean"


def _tables_count(report: DocumentReport) -> str:
    rows = checklist_rows(report.extraction)
    present = sum(1 for _, _, t in rows if t and t.status in (TableStatus.PARSED, TableStatus.DECLARED_EMPTY))
    return f"{present}/{len(rows)}"


def _documents_table(run: CheckRun, pages: dict[int, str], links: dict[int, SourceLink | None]) -> str:
    order = sorted(
        range(len(run.reports)),
        key=lambda n: (
            run.reports[n].extraction.document.district or "~",
            run.reports[n].extraction.document.fiscal_year or 0,
            str(run.reports[n].extraction.document.kind or ""),
            run.reports[n].extraction.document.source,
        ),
    )
    out = [
        '<table class="documents"><thead><tr><th>区 district</th><th>部门 department</th><th>年度 year</th>'
        "<th>类型 kind</th><th>口径</th><th>标准表 tables</th><th>错误 errors</th><th>警告 warnings</th>"
        "<th>状态 status</th><th>原文 source</th></tr></thead><tbody>"
    ]
    for n in order:
        r = run.reports[n]
        d = r.extraction.document
        status = _status(r)
        label = {
            "error": "有错误 errors",
            "warning": "有警告 warnings",
            "clean": "无问题 clean",
            "other": "非公开报告，未检查 not a disclosure report",
        }[status]
        link = links[n]
        out.append(
            f'<tr class="document" data-status="{status}" data-page="{e(pages[n])}">'
            f'<td>{e(d.district)}</td><td><a href="{e(pages[n])}">{e(d.department or d.source)}</a></td>'
            f"<td>{e(d.fiscal_year)}</td><td>{e(KIND_ZH.get(str(d.kind), d.kind))}</td><td>{e(d.scope)}</td>"
            f"<td>{_tables_count(r)}</td><td class=num>{len(r.errors)}</td><td class=num>{len(r.warnings)}</td>"
            f'<td><span class="badge sev-{status}">{label}</span></td>'
            + (f'<td><a class="source-link" href="{e(link.href)}">{e(link.label)}</a></td>' if link else "<td></td>")
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def _by_check(run: CheckRun, pages: dict[int, str]) -> str:
    names = {r.id: (r.zh, r.en) for r in rules()}
    bases = {r.id: r.basis for r in rules()}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    categories: dict[str, set[str]] = defaultdict(set)
    documents: dict[str, list[int]] = defaultdict(list)
    for n, r in enumerate(run.reports):
        for f in r.findings:
            counts[f.check_id][str(f.severity)] += 1
            categories[f.check_id].add(f.category)
            if n not in documents[f.check_id]:
                documents[f.check_id].append(n)
    if not counts:
        return '<p class="note">无问题 no findings</p>'
    out = [
        '<table class="by-check"><thead><tr><th>检查 check</th><th>规则 rule</th><th>依据 basis</th>'
        "<th>类别 category</th><th>错误 errors</th><th>警告 warnings</th><th>文档 documents</th></tr></thead><tbody>"
    ]
    for check in sorted(counts, key=lambda c: (-counts[c]["error"], -counts[c]["warning"], c)):
        zh, en = names.get(check, ("", ""))
        docs = "、".join(
            f'<a href="{e(pages[n])}">{e(run.reports[n].extraction.document.district or pages[n])}</a>'
            for n in documents[check]
        )
        out.append(
            f'<tr data-check="{e(check)}"><td><code>{e(check)}</code></td><td>{e(zh)}<div class="note">{e(en)}</div>'
            f"</td><td>{basis_label(bases.get(check))}</td><td>{e(', '.join(sorted(categories[check])))}</td>"
            f"<td class=num>{counts[check]['error']}</td>"
            f"<td class=num>{counts[check]['warning']}</td><td>{docs}</td></tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def _delta(before: int, now: int) -> str:
    if before == now:
        return f"{now}"
    css = "delta-up" if now > before else "delta-down"
    return f'{before} → {now} <span class="{css}">({now - before:+d})</span>'


def _changes_table(rows: list[Change], head: str) -> str:
    if not rows:
        return ""
    body = "".join(
        f'<tr class="change{" changed" if c.changed else ""}"><td>{e(c.label)}</td>'
        f"<td class=num>{_delta(*c.errors)}</td><td class=num>{_delta(*c.warnings)}</td></tr>"
        for c in rows
    )
    return (
        f'<table class="changes"><thead><tr><th>{e(head)}</th><th>错误 errors</th><th>警告 warnings</th></tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _history(previous: Path | None, current: dict) -> str:
    if previous is None:
        return '<p class="note">未给出上次运行 no previous run given: counts cannot be compared.</p>'
    by_check, by_document, new, gone = changes(load_previous(previous), current)
    parts = [f'<p class="note">与上次运行比较 compared with {e(previous.name or previous)}</p>']
    parts.append('<div class="charts">')
    parts.append(_changes_table(by_check, "检查 check"))
    parts.append(_changes_table(by_document, "文档 document"))
    parts.append("</div>")
    if new:
        parts.append("<p>新文档 new documents: " + "、".join(e(x) for x in new) + "</p>")
    if gone:
        parts.append("<p>本次没有的文档 documents no longer in this run: " + "、".join(e(x) for x in gone) + "</p>")
    return "".join(parts)


def _exports_list(exports: Exports) -> str:
    items = [
        ("findings.xlsx", "问题清单 findings (Excel / WPS)"),
        ("findings.csv", "问题清单 findings (CSV, UTF-8 with BOM)"),
        ("tables.xlsx", "公开表格 published tables: line items, tables, documents (Excel / WPS)"),
        *((f"tables/{path.name}", f"{name} (CSV, UTF-8 with BOM)") for name, path in exports.tables_csv.items()),
        ("check.json", "检查结果 check report (JSON, docs/check-report.schema.json)"),
    ]
    return (
        '<ul class="exports">' + "".join(f'<li><a href="{e(h)}">{e(h)}</a> — {e(t)}</li>' for h, t in items) + "</ul>"
    )


def index_page(
    run: CheckRun,
    *,
    pages: dict[int, str],
    links: dict[int, SourceLink | None],
    exports: Exports,
    history: str,
    title: str,
    lifecycle: str | None = None,
    counts: tuple[str, str] | None = None,
) -> str:
    """The entry page; ``lifecycle`` (the findings by state) and ``counts`` (open errors, open warnings) when the
    run keeps a findings ledger, else the counts of the documents checked."""
    if counts is None:
        counts = (str(sum(len(r.errors) for r in run.reports)), str(sum(len(r.warnings) for r in run.reports)))
    figures = [f for r in run.reports if (f := key_figures(r.extraction)) is not None]
    charts = totals_svg(figures) + structure_svg(figures)
    parts = [
        f"<h1>{e(title)}</h1>",
        f'<p class="meta">生成于 generated {e(local_now().strftime("%Y-%m-%d %H:%M"))} (北京时间 Beijing time) · '
        f"{len(run.reports)} 份文档 documents · {len(run.unreadable)} 份无法读取 unreadable</p>",
        f'<p class="totals">{badge("error")} {e(counts[0])} &nbsp; {badge("warning")} {e(counts[1])}</p>',
        '<nav class="sections"><a href="#documents">文档 documents</a>'
        + ('<a href="#lifecycle">问题状态 open and fixed</a>' if lifecycle is not None else "")
        + '<a href="#checks">按检查 by check</a><a href="#changes">变化 changes</a>'
        '<a href="#figures">主要数字 key figures</a><a href="#exports">导出 exports</a></nav>',
    ]
    if lifecycle is not None:
        parts += ['<h2 id="lifecycle">问题状态 Findings: new, still open, fixed</h2>', lifecycle]
    parts += [
        '<h2 id="documents">本次检查的文档 Documents checked in this run</h2>',
        _documents_table(run, pages, links),
    ]
    if run.unreadable:
        parts.append(
            '<h3>无法读取 Unreadable</h3><ul class="unreadable">'
            + "".join(f"<li><code>{e(x.source)}</code>: {e(x.reason)}</li>" for x in run.unreadable)
            + "</ul>"
        )
    parts += [
        '<h2 id="checks">按检查 Errors and warnings by check</h2>',
        _by_check(run, pages),
        '<h2 id="changes">与上次运行相比 Change since the previous run</h2>',
        history,
        '<h2 id="figures">主要数字 Key figures</h2>',
        f'<div class="charts">{charts}</div>'
        if charts
        else '<p class="note">没有文档以文本公开收支总表 no document printed its totals as text</p>',
        '<p class="note">金额取自各文档公开的表格（部门收支总表/收入支出决算总表，部门支出总表/支出决算表）。'
        "Figures are read from each document's own tables.</p>",
        '<h2 id="exports">导出 Exports</h2>',
        _exports_list(exports),
    ]
    return page(title, "\n".join(parts))


def write_report(
    run: CheckRun,
    out_dir: Path,
    *,
    previous: Path | None = None,
    sources: Mapping[str, str] | None = None,
    copy_sources: bool = True,
    title: str = "预决算检查报告 budgetwatch report",
    ledger: list[Entry] | None = None,
    page_of: Callable[[Entry], str | None] | None = None,
) -> Path:
    """Write the run's report into ``out_dir`` and return its entry page, ``out_dir/index.html``.

    previous: a previous run's report folder or check.json, to show how the counts changed.
    sources: document path (as the run names it) → source URL; documents without one are copied into documents/.
    ledger: the run's findings with their state (new, open, fixed, withdrawn), shown first; the counts at the top
    are then the open ones. page_of: the link from this report to the page that shows a finding's document.
    """
    out_dir = Path(out_dir)
    current = run_json(run)
    sources = sources or {}
    for document, url in sources.items():  # bad input fails before anything is written
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"{document}: source URL must be http or https, got {url!r}")
    history = _history(Path(previous) if previous else None, current)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.css").write_text(CSS, encoding="utf-8")
    pages = {n: page_name(r) for n, r in enumerate(run.reports)}
    links = {n: _source_link(r, out_dir, sources, copy_sources) for n, r in enumerate(run.reports)}
    for n, r in enumerate(run.reports):
        (out_dir / pages[n]).write_text(document_page(r, source=links[n]), encoding="utf-8")
    exports = write_exports(run, out_dir)
    index = out_dir / "index.html"
    lifecycle, counts = None, None
    if ledger is not None:
        lifecycle = section(ledger, page_of or (lambda _: None))
        errors, warnings = tally(ledger, "error"), tally(ledger, "warning")
        counts = (f"{open_count(errors)} — {headline(ledger, 'error')}", f"{open_count(warnings)}")
    index.write_text(
        index_page(run, pages=pages, links=links, exports=exports, history=history, title=title,
                   lifecycle=lifecycle, counts=counts),
        encoding="utf-8",
    )  # fmt: skip
    return index


__all__ = ["page_name", "title_of", "write_report"]
