"""Contract tests for PDFs on POST /api/v1/ocr: detection, rendering, one upstream call per page, combined answer.

Every PDF is generated here (Pillow, pypdfium2, or written by hand for the
encrypted and broken cases) and really rendered by PDFium; the model is the
fake TorchServe of tests/gateway/fakes.py.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pypdfium2 as pdfium
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from gateway.config import Settings
from tests.gateway.fakes import FakeTorchServe, Received, assert_error, b64, image_bytes
from tests.pdfs import nested_forms_pdf, text_page, text_pdf, write_pdf

OCR = "/api/v1/ocr"
PREDICT = "/predictions/crnn_ocr"

ROOT = Path(__file__).resolve().parents[2]


# --- PDF builders -------------------------------------------------------------


def make_pdf(*sizes: tuple[int, int]) -> bytes:
    """A PDF with one blank page per (width, height) in points (Pillow writes 1 pixel = 1 pt at 72 dpi)."""
    images = [Image.new("RGB", size, "white") for size in sizes]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:], resolution=72.0)
    return buffer.getvalue()


def at_200_dpi(width_pt: float, height_pt: float) -> tuple[int, int]:
    """The bitmap size PDFium renders a page to at 200 dpi (it rounds up)."""
    return math.ceil(width_pt * 200 / 72), math.ceil(height_pt * 200 / 72)


# Standard security handler, revision 2 (40-bit RC4): PDF 1.7 spec, 7.6.3.3-7.6.3.4.
_PASSWORD_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    s, j = list(range(256)), 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def encrypted_pdf(user_password: str) -> bytes:
    """A one-page (200 x 100 pt) PDF encrypted with ``user_password`` ("" opens without asking)."""

    def padded(password: str) -> bytes:
        return (password.encode("latin-1") + _PASSWORD_PAD)[:32]

    doc_id, permissions = bytes(range(16)), -4
    owner = _rc4(hashlib.md5(padded("owner")).digest()[:5], padded(user_password))
    key = hashlib.md5(padded(user_password) + owner + permissions.to_bytes(4, "little", signed=True) + doc_id).digest()[
        :5
    ]
    user = _rc4(key, _PASSWORD_PAD)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
        % (owner.hex().encode(), user.hex().encode(), permissions),
    ]
    return write_pdf(
        objects, b"/Root 1 0 R /Encrypt 4 0 R /ID [<%s> <%s>]" % (doc_id.hex().encode(), doc_id.hex().encode())
    )


def form_pdf(value: bytes) -> bytes:
    """A one-page PDF with a text field filled in with ``value`` and no drawn appearance (viewers draw it)."""
    objects = [
        (
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /NeedAppearances true "
            b"/DA (/Helv 0 Tf 0 g) /DR << /Font << /Helv 5 0 R >> >> >> >>"
        ),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Annots [4 0 R] >>",
        (
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (%s) /Rect [10 10 190 60] /P 3 0 R "
            b"/DA (/Helv 24 Tf 0 g) /F 4 >>" % value
        ),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return write_pdf(objects, b"/Root 1 0 R")


# --- helpers ----------------------------------------------------------------


def page_result(text: str, confidence: float, lines: list[dict[str, Any]], width: int, height: int) -> dict[str, Any]:
    return {
        "text": text,
        "confidence": confidence,
        "lines": lines,
        "mode": "page",
        "rotation": 0,
        "width": width,
        "height": height,
        "timings": {"preprocess_ms": 1.0, "detection_ms": 5.0, "recognition_ms": 3.0, "postprocess_ms": 0.5},
        "model": {"name": "crnn_ocr", "charset": "v1", "detector": "db_v1"},
    }


def line(text: str, confidence: float, x: int, y: int) -> dict[str, Any]:
    box = [[x, y], [x + 100, y], [x + 100, y + 20], [x, y + 20]]
    return {"text": text, "confidence": confidence, "box": box, "angle": 0.0, "vertical": False}


def sent_png_size(received: Received) -> tuple[int, int]:
    """The size of the PNG a prediction request carried (fails on anything but a PNG)."""
    image, _ = received.forwarded()
    with Image.open(io.BytesIO(image)) as png:
        assert png.format == "PNG"
        return png.size


def answer_by_size(answers: dict[tuple[int, int], dict[str, Any]]) -> Callable[[bytes], Any]:
    """A fake-model answer picked by the size of the page image sent (an unknown size fails the request)."""

    def respond(body: bytes) -> Any:
        sent = json.loads(body)
        with Image.open(io.BytesIO(base64.b64decode(sent["image"]))) as png:
            return answers.get(png.size, {"code": 500, "type": "InternalServerException", "message": "unexpected size"})

    return respond


def blank_answer(body: bytes) -> dict[str, Any]:
    """The fake model's answer for any page: nothing on it."""
    return page_result("", 0.99, [], 1, 1)


