"""A PDF page's own text layer, where it can be trusted, as a page answer in the model's shape.

A PDF made by a word processor carries its text: taking it is exact and costs milliseconds, where
OCR costs a second and misreads some characters. It is not taken where it would be worse than OCR:

- the layer is empty, or more than ``MAX_BAD_SHARE`` of its characters are unreadable (fonts
  without a Unicode map come out as U+FFFD, private-use or control characters);
- pictures cover more than ``MAX_PICTURE_SHARE`` of the page: a scan, whose text layer (if any) is
  somebody's OCR of unknown quality, or text drawn inside figures the layer does not hold;
- the page has a /Rotate: its boxes would need turning with it (OCR reads turned pages anyway);
- the page has annotations that draw text the layer lacks (filled-in form fields, stamps, notes).

Lines are the layer's own (PDFium breaks them as laid out), in the order the document stores
them; boxes are in the pixels of the page as the gateway would render it at ``scale``.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from model.inference.contract import line_entry, page_result

TEXT_SOURCE = "text"
MAX_BAD_SHARE = 0.05
MAX_PICTURE_SHARE = 0.5
# Annotations that draw nothing a reader needs: links and the pop-ups of notes.
SILENT_ANNOTATIONS = (pdfium_c.FPDF_ANNOT_LINK, pdfium_c.FPDF_ANNOT_POPUP)


def page_text(page: pdfium.PdfPage, scale: float) -> dict[str, Any] | None:
    """The page's answer from its text layer, or None where OCR should read it (in the rendering
    child process, like every call into PDFium)."""
    if page.get_rotation() % 360 or _draws_annotations(page) or _picture_share(page) > MAX_PICTURE_SHARE:
        return None
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        text = textpage.get_text_range() if count > 0 else ""
        # One character per index is what lets a line find its boxes; surrogate pairs would break it.
        if len(text) != count or not _trustworthy(text):
            return None
        left, _, _, top = page.get_cropbox()
        lines = []
        for start, end in _line_spans(text):
            boxes = [textpage.get_charbox(i) for i in range(start, end) if not text[i].isspace()]
            x0, x1 = min(b[0] for b in boxes), max(b[2] for b in boxes)
            y0, y1 = min(b[1] for b in boxes), max(b[3] for b in boxes)
            corners = [(x0, y1), (x1, y1), (x1, y0), (x0, y0)]  # clockwise from the top-left
            box = [((x - left) * scale, (top - y) * scale) for x, y in corners]
            # The document's own characters, not a reading: nothing is in doubt.
            lines.append(line_entry(" ".join(text[start:end].split()), 1.0, box, 0.0, False))
    finally:
        textpage.close()
    if not lines:
        return None
    width, height = page.get_size()
    return page_result(lines, round(width * scale), round(height * scale), "page", 0, empty_confidence=1.0)


def _trustworthy(text: str) -> bool:
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return False
    bad = sum(c == "\ufffd" or unicodedata.category(c) in ("Cc", "Co", "Cs", "Cn") for c in visible)
    return bad <= MAX_BAD_SHARE * len(visible)


def _line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) indices of the lines of ``text`` that hold a visible character."""
    spans, start = [], 0
    for end in [i for i, c in enumerate(text) if c in "\r\n"] + [len(text)]:
        if text[start:end].strip():
            spans.append((start, end))
        start = end + 1
    return spans


def _draws_annotations(page: pdfium.PdfPage) -> bool:
    for index in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
        annotation = pdfium_c.FPDFPage_GetAnnot(page.raw, index)
        try:
            if pdfium_c.FPDFAnnot_GetSubtype(annotation) not in SILENT_ANNOTATIONS:
                return True
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annotation)
    return False


def _picture_share(page: pdfium.PdfPage) -> float:
    """The share of the page that its pictures cover (their bounding boxes, overlaps counted twice)."""
    width, height = page.get_size()
    area = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
        left, bottom, right, top = obj.get_bounds()
        area += max(0.0, right - left) * max(0.0, top - bottom)
    return area / (width * height) if width * height > 0 else 1.0
