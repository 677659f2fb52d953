"""HTML building blocks shared by the report's pages: escaping, badges, the page frame and the style sheet.

Pages are built as strings with every text passed through ``html.escape``; nothing on a page loads from the network.
"""

from __future__ import annotations

from html import escape

from budgetwatch.model import Finding, Severity, TableStatus, format_micros

KIND_ZH = {"budget": "部门预算", "final_account": "部门决算"}
SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}
STATUS_ZH = {
    TableStatus.PARSED: "已公开",
    TableStatus.DECLARED_EMPTY: "空表（已说明）",
    TableStatus.MISSING: "缺失",
    TableStatus.IMAGE_ONLY: "仅图片",
    TableStatus.UNREADABLE: "无法读取",
    TableStatus.UNRECOGNISED: "未识别的表",
}
STATUS_EN = {
    TableStatus.PARSED: "present",
    TableStatus.DECLARED_EMPTY: "empty",
    TableStatus.MISSING: "missing",
    TableStatus.IMAGE_ONLY: "image-only",
    TableStatus.UNREADABLE: "unreadable",
    TableStatus.UNRECOGNISED: "unrecognised",
}


def e(value: object) -> str:
    """Escaped text of a value; None is empty."""
    return "" if value is None else escape(str(value))


def amount(micros: int | None, decimals: int = 2) -> str:
    """An amount with thousands separators, exactly as many places as it has (at least ``decimals``)."""
    text = format_micros(micros, decimals)
    if not text:
        return ""
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, frac = digits.partition(".")
    return f"{sign}{int(whole):,}" + (f".{frac}" if frac else "")


def badge(severity: Severity | str) -> str:
    s = str(severity)
    return f'<span class="badge sev-{e(s)}">{e(SEVERITY_ZH.get(s, s))} {e(s)}</span>'


BASIS_ZH = {"identity": "表内勾稽", "narrative": "文字说明", "reference": "参考清单", "layout": "版式标签"}


def basis_label(basis: str | None) -> str:
    """What a finding rests on, in both languages (empty when not known)."""
    if not basis:
        return ""
    label = f"{e(BASIS_ZH.get(basis, basis))} · {e(basis)}"
    return f' <span class="basis basis-{e(basis)}" data-basis="{e(basis)}">{label}</span>'


def status_badge(status: TableStatus) -> str:
    return (
        f'<span class="status status-{STATUS_EN[status]}" data-status="{STATUS_EN[status]}">'
        f"{e(STATUS_ZH[status])} · {STATUS_EN[status]}</span>"
    )


def message_parts(finding: Finding) -> tuple[str, str]:
    """The Chinese and the English part of a finding's message."""
    zh, _, en = finding.message.partition(" | ")
    return zh.strip(), en.strip()


def numbers(finding: Finding) -> str:
    """Expected, actual and difference of a finding as a small definition list (empty when it has none)."""
    parts = [
        (label, value)
        for label, value in (
            ("应为 expected", finding.expected),
            ("实为 actual", finding.actual),
            ("差 difference", finding.difference),
        )
        if value
    ]
    if not parts:
        return ""
    return (
        '<dl class="numbers">' + "".join(f"<dt>{e(label)}</dt><dd>{e(value)}</dd>" for label, value in parts) + "</dl>"
    )


def page(title: str, body: str, *, lang: str = "zh-CN") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n"
        '<link rel="stylesheet" href="report.css">\n'
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


CSS = """
:root {
  --error: #b3261e; --error-bg: #fde7e4; --warning: #8a5a00; --warning-bg: #fff3d1;
  --ok: #1e6b35; --ok-bg: #e3f4e6; --muted: #5f6670; --line: #d7dbe0; --head: #eef2f7;
}
* { box-sizing: border-box; }
body {
  margin: 0 auto; max-width: 1500px; padding: 12px 20px 40px; color: #1d2125; background: #fff;
  font: 14px/1.55 "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimSun", system-ui, sans-serif;
}
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 6px; }
a { color: #1f5fa8; }
.meta, .note { color: var(--muted); }
nav.sections { position: sticky; top: 0; background: #fff; padding: 6px 0; border-bottom: 1px solid var(--line);
  z-index: 2; }
nav.sections a { margin-right: 14px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 3px 6px; vertical-align: top; }
th { background: var(--head); font-weight: 600; text-align: center; }
td.num { text-align: right; white-space: nowrap; }
td.code, td.pos { white-space: nowrap; color: var(--muted); }
td.blank { color: #b0b5bb; }
td.label { min-width: 9em; }
tr.level-类 td.label { font-weight: 600; }
tr.level-项 td.label { padding-left: 18px; }
tr.level-款 td.label { padding-left: 10px; }
.badge, .status { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px; white-space: nowrap; }
.basis { display: inline-block; padding: 0 4px; border: 1px solid #bbb; border-radius: 3px; font-size: 11px; }
.sev-error { background: var(--error-bg); color: var(--error); }
.sev-warning { background: var(--warning-bg); color: var(--warning); }
.sev-info, .sev-clean, .sev-other { background: var(--ok-bg); color: var(--ok); }
.status-present { background: var(--ok-bg); color: var(--ok); }
.status-empty { background: #e9eef5; color: #33506f; }
.status-missing, .status-unreadable { background: var(--error-bg); color: var(--error); }
.status-image-only { background: var(--warning-bg); color: var(--warning); }
td.flag.sev-error { background: var(--error-bg); outline: 2px solid var(--error); outline-offset: -2px; }
td.flag.sev-warning { background: var(--warning-bg); outline: 2px solid #d49b00; outline-offset: -2px; }
td.flag.involved { outline-style: dashed; outline-width: 1px; }
a.mark { font-size: 10px; vertical-align: super; margin-left: 2px; text-decoration: none; font-weight: 700; }
.with-findings { display: grid; grid-template-columns: minmax(0, 1fr) minmax(260px, 360px); gap: 16px;
  align-items: start; }
.scroll { overflow-x: auto; }
.findings { list-style: none; padding: 0; margin: 0; }
.findings li { border: 1px solid var(--line); border-left: 4px solid var(--line); padding: 6px 8px; margin: 0 0 8px;
  background: #fafbfc; }
.findings li.sev-error { border-left-color: var(--error); }
.findings li.sev-warning { border-left-color: #d49b00; }
.findings li:target { box-shadow: 0 0 0 3px #7aa7e0; }
.findings .en { color: var(--muted); font-size: 12px; }
dl.numbers { display: grid; grid-template-columns: auto 1fr; gap: 0 10px; margin: 4px 0 0; font-size: 13px; }
dl.numbers dt { color: var(--muted); }
dl.numbers dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 600; }
mark.bad { background: var(--error-bg); color: var(--error); font-weight: 700; padding: 0 2px;
  border-bottom: 2px solid var(--error); }
mark.num { background: var(--warning-bg); padding: 0 2px; }
blockquote.sentence { margin: 4px 0; padding: 6px 10px; border-left: 3px solid var(--line); background: #fcfcfd; }
.summary td, .summary th { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
svg.chart { max-width: 100%; height: auto; font-family: inherit; }
details summary { cursor: pointer; color: var(--muted); }
.delta-up { color: var(--error); font-weight: 600; }
.delta-down { color: var(--ok); font-weight: 600; }
@media (max-width: 1000px) { .with-findings { grid-template-columns: 1fr; } }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  nav.sections, .no-print { display: none; }
  .with-findings { display: block; }
  .scroll { overflow: visible; }
  h2, h3 { break-after: avoid; }
  tr, .findings li { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
"""
