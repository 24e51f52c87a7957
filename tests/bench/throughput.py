"""How much of the model's own speed each layer keeps (`make bench`): the same line image read
in-process (the page reader's batched recogniser, as the handler runs it), straight from TorchServe,
and through the gateway, under a real load generator (Debian's `hey`) at several concurrencies.

Printed: one table of requests per second and median latency per layer and concurrency, and the
gateway's share of the in-process rate. Numbers belong in closing notes, not in unit tests.
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
from pathlib import Path

import torch

from model.inference.assemble import Checkpoints, load_reader
from model.synth import alphabet
from model.synth.fonts import discover_fonts
from model.training.paths import DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, DEFAULT_WEIGHTS
from tests.helpers import pick_cjk_font, png_bytes, render_clean_line
from tests.live import build_mar, run_service

# A 21-character printed Chinese line, the kind of field an invoice or a form is made of.
LINE = "北京市朝阳区建国路八十八号现代城二期三号楼"
CONCURRENCY = (1, 4, 16)


def line_image():
    font = pick_cjk_font(discover_fonts(alphabet.current()))
    return render_clean_line(LINE, font.path, size=32, index=font.index)


def in_process_rate(image, seconds: float, batch: int = 8, threads: int = 2) -> tuple[float, float]:
    """Lines per second reading ``batch`` copies at a time, as the handler reads a full batch, and
    the median milliseconds of one line alone."""
    torch.set_num_threads(threads)
    lines = load_reader(Checkpoints(DEFAULT_WEIGHTS, DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM)).recogniser
    prepared = [lines.prepare(image)] * batch
    lines.read_prepared(prepared)  # warm-up
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        lines.read_prepared(prepared)
        count += batch
    rate = count / (time.perf_counter() - started)
    alone = []
    for _ in range(30):
        start = time.perf_counter()
        lines.read_prepared(prepared[:1])
        alone.append((time.perf_counter() - start) * 1000)
    return rate, sorted(alone)[len(alone) // 2]


def hey(
    url: str, body: Path, content_type: str, concurrency: int, requests: int, headers: dict[str, str]
) -> tuple[float, float, int]:
    """Requests per second, median ms and the count of non-200 answers of one `hey` run."""
    command = ["hey", "-n", str(requests), "-c", str(concurrency), "-m", "POST", "-T", content_type]
    command += [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    done = subprocess.run([*command, "-D", str(body), url], capture_output=True, text=True, timeout=600, check=True)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))
    median = float(re.search(r"50%+ in ([\d.]+) secs", done.stdout).group(1)) * 1000
    statuses = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", done.stdout))
    failed = sum(int(n) for code, n in statuses.items() if code != "200")
    return rate, median, failed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests-per-client", type=int, default=40, help="requests per concurrent client")
    parser.add_argument("--seconds", type=float, default=5.0, help="in-process measuring time")
    args = parser.parse_args(argv)
    if shutil.which("hey") is None:
        raise SystemExit("hey is not installed (Debian package hey; make bench installs it)")
    image = line_image()
    rate, alone_ms = in_process_rate(image, args.seconds)
    png = png_bytes(image)
    rows = [f"| in-process (batch 8, 2 threads) | - | {rate:.1f} | {alone_ms:.1f} (one line alone) | 100 % | - |"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        raw, as_json = work / "line.png", work / "line.json"
        raw.write_bytes(png)
        as_json.write_text(json.dumps({"image": base64.b64encode(png).decode(), "mode": "line"}))
        mar = build_mar(work / "mar")
        (work / "live").mkdir()
        with run_service(mar, work / "live") as service:
            targets = [
                ("TorchServe direct", f"{service.inference_url}/predictions/crnn_ocr", raw, "image/png"),
                ("gateway", f"{service.gateway_url}/api/v1/ocr", as_json, "application/json"),
            ]
            for name, url, body, content_type in targets:
                auth = service.auth("inference") if name.startswith("TorchServe") else {}
                hey(url, body, content_type, 4, 40, auth)  # warm-up
                for concurrency in CONCURRENCY:
                    requests = max(50, args.requests_per_client * concurrency)
                    got, median, failed = hey(url, body, content_type, concurrency, requests, auth)
                    rows.append(
                        f"| {name} | {concurrency} | {got:.1f} | {median:.1f} | {100 * got / rate:.0f} % | {failed} |"
                    )
    print(f"{len(LINE)}-character printed Chinese line ({image.shape[1]}x{image.shape[0]} px PNG, {len(png)} bytes):")
    print("| layer | concurrency | lines/s | median ms | share of in-process | non-200 |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
