"""Parsing printed numbers into exact integers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from budgetwatch.model import MICROS

# A printed amount: digits with optional thousands separators, inner spaces (glyph-by-glyph PDFs) and decimals.
_AMOUNT = re.compile(r"^[-−]?\s*\d{1,3}(?:\s*[,，]\s*\d{3})*(?:\s*\.\s*\d+)?$|^[-−]?\d+(?:\s*\.\s*\d+)?$")
_PERCENT = re.compile(r"^[-−]?\d+(?:\.\d+)?\s*[%％]$")


def is_amount(text: str) -> bool:
    """True when the text is a printed amount such as ``1,961.18``, ``2, 031. 52`` or ``0.00``."""
    return bool(_AMOUNT.match(text.strip()))


def is_percent(text: str) -> bool:
    return bool(_PERCENT.match(text.strip()))


def parse_amount(text: str) -> tuple[int, int]:
    """Return (micros, decimals) of a printed number; raises ValueError when it is not one."""
    cleaned = re.sub(r"[\s,，%％]", "", text).replace("−", "-")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    decimals = len(cleaned.split(".", 1)[1]) if "." in cleaned else 0
    micros = value * MICROS
    if micros != micros.to_integral_value():
        raise ValueError(f"more than 6 decimals: {text!r}")
    return int(micros), decimals
