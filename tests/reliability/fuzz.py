"""A seeded fuzz of bad requests against the running service (`make soak`; a short run is part of
`make test`): every accepted image type and PDF truncated, mutated and replaced by noise; the bombs
(huge headers, 16-bit, nested-form PDFs, too many pages); odd but valid images (CMYK, palette,
multi-frame, EXIF-turned, alpha); wrong JSON types, depth and bodies. Every answer must be a
documented status with our JSON (a result, or an error whose code the README lists), within its
time, and afterwards the same workers must be alive, ready, and not much larger than before.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
import struct
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
import requests
from PIL import Image

from tests.helpers import png_bytes, render_clean_line
from tests.live import LiveService, build_mar, run_service
from tests.pdfs import nested_forms_pdf, text_page, text_pdf

# What the README documents: status -> error codes (200 is a result).
DOCUMENTED = {
    400: {
        "invalid_json", "invalid_body", "missing_image", "invalid_base64", "invalid_image", "image_too_large",
        "too_many_lines", "invalid_mode", "invalid_filename", "invalid_pdf_source", "invalid_previews",
        "invalid_pdf", "too_many_pages", "bad_request",
    },
    408: {"request_timeout"},
    413: {"payload_too_large"},
    415: {"unsupported_media_type"},
    504: {"page_timeout", "upstream_timeout"},
}  # fmt: skip
# No answer may take longer (the PDF deadline is 50 s, a page's 25 s).
ANSWER_LIMIT_S = 60.0
# Growth allowed over a run, MB: the allocator keeps some of what a large image used.
GATEWAY_GROWTH_MB = 200
WORKER_GROWTH_MB = 400


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    content_type: str = "application/json"


def json_body(image: object, **fields: object) -> bytes:
    """An API request body: ``image`` and any other fields."""
    return json.dumps({"image": image, **fields}).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR claiming ``width`` x ``height``, and nothing else."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def seeds() -> dict[str, bytes]:
    """Valid files of every accepted kind, to be broken."""
    line = Image.fromarray(render_clean_line("Fuzz 2024"))
    colour = line.convert("RGB")
    return {
        "png": _encoded(line, "PNG"),
        "jpeg": _encoded(colour, "JPEG"),
        "bmp": _encoded(colour, "BMP"),
        "webp": _encoded(colour, "WEBP"),
        "gif": _encoded(line.convert("P"), "GIF"),
        "tiff": _encoded(line, "TIFF"),
        "pdf": text_pdf(text_page(["Fuzzed text 42"])),
    }


def special_cases() -> list[Case]:
    """The bombs and the odd-but-valid images, once each."""
    rng = np.random.default_rng(0)
    line = Image.fromarray(render_clean_line("Special 7"))
    frames = [line, line.rotate(180)]
    exif = line.getexif()
    exif[0x0112] = 6
    wide = np.zeros((60, 200, 4), np.uint16)
    wide[..., 3] = 65535
    cases = [
        ("png claiming 100000x100000", _png_header(100_000, 100_000)),
        ("png claiming 7000x7000 (49 M px)", _png_header(7_000, 7_000)),
        ("16-bit rgba png", png_bytes(wide)),
        ("cmyk jpeg", _encoded(line.convert("CMYK"), "JPEG")),
        ("palette png", _encoded(line.convert("P"), "PNG")),
        (
            "multi-frame gif",
            _encoded(frames[0].convert("P"), "GIF", save_all=True, append_images=[frames[1].convert("P")]),
        ),
        ("multi-frame tiff", _encoded(frames[0], "TIFF", save_all=True, append_images=frames[1:])),
        ("exif-turned jpeg", _encoded(line, "JPEG", exif=exif)),
        ("1x1 png", _encoded(Image.new("L", (1, 1)), "PNG")),
        ("noise png", png_bytes(rng.integers(0, 256, (300, 400), dtype=np.uint8))),
        ("nested-forms pdf bomb", nested_forms_pdf(8, 16)),
        ("pdf of 25 pages", text_pdf(*[text_page([f"page {i}"]) for i in range(25)])),
    ]
    return [Case(name, json_body(b64(data), filename="x.pdf" if "pdf" in name else None)) for name, data in cases]


def request_cases() -> list[Case]:
    """Bodies wrong at the JSON level, once each."""
    image = b64(png_bytes(render_clean_line("ok")))
    return [
        Case("image is a number", json_body(42)),
        Case("image is a list", json_body([image])),
        Case("image is an object", json_body({"data": image})),
        Case("image is null", json_body(None)),
        Case("image is not base64", json_body("!!" * 1000)),
        Case("data url without base64", json_body("data:image/png," + image)),
        Case("mode is a number", json_body(image, mode=3)),
        Case("mode is unknown", json_body(image, mode="sideways")),
        Case("filename is a list", json_body(image, filename=["a.pdf"])),
        Case("pdf_source is wrong", json_body(image, pdf_source="both")),
        Case("previews is a string", json_body(image, previews="yes")),
        Case("json nested 100000 deep", b"[" * 100_000),
        Case("json is a list", b"[1, 2, 3]"),
        Case("json is cut short", json_body(image)[:-7]),
        Case("body is not utf-8", b'{"image": "\xff\xfe"}'),
        Case("empty body", b""),
        Case("form-encoded body", b"image=abc", "application/x-www-form-urlencoded"),
        Case("body over 15 MiB", b'{"image": "' + b"A" * (15 * 1024 * 1024) + b'"}'),
    ]


def mutated(rng: random.Random, files: dict[str, bytes]) -> Iterator[Case]:
    """Endless broken files: truncated, bytes flipped, junk inserted, or noise with a real header."""
    kinds = sorted(files)
    while True:
        kind = rng.choice(kinds)
        data = bytearray(files[kind])
        how = rng.choice(["truncated", "flipped", "inserted", "noise"])
        if how == "truncated":
            data = data[: rng.randrange(len(data))]
        elif how == "flipped":
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == "inserted":
            at = rng.randrange(len(data))
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
        else:
            data = data[:16] + bytes(rng.randrange(256) for _ in range(rng.randint(0, 4000)))
        name = f"{how} {kind}"
        yield Case(name, json_body(b64(bytes(data)), filename="x.pdf" if kind == "pdf" else None))


def cases(count: int, seed: int) -> list[Case]:
    fixed = special_cases() + request_cases()
    stream = mutated(random.Random(seed), seeds())
    return fixed + [next(stream) for _ in range(max(0, count - len(fixed)))]


def model_workers(service: LiveService) -> list[psutil.Process]:
    front = psutil.Process(service.torchserve_pid)
    return [p for p in front.children(recursive=True) if "model_service_worker" in " ".join(p.cmdline())]


def rss_mb(processes: list[psutil.Process]) -> float:
    return sum(process.memory_info().rss for process in processes) / 2**20


@dataclass
class Report:
    answered: Counter
    failures: list[str]
    slowest_s: float
    gateway_growth_mb: float
    worker_growth_mb: float


def run(service: LiveService, count: int, seed: int, log: Callable[[str], None] = lambda _: None) -> Report:
    """Send ``count`` cases one by one; check every answer, then the processes."""
    gateway_workers = psutil.Process(service.gateway_pid).children()
    workers = model_workers(service)
    gateway_before, workers_before = rss_mb(gateway_workers), rss_mb(workers)
    answered: Counter = Counter()
    failures: list[str] = []
    slowest = 0.0
    session = requests.Session()
    for number, case in enumerate(cases(count, seed)):
        started = time.monotonic()
        try:
            response = session.post(
                f"{service.gateway_url}/api/v1/ocr",
                data=case.body,
                headers={"Content-Type": case.content_type},
                timeout=ANSWER_LIMIT_S,
            )
        except requests.RequestException as exc:
            failures.append(f"{case.name}: no answer ({exc})")
            continue
        elapsed = time.monotonic() - started
        slowest = max(slowest, elapsed)
        problem = check_answer(response)
        answered[response.status_code] += 1
        if problem:
            failures.append(f"{case.name}: {problem}")
        if number % 200 == 0:
            log(f"{number} sent, {len(failures)} failures")
    session.close()
    if [p.pid for p in model_workers(service)] != [p.pid for p in workers]:
        failures.append("the model worker was replaced: some input crashed it")
    if any(not process.is_running() for process in gateway_workers):
        failures.append("a gateway worker died")
    for probe in ("/healthz", "/readyz"):
        if requests.get(f"{service.gateway_url}{probe}", timeout=10).status_code != 200:
            failures.append(f"{probe} is not 200 after the run")
    gateway_growth = rss_mb(gateway_workers) - gateway_before
    worker_growth = rss_mb(model_workers(service)) - workers_before
    if gateway_growth > GATEWAY_GROWTH_MB or worker_growth > WORKER_GROWTH_MB:
        failures.append(f"memory grew: gateway {gateway_growth:+.0f} MB, model worker {worker_growth:+.0f} MB")
    return Report(answered, failures, slowest, gateway_growth, worker_growth)


def check_answer(response: requests.Response) -> str | None:
    """Why an answer breaks the contract, or None."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} without a JSON body"
    if response.status_code == 200:
        ok = isinstance(body, dict) and isinstance(body.get("text"), str) and "confidence" in body
        return None if ok else "200 without a result"
    code = body.get("error") if isinstance(body, dict) else None
    if code not in DOCUMENTED.get(response.status_code, set()):
        return f"undocumented answer {response.status_code} {code}"
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mar = build_mar(work / "mar")
        (work / "live").mkdir()
        with run_service(mar, work / "live") as service:
            started = time.monotonic()
            report = run(service, args.cases, args.seed, print)
            took = time.monotonic() - started
    print(f"{args.cases} cases (seed {args.seed}) in {took:.0f} s; answers: {dict(sorted(report.answered.items()))}")
    print(f"slowest answer {report.slowest_s:.1f} s (limit {ANSWER_LIMIT_S:.0f})")
    growth = report.gateway_growth_mb, report.worker_growth_mb
    print(f"memory growth: gateway workers {growth[0]:+.0f} MB, model worker {growth[1]:+.0f} MB")
    print(f"failures: {len(report.failures)}")
    for failure in report.failures[:50]:
        print("  " + failure)
    if report.failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