@pytest.fixture
def pdf_client(make_app: Callable[..., Flask], upstream: FakeTorchServe) -> Callable[..., FlaskClient]:
    """Gateways against the fake upstream, with PDF settings given per test."""

    def _client(**config: Any) -> FlaskClient:
        return make_app(OCR_TORCHSERVE_URL=upstream.url, OCR_MANAGEMENT_URL=upstream.url, **config).test_client()

    return _client


# --- reading a PDF ------------------------------------------------------------


def test_pdf_pages_are_read_one_by_one_and_combined(client: FlaskClient, upstream: FakeTorchServe) -> None:
    sizes = [at_200_dpi(300, 200), at_200_dpi(100, 400), at_200_dpi(250, 250)]
    answers = {
        sizes[0]: page_result("ab\ncd", 0.6, [line("ab", 0.5, 10, 10), line("cd", 0.7, 10, 40)], *sizes[0]),
        sizes[1]: page_result("", 0.9, [], *sizes[1]),  # an empty page is a result, not an error
        sizes[2]: {**page_result("文字", 0.95, [line("文字", 0.95, 5, 5)], *sizes[2]), "rotation": 90},
    }
    upstream.answer("POST", PREDICT, 200, answer_by_size(answers))

    response = client.post(OCR, json={"image": b64(make_pdf((300, 200), (100, 400), (250, 250)))})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()

    # One request per page, in page order, each a PNG of the rendered page in page mode.
    assert [sent_png_size(sent) for sent in upstream.received] == sizes
    assert [sent.forwarded()[1] for sent in upstream.received] == ["page"] * 3
    assert set(body) == {"text", "confidence", "lines", "pages", "timings"}
    assert body["text"] == "ab\ncd\n\n\n\n文字"
    # Weighted by len(text): (5 * 0.6 + 0 * 0.9 + 2 * 0.95) / 7.
    assert body["confidence"] == pytest.approx(0.7)
    assert body["lines"] == [
        {**line("ab", 0.5, 10, 10), "page": 1},
        {**line("cd", 0.7, 10, 40), "page": 1},
        {**line("文字", 0.95, 5, 5), "page": 3},
    ]
    assert body["pages"] == [
        {**answers[size], "page": n, "source": "ocr", "width": size[0], "height": size[1], "dpi": 200.0}
        for n, size in enumerate(sizes, 1)
    ]
    timings = body["timings"]
    assert {"render_ms", "total_ms"} <= set(timings)
    assert all(isinstance(value, (int, float)) and value >= 0 for value in timings.values())
    assert timings["total_ms"] >= timings["render_ms"]


def test_pdf_without_text_has_the_pages_empty_confidence(client: FlaskClient, upstream: FakeTorchServe) -> None:
    sizes = [at_200_dpi(300, 200), at_200_dpi(100, 400)]
    answers = {sizes[0]: page_result("", 0.8, [], *sizes[0]), sizes[1]: page_result("", 0.6, [], *sizes[1])}
    upstream.answer("POST", PREDICT, 200, answer_by_size(answers))
    body = client.post(OCR, json={"image": b64(make_pdf((300, 200), (100, 400)))}).get_json()
    assert (body["text"], body["lines"]) == ("\n\n", [])
    assert body["confidence"] == pytest.approx(0.7)


