"""A PDF page's characters and drawn paths read with PDFium, in the form pdfplumber's own parser gives them.

pdfplumber finds ruled tables from a page's characters and rules; its parser (pdfminer, pure Python) takes 20–90 ms a
page of a real report, most of the reading time. PDFium, in C++, reads the same page in a few milliseconds. The
objects are built here as pdfminer builds them — a character's box from its origin, font size, font descent and
advance, transformed by its text matrix and the page's rotation; a path split into subpaths and classed as a line, a
rectangle or a curve by the same rules — so pdfplumber's table finder and text extraction run on them unchanged.
Coordinates are rounded to 1/1000 point: PDFium keeps them in single precision, and rounding gives back the decimal
positions the file states, so characters exactly a tolerance apart are judged as pdfminer judges them.

A page this cannot describe as pdfminer would (text set at an angle other than a multiple of 90°) raises
`Unsupported`; the reader then parses that page with pdfplumber itself.
"""

from __future__ import annotations

import ctypes
from functools import cache, lru_cache

import pypdfium2.raw as pdfium_c
from pdfplumber.page import Page

Matrix = tuple[float, float, float, float, float, float]

_DIGITS = 3  # decimals kept of every coordinate
_INSERTED = {0x20, 0x0A, 0x0D}  # what PDFium inserts between words and lines (flagged as generated)


class Unsupported(Exception):
    """The page holds something this module does not describe as pdfminer would."""


def _mul(first: Matrix, then: Matrix) -> Matrix:
    """The matrix applying `first`, then `then` (pdfminer's mult_matrix(first, then))."""
    a1, b1, c1, d1, e1, f1 = first
    a0, b0, c0, d0, e0, f0 = then
    return (
        a0 * a1 + c0 * b1,
        b0 * a1 + d0 * b1,
        a0 * c1 + c0 * d1,
        b0 * c1 + d0 * d1,
        a0 * e1 + c0 * f1 + e0,
        b0 * e1 + d0 * f1 + f0,
    )


def _page_ctm(rotation: int, mediabox: tuple[float, float, float, float]) -> Matrix:
    """pdfminer's initial transformation: the page's rotation, the media box's corner at the origin."""
    x0, y0, x1, y1 = mediabox
    return {
        90: (0, -1, 1, 0, -y0, x1),
        180: (-1, 0, 0, -1, x1, y1),
        270: (0, 1, -1, 0, y1, -x0),
    }.get(rotation, (1, 0, 0, 1, -x0, -y0))


def _typed(function, result, *arguments):
    """A PDFium call that takes and returns plain addresses (ints) where pypdfium2 makes a pointer object each time:
    the calls below are made for every character, object and path segment of a page."""
    return ctypes.CFUNCTYPE(result, *arguments)(ctypes.cast(function, ctypes.c_void_p).value)


_ADDRESS, _INT, _FLOAT = ctypes.c_void_p, ctypes.c_int, ctypes.c_float


@cache
def _char_functions() -> tuple:
    """Calls made for a page's characters and text objects: a text object or font comes back as a number to key a
    dictionary with."""
    a, i = _ADDRESS, _INT
    return (
        _typed(pdfium_c.FPDFText_GetUnicode, ctypes.c_uint, a, i),
        _typed(pdfium_c.FPDFText_IsGenerated, i, a, i),
        _typed(pdfium_c.FPDFText_GetTextObject, a, a, i),
        _typed(pdfium_c.FPDFText_GetCharOrigin, i, a, i, a, a),
        _typed(pdfium_c.FPDFText_GetLooseCharBox, i, a, i, a),
        _typed(pdfium_c.FPDFFont_GetGlyphWidth, i, a, ctypes.c_uint, _FLOAT, a),
        _typed(pdfium_c.FPDFText_GetMatrix, i, a, i, a),
        _typed(pdfium_c.FPDFText_GetFontSize, ctypes.c_double, a, i),
        _typed(pdfium_c.FPDFTextObj_GetFont, a, a),
        _typed(pdfium_c.FPDFFont_GetDescent, i, a, _FLOAT, a),
        _typed(pdfium_c.FPDFFont_GetIsEmbedded, i, a),
    )


