"""How the counts of findings changed since a previous run, read from that run's check.json (or its report folder).

Documents are matched by department, district, year and kind (their file may have moved or been fetched again), and
by file name when those are unknown.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePath

from budgetwatch.errors import BudgetwatchError
from budgetwatch.report.html import KIND_ZH

DocKey = tuple[str, str, str]


class PreviousRunError(BudgetwatchError):
    """The previous run given for comparison could not be read (names the path and the reason)."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def document_key(doc: dict) -> DocKey:
    who = doc.get("department") or doc.get("district") or PurePath(doc.get("source") or "").name
    return (who, str(doc.get("fiscal_year") or ""), doc.get("kind") or "")


def load_previous(path: Path) -> dict:
    """The check report of a previous run: a check.json, or a folder holding one."""
    file = path / "check.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PreviousRunError(path, "no check.json found there") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PreviousRunError(file, f"not a readable check report ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise PreviousRunError(file, "not a check report: it has no list of documents")
    return data


@dataclass(frozen=True, slots=True)
class Counts:
    by_check: Counter[tuple[str, str]]  # (check_id, severity) → findings
    by_document: dict[DocKey, Counter[str]]  # document → severity → findings
    names: dict[DocKey, str]


def counts(report: dict) -> Counts:
    by_check: Counter[tuple[str, str]] = Counter()
    by_document: dict[DocKey, Counter[str]] = {}
    names: dict[DocKey, str] = {}
    for doc in report["documents"]:
        key = document_key(doc)
        names[key] = " ".join(x for x in (key[0], key[1], KIND_ZH.get(key[2], key[2])) if x)
        per = by_document.setdefault(key, Counter())
        for f in doc.get("findings", []):
            by_check[(f["check_id"], f["severity"])] += 1
            per[f["severity"]] += 1
    return Counts(by_check=by_check, by_document=by_document, names=names)


@dataclass(frozen=True, slots=True)
class Change:
    label: str
    errors: tuple[int, int]  # previous, now
    warnings: tuple[int, int]

    @property
    def changed(self) -> bool:
        return self.errors[0] != self.errors[1] or self.warnings[0] != self.warnings[1]


def changes(previous: dict, current: dict) -> tuple[list[Change], list[Change], list[str], list[str]]:
    """(by check, by document, documents new in this run, documents no longer in it)."""
    before, now = counts(previous), counts(current)
    checks = sorted({c for c, _ in before.by_check} | {c for c, _ in now.by_check})
    by_check = [
        Change(
            c,
            (before.by_check[(c, "error")], now.by_check[(c, "error")]),
            (before.by_check[(c, "warning")], now.by_check[(c, "warning")]),
        )
        for c in checks
    ]
    common = [k for k in now.by_document if k in before.by_document]
    by_document = [
        Change(
            now.names[k],
            (before.by_document[k]["error"], now.by_document[k]["error"]),
            (before.by_document[k]["warning"], now.by_document[k]["warning"]),
        )
        for k in common
    ]
    new = [now.names[k] for k in now.by_document if k not in before.by_document]
    gone = [before.names[k] for k in before.by_document if k not in now.by_document]
    return by_check, by_document, new, gone
