"""PDFs written by hand for the tests: exact objects, a correct cross-reference table, and pages
with a real text layer (Helvetica, one of PDF's standard fonts, so nothing is embedded)."""

from __future__ import annotations


def write_pdf(objects: list[bytes], trailer: bytes) -> bytes:
    """A PDF file from numbered object bodies, with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def text_page(lines: list[str], width: int = 300, height: int = 200, extra: bytes = b"") -> tuple[bytes, bytes]:
    """A page's dictionary entries and content stream: ``lines`` in 18 pt Helvetica from (20, height - 40)
    down, 22 pt apart, after ``extra`` drawing operators."""
    ops = extra + b"BT /F1 18 Tf 20 %d Td 22 TL " % (height - 40)
    ops += b"".join(b"(%s) Tj T* " % text.encode("latin-1") for text in lines) + b"ET"
    return b"/MediaBox [0 0 %d %d]" % (width, height), ops


def text_pdf(*pages: tuple[bytes, bytes], page_extra: bytes = b"") -> bytes:
    """A PDF of ``text_page`` pages sharing one font and a 1 x 1 grey picture (/Im1)."""
    count = len(pages)
    kids = b" ".join(b"%d 0 R" % (5 + 2 * i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8 "
        b"/Length 1 >>\nstream\n\x80\nendstream",
    ]
    for i, (entries, ops) in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R %s %s /Resources << /Font << /F1 3 0 R >> /XObject << /Im1 4 0 R >> >> "
            b"/Contents %d 0 R >>" % (entries, page_extra, 6 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(ops), ops))
    return write_pdf(objects, b"/Root 1 0 R")


def nested_forms_pdf(depth: int, fanout: int) -> bytes:
    """A PDF bomb: one page drawing a form XObject that draws the next ``fanout`` times, ``depth``
    levels down, so a few KB ask for ``fanout ** depth`` drawings (and as many page objects)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /X 5 0 R >> >> "
        b"/Contents 4 0 R >>",
    ]
    page = b"q 6 0 0 7 0 0 cm /X Do Q"
    objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(page), page))
    for level in range(depth):
        ops = b" ".join([b"q /X Do Q"] * fanout)
        objects.append(
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << /XObject << /X %d 0 R >> >> "
            b"/Length %d >>\nstream\n%s\nendstream" % (6 + level, len(ops), ops)
        )
    leaf = b"0 0 1 1 re f"
    objects.append(
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 100 100] /Length %d >>\nstream\n%s\nendstream" % (len(leaf), leaf)
    )
    return write_pdf(objects, b"/Root 1 0 R")
