"""Broken infrastructure and unreadable input, as typed exceptions. Findings about a document are not exceptions.

BudgetwatchError
├── DocumentError            a document could not be read at all (names the document and the reason)
│   └── UnsupportedFormat    the bytes are not a format budgetwatch reads
└── LayoutError              a table's layout does not fit its template (names the table and the place)
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
