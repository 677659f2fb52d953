"""Scanned pages read by OCR: a ruled table's cells rebuilt from the rules drawn in the image and the recognised text.

Optional: needs the `ocr` extra (rapidocr with onnxruntime; its models ship in the wheel, nothing is downloaded).
The grid comes from the picture itself: horizontal rules split the page into bands, and in each band the vertical
rules that cross it from rule to rule separate its cells, so a merged cell is one cell, as in a PDF's ruled table.
Each recognised text box goes to the cell holding its centre. A row becomes a tab-separated line, and the text around
the tables plain lines, so the same table readers as for any text layer turn them into canonical rows.
"""

from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from budgetwatch.read.ocr_engine import OcrLine
from budgetwatch.read.rawrows import spread

DARK = 160  # grey level below which a pixel is ink
RULE_SHARE = 0.3  # a horizontal rule's ink covers at least this share of the page width
RULE_GAP = 12  # px: bands closer than this share the rule between them (a rule is 1–4 px thick at 200–300 dpi)
CROSSING = 0.9  # a vertical rule inks at least this share of a band's height

OCR_DPI = 200  # scanned PDF pages are rendered at this resolution before recognition


@cache
def _engine():
    from rapidocr import RapidOCR  # noqa: PLC0415 - optional extra

    # no text-direction classifier: table pages are upright, and it turned a lone 9 into 6 at confidence 1.0
    return RapidOCR(params={"Global.log_level": "error", "Global.use_cls": False})


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True, end exclusive."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _horizontal_rules(ink: np.ndarray) -> list[tuple[int, int]]:
    return _runs(ink.sum(axis=1) >= RULE_SHARE * ink.shape[1])


def _band_separators(ink: np.ndarray, top: int, bottom: int) -> list[tuple[int, int]]:
    """Vertical rules crossing the band between two horizontal rules, as (start, end) x-runs."""
    inner = ink[top:bottom]
    if inner.shape[0] < 3:
        return []
    return _runs(inner.sum(axis=0) >= CROSSING * inner.shape[0])


@dataclass(slots=True)
class _Box:
    text: str
    score: float
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


_CJK = re.compile(r"[\u4e00-\u9fff]")
_FULL_WIDTH = str.maketrans({"(": "（", ")": "）", ":": "："})  # not commas: 2,031.52 keeps its own


def _text(text: str) -> str:
    """Chinese text keeps the full-width punctuation it is printed with; the recogniser mixes in half-width forms."""
    text = text.strip()
    return text.translate(_FULL_WIDTH) if _CJK.search(text) else text


def _recognise(gray: np.ndarray) -> list[_Box]:
    result = _engine()(np.stack([gray] * 3, axis=-1))
    if result.boxes is None:
        return []
    out = []
    for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        xs, ys = [p[0] for p in box], [p[1] for p in box]
        if text.strip():
            out.append(_Box(_text(text), float(score), min(xs), min(ys), max(xs), max(ys)))
    return out


def _lines(boxes: list[_Box]) -> list[list[_Box]]:
    """Boxes grouped into lines (centres less than half a box height apart), top to bottom, each left to right."""
    lines: list[list[_Box]] = []
    for box in sorted(boxes, key=lambda b: (b.cy, b.x0)):
        if lines and abs(lines[-1][-1].cy - box.cy) < (box.y1 - box.y0) / 2:
            lines[-1].append(box)
        else:
            lines.append([box])
    for line in lines:
        line.sort(key=lambda b: b.x0)
    return lines


def _join(boxes: list[_Box]) -> str:
    """Boxes of one cell in reading order; boxes on one line with a gap between them keep a space."""
    parts = []
    for line in _lines(boxes):
        text = line[0].text
        for prev, box in itertools.pairwise(line):
            gap = box.x0 - prev.x1
            text += (" " if gap > (box.y1 - box.y0) else "") + box.text
        parts.append(text)
    return "".join(parts)


def _cluster(positions: list[float], tolerance: float) -> list[float]:
    out: list[float] = []
    for x in sorted(positions):
        if not out or x - out[-1] > tolerance:
            out.append(x)
    return out


def read_page(gray: np.ndarray) -> list[OcrLine]:
    """Lines of one page image (grey levels, 0 = black), table rows tab-separated, top to bottom."""
    ink = gray < DARK
    if not ink.any():
        return []  # a blank picture: nothing to recognise
    rules = _horizontal_rules(ink)
    boxes = _recognise(gray)
    bands: list[tuple[int, int, list[tuple[int, int]]]] = []
    for (_, a_end), (b_start, _) in itertools.pairwise(rules):
        separators = _band_separators(ink, a_end, b_start)
        if len(separators) >= 2:
            bands.append((a_end, b_start, separators))
    lines: list[OcrLine] = []
    used: set[int] = set()
    tolerance = 0.005 * gray.shape[1]
    for table in _tables(bands):
        columns = _cluster([(s + e) / 2 for _, _, seps in table for s, e in seps], tolerance)
        for top, bottom, seps in table:
            cells: list[list[_Box]] = [[] for _ in columns[:-1]]
            starts = [_column_index(columns, (s + e) / 2) for s, e in seps]
            for k, box in enumerate(boxes):
                if k in used or not top <= box.cy <= bottom:
                    continue
                for (_, left), (right, _), start in zip(seps, seps[1:], starts, strict=False):
                    if left <= box.cx <= right:
                        cells[start].append(box)
                        used.add(k)
                        break
            texts = [(_join(c), min(b.score for b in c) if c else None) for c in cells]
            # a cell over several columns: the columns it covers are spread from it, as in a PDF's ruled table
            for start, end in itertools.pairwise(starts):
                if end - start > 1 and start < len(texts):
                    texts[start + 1 : end] = [(t, None) for t in spread(texts[start][0], end - start)[1:]]
            lines.append(OcrLine("\t".join(t for t, _ in texts), float(top), tuple(texts)))
    rest = [b for k, b in enumerate(boxes) if k not in used]
    lines.extend(_plain_lines(rest))
    lines.sort(key=lambda line: line.top)
    return lines


def _column_index(columns: list[float], x: float) -> int:
    return min(range(len(columns)), key=lambda k: abs(columns[k] - x))


def _tables(bands: list[tuple[int, int, list[tuple[int, int]]]]) -> list[list[tuple[int, int, list]]]:
    """Bands sharing a rule belong to one table; a gap between them starts another."""
    tables: list[list[tuple[int, int, list]]] = []
    for band in bands:
        if tables and band[0] - tables[-1][-1][1] < RULE_GAP:
            tables[-1].append(band)
        else:
            tables.append([band])
    return tables


def _plain_lines(boxes: list[_Box]) -> list[OcrLine]:
    out = []
    for group in _lines(boxes):
        out.append(
            OcrLine(
                " ".join(b.text for b in group),
                min(b.y0 for b in group),
                ((" ".join(b.text for b in group), min(b.score for b in group)),),
            )
        )
    return out


def read_image(data: bytes) -> list[OcrLine]:
    """Lines of a PNG or JPEG page."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            gray = np.asarray(image.convert("L"))
    except Image.DecompressionBombError as exc:
        raise ValueError(str(exc)) from exc
    return read_page(gray)


def read_pdf_page(pdfium_page) -> list[OcrLine]:
    """Lines of a PDF page rendered at OCR_DPI."""
    bitmap = pdfium_page.render(scale=OCR_DPI / 72, grayscale=True)
    return read_page(np.asarray(bitmap.to_pil().convert("L")))
