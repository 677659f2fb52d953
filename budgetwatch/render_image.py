"""Rendering canonical tables as page images (PNG), as scanned or pasted tables are published, and as an image-only PDF.

The tables are drawn by the PDF renderer with an embedded TrueType CJK font (PDFium has no STSong-Light to draw the
CID font with) and rasterised by PDFium. Test documents for the OCR reader are made this way.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from budgetwatch.model import Extraction
from budgetwatch.render_pdf import FONT, extraction_to_pdf

# TrueType CJK fonts reportlab can embed (the Noto CJK OpenType fonts cannot be); Debian's fonts-wqy-zenhei first
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
)


def cjk_font_file() -> str | None:
    """A TrueType CJK font to embed: BUDGETWATCH_CJK_FONT, else the first installed candidate."""
    chosen = os.environ.get("BUDGETWATCH_CJK_FONT")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    return next((f for f in FONT_CANDIDATES if Path(f).is_file()), None)


def pdf_to_pngs(pdf: bytes, dpi: int = 200) -> list[bytes]:
    import pypdfium2  # noqa: PLC0415

    doc = pypdfium2.PdfDocument(pdf)
    pages = []
    try:
        for page in doc:
            buffer = io.BytesIO()
            page.render(scale=dpi / 72, grayscale=True).to_pil().save(buffer, "PNG")
            pages.append(buffer.getvalue())
    finally:
        doc.close()
    return pages


def extraction_to_pngs(ex: Extraction, *, dpi: int = 200, font_file: str | None = None, **options) -> list[bytes]:
    """One PNG a page of the tables' PDF rendering; needs a TrueType CJK font (see cjk_font_file)."""
    font_file = font_file or cjk_font_file()
    if font_file is None:
        raise FileNotFoundError("no TrueType CJK font found (install fonts-wqy-zenhei or set BUDGETWATCH_CJK_FONT)")
    options.setdefault("variants", ("wrapped_headers",))  # printed or scanned headers wrap; they never overlap
    return pdf_to_pngs(extraction_to_pdf(ex, font_file=font_file, **options), dpi)


def pngs_to_pdf(pngs: list[bytes], *, dpi: int = 200, cover: list[str] | None = None) -> bytes:
    """A PDF whose pages are only pictures: each PNG fills a page of its own size at `dpi`; optionally after a cover
    page of text lines (as reports whose narrative is text and whose tables are scans)."""
    from PIL import Image  # noqa: PLC0415
    from reportlab.lib.pagesizes import A4, landscape  # noqa: PLC0415
    from reportlab.lib.utils import ImageReader  # noqa: PLC0415
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: PLC0415
    from reportlab.pdfgen import canvas  # noqa: PLC0415

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    if cover:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        pdf.setPageSize(landscape(A4))
        pdf.setFont(FONT, 14)
        for k, line in enumerate(cover):
            pdf.drawString(60, 500 - 24 * k, line)
        pdf.showPage()
    for png in pngs:
        with Image.open(io.BytesIO(png)) as image:
            width, height = (v * 72 / dpi for v in image.size)
        pdf.setPageSize((width, height))
        pdf.drawImage(ImageReader(io.BytesIO(png)), 0, 0, width=width, height=height)
        pdf.showPage()
    pdf.save()
    return out.getvalue()
