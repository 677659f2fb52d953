"""Reading a table from a layout text layer: cells apart by spaces, names and vertical headers broken over lines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from budgetwatch.amounts import is_amount, is_percent
from budgetwatch.labels import normalise_label, squeeze
from budgetwatch.read.catalogue import SideSpec, TableSpec
from budgetwatch.read.codes import function_class_by_name
from budgetwatch.read.layout_lines import prints_code_levels, unglued, without_repeated_headers
from budgetwatch.read.locate import Span
from budgetwatch.read.placement import column_order
from budgetwatch.read.rawrows import (
    ECONOMIC_CODE,
    FUNCTION_CODE,
    LayoutError,
    RawCell,
    RawRow,
    RawTable,
    is_empty_statement,
)

_NUMBERING_START = re.compile(r"^(?:[（(][一二三四五六七八九十廿]+[)）]|[一二三四五六七八九十廿]+、)")
_BROKEN_ZERO_HEAD = re.compile(r"^\d[\d,]*\.\d?$")
_BROKEN_ZERO_TAIL = re.compile(r"^\d{1,2}$")
_PROJECT_CODE = re.compile(r"^[0-9A-Z]{2,}$")
_UNIT_WORDS = {"万元", "元", "万", "千元"}


def _body_lines(lines: list[str], span: Span) -> list[tuple[int, str]]:
    """Non-empty lines after the title, metadata dropped, glued cells set apart, split codes joined, a value broken
    as ``0.0`` / ``0`` joined again."""
    out: list[tuple[int, str]] = []
    code_levels = prints_code_levels(lines[span.title_line + 1 : span.end])
    for i in range(span.title_line + 1, span.end):
        text = unglued(lines[i].strip(), code_levels)
        if not text or i in span.header_lines:
            continue
        if text in _UNIT_WORDS and out == [] and span.unit_line:
            continue
        if out and _BROKEN_ZERO_TAIL.match(text) and _BROKEN_ZERO_HEAD.match(out[-1][1].split()[-1]):
            _j, prev = out[-1]
            out[-1] = (i, prev + text)
            continue
        out.append((i, text))
    return out


def _amount_token(token: str, first: bool, line_has_decimal: bool) -> bool:
    if not is_amount(token):
        return False
    return "." in token or "," in token or (not first and line_has_decimal)


def _split_amounts(tokens: list[str]) -> tuple[list[str], list[str]]:
    """Leading words and trailing amounts of a line."""
    # a formatted amount on the line (decimals or thousands separators) makes its bare integers amounts too
    has_decimal = any(("." in t or "," in t) and is_amount(t) for t in tokens)
    k = len(tokens)
    while k > 0 and _amount_token(tokens[k - 1], k - 1 == 0, has_decimal):
        k -= 1
    return tokens[:k], tokens[k:]


def _data_start(body: list[tuple[int, str]], spec: TableSpec) -> int:
    for k, (_, text) in enumerate(body):
        words, amounts = _split_amounts(text.split())
        if amounts and not (len(words) == 0 and all(re.fullmatch(r"\d{1,2}", a) for a in amounts)):
            return k
        if spec.layout == "two_sided" and k > 0 and "项目" in text and re.search(r"预算数|金额|决算数", text):
            return k + 1
    return len(body)


def _collect_notes(text: str, table: RawTable) -> bool:
    if is_empty_statement(text):
        table.statement = squeeze(text)
        return True
    if text.startswith(("备注", "注：", "注:")):
        table.notes.append(text)
        return True
    return False


def _has_amounts(text: str) -> bool:
    return bool(_split_amounts(text.split())[1])


def read_layout(lines: list[str], span: Span) -> RawTable:
    """Raw rows of a layout-text table section."""
    spec = span.spec
    body = _body_lines(lines, span)
    start = _data_start(body, spec)
    table = RawTable(header_text="".join(squeeze(t) for _, t in body[:start]))
    for _, text in body[:start]:
        if is_empty_statement(text):
            table.statement = squeeze(text)
    rest = without_repeated_headers(body[:start], body[start:], _has_amounts)
    if spec.layout == "two_sided":
        table.rows = _two_sided(spec, rest, table, [t for _, t in body[:start]])
    elif spec.layout == "funding":
        table.rows = _funding(spec, body, table)
    elif spec.layout == "project_detail":
        table.rows = _project_detail(spec, body, table)
    elif spec.layout == "groups":
        table.rows = _group_rows(spec, rest, table)
    else:
        table.rows = _coded_rows(spec, rest, table, [t for _, t in body[:start]])
    table.column_headers = _printed_columns(spec, table)
    return table


def _printed_columns(spec: TableSpec, table: RawTable) -> dict[str, str]:
    """The columns the header names or that hold a value in some row: a template column neither names nor fills was
    not printed (a text layer drops blank cells), so rules over it do not apply."""
    holding = {key for row in table.rows for cell in row.cells if cell.raw for key in cell.columns}
    named = {c.key for c in spec.all_columns() if any(label in table.header_text for label in c.labels)}
    return {c.key: c.header for c in spec.all_columns() if c.key in holding | named}


_PERSONNEL_CLASSES = ("301", "303")


def _group_rows(spec: TableSpec, rest: list[tuple[int, str]], table: RawTable) -> list[RawRow]:
    """(code, name, amount) groups side by side on one line (基本支出明细表): split at every economic code."""
    col = spec.columns[0]
    footers = {f.label for f in spec.footer_rows}
    per_group: dict[str, list[RawRow]] = {"personnel": [], "public": []}
    footer_rows: list[RawRow] = []
    for i, text in rest:
        if _collect_notes(text, table):
            continue
        entry: dict | None = None
        entries: list[dict] = []
        for token in text.split():
            if ECONOMIC_CODE.match(token) or token in footers:
                entry = {
                    "code": token if token not in footers else None,
                    "words": [],
                    "amount": "",
                    "footer": token in footers,
                }
                if entry["footer"]:
                    entry["words"].append(token)
                entries.append(entry)
            elif entry is not None and is_amount(token) and not entry["amount"]:
                entry["amount"] = token
            elif _amount_token(token, False, False):
                table.guessed.append(f"a value at line {i + 1} follows no code of its own: {token}")
            elif entry is not None:
                entry["words"].append(token)
        for e in entries:
            cell = [RawCell((col.key,), e["amount"], col.header)]
            label = "".join(e["words"])
            if e["footer"]:
                footer_rows.append(RawRow(label=label, cells=cell, line=i))
                continue
            group = "personnel" if e["code"][:3] in _PERSONNEL_CLASSES else "public"
            per_group[group].append(RawRow(label=label, cells=cell, line=i, code=e["code"], group=group))
    return per_group["personnel"] + per_group["public"] + footer_rows


def _code_pattern(spec: TableSpec) -> re.Pattern[str]:
    return {"economic": ECONOMIC_CODE, "units": re.compile(r"^\d{3,}$"), "projects": _PROJECT_CODE}.get(
        spec.layout, FUNCTION_CODE
    )


@dataclass(slots=True)
class _Gathered:
    """A row's code, name and values as printed, before the values are placed in columns."""

    label: str
    code: str | None
    group: str | None
    line: int
    amounts: list[str]


