"""Peak extra memory of one request at the limits (part of `make bench`): the largest images the
service accepts and the largest PDF, each sent alone to a fresh service; before each, the peak
resident memory (VmHWM) of the model worker and the gateway workers is reset to what they hold
(Linux's /proc/PID/clear_refs), and afterwards it says how far the request raised it.

Printed: one row per request with the peak over the resident memory before it, per process kind. Such
a request's cost is bounded by the limits it meets: 40 M pixels (``max_pixels``), a 15 MiB body, 20
PDF pages rendered at most 3,500 px on their long side in a child process of at most 1,536 MB (not
counted here: it is neither a gateway worker nor the model worker). In the model worker most of it is
the detector's working set at its 1,600 px input, the same for every page that large; the handler
decodes a batch's pages one at a time, so sixteen such pages in one batch cost no more than one.
"""

from __future__ import annotations

import base64
import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import psutil
import requests

from tests.live import LiveService, build_mar, run_service
from tests.pdfs import text_page, text_pdf
from tests.reliability.fuzz import model_workers

SIDE = 6300  # 6,300 x 6,300 = 39.7 M pixels, under the 40 M limit


def limit_images() -> list[tuple[str, bytes]]:
    """Images at the pixel limit, as scanners and cameras write them, with a little text."""
    page = np.full((SIDE, SIDE), 245, np.uint8)
    for row in range(20):
        cv2.putText(page, f"Line {row} of a very large scan 2024", (300, 400 + 280 * row), 0, 4.0, 20, 8)
    colour = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    sixteen = (colour.astype(np.uint16) * 257)[: SIDE // 2]  # 16-bit RGB, half the side: a 15 MiB body
    return [
        ("8-bit grey PNG, 39.7 M px", cv2.imencode(".png", page)[1].tobytes()),
        ("RGB JPEG, 39.7 M px", cv2.imencode(".jpg", colour, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()),
        ("16-bit RGB PNG, 19.8 M px", cv2.imencode(".png", sixteen)[1].tobytes()),
    ]


def largest_pdf() -> bytes:
    """20 pages (the limit) of text drawn on A4, read by the model (``pdf_source: ocr``)."""
    return text_pdf(*[text_page([f"Page {i} line {j}" for j in range(30)], 595, 842) for i in range(20)])


def reset_peaks(processes: list[psutil.Process]) -> float:
    """Reset the processes' peak resident memory to their current; returns that, MB."""
    for process in processes:
        Path(f"/proc/{process.pid}/clear_refs").write_text("5")
    return sum(process.memory_info().rss for process in processes) / 2**20


def peaks_mb(processes: list[psutil.Process]) -> float:
    total = 0
    for process in processes:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) * 1024
    return total / 2**20


def measure(service: LiveService, name: str, body: dict) -> str:
    gateway = psutil.Process(service.gateway_pid).children()
    workers = model_workers(service)
    before = reset_peaks(gateway), reset_peaks(workers)
    started = time.perf_counter()
    response = requests.post(f"{service.gateway_url}/api/v1/ocr", json=body, timeout=120)
    took = time.perf_counter() - started
    extra = peaks_mb(gateway) - before[0], peaks_mb(workers) - before[1]
    size = len(json.dumps(body)) / 2**20
    return f"| {name} | {size:.1f} MiB | {response.status_code} | {took:.1f} | {extra[0]:+.0f} | {extra[1]:+.0f} |"


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mar = build_mar(work / "mar")
        (work / "live").mkdir()
        with run_service(mar, work / "live") as service:
            for name, data in limit_images():
                rows.append(measure(service, name, {"image": base64.b64encode(data).decode(), "mode": "page"}))
            pdf = {"image": base64.b64encode(largest_pdf()).decode(), "filename": "a.pdf", "pdf_source": "ocr"}
            rows.append(measure(service, "PDF, 20 A4 pages read by the model", pdf))
    print("Peak memory of one request over what the processes held before it (MB):")
    print("| request | body | status | seconds | gateway workers | model worker |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
