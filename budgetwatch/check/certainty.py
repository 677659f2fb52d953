"""An error is certain only when the values it compares were read where the document printed them.

A table whose reading placed some values by guess (a text layer that dropped blank cells, a header that does not name
the columns its rows print) cannot ground an error: a finding that points into such a table is reported as a warning
that says why, so a steward is not sent after a misreading. One guess leaves errors standing: which whole columns the
values of every row stand in, when it is the same for every row. A sum within the table (a 类 against its 款 down a
column, a 合计 against every other column of its row) then holds or fails whatever the true columns are.
"""

from __future__ import annotations

from budgetwatch.check.rules import Rule, rules
from budgetwatch.model import Extraction, Finding, Severity, Table

UNCERTAIN_MARK = "（读表存疑，不作错误："
_DOWN_A_COLUMN = ("hierarchy", "rows_sum")


def _stands(rule: Rule | None, table: Table, tables_hit: set[str]) -> bool:
    """True when the finding is a sum within this one table that no choice of its columns can change."""
    if rule is None or table.guessed or tables_hit != {table.table_id}:
        return False
    if rule.relation in _DOWN_A_COLUMN:
        return True
    if rule.relation == "columns_sum" and isinstance(rule.parts, tuple):
        summed = {rule.total, *(p.lstrip("-") for p in rule.parts)}
        return set(table.columns) <= summed and table.columns[:1] == [rule.total]
    return False


def _reasons(table: Table) -> str:
    return "; ".join(dict.fromkeys([*table.guessed, *table.placed_by_order]))


def downgrade_guessed(findings: list[Finding], extraction: Extraction) -> list[Finding]:
    """The findings, each error that a guessed reading could have caused made a warning naming the guess."""
    uncertain = {t.table_id: t for t in extraction.tables if t.guessed or t.placed_by_order}
    if not uncertain:
        return findings
    by_id = {r.id: r for r in rules()}
    for f in findings:
        if f.severity != Severity.ERROR:
            continue
        tables_hit = {loc.table_id for loc in f.locations if loc.table_id}
        hit = sorted(t for t in tables_hit if t in uncertain)
        if not hit or (len(hit) == 1 and _stands(by_id.get(f.check_id), uncertain[hit[0]], tables_hit)):
            continue
        why = "；".join(f"{t}: {_reasons(uncertain[t])}" for t in hit)
        said, sep, english = f.message.partition(" | ")
        f.severity = Severity.WARNING
        f.message = f"{said}{UNCERTAIN_MARK}{why}）{sep}{english}"
    return findings
