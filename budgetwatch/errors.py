"""Broken infrastructure and unreadable input, as typed exceptions. Findings about a document are not exceptions.

BudgetwatchError
├── DocumentError            a document could not be read at all (names the document and the reason)
│   └── UnsupportedFormat    the bytes are not a format budgetwatch reads
├── LayoutError              a table's layout does not fit its template (names the table and the place)
└── RunIncomplete            a run finished with failed stages (publishing, delivery), each named
"""

from __future__ import annotations


class BudgetwatchError(Exception):
    """Base of every error budgetwatch raises on purpose."""


class DocumentError(BudgetwatchError):
    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class UnsupportedFormat(DocumentError):
    pass


class LayoutError(BudgetwatchError, ValueError):
    """A table whose layout could not be mapped onto its template."""


class RunIncomplete(BudgetwatchError):
    """A run did what it could but some stage failed (publishing or delivery); lists every failure."""

    def __init__(self, failures: list[str]):
        super().__init__(f"{len(failures)} stage(s) failed: " + "; ".join(failures))
        self.failures = failures
