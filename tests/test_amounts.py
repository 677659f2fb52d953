"""Printed numbers become exact integers; nothing passes through a float."""

from __future__ import annotations

import pytest

from budgetwatch.amounts import is_amount, is_percent, parse_amount
from budgetwatch.model import format_micros, micros_to_decimal


@pytest.mark.parametrize(
    ("printed", "micros", "decimals"),
    [
        ("2, 031. 52", 2_031_520_000, 2),  # glyph-by-glyph PDF text
        ("1,961.18", 1_961_180_000, 2),
        ("0.00", 0, 2),
        ("98.615", 98_615_000, 3),
        ("17", 17_000_000, 0),
        ("100.00%", 100_000_000, 2),
        ("-4,959.23", -4_959_230_000, 2),
    ],
)
def test_printed_numbers_parse_exactly(printed, micros, decimals):
    assert parse_amount(printed) == (micros, decimals)


def test_float_trap_values_stay_exact():
    # 0.1 + 0.2 style traps: sums of parsed values are exact integers
    parts = [parse_amount(x)[0] for x in ("0.10", "0.20", "1,573.79", "457.73")]
    assert sum(parts) == parse_amount("2,031.82")[0]


@pytest.mark.parametrize("text", ["2024年", "行政运行", "", "1.2.3", "12-1"])
def test_words_are_not_amounts(text):
    assert not is_amount(text)


def test_percent_is_recognised_apart_from_amounts():
    assert is_percent("83.70%") and is_percent("100％")
    assert not is_amount("83.70%")


def test_more_than_six_decimals_is_refused():
    with pytest.raises(ValueError, match="more than 6 decimals"):
        parse_amount("1.1234567")


def test_formatting_keeps_printed_precision_and_extra_digits():
    assert format_micros(2_031_520_000) == "2031.52"
    assert format_micros(98_615_000) == "98.615"
    assert format_micros(0) == "0.00"
    assert format_micros(None) == ""
    assert str(micros_to_decimal(-10_000)) == "-0.01"
