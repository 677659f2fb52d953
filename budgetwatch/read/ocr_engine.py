"""Whether scanned pages can be read: the OCR engine, and what it gives back for a page.

The engine (rapidocr on onnxruntime, models in the wheel; part of the default install) is looked up, not imported, so
documents without images never pay for it; `budgetwatch.read.ocr_grid` does the reading."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

ENGINE = "rapidocr"
LOW_CONFIDENCE = 0.9  # an amount recognised with a lower score is reported for a look at the page


@dataclass(slots=True)
class OcrLine:
    """A line of a page: plain text, or a table row with its cells tab-separated."""

    text: str
    top: float
    cells: tuple[tuple[str, float | None], ...] = ()  # each cell's text and its lowest recognition score


def available() -> bool:
    """Whether the OCR engine is installed (it is unless removed from the environment)."""
    return all(importlib.util.find_spec(name) is not None for name in (ENGINE, "onnxruntime"))
