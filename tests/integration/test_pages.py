"""Whole pages through the real service (gateway -> TorchServe -> handler): printed pages, pages
turned by quarter turns, vertical Chinese, PDFs, empty pages, and the mode switch."""

from __future__ import annotations

import base64
import io

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
import requests
from PIL import Image

from model.inference.config import ReaderConfig
from model.synth.pages.capture import turn
from model.training.metrics import AccuracyMeter
from tests.helpers import CJK_FONT, png_bytes, render_clean_line, render_page
from tests.pdfs import text_page, text_pdf

PAGE = ["增值税电子普通发票", "购买方名称 上海星辰科技有限公司", "Invoice No. 2024-0815", "合计金额 ¥1,280.50"]
SECOND_PAGE = ["第二页 备注", "Payment due within 30 days"]
POEM = ["床前明月光", "疑是地上霜", "举头望明月"]


def ocr(service, data: bytes, **fields) -> requests.Response:
    payload = {"image": base64.b64encode(data).decode(), **fields}
    return requests.post(f"{service.gateway_url}/api/v1/ocr", json=payload, timeout=120)


def accuracy(predicted: str, expected: str) -> float:
    meter = AccuracyMeter()
    meter.add(predicted, expected)
    return meter.char_accuracy


def pdf_bytes(pages: list[np.ndarray]) -> bytes:
    images = [Image.fromarray(page).convert("RGB") for page in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=200.0)
    return buffer.getvalue()


def test_page_lines_with_boxes_in_reading_order(live_service):
    page = render_page(PAGE)
    response = ocr(live_service, png_bytes(page))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == "page" and body["rotation"] == 0
    assert len(body["lines"]) == len(PAGE)
    assert body["text"] == "\n".join(line["text"] for line in body["lines"])
    assert accuracy(body["text"], "\n".join(PAGE)) >= 0.9
    tops = [min(y for _, y in line["box"]) for line in body["lines"]]
    assert tops == sorted(tops)
    for line in body["lines"]:
        assert set(line) >= {"text", "confidence", "box", "angle", "vertical"}
        xs, ys = zip(*line["box"])
        assert 0 <= min(xs) and max(xs) <= page.shape[1] and 0 <= min(ys) and max(ys) <= page.shape[0]
    assert set(body["timings"]) >= {"detection_ms", "recognition_ms"}


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_turned_pages_are_read_upright(live_service, rotation):
    page, _ = turn(render_page(PAGE), np.zeros((0, 4, 2), np.float32), rotation)
    body = ocr(live_service, png_bytes(page)).json()
    assert body["rotation"] == rotation
    assert accuracy(body["text"], "\n".join(PAGE)) >= 0.9


def test_vertical_text_is_read_top_to_bottom(live_service):
    body = ocr(live_service, png_bytes(render_page(POEM, vertical=True)), mode="page").json()
    assert all(line["vertical"] for line in body["lines"])
    assert accuracy(body["text"], "\n".join(POEM)) >= 0.9


def test_pdf_pages_are_read_one_by_one(live_service):
    response = ocr(live_service, pdf_bytes([render_page(PAGE), render_page(SECOND_PAGE)]), filename="two.pdf")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [page["page"] for page in body["pages"]] == [1, 2]
    assert all(page["source"] == "ocr" for page in body["pages"])
    assert accuracy(body["pages"][0]["text"], "\n".join(PAGE)) >= 0.9
    assert accuracy(body["pages"][1]["text"], "\n".join(SECOND_PAGE)) >= 0.9
    assert {line["page"] for line in body["lines"]} == {1, 2}


def test_pdf_text_layer_and_scanned_page_together(live_service):
    """A typed page answers from its own text; the scanned page after it is read by the model, and
    the whole document by the model when asked."""
    document = pdfium.PdfDocument(text_pdf(text_page(["Invoice 2024-0815", "Total due: 1,280.50"])))
    document.import_pages(pdfium.PdfDocument(pdf_bytes([render_page(SECOND_PAGE)])))
    buffer = io.BytesIO()
    document.save(buffer)
    response = ocr(live_service, buffer.getvalue())
    assert response.status_code == 200, response.text
    body = response.json()
    assert [page["source"] for page in body["pages"]] == ["text", "ocr"]
    assert body["pages"][0]["text"] == "Invoice 2024-0815\nTotal due: 1,280.50"
    assert accuracy(body["pages"][1]["text"], "\n".join(SECOND_PAGE)) >= 0.9
    forced = ocr(live_service, buffer.getvalue(), pdf_source="ocr").json()
    assert [page["source"] for page in forced["pages"]] == ["ocr", "ocr"]
    assert accuracy(forced["pages"][0]["text"], "Invoice 2024-0815\nTotal due: 1,280.50") >= 0.9


def test_blank_page_is_empty_not_an_error(live_service):
    blank = np.full((800, 600, 3), 245, np.uint8)
    response = ocr(live_service, png_bytes(blank))
    assert response.status_code == 200, response.text
    assert response.json()["text"] == "" and response.json()["lines"] == []


def test_mode_line_forces_single_line_reading(live_service):
    """A short word is too square for "auto" to call it a line; "line" reads it as one anyway."""
    word = render_clean_line("发票", CJK_FONT, size=60)
    low, elongated = ReaderConfig().line_shape
    assert (
        word.shape[0] > ReaderConfig().line_max_height and word.shape[1] < elongated * word.shape[0]
    )  # "page" in auto
    body = ocr(live_service, png_bytes(word), mode="line").json()
    assert body["mode"] == "line" and len(body["lines"]) == 1 and "char_probs" in body
    assert body["text"] == "发票"


def test_unknown_mode_is_a_clear_error(live_service):
    response = ocr(live_service, png_bytes(render_page(PAGE[:1])), mode="sideways")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_mode"


def test_huge_image_is_detected_downscaled_and_read_at_full_size(live_service):
    page = cv2.resize(render_page(PAGE), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    body = ocr(live_service, png_bytes(page)).json()
    assert accuracy(body["text"], "\n".join(PAGE)) >= 0.9
    assert max(x for line in body["lines"] for x, _ in line["box"]) > 0.5 * page.shape[1]