def _coded_rows(spec: TableSpec, rest: list[tuple[int, str]], table: RawTable, header_lines: list[str]) -> list[RawRow]:
    """Rows of code + name + amounts, where a name or code may wrap over several lines."""
    return _place_values(spec, _gathered_rows(spec, rest, table), table, header_lines)


def _gathered_rows(spec: TableSpec, rest: list[tuple[int, str]], table: RawTable) -> list[_Gathered]:
    code_re = _code_pattern(spec)
    projects = spec.layout == "projects"
    rows: list[_Gathered] = []
    code: str | None = None
    words: list[str] = []
    for i, text in rest:
        if _collect_notes(text, table):
            continue
        lead, amounts = _split_amounts(text.split())
        if not code and lead and code_re.match(lead[0]) and (not words or not projects):
            if words and rows and len(lead) > 1:
                # the line before a code that prints its own name is the end of the previous row's wrapped name
                rows[-1].label += "".join(words)
                words = []
            code, lead = lead[0], lead[1:]
        elif projects and code and not words and lead and _PROJECT_CODE.match(lead[0]):
            code, lead = code + lead[0], lead[1:]  # a project code broken over two lines
        if lead:
            words.append("".join(lead) if not projects else " ".join(lead))
        if not amounts:
            continue
        if not code and not words and rows and len(rows[-1].amounts) < len(spec.columns):
            rows[-1].amounts.extend(amounts)  # the row's values go on
            rows[-1].line = i
            continue
        label, unit = ("".join(words), None) if not projects else _project_name_and_unit(words)
        rows.append(_Gathered(label, code, unit, i, list(amounts)))
        code, words = None, []
    if code or words:
        table.notes.append(f"text after the last row has no amounts: {code or ''} {' '.join(words)}".strip())
    return rows


