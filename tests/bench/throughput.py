"""How much of the model's own speed each layer keeps (`make bench`): the same images read
in-process (as the handler reads them), straight from TorchServe, and through the gateway, under a
real load generator (Debian's `hey`) at concurrency 1, 4 and 16.

Two images: a 21-character printed Chinese line, the kind of field an invoice or a form is made of
(in-process: the recogniser reading 8 copies at a time, as a filled batch, 2 threads), and the A4
page of ``tests.bench.page_latency`` (in-process: read one at a time, 2 threads). Then both at once:
12 clients sending the line and 4 the page for a fixed time; their share of the in-process capacity
is the sum of each rate over its own in-process rate.

Printed: one table of requests per second and median latency per layer, image and concurrency, with
the share of the in-process rate. Numbers belong in closing notes, not in unit tests.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import torch

from model.inference.assemble import Checkpoints, load_reader
from model.synth import alphabet
from model.synth.fonts import discover_fonts
from model.training.paths import DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, DEFAULT_WEIGHTS
from tests.bench.page_latency import JPEG_QUALITY, render_a4_page
from tests.helpers import pick_cjk_font, png_bytes, render_clean_line
from tests.live import build_mar, run_service

LINE = "北京市朝阳区建国路八十八号现代城二期三号楼"
CONCURRENCY = (1, 4, 16)
THREADS = 2
# The mixed load: clients sending the line, clients sending the page.
MIXED = (12, 4)


@dataclass(frozen=True)
class Image:
    name: str
    data: bytes  # the encoded file
    mode: str
    requests_per_client: int


def line_image() -> np.ndarray:
    font = pick_cjk_font(discover_fonts(alphabet.current()))
    return render_clean_line(LINE, font.path, size=32, index=font.index)


def page_jpeg() -> bytes:
    page, _ = render_a4_page()
    return cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()


def in_process_rates(line: np.ndarray, page: bytes, seconds: float, batch: int = 8) -> dict[str, float]:
    """Lines per second reading ``batch`` copies at a time (as the handler reads a full batch), the
    median milliseconds of one line alone, and pages per second read one after another."""
    torch.set_num_threads(THREADS)
    reader = load_reader(Checkpoints(DEFAULT_WEIGHTS, DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM))
    lines = reader.recogniser
    prepared = [lines.prepare(line)] * batch
    lines.read_prepared(prepared)  # warm-up
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        lines.read_prepared(prepared)
        count += batch
    line_rate = count / (time.perf_counter() - started)
    alone = []
    for _ in range(30):
        start = time.perf_counter()
        lines.read_prepared(prepared[:1])
        alone.append((time.perf_counter() - start) * 1000)
    decoded = cv2.imdecode(np.frombuffer(page, np.uint8), cv2.IMREAD_UNCHANGED)
    reader.read_page(decoded)  # warm-up
    started, pages = time.perf_counter(), 0
    while time.perf_counter() - started < seconds or pages < 3:
        reader.read_page(cv2.imdecode(np.frombuffer(page, np.uint8), cv2.IMREAD_UNCHANGED))
        pages += 1
    page_rate = pages / (time.perf_counter() - started)
    return {"line": line_rate, "line_alone_ms": sorted(alone)[len(alone) // 2], "page": page_rate}


@dataclass(frozen=True)
class Run:
    rate: float  # requests per second
    median_ms: float
    failed: int  # answers other than 200


def hey(url: str, body: Path, concurrency: int, *, content_type: str, headers: dict[str, str], amount: str) -> Run:
    """One `hey` run: ``amount`` is ``-n COUNT`` or ``-z DURATION``."""
    command = ["hey", *amount.split(), "-c", str(concurrency), "-m", "POST", "-T", content_type]
    command += [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    done = subprocess.run([*command, "-D", str(body), url], capture_output=True, text=True, timeout=900, check=True)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))
    median = float(re.search(r"50%+ in ([\d.]+) secs", done.stdout).group(1)) * 1000
    statuses = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", done.stdout))
    return Run(rate, median, sum(int(n) for code, n in statuses.items() if code != "200"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--line-requests", type=int, default=40, help="line requests per concurrent client")
    parser.add_argument("--page-requests", type=int, default=3, help="page requests per concurrent client")
    parser.add_argument("--mixed-seconds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0, help="in-process measuring time per image")
    args = parser.parse_args(argv)
    if shutil.which("hey") is None:
        raise SystemExit("hey is not installed (Debian package hey; make bench installs it)")
    line, page = line_image(), page_jpeg()
    images = [
        Image("line", png_bytes(line), "line", args.line_requests),
        Image("page", page, "page", args.page_requests),
    ]
    own = in_process_rates(line, page, args.seconds)
    line_rate, alone_ms = own["line"], own["line_alone_ms"]
    rows = [
        f"| in-process (batch 8, {THREADS} threads) | line | - | {line_rate:.1f} | {alone_ms:.1f} alone | 100 % | - |",
        f"| in-process ({THREADS} threads) | page | - | {own['page']:.2f} | {1000 / own['page']:.0f} | 100 % | - |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bodies = {}
        for image in images:
            raw, as_json = work / f"{image.name}.bin", work / f"{image.name}.json"
            raw.write_bytes(image.data)
            as_json.write_text(json.dumps({"image": base64.b64encode(image.data).decode(), "mode": image.mode}))
            bodies[image.name] = raw, as_json
        mar = build_mar(work / "mar")
        (work / "live").mkdir()
        with run_service(mar, work / "live") as service:
            layers = [
                ("TorchServe direct", f"{service.inference_url}/predictions/crnn_ocr", 0, "application/octet-stream"),
                ("gateway", f"{service.gateway_url}/api/v1/ocr", 1, "application/json"),
            ]
            for layer, url, form, content_type in layers:
                auth = service.auth("inference") if layer.startswith("TorchServe") else {}
                for image in images:
                    body = bodies[image.name][form]
                    hey(url, body, 4, content_type=content_type, headers=auth, amount="-n 8")  # warm-up
                    for concurrency in CONCURRENCY:
                        count = max(image.requests_per_client * concurrency, 10)
                        run = hey(url, body, concurrency, content_type=content_type, headers=auth, amount=f"-n {count}")
                        share = run.rate / own[image.name]
                        rows.append(
                            f"| {layer} | {image.name} | {concurrency} | {run.rate:.2f} | {run.median_ms:.0f} | "
                            f"{100 * share:.0f} % | {run.failed} |"
                        )
                send = partial(hey, url, content_type=content_type, headers=auth, amount=f"-z {args.mixed_seconds}s")
                with ThreadPoolExecutor(len(MIXED)) as pool:
                    runs = [
                        pool.submit(send, bodies[image.name][form], clients) for image, clients in zip(images, MIXED)
                    ]
                    together = {image.name: run.result() for image, run in zip(images, runs)}
                share = sum(together[image.name].rate / own[image.name] for image in images)
                for image, clients in zip(images, MIXED):
                    run = together[image.name]
                    rows.append(
                        f"| {layer}, mixed | {image.name} | {clients} | {run.rate:.2f} | {run.median_ms:.0f} | "
                        f"{100 * run.rate / own[image.name]:.0f} % (both: {100 * share:.0f} %) | {run.failed} |"
                    )
    print(
        f"{len(LINE)}-character printed Chinese line ({line.shape[1]}x{line.shape[0]} px PNG, {len(images[0].data)} "
        f"bytes); A4 page at 150 dpi ({len(page)} bytes JPEG):"
    )
    print("| layer | image | concurrency | requests/s | median ms | share of in-process | non-200 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
