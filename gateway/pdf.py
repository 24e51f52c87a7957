"""PDFs: recognise them, render their pages with PDFium (pypdfium2) and read every page with the model.

Pages are rendered and read one after the other, so a request holds one page
bitmap and one PNG at a time whatever the page count, and one long PDF cannot
flood the model workers that all requests share. A page whose own text layer
can be trusted (``gateway.pdftext``) is answered from it instead, unless the
caller asks for OCR throughout.

PDFium runs in a child process per PDF (``render_pages_isolated``): a few KB of
nested forms can make it take any amount of memory or time, and neither can be
stopped inside the gateway. The child's address space is limited, and the
gateway kills it at the PDF's deadline.
"""

from __future__ import annotations

import base64
import io
import multiprocessing
import resource
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from gateway.config import Settings
from gateway.errors import ApiError, InvalidPdf, TooManyPages, UpstreamTimeout
from gateway.imagedata import sniff_image_format
from gateway.pdftext import TEXT_SOURCE, page_text
from gateway.torchserve import TorchServeClient
from model.inference.contract import weighted_confidence

PDF_MAGIC = b"%PDF-"
# PDF readers accept the header anywhere in the first 1024 bytes (some producers write junk first).
HEADER_WINDOW = 1024
RENDER_DPI = 200
# The PNG only crosses the loopback to TorchServe: zlib level 1 encodes a 200 dpi
# A4 page about twice as fast as the default 6, at about the same size.
PNG_COMPRESS_LEVEL = 1
# A page whose PNG would not fit TorchServe's request limit (a photographed or scanned page) is sent
# as JPEG, at the first of these qualities that fits.
JPEG_QUALITIES = (92, 80, 60)
# Room left in a request for what is not the page: base64 makes 4 bytes of 3, JSON wraps them.
REQUEST_OVERHEAD = 4096
# Previews (for people looking at the boxes, e.g. in the web UI): JPEG, long side at most this.
PREVIEW_SIDE = 1200
PREVIEW_QUALITY = 80

# "auto": a page's own text layer where it can be trusted, OCR elsewhere; "ocr": OCR for every page.
PDF_SOURCES = ("auto", "ocr")
OCR_SOURCE = "ocr"

# PDFium is not thread-safe; it only ever runs in the single thread of a rendering child process.
OUT_OF_MEMORY = "The PDF cannot be rendered within the memory one request may use."


def is_pdf(data: bytes, filename: str | None, media_type: str | None) -> bool:
    """Whether the upload is read as a PDF.

    Content decides first: an image magic number means an image whatever the
    file is called, and a ``%PDF-`` header means a PDF. The file name or data
    URL type only decides for data that is neither, so a damaged PDF is
    answered with ``invalid_pdf`` rather than ``invalid_image``.
    """
    if sniff_image_format(data) is not None:
        return False
    if PDF_MAGIC in data[:HEADER_WINDOW]:
        return True
    return (filename or "").strip().lower().endswith(".pdf") or media_type == "application/pdf"


@dataclass(frozen=True)
class RenderedPage:
    number: int  # 1-based
    encoded: bytes | None  # PNG (JPEG where PNG would not fit upstream); None where the text layer answered
    width: int
    height: int
    dpi: float  # RENDER_DPI, or less where the long side was capped
    render_ms: float  # time in PDFium and PNG encoding, or taking the text layer
    text_layer: dict[str, Any] | None = None  # the page's answer from its own text
    preview: str | None = None  # a JPEG data URL of the page, when asked for


def render_pages(
    data: bytes,
    max_pages: int,
    max_side: int,
    text_layer: bool = False,
    previews: bool = False,
    max_bytes: int = Settings.upstream_max_bytes,
) -> Iterator[RenderedPage]:
    """Yield the PDF's pages one by one as PNG (JPEG where a PNG sent as base64 would pass
    ``max_bytes``), at 200 dpi or less so the long side fits ``max_side``;
    with ``text_layer``, pages that carry trustworthy text come with that instead of a PNG, and with
    ``previews`` every page also comes as a small JPEG.

    Raises :class:`InvalidPdf` (unreadable or encrypted) or :class:`TooManyPages`
    before the first page is rendered. The document is closed when the
    generator ends or is closed, so wrap it in ``contextlib.closing`` when the
    loop may stop early.
    """
    pdf = _open(data)
    count = len(pdf)
    try:
        if count > max_pages:
            raise TooManyPages(f"The PDF has {count} pages; at most {max_pages} are read per request.")
        for index in range(count):
            yield _render(pdf, index, max_side, text_layer, previews, max_bytes)
    finally:
        pdf.close()