@cache
def _object_functions() -> tuple:
    """Calls made for a page's (or form's) objects and a path's segments."""
    a, i = _ADDRESS, _INT
    return (
        _typed(pdfium_c.FPDFPage_CountObjects, i, a),
        _typed(pdfium_c.FPDFPage_GetObject, a, a, i),
        _typed(pdfium_c.FPDFFormObj_CountObjects, i, a),
        _typed(pdfium_c.FPDFFormObj_GetObject, a, a, ctypes.c_ulong),
        _typed(pdfium_c.FPDFPageObj_GetType, i, a),
        _typed(pdfium_c.FPDFPageObj_GetMatrix, i, a, a),
        _typed(pdfium_c.FPDFPath_CountSegments, i, a),
        _typed(pdfium_c.FPDFPath_GetPathSegment, a, a, i),
        _typed(pdfium_c.FPDFPathSegment_GetPoint, i, a, a, a),
        _typed(pdfium_c.FPDFPathSegment_GetType, i, a),
        _typed(pdfium_c.FPDFPathSegment_GetClose, i, a),
    )


def draws_paths(pdfium_page, at_least: int) -> bool:
    """True when the page itself (not a form on it) draws at least `at_least` path objects."""
    count, get_object, _, _, kind_of, *_ = _object_functions()
    page = ctypes.cast(pdfium_page.raw, ctypes.c_void_p).value
    paths = 0
    for k in range(count(page)):
        if kind_of(get_object(page, k)) == pdfium_c.FPDF_PAGEOBJ_PATH:
            paths += 1
            if paths >= at_least:
                return True
    return False


def pdfium_page_height(pdfium_page) -> float:
    """The page's height as pdfplumber counts it (its media box, turned by the page's rotation)."""
    x0, y0, x1, y1 = (round(float(v), _DIGITS) for v in pdfium_page.get_mediabox())
    return abs(x1 - x0) if pdfium_page.get_rotation() % 180 == 90 else abs(y1 - y0)


