"""Sustained-load benchmark of the whole service: gateway -> TorchServe -> handler.

Sends rendered text lines from a few concurrent clients for a bounded number of requests, then prints
latency percentiles, throughput and the resident memory of every server process before and after, so
a leak shows up as growth. Run with `make bench`; numbers belong in the closing notes and model card,
not in unit tests.
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

from tests.helpers import png_bytes, render_clean_line
from tests.live import LiveService, build_mar, run_service

WORDS = "invoice total amount paid change cash card date time number item price quantity tax".split()


def make_bodies(count: int, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5))) + f" {rng.randint(0, 99999)}"
        bodies.append({"image": base64.b64encode(png_bytes(render_clean_line(text))).decode()})
    return bodies


def server_memory_mb(service: LiveService) -> dict[str, float]:
    """Resident memory of TorchServe's front end (Java), its Python workers, and the gateway."""
    memory: dict[str, float] = {}
    for group, pid in (("torchserve", service.torchserve_pid), ("gateway", service.gateway_pid)):
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            name = process.name()
            part = "gateway" if group == "gateway" else "torchserve java" if "java" in name else "torchserve python"
            memory[part] = memory.get(part, 0.0) + process.memory_info().rss / 2**20
    return memory


def run_load(service: LiveService, bodies: list[dict[str, str]], requests_total: int, clients: int) -> list[float]:
    url = f"{service.gateway_url}/api/v1/ocr"

    def one(i: int) -> float:
        start = time.perf_counter()
        response = requests.post(url, json=bodies[i % len(bodies)], timeout=60)
        response.raise_for_status()
        return (time.perf_counter() - start) * 1000

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, range(requests_total)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="requests in the measured phase")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    bodies = make_bodies(50)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mar = build_mar(work / "mar")
        (work / "live").mkdir()
        with run_service(mar, work / "live") as service:
            run_load(service, bodies, 200, args.clients)  # warm-up: allocators and caches settle
            before = server_memory_mb(service)
            started = time.perf_counter()
            latencies = run_load(service, bodies, args.requests, args.clients)
            elapsed = time.perf_counter() - started
            after = server_memory_mb(service)
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"{args.requests} requests, {args.clients} clients: {args.requests / elapsed:.1f} lines/s")
    print(f"latency ms: p50 {quantiles[49]:.1f}  p95 {quantiles[94]:.1f}  p99 {quantiles[98]:.1f}")
    for name in before:
        growth = after[name] - before[name]
        print(f"memory {name}: {before[name]:.0f} MB -> {after[name]:.0f} MB ({growth:+.0f} MB)")


if __name__ == "__main__":
    main()
