"""The real service end to end: gateway -> TorchServe -> handler, on rendered text lines."""

from __future__ import annotations

import base64
import io
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import psutil
import pytest
import requests
from PIL import Image

from model.training.metrics import AccuracyMeter
from tests.helpers import pick_cjk_font, png_bytes, render_clean_line, render_page
from tests.pdfs import nested_forms_pdf
from tests.reliability.faults import slow_clients

ENGLISH_LINES = ["Hello world 2024", "Total amount: 128.50", "Invoice No. 88321", "The quick brown fox"]
CHINESE_LINES = ["中华人民共和国", "发票代码", "合计金额", "北京市朝阳区"]


def ocr(service, image_bytes: bytes, **kwargs) -> requests.Response:
    return requests.post(
        f"{service.gateway_url}/api/v1/ocr",
        json={"image": base64.b64encode(image_bytes).decode()},
        timeout=60,
        **kwargs,
    )


@pytest.fixture(scope="module")
def cjk_font(fonts):
    return pick_cjk_font(fonts)


def test_reads_rendered_english_lines(live_service):
    meter = AccuracyMeter()
    for text in ENGLISH_LINES:
        response = ocr(live_service, png_bytes(render_clean_line(text)))
        assert response.status_code == 200, response.text
        body = response.json()
        assert 0.0 <= body["confidence"] <= 1.0
        assert len(body["char_probs"]) == len(body["text"])
        assert set(body["timings"]) >= {"preprocess_ms", "inference_ms", "postprocess_ms"}
        meter.add(body["text"], text)
    assert meter.char_accuracy >= 0.9, meter.char_accuracy


def test_reads_rendered_chinese_lines(live_service, cjk_font):
    meter = AccuracyMeter()
    for text in CHINESE_LINES:
        image = render_clean_line(text, cjk_font.path, size=40, index=cjk_font.index)
        response = ocr(live_service, png_bytes(image))
        assert response.status_code == 200, response.text
        meter.add(response.json()["text"], text)
    assert meter.char_accuracy >= 0.9, meter.char_accuracy


def test_data_url_jpeg_and_light_on_dark(live_service):
    image = 255 - render_clean_line("Hello world 2024")
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode()
    response = requests.post(f"{live_service.gateway_url}/api/v1/ocr", json={"image": data_url}, timeout=60)
    assert response.status_code == 200
    meter = AccuracyMeter()
    meter.add(response.json()["text"], "Hello world 2024")
    assert meter.char_accuracy >= 0.85


def large_blank_png() -> bytes:
    return png_bytes(np.full((7000, 7000), 255, np.uint8))  # 49 M pixels, a few hundred KB


@pytest.mark.parametrize(
    "kwargs, status, code",
    [
        (
            {"data": b"image=abc", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
            415,
            "unsupported_media_type",
        ),
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "invalid_json"),
        ({"json": {"picture": "abc"}}, 400, "missing_image"),
        ({"json": {"image": "***not base64***"}}, 400, "invalid_base64"),
        ({"json": {"image": base64.b64encode(b"just some text, not an image").decode()}}, 400, "invalid_image"),
        ({"json": {"image": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()}}, 400, "invalid_image"),
        ({"json": {"image": base64.b64encode(large_blank_png()).decode()}}, 400, "image_too_large"),
        (
            {"data": b"{" + b" " * (16 * 1024 * 1024) + b"}", "headers": {"Content-Type": "application/json"}},
            413,
            "payload_too_large",
        ),
    ],
    ids=[
        "not-json-type",
        "bad-json",
        "missing-field",
        "bad-base64",
        "not-an-image",
        "corrupt-png",
        "too-many-pixels",
        "body-too-large",
    ],
)
def test_bad_input_gets_a_json_error(live_service, kwargs, status, code):
    response = requests.post(f"{live_service.gateway_url}/api/v1/ocr", timeout=60, **kwargs)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == code and body["message"]
    assert "Traceback" not in response.text


