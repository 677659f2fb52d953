"""Normalising printed labels and titles so that layout noise does not hide what they say."""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s+")
_NUMBERING = re.compile(
    r"^(?:[（(][一二三四五六七八九十廿]+[)）]|[一二三四五六七八九十廿]+[、.．]|\d+(?:\.\d+)*[、.．](?!\d)|[（(]\d+[)）]|[⑴-⒇])"
)
_QUOTES = re.compile(r"[“”\"'‘’「」]")


def squeeze(text: str) -> str:
    """Remove every kind of whitespace."""
    return _SPACE.sub("", text)


def strip_numbering(text: str) -> str:
    """Drop a leading numbering prefix such as 一、 （一） (1) 1. 1、."""
    return _NUMBERING.sub("", text, count=1)


def normalise_label(text: str) -> str:
    """The comparable form of a row label: no whitespace, no numbering, no trailing colon."""
    text = strip_numbering(squeeze(text))
    return text.rstrip("：:")


def normalise_title(text: str) -> str:
    """The comparable form of a table title: no whitespace, quotes, year prefix, numbering or table number."""
    text = _QUOTES.sub("", squeeze(text))
    text = strip_numbering(text)
    text = re.sub(r"^\d{4}年度?", "", text)
    text = re.sub(r"^[（(][^）)]*[)）]", "", text)  # (汇总)
    return text.replace("（", "(").replace("）", ")")
