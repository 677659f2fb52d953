"""Scanned pages read by OCR: a ruled table's cells rebuilt from the rules drawn in the image and the recognised text.

The engine is rapidocr on onnxruntime (its models ship in the wheel, nothing is downloaded). The grid comes from the
picture itself: horizontal rules split the page into bands, and in each band the vertical rules that cross it from
rule to rule separate its cells, so a merged cell is one cell, as in a PDF's ruled table. On a page with such cells the
text is found from the ink between the rules and only recognised (the text detector, some 40 % of a page's time, is
not run), each piece at its own width rather than padded to the recogniser's 320 px, and again padded where that first
reading is not sure; a page without them (narrative, a cover) goes through detection and recognition as a whole. Each
recognised piece of text goes to the cell holding its centre. A row becomes a tab-separated line, and the text around
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


# no text-direction classifier: table pages are upright, and it turned a lone 9 into 6 at confidence 1.0
_PARAMS = {"Global.log_level": "error", "Global.use_cls": False}

PIECE_WIDTH = 96  # px: the narrowest input of the recogniser for a piece of text between rules (its height is 48)
SURE = 0.99  # a piece recognised at its own width with a lower score is recognised again as the recogniser was trained


@cache
def _engine(width: int = 320):
    """The detector and the recogniser; the recogniser pads every input to at least `width` px wide (48 high), 320 as
    it was trained."""
    from rapidocr import RapidOCR  # noqa: PLC0415 - loaded with the first picture page

    return RapidOCR(params={**_PARAMS, "Rec.rec_img_shape": [3, 48, width]})


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


LINE_GAP = 4  # px: inked rows closer than this belong to one line of text
PIECE_GAP = 1.0  # a gap wider than this many line heights parts two pieces of text on one line
PAD = 0.25  # a piece is cut out with this share of its height around it, as the detector's boxes have
TEXT_SCORE = 0.5  # recognitions below this score are dropped, as the recogniser's own pipeline drops them


def _pieces(ink: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int, int, int]]:
    """Pieces of text inside a box of the page: runs of inked rows make lines, and each line is cut where a gap
    wider than its height parts it (as in 部门：…  单位：万元)."""
    inner = ink[y0:y1, x0:x1]
    if inner.size == 0:
        return []
    rows = []
    for start, end in _runs(inner.any(axis=1)):
        if rows and start - rows[-1][1] < LINE_GAP:
            rows[-1] = (rows[-1][0], end)
        else:
            rows.append((start, end))
    out = []
    for top, bottom in rows:
        height = bottom - top
        piece: list[int] = []
        for start, end in _runs(inner[top:bottom].any(axis=0)):
            if piece and start - piece[1] > PIECE_GAP * height:
                out.append((x0 + piece[0], y0 + top, x0 + piece[1], y0 + bottom))
                piece = []
            piece = [piece[0] if piece else start, end]
        if piece:
            out.append((x0 + piece[0], y0 + top, x0 + piece[1], y0 + bottom))
    return out


def _recognise_pieces(gray: np.ndarray, pieces: list[tuple[int, int, int, int]]) -> list[_Box]:
    """The recogniser alone on each piece, cut out with a margin: where the rules already say where the text is,
    the detector (some 40 % of a page's time) is not needed."""
    if not pieces:
        return []
    height, width = gray.shape
    crops = []
    for x0, y0, x1, y1 in pieces:
        pad = max(2, round(PAD * (y1 - y0)))
        crop = gray[max(0, y0 - pad) : min(height, y1 + pad), max(0, x0 - pad) : min(width, x1 + pad)]
        crops.append(np.ascontiguousarray(np.stack([crop] * 3, axis=-1)))
    texts, scores = _recognised(crops)
    out = []
    for (x0, y0, x1, y1), text, score in zip(pieces, texts, scores, strict=True):
        if text.strip() and score >= TEXT_SCORE:
            out.append(_Box(_text(text), float(score), x0, y0, x1, y1))
    return out


def _recognised(crops: list[np.ndarray]) -> tuple[list[str], list[float]]:
    """Text and score of each crop, a crop identical in every pixel to another recognised once (a page drawn by
    software repeats its 0.00 cells exactly)."""
    index: dict[tuple, int] = {}
    unique: list[np.ndarray] = []
    where = []
    for crop in crops:
        key = (crop.shape, crop.tobytes())
        if key not in index:
            index[key] = len(unique)
            unique.append(crop)
        where.append(index[key])
    texts, scores = _recognised_once(unique)
    return [texts[k] for k in where], [scores[k] for k in where]


def _recognised_once(crops: list[np.ndarray]) -> tuple[list[str], list[float]]:
    """Text and score of each crop: recognised at its own width, and again padded as in training where the first
    reading is not sure. The pieces between a table's rules are mostly short amounts, and padding each to 320 px was
    most of a page's time; narrow inputs read the same cells of clean scans at 0.6× the time, and a few more
    misreadings of degraded ones, all with lower scores: the second reading is the one kept."""
    result = _engine(PIECE_WIDTH).recognize_txt(crops)
    texts, scores = list(result.txts), [float(score) for score in result.scores]
    again = [k for k, score in enumerate(scores) if score < SURE]
    if again:
        second = _engine().recognize_txt([crops[k] for k in again])
        for k, text, score in zip(again, second.txts, second.scores, strict=True):
            texts[k], scores[k] = text, float(score)
    return texts, scores


def _row_pieces(ink: np.ndarray, top: int, bottom: int, seps: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """The pieces of text in one row of a table, cell by cell, and beside the table; text running over a rule (a long
    code in a narrow column, or past the table's border) is one piece, as the detector would see it, and goes to the
    cell holding its centre."""
    edge = 1  # px kept off the rules, whose anti-aliased edges are grey
    bounds = [(0, 0), *seps, (ink.shape[1], ink.shape[1])]  # the page's edges stand for rules beside the table
    cells = [
        _pieces(ink, left + edge, top + edge, right - edge, bottom - edge)
        for (_, left), (right, _) in itertools.pairwise(bounds)
    ]
    out: list[tuple[int, int, int, int]] = []
    for k, pieces in enumerate(cells):
        rule = bounds[k]  # the rule on this cell's left
        for found in pieces:
            piece = found
            crossing = [i for i, prev in enumerate(out) if _across(prev, piece, rule, edge + 2)]
            if crossing:
                prev = out.pop(crossing[-1])
                piece = (prev[0], min(prev[1], piece[1]), piece[2], max(prev[3], piece[3]))
            out.append(piece)
    return out


def _across(left: tuple, right: tuple, rule: tuple[int, int], reach: int) -> bool:
    """Two pieces touching a rule from either side on the same line: one text running over the rule."""
    return left[2] >= rule[0] - reach and right[0] <= rule[1] + reach and left[1] < right[3] and right[1] < left[3]


def _grid_boxes(gray: np.ndarray, ink: np.ndarray, tables: list[list[tuple[int, int, list]]]) -> list[_Box]:
    """Text of a page with ruled tables: each row's pieces, and the pieces above, between and below the tables."""
    pieces = []
    for table in tables:
        for top, bottom, seps in table:
            pieces += _row_pieces(ink, top, bottom, seps)
    spans = [(table[0][0] - RULE_GAP, table[-1][1] + RULE_GAP) for table in tables]
    starts = [0] + [bottom for _, bottom in spans]
    ends = [top for top, _ in spans] + [ink.shape[0]]
    for top, bottom in zip(starts, ends, strict=True):
        pieces += _pieces(ink, 0, max(0, top), ink.shape[1], bottom)
    return _recognise_pieces(gray, pieces)


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
    bands: list[tuple[int, int, list[tuple[int, int]]]] = []
    for (_, a_end), (b_start, _) in itertools.pairwise(rules):
        separators = _band_separators(ink, a_end, b_start)
        if len(separators) >= 2:
            bands.append((a_end, b_start, separators))
    tables = _tables(bands)
    # a page without ruled cells (narrative, a cover) is read by the detector and recogniser as a whole
    boxes = _grid_boxes(gray, ink, tables) if tables else _recognise(gray)
    lines: list[OcrLine] = []
    used: set[int] = set()
    tolerance = 0.005 * gray.shape[1]
    for table in tables:
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
