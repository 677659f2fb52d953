"""Key figures of each document (income and expenditure totals, expenditure by function class) as inline SVG.

The figures are read from the tables the document printed; a document whose tables are missing has none. The SVG is
drawn here, with no script and no external resource, so that it shows offline and prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from html import escape

from budgetwatch.model import Extraction, format_micros

# Where each template family prints its totals: (table, side, row key, column); and its expenditure by function class.
TOTALS = {
    "budget": {
        "income": ("budget.01", "income", "current_total", "amount"),
        "expenditure": ("budget.01", "expenditure", "current_total", "amount"),
    },
    "final_account": {
        "income": ("final.01", "income", "current_total", "amount"),
        "expenditure": ("final.01", "expenditure", "current_total", "amount"),
    },
}
CLASSES = {"budget": ("budget.03", "total"), "final_account": ("final.03", "total_expenditure")}

PALETTE = ("#2f6db5", "#d9822b", "#3a9a5b", "#b54a4a", "#7a5fb0", "#8c6d3f", "#c0569b", "#5f7f8c", "#9aa034")
LABELS = {"income": "本年收入合计", "expenditure": "本年支出合计"}
KIND_NAMES = {"budget": "预算", "final_account": "决算"}


@dataclass(frozen=True, slots=True)
class KeyFigures:
    name: str  # district · year · kind
    unit: str
    totals: dict[str, int]  # income | expenditure → micros
    classes: tuple[tuple[str, str, int], ...]  # (code, name, micros) of each function class, in printed order


def key_figures(ex: Extraction) -> KeyFigures | None:
    """The document's key figures, or None when it printed none of them."""
    d = ex.document
    kind = str(d.kind) if d.kind else ""
    totals: dict[str, int] = {}
    unit = "万元"
    for name, (table, side, row_key, column) in TOTALS.get(kind, {}).items():
        item = next(
            (
                i
                for i in ex.items
                if (i.table_id, i.side, i.row_key, i.column_key) == (table, side, row_key, column)
                and i.micros is not None
            ),
            None,
        )
        if item is not None:
            totals[name] = item.micros
            unit = item.unit
    classes = []
    if kind in CLASSES:
        table, column = CLASSES[kind]
        seen = set()
        for i in sorted(ex.items, key=lambda i: i.row_order):
            if i.table_id == table and i.column_key == column and i.level == "类" and i.micros and i.code not in seen:
                seen.add(i.code)
                classes.append((i.code or "", i.label, i.micros))
    if not totals and not classes:
        return None
    name = " ".join(str(x) for x in (d.district or d.department or d.source, d.fiscal_year, KIND_NAMES.get(kind)) if x)
    return KeyFigures(name=name, unit=unit, totals=totals, classes=tuple(classes))


def _amount(micros: int) -> str:
    text = format_micros(micros)
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}" + (f".{frac}" if frac else "")


def totals_svg(figures: list[KeyFigures]) -> str:
    """Grouped horizontal bars: income and expenditure totals of each document."""
    rows = [(f, k) for f in figures for k in ("income", "expenditure") if k in f.totals]
    if not rows:
        return ""
    top = max(f.totals[k] for f, k in rows) or 1
    label_w, bar_w, bar_h, gap = 190, 430, 18, 12
    height = 30 + len(figures) * (2 * bar_h + gap) + 10
    parts = [
        f'<svg class="chart" role="img" aria-label="收支总额" viewBox="0 0 {label_w + bar_w + 140} {height}" '
        f'width="{label_w + bar_w + 140}" height="{height}">',
        f'<g font-size="12"><rect x="{label_w}" y="4" width="12" height="12" fill="{PALETTE[0]}"/>'
        f'<text x="{label_w + 16}" y="14">{LABELS["income"]}</text>'
        f'<rect x="{label_w + 120}" y="4" width="12" height="12" fill="{PALETTE[1]}"/>'
        f'<text x="{label_w + 136}" y="14">{LABELS["expenditure"]}</text></g>',
    ]
    y = 26
    for f in figures:
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h + 4}" text-anchor="end" font-size="13">{escape(f.name)}</text>'
        )
        for n, kind in enumerate(("income", "expenditure")):
            if kind in f.totals:
                value = f.totals[kind]
                width = max(1, round(bar_w * value / top))
                text = f"{_amount(value)} {escape(f.unit)}"
                parts.append(
                    f'<rect x="{label_w}" y="{y}" width="{width}" height="{bar_h - 2}" fill="{PALETTE[n]}">'
                    f"<title>{escape(f.name)} {LABELS[kind]} {text}</title></rect>"
                    f'<text x="{label_w + width + 4}" y="{y + bar_h - 5}" font-size="12">{text}</text>'
                )
            y += bar_h
        y += gap
    parts.append("</svg>")
    return "".join(parts)


def structure_svg(figures: list[KeyFigures]) -> str:
    """One 100 % bar per document: its expenditure by function class, with a legend of the classes."""
    shown = [f for f in figures if f.classes]
    if not shown:
        return ""
    names: dict[str, str] = {}
    for f in shown:
        for code, name, _ in f.classes:
            names.setdefault(code, name)
    colour = {code: PALETTE[n % len(PALETTE)] for n, code in enumerate(sorted(names))}
    label_w, bar_w, bar_h, gap = 190, 560, 22, 10
    legend_rows = (len(names) + 2) // 3
    height = 10 + len(shown) * (bar_h + gap) + 10 + legend_rows * 20
    parts = [
        f'<svg class="chart" role="img" aria-label="支出功能分类结构" viewBox="0 0 {label_w + bar_w + 10} {height}" '
        f'width="{label_w + bar_w + 10}" height="{height}">'
    ]
    y = 10
    for f in shown:
        total = sum(m for _, _, m in f.classes)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 6}" text-anchor="end" font-size="13">{escape(f.name)}</text>'
        )
        x = float(label_w)
        for code, name, micros in f.classes:
            width = bar_w * micros / total
            share = f"{(Decimal(100 * micros) / total).quantize(Decimal('0.1'))}%"
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{bar_h}" fill="{colour[code]}">'
                f"<title>{escape(code)} {escape(name)} {_amount(micros)} {escape(f.unit)} ({share})</title></rect>"
            )
            if width > 44:
                parts.append(
                    f'<text x="{x + width / 2:.1f}" y="{y + bar_h - 7}" text-anchor="middle" font-size="11" '
                    f'fill="#fff">{share}</text>'
                )
            x += width
        y += bar_h + gap
    y += 6
    for n, code in enumerate(sorted(names)):
        lx, ly = label_w + (n % 3) * (bar_w // 3), y + (n // 3) * 20
        parts.append(
            f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{colour[code]}"/>'
            f'<text x="{lx + 16}" y="{ly + 11}" font-size="12">{escape(code)} {escape(names[code])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
