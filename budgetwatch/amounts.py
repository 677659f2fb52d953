"""Parsing printed numbers into exact integers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from budgetwatch.model import MICROS

# A printed amount: digits with optional thousands separators, inner spaces (glyph-by-glyph PDFs) and decimals.
_AMOUNT = re.compile(r"^[-−]?\s*\d{1,3}(?:\s*[,，]\s*\d{3})*(?:\s*\.\s*\d+)?$|^[-−]?\d+(?:\s*\.\s*\d+)?$")
_PERCENT = re.compile(r"^[-−]?\d+(?:\.\d+)?\s*[%％]$")


# amounts are held as 64-bit integers of millionths: ±9,223,372,036,854.775807 at most
MAX_MICROS = 2**63 - 1


class AmountOutOfRange(ValueError):
    """A printed number beyond what an amount can be (and what the dataset's 64-bit columns hold)."""


def is_amount(text: str) -> bool:
    """True when the text is a printed amount such as ``1,961.18``, ``2, 031. 52`` or ``0.00`` (and within range)."""
    text = text.strip()
    if not _AMOUNT.match(text):
        return False
    whole = text.split(".", 1)[0]
    if sum(c.isdigit() for c in whole) < 13:
        return True
    try:
        parse_amount(text)
    except ValueError:
        return False
    return True


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
    if not value.is_finite() or value.adjusted() > 18:
        raise AmountOutOfRange(f"not an amount budgetwatch can hold: {text[:40]!r}")
    micros = value * MICROS
    if micros != micros.to_integral_value():
        raise ValueError(f"more than 6 decimals: {text!r}")
    if abs(micros) > MAX_MICROS:
        raise AmountOutOfRange(f"beyond ±{MAX_MICROS // 10**6:,}: {text[:40]!r}")
    return int(micros), decimals