class PdfiumPage(Page):
    """A pdfplumber page whose characters, lines, rectangles and curves come from PDFium."""

    def __init__(self, pdfium_page, page_number: int, initial_doctop: float = 0):
        self.pdf = None
        self.root_page = self
        self.page_obj = None
        self.page_number = page_number
        self.initial_doctop = initial_doctop  # the heights of the pages before, as pdfplumber counts them
        self._pdfium = pdfium_page
        self.rotation = pdfium_page.get_rotation() % 360
        mb = tuple(round(float(v), _DIGITS) for v in pdfium_page.get_mediabox())
        self._ctm = _page_ctm(self.rotation, mb)
        x0, x1 = sorted((mb[0], mb[2]))
        y0, y1 = sorted((mb[1], mb[3]))
        raw = (y0, x0, y1, x1) if self.rotation in (90, 270) else (x0, y0, x1, y1)
        height = raw[3] - raw[1]
        self.mediabox = (raw[0], height - raw[3], raw[2], height - raw[1])  # pdfplumber's top-down box
        self.cropbox = self.bbox = self.mediabox
        self.get_textmap = lru_cache()(self._get_textmap)

    def parse_objects(self) -> dict[str, list[dict]]:
        objects: dict[str, list[dict]] = {"char": self._chars(), "line": [], "rect": [], "curve": []}
        if self._walk(ctypes.cast(self._pdfium.raw, ctypes.c_void_p).value, None, objects):
            raise Unsupported("text in a font the file does not embed that PDFium's text page leaves out")
        return {kind: found for kind, found in objects.items() if found}

    def _place(self, obj: dict, x0: float, y0: float, x1: float, y1: float) -> dict:
        """pdfplumber's coordinates of a box given in pdfminer's (rotated, media box at the origin) space."""
        mb_x0, mb_top = self.mediabox[:2]
        x0, y0, x1, y1 = (round(v, _DIGITS) for v in (x0, y0, x1, y1))
        top = self.height - y1 + mb_top
        obj.update(x0=x0 + mb_x0, x1=x1 + mb_x0, y0=y0, y1=y1, width=x1 - x0, height=y1 - y0, top=top)
        obj["doctop"] = self.initial_doctop + top
        obj["bottom"] = self.height - y0 + mb_top
        return obj

    def _chars(self) -> list[dict]:
        textpage = self._pdfium.get_textpage()
        handle = ctypes.cast(textpage.raw, ctypes.c_void_p).value
        unicode_of, generated, text_object, origin, loose_box, glyph_width, *_ = _char_functions()
        states: dict[int, tuple] = {}  # a text object's address → how its characters are placed
        rect, origin_x, origin_y, width = pdfium_c.FS_RECTF(), ctypes.c_double(), ctypes.c_double(), ctypes.c_float()
        rect_at, x_at, y_at, width_at = map(ctypes.addressof, (rect, origin_x, origin_y, width))
        ctm_a, ctm_b, ctm_c, ctm_d, ctm_e, ctm_f = self._ctm
        mb_x0, mb_top = self.mediabox[:2]
        height, doctop, page_number = self.height, self.initial_doctop, self.page_number
        state_of = _States(handle, self._ctm)
        out = []
        for i in range(pdfium_c.FPDFText_CountChars(textpage.raw)):
            code = unicode_of(handle, i)
            if code in _INSERTED and generated(handle, i):
                continue  # a space or line break PDFium inserted between words or lines; pdfminer sees none
            key = text_object(handle, i)
            if not key:
                continue
            state = states.get(key)
            if state is None:
                state = states[key] = state_of(i, key)
            scale, along_x, low, high, upright, horizontal, font, size = state
            origin(handle, i, x_at, y_at)
            if font is not None and glyph_width(font, code, size, width_at):
                advance = width.value * scale[1]
            else:
                loose_box(handle, i, rect_at)
                advance = (rect.right - rect.left if along_x else rect.top - rect.bottom) * scale[0]
            ox, oy = origin_x.value, origin_y.value
            e = ctm_a * ox + ctm_c * oy + ctm_e
            f = ctm_b * ox + ctm_d * oy + ctm_f
            if horizontal:
                x0, y0, x1, y1 = e + min(0.0, advance), f + low, e + max(0.0, advance), f + high
            else:
                x0, y0, x1, y1 = e + low, f + min(0.0, advance), e + high, f + max(0.0, advance)
            x0, y0, x1, y1 = round(x0, _DIGITS), round(y0, _DIGITS), round(x1, _DIGITS), round(y1, _DIGITS)
            top = height - y1 + mb_top
            out.append(
                {
                    "object_type": "char",
                    "page_number": page_number,
                    "text": chr(code),
                    "upright": upright,
                    "x0": x0 + mb_x0,
                    "x1": x1 + mb_x0,
                    "y0": y0,
                    "y1": y1,
                    "width": x1 - x0,
                    "height": y1 - y0,
                    "size": y1 - y0,
                    "top": top,
                    "bottom": height - y0 + mb_top,
                    "doctop": doctop + top,
                }
            )
        textpage.close()
        self._read_objects = states
        return out

    def _walk(self, parent: int, form: Matrix | None, objects: dict[str, list[dict]]) -> bool:
        """The paths of the page, or of a form drawn on it, in pdfminer's space; True when a text object of the
        page in a font the file does not embed has no character in PDFium's text page.

        PDFium measures such a font by the one it substitutes, and its text page then drops some objects as if they
        repeated their neighbours (seen: the single digits of a 行次 column); pdfminer reads them all."""
        count_page, get_page_object, count_form, get_form_object, kind_of, matrix_of, *_ = _object_functions()
        count, get = (count_page, get_page_object) if form is None else (count_form, get_form_object)
        m = pdfium_c.FS_MATRIX()
        m_at = ctypes.addressof(m)
        left_out = False
        for k in range(count(parent)):
            obj = get(parent, k)
            kind = kind_of(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_TEXT and form is None and not left_out:
                left_out = _left_out(obj, self._read_objects)
            if kind not in (pdfium_c.FPDF_PAGEOBJ_FORM, pdfium_c.FPDF_PAGEOBJ_PATH):
                continue
            matrix_of(obj, m_at)
            matrix = (m.a, m.b, m.c, m.d, m.e, m.f)
            matrix = _mul(matrix, form) if form is not None else matrix
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                self._walk(obj, matrix, objects)
            else:
                for subpath in _subpaths(obj, _mul(matrix, self._ctm)):
                    self._paint(subpath, objects)
        return left_out

    def _paint(self, subpath: list[tuple[str, tuple[float, float]]], objects: dict[str, list[dict]]) -> None:
        """A subpath as pdfminer's converter classes it: a line, a rectangle, or a curve."""
        shape = "".join(op for op, _ in subpath)
        pts = [pt for _, pt in subpath]
        if len(shape) > 3 and shape[-2:] == "lh" and pts[-2] == pts[0]:
            shape = shape[:-2] + "h"
            pts.pop()
        kind = "curve"
        if shape in ("mlh", "ml"):
            kind, pts = "line", pts[:2]
        elif shape in ("mlllh", "mllll"):
            (x0, y0), (x1, y1), (x2, y2), (x3, y3), _ = pts
            square = (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (
                y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0
            )
            kind = "rect" if pts[0] == pts[4] and square else "curve"
        xs, ys = [x for x, _ in pts], [y for _, y in pts]
        obj = self._place({"object_type": kind, "page_number": self.page_number}, min(xs), min(ys), max(xs), max(ys))
        if kind == "curve":
            mb_x0, mb_top = self.mediabox[:2]
            obj["pts"] = [(x + mb_x0, self.height - y + mb_top) for x, y in pts]
        objects[kind].append(obj)


class _States:
    """How a text object's characters are placed in pdfminer's space, worked out once for every text matrix, font
    and size a page sets text in (its text objects are many, often one a character, but set in a few ways)."""

    def __init__(self, handle: int, ctm: Matrix):
        self._handle, self._ctm = handle, ctm
        self._known: dict[tuple, tuple] = {}
        self._matrix = pdfium_c.FS_MATRIX()
        self._matrix_at = ctypes.addressof(self._matrix)

    def __call__(self, index: int, text_object: int) -> tuple:
        get_matrix, font_size, font_of = _char_functions()[6:9]
        get_matrix(self._handle, index, self._matrix_at)
        m = self._matrix
        setting = (m.a, m.b, m.c, m.d, font_of(text_object), font_size(self._handle, index))
        state = self._known.get(setting)
        if state is None:
            state = self._known[setting] = _text_state(self._ctm, setting)
        return state


def _text_state(ctm: Matrix, setting: tuple[float, float, float, float, int, float]) -> tuple:
    """The factors from a character's advance to its box's extent along the line, whether the advance runs along
    user-space x, the box's extent across the line, whether it reads upright, whether the line runs along x, and the
    font and size to ask advances of (None where the loose box gives them), for text set by the matrix (a b c d)
    in a font at a size (`setting`).

    A character's advance is the width its font gives for positioning. For an embedded font PDFium's loose box
    spans exactly that; for a font the file does not embed, the box takes the width of the font PDFium puts in
    its place, so the advance is asked of the font's declared widths instead."""
    a, b, c, d, font, size = setting
    if b == 0 and c == 0 and a != 0:
        along_x, user_scale = True, abs(a)
    elif a == 0 and d == 0 and b != 0:
        along_x, user_scale = False, abs(b)
    else:
        raise Unsupported(f"text set at an angle ({a:g} {b:g} {c:g} {d:g})")
    get_descent, is_embedded = _char_functions()[9:]
    descent = ctypes.c_float()
    get_descent(font, size, ctypes.addressof(descent))
    a, b, c, d, _, _ = _mul((a, b, c, d, 0.0, 0.0), ctm)
    # in pdfminer's space a text-space point (x, y) lands at (a x + c y, b x + d y) from the origin
    horizontal = b == 0
    across = (d if horizontal else c) * descent.value, (d if horizontal else c) * (descent.value + size)
    along = a if horizontal else b
    scale = along / user_scale, along  # from a loose box's extent in user space; from a width in text space
    upright = a * d > 0 and b * c <= 0
    return scale, along_x, min(across), max(across), upright, horizontal, None if is_embedded(font) else font, size


def _left_out(text_object: int, read: dict[int, tuple]) -> bool:
    """True when the text object has no character in PDFium's text page and its font is not embedded."""
    if text_object in read:
        return False
    font_of, _, is_embedded = _char_functions()[8:]
    return not is_embedded(font_of(text_object))


def _subpaths(path: int, matrix: Matrix) -> list[list[tuple[str, tuple[float, float]]]]:
    """A path object's subpaths as pdfminer's operators (m, l, c, h) with their end points, transformed."""
    count, get_segment, point_of, kind_of, closes = _object_functions()[6:]
    a, b, c, d, e, f = matrix
    x, y = ctypes.c_float(), ctypes.c_float()
    x_at, y_at = ctypes.addressof(x), ctypes.addressof(y)
    subpaths: list[list[tuple[str, tuple[float, float]]]] = []
    bezier = 0
    for i in range(count(path)):
        segment = get_segment(path, i)
        point_of(segment, x_at, y_at)
        kind = kind_of(segment)
        pt = (round(a * x.value + c * y.value + e, _DIGITS), round(b * x.value + d * y.value + f, _DIGITS))
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO or not subpaths:
            subpaths.append([("m", pt)])
            bezier = 0
        elif kind == pdfium_c.FPDF_SEGMENT_LINETO:
            subpaths[-1].append(("l", pt))
        else:  # a Bézier segment is three points: two control points, then its end
            bezier += 1
            if bezier % 3 == 0:
                subpaths[-1].append(("c", pt))
        if closes(segment):
            subpaths[-1].append(("h", subpaths[-1][0][1]))
    return subpaths