def _place_values(spec: TableSpec, gathered: list[_Gathered], table: RawTable, header: list[str]) -> list[RawRow]:
    """Each row's values in the columns the header says they stand in (see `budgetwatch.read.placement`)."""
    for g in gathered:
        if len(g.amounts) > len(spec.columns):
            raise LayoutError(
                f"{spec.id} {spec.title}: a row at line {g.line + 1} has {len(g.amounts)} values, "
                f"the template has {len(spec.columns)} columns"
            )
    counts = {len(g.amounts) for g in gathered}
    widest = max(counts, default=0)
    columns, guess = column_order(spec.columns, header, widest)
    if guess:
        table.placed_by_order.append(guess)
    rows = [RawRow(g.label, _cells(columns, g.amounts, 0), g.line, code=g.code, group=g.group) for g in gathered]
    if len(counts) > 1 and widest > 2:
        # rows print differing numbers of values: blanks were dropped, so after the first value (the row total) a
        # shorter row's values cannot be placed; they keep every column they may belong to
        keys = tuple(c.key for c in columns[1:widest])
        for row in rows:
            if 2 <= len(row.cells) < widest:
                row.cells[1:] = [RawCell(keys, c.raw, c.header) for c in row.cells[1:]]
        table.notes.append(
            f"rows print {'/'.join(map(str, sorted(counts)))} values: blanks were dropped, so the values after the "
            f"total of the shorter rows keep the keys {'|'.join(keys)}"
        )
    short = {len(r.cells) for r in rows if len(r.cells) < len(columns)}
    if short:
        table.notes.append(
            f"rows print {'/'.join(map(str, sorted(short)))} of {len(columns)} values; "
            "the rest are taken as blank, in the order the header names the columns"
        )
    return rows


def _project_name_and_unit(fragments: list[str]) -> tuple[str, str | None]:
    """A project row prints its name, then the 项目单位 (often wrapped): the first fragment is the name."""
    if len(fragments) <= 1:
        parts = (fragments[0] if fragments else "").split(" ", 1)
        return parts[0], (parts[1] if len(parts) > 1 else None)
    return fragments[0], "".join(fragments[1:]) or None


def _cells(columns, amounts: list[str], offset: int) -> list[RawCell]:
    return [
        RawCell((columns[offset + k].key,), raw, columns[offset + k].header)
        for k, raw in enumerate(amounts)
        if offset + k < len(columns)
    ] + [RawCell(("?",), raw) for raw in amounts[len(columns) - offset :]]


def _known_label(spec: TableSpec, label: str) -> bool:
    """True when the label is, exactly, a fixed row of the table or a function class name."""
    norm = normalise_label(label)
    if any(row.matches(norm) for side in spec.sides for row in side.rows):
        return True
    return function_class_by_name(norm, exact=True) is not None


def _two_sided(spec: TableSpec, rest: list[tuple[int, str]], table: RawTable, header: list[str]) -> list[RawRow]:
    """Label/amount pairs of a 收入 | 支出 table laid out as text, assigned to their side by what they say."""
    income, expenditure = spec.side("income"), spec.side("expenditure")
    rows: list[RawRow] = []
    cursor = {"income": 0, "expenditure": 0}
    for entry in _two_sided_entries(spec, rest, table):
        if not entry["label"]:
            if entry["amounts"]:
                table.notes.append(f"amounts without a label at line {entry['line'] + 1}: {' '.join(entry['amounts'])}")
                table.guessed.append(f"values without a label at line {entry['line'] + 1}")
            continue
        side = _side_of(entry["label"], income, expenditure, cursor)
        if side is None:
            table.notes.append(f"label not in the template: {entry['label']} (line {entry['line'] + 1})")
            if entry["amounts"]:
                table.guessed.append(f"a row the template does not name, with values, left out: {entry['label']}")
            continue
        columns = list((income if side == "income" else expenditure).columns)
        if len(entry["amounts"]) > 1:
            columns, guess = column_order(columns, header, len(entry["amounts"]))
            if guess and guess not in table.guessed:
                table.guessed.append(guess)
        cells = (
            _cells(columns, entry["amounts"], 0)
            if entry["amounts"]
            else [RawCell((columns[0].key,), "", columns[0].header)]
        )
        rows.append(RawRow(label=entry["label"], cells=cells, line=entry["line"], side=side, line_no=entry["line_no"]))
    return rows