def test_bad_requests_do_not_harm_good_ones_in_a_batch(live_service):
    """Concurrent requests are batched by TorchServe; the corrupt ones fail alone."""
    good = png_bytes(render_clean_line("Hello world 2024"))
    bodies = [good, b"\x89PNG\r\n\x1a\n broken", good, b"GIF89a broken", good, good]
    url = f"{live_service.inference_url}/predictions/crnn_ocr"
    with ThreadPoolExecutor(len(bodies)) as pool:
        auth = live_service.auth("inference")
        responses = list(pool.map(lambda body: requests.post(url, data=body, headers=auth, timeout=60), bodies))
    texts = {r.json()["text"] for r, body in zip(responses, bodies) if body is good}
    assert [r.status_code for r in responses] == [200, 400, 200, 400, 200, 200]
    assert len(texts) == 1
    assert responses[1].json()["error"] == "invalid_image"
    assert ocr(live_service, good).status_code == 200  # the worker is still alive


def test_probes(live_service):
    assert requests.get(f"{live_service.gateway_url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{live_service.gateway_url}/readyz", timeout=5).status_code == 200
    page = requests.get(f"{live_service.gateway_url}/", timeout=5)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_custom_metrics_are_exposed(live_service):
    ocr(live_service, png_bytes(render_clean_line("metrics 42")))
    ocr(live_service, b"not an image")
    requests.post(
        f"{live_service.inference_url}/predictions/crnn_ocr",
        data=b"\x89PNG\r\n\x1a\nbad",
        headers=live_service.auth("inference"),
        timeout=60,
    )
    metrics = requests.get(live_service.metrics_url, timeout=10).text
    for name in ("OCRLinesRecognised", "OCRRejectedInputs", "OCRPreprocessMs", "OCRInferenceMs"):
        assert name in metrics, f"{name} missing from /metrics"


def test_model_registration_is_off(live_service, built_mar):
    """A registered .mar runs its code: the management API refuses registration (and unregistering
    the served model) even with the management key, while describing models, which the readiness
    probe uses, still works."""
    auth = live_service.auth("management")
    register = requests.post(
        f"{live_service.management_url}/models",
        params={"url": built_mar.name, "model_name": "other"},
        headers=auth,
        timeout=10,
    )
    assert register.status_code >= 400 and "InvalidKey" not in register.text, register.text
    unregister = requests.delete(f"{live_service.management_url}/models/crnn_ocr", headers=auth, timeout=10)
    assert unregister.status_code >= 400 and "InvalidKey" not in unregister.text, unregister.text
    described = requests.get(f"{live_service.management_url}/models/crnn_ocr", headers=auth, timeout=10)
    assert described.status_code == 200 and described.json()[0]["workers"]


def test_torchserve_wants_its_keys(live_service):
    """Token authorisation is on: without TorchServe's keys its APIs refuse; the gateway has them."""
    line = png_bytes(render_clean_line("Hello 2024"))
    url = f"{live_service.inference_url}/predictions/crnn_ocr"
    for refused in (requests.post(url, data=line, timeout=30), requests.get(f"{live_service.management_url}/models")):
        assert refused.status_code == 400 and refused.json()["type"] == "InvalidKeyException"
    assert requests.post(url, data=line, headers=live_service.auth("inference"), timeout=30).status_code == 200
    assert ocr(live_service, line).status_code == 200


def test_a_photo_stored_sideways_is_read_upright(live_service):
    """Phones store a photo as the sensor saw it and tag how to turn it (EXIF orientation): the
    service reads it as the tag says, as every viewer shows it."""
    upright = render_clean_line("Hello world 2024")
    picture = Image.fromarray(cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE))
    exif = picture.getexif()
    exif[0x0112] = 6  # turn 90 degrees clockwise to view
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=95, exif=exif)
    body = requests.post(
        f"{live_service.gateway_url}/api/v1/ocr",
        json={"image": base64.b64encode(buffer.getvalue()).decode(), "mode": "line"},
        timeout=60,
    ).json()
    assert body["text"] == "Hello world 2024"
    assert (body["width"], body["height"]) == (upright.shape[1], upright.shape[0])