# Children are forked from a small server process that has imported this module: quick to start,
# and never a fork of the gateway's threads.
_CHILDREN = multiprocessing.get_context("forkserver")
_CHILDREN.set_forkserver_preload([__name__])


def render_pages_isolated(
    data: bytes,
    max_pages: int,
    max_side: int,
    text_layer: bool,
    previews: bool,
    max_bytes: int,
    memory_mb: int,
    deadline: float,
) -> Iterator[RenderedPage]:
    """``render_pages`` in a child process of at most ``memory_mb`` MB of address space, page by
    page. Raises what ``render_pages`` raises, :class:`InvalidPdf` when the child runs out of memory
    or dies, and :class:`UpstreamTimeout` at ``deadline`` (``time.perf_counter()``), killing it."""
    receiver, sender = _CHILDREN.Pipe(duplex=False)
    arguments = (data, max_pages, max_side, text_layer, previews, max_bytes)
    child = _CHILDREN.Process(target=_render_in_child, args=(sender, memory_mb, arguments), daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            left = deadline - time.perf_counter()
            if left <= 0 or not receiver.poll(left):
                raise UpstreamTimeout("The PDF was not read in time; send fewer pages.")
            try:
                kind, value = receiver.recv()
            except EOFError:  # the child died: PDFium aborts when an allocation fails
                raise InvalidPdf(OUT_OF_MEMORY) from None
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        receiver.close()
        child.kill()
        child.join()


def _render_in_child(sender: Any, memory_mb: int, arguments: tuple) -> None:
    """``render_pages(*arguments)`` with at most ``memory_mb`` MB of address space, each page (or the
    error) sent through ``sender``."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        with closing(render_pages(*arguments)) as pages:
            for page in pages:
                sender.send(("page", page))
        sender.send(("done", None))
    except ApiError as exc:
        sender.send(("error", exc))
    except MemoryError:
        sender.send(("error", InvalidPdf(OUT_OF_MEMORY)))
    finally:
        sender.close()


def read_pdf(
    data: bytes,
    mode: str,
    client: TorchServeClient,
    settings: Settings,
    source: str = "auto",
    previews: bool = False,
) -> dict[str, Any]:
    """Read every page with the model in ``mode`` (pages with a trustworthy text layer from that
    layer, unless ``source`` is "ocr" or ``mode`` is "line") and combine the results into one answer;
    with ``previews`` each page carries a ``preview`` (JPEG data URL) to draw its boxes on.

    All pages share ``settings.pdf_timeout_s``: a PDF that takes longer is
    answered 504 instead of outliving the gunicorn worker timeout.
    """
    started = time.perf_counter()
    deadline = started + settings.pdf_timeout_s
    too_slow = UpstreamTimeout(f"The PDF was not read within {settings.pdf_timeout_s:g} s; send fewer pages.")
    pages: list[dict[str, Any]] = []
    render_ms = ocr_ms = 0.0
    use_text = source == "auto" and mode != "line"
    pages_in = render_pages_isolated(
        data,
        settings.pdf_max_pages,
        settings.pdf_max_side,
        use_text,
        previews,
        settings.upstream_max_bytes,
        settings.pdf_max_memory_mb,
        deadline,
    )
    with closing(pages_in) as rendered:
        for page in rendered:
            render_ms += page.render_ms
            preview = {"preview": page.preview} if page.preview else {}
            if page.text_layer is not None:
                pages.append(
                    {
                        **page.text_layer,
                        "page": page.number,
                        "source": TEXT_SOURCE,
                        "dpi": page.dpi,
                        "timings": {"text_ms": page.render_ms},
                        **preview,
                    }
                )
                continue
            sent = time.perf_counter()
            if sent >= deadline:
                raise too_slow
            try:
                result = client.recognise(page.encoded, mode, timeout_s=deadline - sent)
            except UpstreamTimeout:
                if time.perf_counter() >= deadline:
                    raise too_slow from None
                raise
            ocr_ms += _ms_since(sent)
            # The gateway's keys win: it rendered the image, so it knows its size and dpi.
            pages.append(
                {
                    **result,
                    "page": page.number,
                    "source": OCR_SOURCE,
                    "width": page.width,
                    "height": page.height,
                    "dpi": page.dpi,
                    **preview,
                }
            )
    combined = combine_pages(pages)
    combined["timings"] = {"render_ms": round(render_ms, 3), "ocr_ms": round(ocr_ms, 3), "total_ms": _ms_since(started)}
    return combined


def combine_pages(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """One answer for the whole document from the per-page results (at least one page)."""
    return {
        "text": "\n\n".join(page["text"] for page in pages),
        # Weighted like a page's lines; with no text on any page, the pages' own "sure it is empty".
        "confidence": weighted_confidence(pages, empty=0.0),
        # Copies, so the lines inside pages[] stay exactly as the handler sent them.
        "lines": [{**line, "page": page["page"]} for page in pages for line in page.get("lines", [])],
        "pages": pages,
    }


def _open(data: bytes) -> pdfium.PdfDocument:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        # For a file that loads but has no pages, pypdfium2 reports PDFium's
        # last error, left over from an earlier failure: the password reason is
        # only believed for a file that has an encryption dictionary.
        if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY) and b"/Encrypt" in data:
            raise InvalidPdf("The PDF is encrypted (password-protected); send an unprotected copy.") from None
        raise InvalidPdf() from None
    # Filled-in form fields are text worth reading, and PDFium draws them only
    # with a form environment, which must exist before any page is loaded.
    pdf.init_forms()
    return pdf


def _render(
    pdf: pdfium.PdfDocument, index: int, max_side: int, text_layer: bool, previews: bool, max_bytes: int
) -> RenderedPage:
    started = time.perf_counter()
    try:
        page = pdf[index]
    except pdfium.PdfiumError:
        raise InvalidPdf(f"Page {index + 1} of the PDF cannot be read.") from None
    try:
        # The size already accounts for the page's /Rotate, as does render().
        long_side = max(page.get_size())
        if not long_side > 0:  # also catches NaN
            raise InvalidPdf(f"Page {index + 1} of the PDF has no size.")
        # A hair under max_side, because PDFium rounds the bitmap size up.
        scale = min(RENDER_DPI / 72, (max_side - 0.01) / long_side)
        answer = page_text(page, scale) if text_layer else None
        if answer is not None:
            preview = _preview(_bitmap(page, PREVIEW_SIDE / long_side)) if previews else None
            dpi = round(scale * 72, 2)
            return RenderedPage(
                index + 1, None, answer["width"], answer["height"], dpi, _ms_since(started), answer, preview
            )
        image = _bitmap(page, scale)
    finally:
        page.close()
    return RenderedPage(
        number=index + 1,
        encoded=_encode(image, (max_bytes - REQUEST_OVERHEAD) * 3 // 4),
        width=image.width,
        height=image.height,
        dpi=round(scale * 72, 2),
        render_ms=_ms_since(started),
        preview=_preview(image) if previews else None,
    )


def _encode(image: Image.Image, budget: int) -> bytes:
    """PNG, lossless, if it fits ``budget`` bytes; else the best JPEG that does (a photographed page's
    PNG is several times its JPEG, and TorchServe refuses a request over its limit)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    for quality in JPEG_QUALITIES:
        if buffer.tell() <= budget:
            break
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _bitmap(page: pdfium.PdfPage, scale: float) -> Image.Image:
    bitmap = page.render(scale=scale)
    try:
        # BGR bitmap -> RGB image: PIL converts into memory of its own.
        return bitmap.to_pil()
    finally:
        bitmap.close()


def _preview(image: Image.Image) -> str:
    """A JPEG data URL of ``image`` with its long side at most PREVIEW_SIDE."""
    small = image.copy()
    small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    buffer = io.BytesIO()
    small.convert("RGB").save(buffer, format="JPEG", quality=PREVIEW_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