def _two_sided_entries(spec: TableSpec, rest: list[tuple[int, str]], table: RawTable) -> list[dict]:
    """Each label with the amounts after it, in reading order.

    Where the header has 行次, a bare one- or two-digit number after a label (or alone) is a line number."""
    line_numbers = "行次" in table.header_text or "行" in table.header_text
    entries: list[dict] = []
    for i, text in rest:
        if _collect_notes(text, table):
            continue
        for token in text.split():
            last = entries[-1] if entries else None
            if line_numbers and re.fullmatch(r"\d{1,2}", token):
                if last is not None and last["line_no"] is None and not last["amounts"] and last["label"]:
                    last["line_no"] = int(token)
                else:
                    entries.append({"label": "", "amounts": [], "line": i, "line_no": int(token)})
                continue
            if _amount_token(token, False, True) and last is not None:
                last["amounts"].append(token)
                last["line"] = i
                continue
            continues = (
                last is not None
                and not last["amounts"]
                and last["line_no"] is None
                and last["label"]
                and not _NUMBERING_START.match(token)
                and not _known_label(spec, token)
                and not _known_label(spec, last["label"])
            )
            if continues:
                last["label"] += token
                last["line"] = i
            else:
                entries.append({"label": token, "amounts": [], "line": i, "line_no": None})
    return entries


def _side_of(label: str, income: SideSpec, expenditure: SideSpec, cursor: dict[str, int]) -> str | None:
    norm = normalise_label(label)
    for side in (income, expenditure):
        for k in range(cursor[side.name], len(side.rows)):
            if side.rows[k].matches(norm):
                cursor[side.name] = k + 1
                return side.name
    if function_class_by_name(norm) is not None:
        return "expenditure"
    return None


def _funding(spec: TableSpec, body: list[tuple[int, str]], table: RawTable) -> list[RawRow]:
    """The 资金情况 block of the 整体支出绩效目标表: fixed rows with amount, share and the two previous years."""
    rows: list[RawRow] = []
    expected = list(spec.fixed_rows)
    by_key = {c.key: c for c in spec.columns}
    for i, text in body:
        if not expected:
            break
        tokens = text.split()
        if not tokens or not expected[0].matches(normalise_label(tokens[0])):
            continue
        row_spec = expected.pop(0)
        values = tokens[1:]
        cells: list[RawCell] = []
        pct = next((k for k, t in enumerate(values) if is_percent(t)), None)
        if pct is None:
            raise LayoutError(f"{spec.id} {spec.title}: no share in row {row_spec.label} (line {i + 1})")
        before, after = values[:pct], values[pct + 1 :]
        if before:
            cells.append(RawCell(("amount",), before[-1], by_key["amount"].header))
        cells.append(RawCell(("share",), values[pct], by_key["share"].header))
        for key, raw in zip(("year_minus_2", "year_minus_1"), after, strict=False):
            cells.append(RawCell((key,), raw, by_key[key].header))
        rows.append(RawRow(label=tokens[0], cells=cells, line=i, group=row_spec.block))
    if expected:
        table.notes.append("资金情况 rows not found: " + "、".join(r.label for r in expected))
    return rows


def _project_detail(spec: TableSpec, body: list[tuple[int, str]], table: RawTable) -> list[RawRow]:
    """The 项目支出明细 list of a 项目支出绩效目标表 (合计 and numbered items with amounts)."""
    rows: list[RawRow] = []
    inside = False
    col = spec.columns[0]
    for i, text in body:
        flat = squeeze(text)
        if flat.startswith("项目名称") and not table.header_text.startswith("项目名称"):
            table.header_text = flat
        if flat.startswith("项目支出明细"):
            inside = True
            continue
        if not inside:
            continue
        if flat.startswith("项目绩效"):
            break
        tokens = text.split()
        raw = tokens[-1] if len(tokens) > 1 and is_amount(tokens[-1]) else ""
        label = "".join(tokens[:-1] if raw else tokens)
        if label:
            rows.append(RawRow(label=label, cells=[RawCell((col.key,), raw, col.header)], line=i))
    return rows
