"""An error is certain only when the values it compares were read where the document printed them.

A table whose reading placed some values by guess (a text layer that dropped blank cells, a header that does not name
the columns its rows print) cannot ground an error: a finding that points into such a table is reported as a warning
that says why, so a steward is not sent after a misreading.
"""

from __future__ import annotations

from budgetwatch.model import Extraction, Finding, Severity

UNCERTAIN_MARK = "（读表存疑，不作错误："


def guessed_tables(extraction: Extraction) -> dict[str, list[str]]:
    """table id → why the place of some of its values is a guess."""
    out: dict[str, list[str]] = {}
    for t in extraction.tables:
        if t.guessed:
            out.setdefault(t.table_id, []).extend(t.guessed)
    return out


def downgrade_guessed(findings: list[Finding], extraction: Extraction) -> list[Finding]:
    """The findings, each error that points into a guessed table made a warning naming the guess."""
    guessed = guessed_tables(extraction)
    if not guessed:
        return findings
    for f in findings:
        if f.severity != Severity.ERROR:
            continue
        hit = sorted({loc.table_id for loc in f.locations if loc.table_id in guessed})
        if hit:
            why = "；".join(f"{t}: {'; '.join(dict.fromkeys(guessed[t]))}" for t in hit)
            f.severity = Severity.WARNING
            said, sep, english = f.message.partition(" | ")
            f.message = f"{said}{UNCERTAIN_MARK}{why}）{sep}{english}"
    return findings