@pytest.mark.parametrize(
    "payload, mode",
    [
        ({}, "page"),
        ({"mode": None}, "page"),
        ({"mode": "page"}, "page"),
        ({"mode": "line"}, "line"),
        ({"mode": "auto"}, "auto"),
    ],
)
def test_pdf_pages_are_sent_in_the_requested_mode(
    client: FlaskClient, upstream: FakeTorchServe, payload: dict[str, Any], mode: str
) -> None:
    upstream.answer("POST", PREDICT, 200, blank_answer)
    response = client.post(OCR, json={"image": b64(make_pdf((100, 50), (100, 50))), **payload})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [sent.forwarded()[1] for sent in upstream.received] == [mode, mode]


def test_invalid_mode_is_rejected_before_rendering(client: FlaskClient, upstream: FakeTorchServe) -> None:
    assert_error(client.post(OCR, json={"image": b64(make_pdf((100, 50))), "mode": "pages"}), 400, "invalid_mode")
    assert upstream.received == []


def test_long_side_is_capped(pdf_client: Callable[..., FlaskClient], upstream: FakeTorchServe) -> None:
    upstream.answer("POST", PREDICT, 200, blank_answer)
    response = pdf_client(OCR_PDF_MAX_SIDE=500).post(
        OCR, json={"image": b64(make_pdf((300, 200), (100, 400), (90, 60)))}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    # 300 x 200 pt would be 834 x 556 at 200 dpi; 100 x 400 pt 278 x 1112. Small pages keep 200 dpi.
    assert [sent_png_size(sent) for sent in upstream.received] == [(500, 334), (125, 500), (250, 167)]
    pages = response.get_json()["pages"]
    assert [(page["width"], page["height"], page["dpi"]) for page in pages] == [
        (500, 334, 120.0),
        (125, 500, 90.0),
        (250, 167, 200.0),
    ]


def test_a_photographed_page_fits_the_upstream_limit(
    pdf_client: Callable[..., FlaskClient], upstream: FakeTorchServe
) -> None:
    """A scanned or photographed page's PNG can pass TorchServe's request limit (a 413 for the whole
    PDF); such a page goes as JPEG instead, within the limit, at the same size. A clean page stays PNG."""
    upstream.answer("POST", PREDICT, 200, blank_answer)
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    noise.save(buffer, format="PDF", resolution=200.0)  # a photo filling a 288 x 216 pt page
    limit = 1_000_000  # the noise's PNG at 200 dpi is about 1.4 MB
    response = pdf_client(OCR_UPSTREAM_MAX_BYTES=limit).post(OCR, json={"image": b64(buffer.getvalue())})
    assert response.status_code == 200, response.get_data(as_text=True)
    (sent,) = upstream.received
    assert len(sent.body) <= limit
    image, _ = sent.forwarded()
    with Image.open(io.BytesIO(image)) as page:
        assert page.format == "JPEG" and page.size == at_200_dpi(288, 216)
    upstream.received.clear()
    assert (
        pdf_client(OCR_UPSTREAM_MAX_BYTES=limit).post(OCR, json={"image": b64(make_pdf((300, 200)))}).status_code == 200
    )
    assert sent_png_size(upstream.received[0]) == at_200_dpi(300, 200)


def test_the_upstream_limit_is_torchserves() -> None:
    """The gateway's idea of TorchServe's request limit is the one config.properties sets."""
    properties = dict(
        line.split("=", 1)
        for line in (ROOT / "config.properties").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert int(properties["max_request_size"]) == Settings().upstream_max_bytes


def test_rotated_page_is_rendered_upright(client: FlaskClient, upstream: FakeTorchServe) -> None:
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(300, 200).set_rotation(90)
    buffer = io.BytesIO()
    pdf.save(buffer)
    pdf.close()
    upstream.answer("POST", PREDICT, 200, blank_answer)
    assert client.post(OCR, json={"image": b64(buffer.getvalue())}).status_code == 200
    assert [sent_png_size(sent) for sent in upstream.received] == [at_200_dpi(200, 300)]


def test_filled_form_fields_are_drawn(client: FlaskClient, upstream: FakeTorchServe) -> None:
    upstream.answer("POST", PREDICT, 200, blank_answer)
    assert client.post(OCR, json={"image": b64(form_pdf(b"HELLO"))}).status_code == 200
    assert client.post(OCR, json={"image": b64(form_pdf(b""))}).status_code == 200
    darkest = []
    for sent in upstream.received:
        with Image.open(io.BytesIO(sent.forwarded()[0])) as png:
            darkest.append(png.convert("L").getextrema()[0])
    # The field's text is black on the filled page; the empty field leaves the page white.
    assert darkest[0] < 64 and darkest[1] == 255


def test_page_limit(pdf_client: Callable[..., FlaskClient], upstream: FakeTorchServe) -> None:
    upstream.answer("POST", PREDICT, 200, blank_answer)
    client = pdf_client(OCR_MAX_PDF_PAGES=2)
    body = assert_error(client.post(OCR, json={"image": b64(make_pdf(*[(100, 50)] * 3))}), 400, "too_many_pages")
    assert "3 pages" in body["message"] and "2" in body["message"]
    assert upstream.received == []
    # At exactly the limit the PDF is read.
    assert client.post(OCR, json={"image": b64(make_pdf(*[(100, 50)] * 2))}).status_code == 200
    assert len(upstream.received) == 2


def test_default_page_limit_is_20(client: FlaskClient, upstream: FakeTorchServe) -> None:
    assert_error(client.post(OCR, json={"image": b64(make_pdf(*[(20, 20)] * 21))}), 400, "too_many_pages")
    assert upstream.received == []


def test_model_error_on_a_page_stops_the_document(client: FlaskClient, upstream: FakeTorchServe) -> None:
    upstream.answer("POST", PREDICT, 400, {"error": "image_too_large", "message": "too many pixels"})
    body = assert_error(client.post(OCR, json={"image": b64(make_pdf((100, 50), (100, 50)))}), 400, "image_too_large")
    assert body["message"] == "too many pixels"
    assert len(upstream.received) == 1


def test_slow_pdf_is_cut_off_at_its_time_budget(
    pdf_client: Callable[..., FlaskClient], upstream: FakeTorchServe
) -> None:
    upstream.answer("POST", PREDICT, 200, blank_answer, delay_s=0.5)
    client = pdf_client(OCR_UPSTREAM_TIMEOUT_S=5, OCR_PDF_TIMEOUT_S=0.8)
    started = time.monotonic()
    body = assert_error(client.post(OCR, json={"image": b64(make_pdf(*[(100, 50)] * 3))}), 504, "upstream_timeout")
    assert "fewer pages" in body["message"]
    assert time.monotonic() - started < 3  # the 0.8 s budget, not 3 pages x 0.5 s or the 5 s page timeout
    assert len(upstream.received) < 3


def test_budget_spent_on_rendering_is_504_without_upstream_call(
    pdf_client: Callable[..., FlaskClient], upstream: FakeTorchServe
) -> None:
    upstream.answer("POST", PREDICT, 200, blank_answer)
    client = pdf_client(OCR_PDF_TIMEOUT_S=1e-6)  # rendering the first page alone takes longer
    body = assert_error(client.post(OCR, json={"image": b64(make_pdf((100, 50)))}), 504, "upstream_timeout")
    assert "fewer pages" in body["message"]
    assert upstream.received == []


@pytest.mark.parametrize("depth", [6, 8])
def test_a_pdf_bomb_costs_the_gateway_nothing(
    pdf_client: Callable[..., FlaskClient], upstream: FakeTorchServe, depth: int
) -> None:
    """3 KB of nested forms ask PDFium for 16**8 drawings: the child rendering them runs out of its
    address space and the request is a 400, while the gateway's own memory stays where it was (in
    the gateway process itself, the issue measured 4.6 GB, never given back)."""
    upstream.answer("POST", PREDICT, 200, blank_answer)
    gateway = psutil.Process()
    before = gateway.memory_info().rss
    started = time.monotonic()
    response = pdf_client(OCR_PDF_TIMEOUT_S=30).post(OCR, json={"image": b64(nested_forms_pdf(depth, 16))})
    assert_error(response, 400, "invalid_pdf")
    assert "memory" in response.get_json()["message"]
    assert time.monotonic() - started < 30
    assert gateway.memory_info().rss - before < 50 * 2**20
    # The renderer is gone: multiprocessing's fork server, its parent, has no children left.
    servers = [child for child in gateway.children() if "forkserver" in " ".join(child.cmdline())]
    assert servers and [renderer for server in servers for renderer in server.children()] == []
    assert upstream.received == []


# --- recognising PDFs ---------------------------------------------------------


def test_pdf_found_by_magic_after_leading_junk(client: FlaskClient, upstream: FakeTorchServe) -> None:
    upstream.answer("POST", PREDICT, 200, blank_answer)
    response = client.post(OCR, json={"image": b64(b"\r\n" + b"x" * 500 + make_pdf((100, 50), (100, 50)))})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(upstream.received) == 2


@pytest.mark.parametrize(
    "prefix, filename",
    [
        ("", "scan.pdf"),
        ("", "Scan.PDF"),
        ("data:application/pdf;base64,", None),
        ("data:Application/PDF;base64,", None),
    ],
)
def test_pdf_found_by_name_or_data_url_type(
    client: FlaskClient, upstream: FakeTorchServe, prefix: str, filename: str | None
) -> None:
    # No PDF header in sight: only the name or the data URL type says PDF.
    data = b64(b"garbled bytes of a damaged upload")
    assert_error(client.post(OCR, json={"image": prefix + data, "filename": filename}), 400, "invalid_pdf")
    # The same bytes without the hint are "not an image".
    assert_error(client.post(OCR, json={"image": data, "filename": "scan.pdf.png"}), 400, "invalid_image")
    assert_error(client.post(OCR, json={"image": "data:application/octet-stream;base64," + data}), 400, "invalid_image")
    assert upstream.received == []


def test_image_named_pdf_is_read_as_an_image(client: FlaskClient, upstream: FakeTorchServe) -> None:
    upstream.answer("POST", PREDICT, 200, blank_answer)
    raw = image_bytes()
    response = client.post(OCR, json={"image": "data:application/pdf;base64," + b64(raw), "filename": "line.pdf"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [sent.forwarded() for sent in upstream.received] == [(raw, "auto")]


# --- unreadable PDFs ----------------------------------------------------------


NO_PAGES = write_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"], b"/Root 1 0 R")


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n",
        b"%PDF-1.7\n" + b"\x00garbage" * 50,
        make_pdf((300, 200), (300, 200))[:400],  # truncated upload
        NO_PAGES,
    ],
    ids=["header-only", "garbage", "truncated", "no-pages"],
)
def test_broken_pdf_is_400(client: FlaskClient, upstream: FakeTorchServe, data: bytes) -> None:
    assert_error(client.post(OCR, json={"image": b64(data)}), 400, "invalid_pdf")
    assert upstream.received == []


def test_password_protected_pdf_is_400(client: FlaskClient, upstream: FakeTorchServe) -> None:
    data = encrypted_pdf("secret")
    # The fixture is a real encrypted PDF: PDFium opens it with the password.
    with pdfium.PdfDocument(data, password="secret") as pdf:
        assert len(pdf) == 1
    body = assert_error(client.post(OCR, json={"image": b64(data)}), 400, "invalid_pdf")
    assert "encrypted" in body["message"]
    assert upstream.received == []


def test_pdf_without_pages_is_not_called_encrypted(client: FlaskClient) -> None:
    # PDFium's error code is left over from the last failure, here a password one.
    assert_error(client.post(OCR, json={"image": b64(encrypted_pdf("secret"))}), 400, "invalid_pdf")
    body = assert_error(client.post(OCR, json={"image": b64(NO_PAGES)}), 400, "invalid_pdf")
    assert "encrypted" not in body["message"]


def test_pdf_encrypted_without_user_password_is_read(client: FlaskClient, upstream: FakeTorchServe) -> None:
    # Owner-password-only PDFs (print/copy restrictions) open in every reader, so they are read too.
    upstream.answer("POST", PREDICT, 200, blank_answer)
    response = client.post(OCR, json={"image": b64(encrypted_pdf(""))})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [sent_png_size(sent) for sent in upstream.received] == [at_200_dpi(200, 100)]


# --- a PDF's own text layer -----------------------------------------------------


def test_text_layer_answers_without_ocr(client: FlaskClient, upstream: FakeTorchServe) -> None:
    pdf = text_pdf(text_page(["Hello world 2024", "Total:   42.50"]))
    response = client.post(OCR, json={"image": b64(pdf)})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert upstream.received == []
    assert body["text"] == "Hello world 2024\nTotal: 42.50"
    assert body["confidence"] == 1.0
    (page,) = body["pages"]
    assert (page["source"], page["page"], page["dpi"], page["mode"], page["rotation"]) == ("text", 1, 200.0, "page", 0)
    assert (page["width"], page["height"]) == (round(300 * 200 / 72), round(200 * 200 / 72))
    assert [line["text"] for line in body["lines"]] == ["Hello world 2024", "Total: 42.50"]
    first, second = (line["box"] for line in body["lines"])
    # Rendered pixels at 200 dpi: x from 20 pt, the first baseline 40 pt below the top, 18 pt type.
    assert first[0][0] == pytest.approx(20 * 200 / 72, abs=6)
    assert first[3][1] == pytest.approx(40 * 200 / 72, abs=6)
    assert first[0][1] == pytest.approx((40 - 13) * 200 / 72, abs=6)
    assert first[1][0] > first[0][0] and first[2][1] > first[1][1]  # clockwise from the top-left
    assert second[0][1] == pytest.approx(first[0][1] + 22 * 200 / 72, abs=3)
    assert all(line["confidence"] == 1.0 and line["page"] == 1 for line in body["lines"])


@pytest.mark.parametrize("payload", [{"pdf_source": "ocr"}, {"mode": "line"}])
def test_ocr_can_be_asked_for(client: FlaskClient, upstream: FakeTorchServe, payload: dict[str, Any]) -> None:
    upstream.answer("POST", PREDICT, 200, blank_answer)
    body = client.post(OCR, json={"image": b64(text_pdf(text_page(["Hello"]))), **payload}).get_json()
    assert len(upstream.received) == 1
    assert body["pages"][0]["source"] == "ocr"


def test_pages_without_usable_text_are_read_by_ocr(client: FlaskClient, upstream: FakeTorchServe) -> None:
    picture = b"q 300 0 0 200 0 0 cm /Im1 Do Q "  # a scan: a picture over the whole page, text on top
    pages = [
        text_page(["Typed text"]),
        text_page([]),
        text_page(["OCR layer of a scan"], extra=picture),
        (b"/MediaBox [0 0 300 200] /Rotate 90", text_page(["Turned"])[1]),
        text_page(["Typed again"], extra=b"q 30 0 0 20 250 10 cm /Im1 Do Q "),  # a small logo is fine
    ]
    upstream.answer("POST", PREDICT, 200, blank_answer)
    body = client.post(OCR, json={"image": b64(text_pdf(*pages))}).get_json()
    assert [page["source"] for page in body["pages"]] == ["text", "ocr", "ocr", "ocr", "text"]
    assert len(upstream.received) == 3
    assert body["text"] == "Typed text\n\n\n\n\n\n\n\nTyped again"


def test_a_page_with_form_fields_is_read_by_ocr(client: FlaskClient, upstream: FakeTorchServe) -> None:
    """The text layer lacks what a filled-in field shows."""
    field = b"/Annots [<< /Type /Annot /Subtype /Widget /FT /Tx /T (a) /V (Filled) /Rect [10 10 190 60] >>]"
    link = b"/Annots [<< /Type /Annot /Subtype /Link /Rect [10 10 190 60] >>]"
    upstream.answer("POST", PREDICT, 200, blank_answer)
    with_field = client.post(OCR, json={"image": b64(text_pdf(text_page(["Name:"]), page_extra=field))}).get_json()
    with_link = client.post(OCR, json={"image": b64(text_pdf(text_page(["Name:"]), page_extra=link))}).get_json()
    assert with_field["pages"][0]["source"] == "ocr"
    assert with_link["pages"][0]["source"] == "text"


def test_invalid_pdf_source_is_400(client: FlaskClient, upstream: FakeTorchServe) -> None:
    for value in ["text", 1, ["ocr"]]:
        response = client.post(OCR, json={"image": b64(text_pdf(text_page(["Hello"]))), "pdf_source": value})
        assert_error(response, 400, "invalid_pdf_source")
    assert upstream.received == []


@pytest.mark.parametrize(
    "text, trusted",
    [
        ("Hello", True),
        ("   \r\n", False),
        ("\ufffd\ufffd\ufffdab", False),
        ("a\ue000bcdefghijklmnopqrstuvwxyz", True),
        ("\ue000\ue001x", False),
    ],
)
def test_broken_text_layers_are_not_trusted(text: str, trusted: bool) -> None:
    from gateway.pdftext import _trustworthy

    assert _trustworthy(text) is trusted


# --- previews -------------------------------------------------------------------


def test_pages_come_with_previews_when_asked(client: FlaskClient, upstream: FakeTorchServe) -> None:
    upstream.answer("POST", PREDICT, 200, blank_answer)
    pdf = pdfium.PdfDocument(text_pdf(text_page(["Typed"], width=600, height=800)))
    pdf.import_pages(pdfium.PdfDocument(make_pdf((300, 200))))
    buffer = io.BytesIO()
    pdf.save(buffer)
    body = client.post(OCR, json={"image": b64(buffer.getvalue()), "previews": True}).get_json()
    assert [page["source"] for page in body["pages"]] == ["text", "ocr"]
    for page in body["pages"]:
        header, data = page["preview"].split(",", 1)
        assert header == "data:image/jpeg;base64"
        with Image.open(io.BytesIO(base64.b64decode(data))) as jpeg:
            assert jpeg.format == "JPEG" and max(jpeg.size) <= 1200
            # The same picture as the page the boxes refer to, smaller.
            assert jpeg.width / jpeg.height == pytest.approx(page["width"] / page["height"], rel=0.01)
            darkest = jpeg.convert("L").getextrema()[0]
        assert darkest < 100 if page["source"] == "text" else darkest > 200  # typed text; a blank page
    plain = client.post(OCR, json={"image": b64(buffer.getvalue()), "previews": None}).get_json()
    assert all("preview" not in page for page in plain["pages"])


def test_invalid_previews_is_400(client: FlaskClient, upstream: FakeTorchServe) -> None:
    for value in ["yes", 1, [True]]:
        response = client.post(OCR, json={"image": b64(text_pdf(text_page(["Hello"]))), "previews": value})
        assert_error(response, 400, "invalid_previews")
    assert upstream.received == []