def test_a_worker_killed_mid_request_costs_only_that_request(live_service):
    """The model worker dies (killed for real) while reading a page: that request gets a retryable
    503, TorchServe starts a new worker, and the service reads again within ten seconds."""
    front = psutil.Process(live_service.torchserve_pid)
    page = png_bytes(render_page([f"第{i}行 line number {i}" for i in range(200)]))
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(ocr, live_service, page)
        time.sleep(0.5)  # the page takes seconds: the worker is reading it
        workers = [p for p in front.children(recursive=True) if "model_service_worker" in " ".join(p.cmdline())]
        assert workers
        for worker in workers:
            worker.kill()
        response = pending.result()
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "model_unavailable" and response.headers["Retry-After"]
    killed = time.monotonic()
    while time.monotonic() - killed < 10:
        if requests.get(f"{live_service.gateway_url}/readyz", timeout=5).status_code == 200:
            break
        time.sleep(0.2)
    again = ocr(live_service, png_bytes(render_clean_line("Hello world 2024")))
    assert again.status_code == 200 and again.json()["text"] == "Hello world 2024"
    assert time.monotonic() - killed < 10


@pytest.mark.parametrize(
    "raw, status, code",
    [
        (b"GARBAGE\r\n\r\n", 400, "bad_request"),
        (b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n", 431, "headers_too_large"),
        (
            b"POST /api/v1/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            400,
            "invalid_body",
        ),
    ],
)
def test_protocol_errors_are_json_too(live_service, raw, status, code):
    """What gunicorn refuses before the app sees it is answered in the API's error shape."""
    host, port = live_service.gateway_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == str(status).encode(), head
    assert b"application/json" in head
    assert json.loads(body)["error"] == code


def test_a_pdf_bomb_through_the_real_gateway(live_service):
    """The nested-forms bomb sent to the running gateway: a 400, and its workers stay as large as they were."""
    workers = psutil.Process(live_service.gateway_pid).children()
    before = sum(worker.memory_info().rss for worker in workers)
    response = requests.post(
        f"{live_service.gateway_url}/api/v1/ocr",
        json={"image": base64.b64encode(nested_forms_pdf(8, 16)).decode(), "filename": "bomb.pdf"},
        timeout=60,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_pdf"
    assert sum(worker.memory_info().rss for worker in workers) - before < 100 * 2**20
    assert requests.get(f"{live_service.gateway_url}/healthz", timeout=5).status_code == 200


def test_the_gateway_follows_renewed_keys(live_service):
    """TorchServe's inference key is renewed (as an expired one is): the gateway's key is refused
    once, it reads the key file again, and the request goes through."""
    api_key = json.loads((live_service.workdir / "key_file.json").read_text())["API"]["key"]
    line = png_bytes(render_clean_line("Hello 2024"))
    for _ in range(2):  # both gateway workers have read the old key by now
        assert ocr(live_service, line).status_code == 200
    old = live_service.auth("inference")
    renewed = requests.get(
        f"{live_service.management_url}/token",
        params={"type": "inference"},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert renewed.status_code == 200 and live_service.auth("inference") != old
    for _ in range(4):
        response = ocr(live_service, line)
        assert response.status_code == 200 and response.json()["text"] == "Hello 2024"


def test_slow_clients_are_shed_and_harm_no_one(live_service):
    """Clients sending their request a byte a second (eight in the head, eight in the body, where the
    issue saw two stop all traffic) delay neither a probe nor an OCR request, and each is cut off
    with a 408 request_timeout after OCR_CLIENT_GRACE_S (20 s) plus 1 s per 500 bytes received."""
    report = slow_clients(live_service)
    assert report.problems == []
    assert report.others_s < 5
    assert 19 < report.cut_after_s[0] and report.cut_after_s[-1] < 30
