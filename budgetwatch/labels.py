"""Normalising printed labels and titles so that layout noise does not hide what they say."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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


@lru_cache(maxsize=16384)  # the same labels and code names are compared again and again
def normalise_label(text: str) -> str:
    """The comparable form of a row label: no whitespace, no numbering, no trailing colon."""
    text = strip_numbering(squeeze(text))
    return text.rstrip("：:")


_CN = "一二三四五六七八九十"
# a table's printed number where it stands before or after the title: 公开01表, 公开表一, 表1, 表1-2, 表十二, 附表1
_TABLE_NUMBER = rf"(?:公开\d{{1,2}}表|公开表[{_CN}]{{1,3}}|附?表\d{{1,2}}(?:-\d{{1,2}})?|附?表[{_CN}]{{1,3}})"
_LEADING = re.compile(
    rf"^(?:{_TABLE_NUMBER}[:、.]?|\d{{1,2}}[.、]|[{_CN}]{{1,3}}、|\([{_CN}\d]{{1,3}}\)|附件\d{{0,2}}[:、.]?)"
)
_TRAILING = re.compile(rf"(?:\({_TABLE_NUMBER}\)|{_TABLE_NUMBER}|\(续表?\)|续表)$")
_YEAR = re.compile(r"^\d{4}年度?")
# where a table's caption line goes on with its 部门 / 单位 lines (a title merged into the grid's first cell)
_CAPTION_TAIL = re.compile(r"(?:编制部门|编制单位|部门名称|单位名称|部门|单位)[:]")
_TITLE_QUOTES = re.compile(r"[“”\"'‘’「」『』《》]")


@lru_cache(maxsize=16384)  # a line is looked at as a title more than once
def title_key(text: str) -> str:
    """The comparable form of a title line: NFKC-folded, without whitespace, quotes, numbering before or after, a
    leading year, or the 部门 / 单位 caption that may follow it on the same line."""
    text = _TITLE_QUOTES.sub("", squeeze(unicodedata.normalize("NFKC", text)))
    if (tail := _CAPTION_TAIL.search(text)) and tail.start() > 0:
        text = text[: tail.start()]
    for _ in range(2):
        text = _LEADING.sub("", text)
        text = _TRAILING.sub("", text)
        text = _YEAR.sub("", text)
    return text
