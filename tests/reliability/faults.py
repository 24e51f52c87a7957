"""Load and faults against the running service (`make soak`; short runs are part of `make test`):

- **answers under load**: good images (lines and pages) sent by 16 clients at once, mixed with the
  fuzz's bad requests, must each get exactly the answer the same image gets alone, and every bad one
  its documented error;
- **a model worker killed** under that load: only the requests it held fail, each a 503
  ``model_unavailable`` with ``Retry-After``, and answers come again within 10 s;
- **TorchServe stopped**: the gateway answers 503 at once (``/readyz`` too) and serves again when
  TorchServe is back, with the new keys it writes;
- **slow clients**: clients sending their requests a byte a second delay no one else, and each is
  answered 408 ``request_timeout`` at its deadline;
- **memory over many requests**: the resident memory of the gateway workers, the model worker and
  TorchServe's front end, sampled while a mixed load runs, must level off.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from tests.helpers import CJK_FONT, png_bytes, render_clean_line, render_page
from tests.live import LiveService, build_mar, run_service
from tests.reliability.fuzz import ANSWER_LIMIT_S, Case, b64, cases, check_answer, json_body, model_workers, rss_mb

CLIENTS = 16
# After a worker is killed, answers must come again within this many seconds (the target).
RECOVERY_S = 10.0
# How fast a gateway facing a stopped TorchServe must answer, seconds.
PROMPT_S = 2.0
# Growth allowed once the load has run a fifth of its requests, MB (a soak of 10,000 measured -3 for
# the gateway workers, +26 for the model worker and +10 for the front end, from 3,000 on).
SETTLED_GROWTH_MB = {"gateway_mb": 50, "worker_mb": 100, "front_end_mb": 100}


@dataclass(frozen=True)
class Good:
    """A valid image and the answer it gets alone: its text and its lines' texts."""

    name: str
    body: bytes
    answer: tuple[str, tuple[str, ...]] | None = None


def good_images() -> list[Good]:
    """Lines of several lengths and scripts, and two small pages."""
    lines = ["Hello world 2024", "Invoice No. 88321", "Total amount: 128.50", "The quick brown fox jumps"]
    cjk = ["中华人民共和国", "北京市朝阳区建国路八十八号", "合计金额 ¥1,280.00"]
    images = [(text, png_bytes(render_clean_line(text)), "line") for text in lines]
    images += [(text, png_bytes(render_clean_line(text, CJK_FONT)), "line") for text in cjk]
    pages = [["第一行 first line", "第二行 second line 42"], ["发票代码 044031900111", "Amount due: 3,200.00", "备注"]]
    images += [(" / ".join(page), png_bytes(render_page(page)), "page") for page in pages]
    return [Good(name, json_body(b64(data), mode=mode)) for name, data, mode in images]


def summary(body: object) -> tuple[str, tuple[str, ...]]:
    """What must not change under load: the text and every line's text (confidences are rounded
    floats of a batched forward pass)."""
    lines = body.get("lines") or [] if isinstance(body, dict) else []
    return str(body.get("text")), tuple(str(line.get("text")) for line in lines if isinstance(line, dict))


def post(service: LiveService, body: bytes, session: requests.Session | None = None) -> requests.Response:
    return (session or requests).post(
        f"{service.gateway_url}/api/v1/ocr",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=ANSWER_LIMIT_S,
    )


def answered_alone(service: LiveService, images: list[Good]) -> list[Good]:
    """Each image's answer with nothing else in flight."""
    read = []
    for image in images:
        response = post(service, image.body)
        if response.status_code != 200:
            raise RuntimeError(f"{image.name} alone: {response.status_code} {response.text[:200]}")
        read.append(Good(image.name, image.body, summary(response.json())))
    return read


@dataclass
class LoadReport:
    sent: int = 0
    good: int = 0
    bad: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def under_load(service: LiveService, count: int, seed: int, bad_share: float = 0.25) -> LoadReport:
    """``count`` requests from ``CLIENTS`` clients: good images (checked against their answers alone)
    and, ``bad_share`` of them, the fuzz's bad requests (checked against the documented errors)."""
    goods = answered_alone(service, good_images())
    rng = random.Random(seed)
    bad = iter(cases(count, seed))
    work: list[Good | Case] = [next(bad) if rng.random() < bad_share else rng.choice(goods) for _ in range(count)]
    report, lock = LoadReport(sent=count), threading.Lock()
    local = threading.local()

    def send(item: Good | Case) -> None:
        local.session = getattr(local, "session", None) or requests.Session()
        try:
            response = post(service, item.body, local.session)
        except requests.RequestException as exc:
            problem = f"no answer ({exc})"
        else:
            if isinstance(item, Good):
                body = response.json()
                got = summary(body) if response.status_code == 200 else body.get("error")
                problem = None if got == item.answer else f"{response.status_code} {got} instead of {item.answer}"
            else:
                problem = check_answer(response)
        with lock:
            if isinstance(item, Good):
                report.good += 1
            else:
                report.bad += 1
            if problem:
                report.failures.append(f"{item.name}: {problem}")

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(send, work))
    report.seconds = time.monotonic() - started
    return report


@dataclass
class KillReport:
    failed: list[str]  # non-200 answers other than a held request's 503, each described
    held: int  # requests in flight when the worker was killed
    lost: int  # of those, answered 503 model_unavailable
    recovered_s: float  # from the kill to the first answer of a request sent after it


def kill_worker_under_load(
    service: LiveService, seconds_before: float = 3.0, seconds_after: float = 12.0
) -> KillReport:
    """Line requests from ``CLIENTS`` clients; the model worker is killed (SIGKILL) midway."""
    body = json_body(b64(png_bytes(render_clean_line("Hello world 2024"))), mode="line")
    killed_at: list[float] = []
    in_flight, lock = set(), threading.Lock()
    held: set[int] = set()
    results: list[tuple[float, float, int, str, bool]] = []  # sent, answered, status, code, held
    stop = time.monotonic() + seconds_before + seconds_after
    ticket = itertools.count()

    def client() -> None:
        with requests.Session() as session:
            while time.monotonic() < stop:
                number = next(ticket)
                with lock:
                    in_flight.add(number)
                sent = time.monotonic()
                try:
                    response = post(service, body, session)
                    status, headers = response.status_code, response.headers
                    code = "" if status == 200 else str(response.json().get("error"))
                except requests.RequestException as exc:
                    status, headers, code = 0, {}, f"no answer ({exc})"
                if status == 503 and not headers.get("Retry-After"):
                    code += " without Retry-After"
                with lock:
                    in_flight.discard(number)
                    results.append((sent, time.monotonic(), status, code, number in held))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(seconds_before)
    with lock:
        held.update(in_flight)
        for worker in model_workers(service):
            worker.kill()
        killed_at.append(time.monotonic())
    for thread in threads:
        thread.join()
    kill = killed_at[0]
    failed = [
        f"{'held' if was_held else 'sent after the kill'}: {status} {code}"
        for _, _, status, code, was_held in results
        if status != 200 and not (was_held and status == 503 and code == "model_unavailable")
    ]
    lost = sum(was_held and status == 503 and code == "model_unavailable" for *_, status, code, was_held in results)
    after = [answered - kill for sent, answered, status, _, _ in results if status == 200 and sent > kill]
    return KillReport(failed, len(held), lost, min(after, default=float("inf")))


@dataclass
class StopReport:
    readyz_s: float  # /readyz's 503 with TorchServe stopped
    ocr_s: float  # an OCR request's 503 with TorchServe stopped
    back_s: float  # from the restart to the first OCR answer
    problems: list[str]


def stop_front_end(service: LiveService) -> StopReport:
    """TorchServe stopped under the gateway, then started again."""
    body = json_body(b64(png_bytes(render_clean_line("Hello world 2024"))), mode="line")
    problems = []
    service.stop_torchserve()
    started = time.monotonic()
    readyz = requests.get(f"{service.gateway_url}/readyz", timeout=30)
    readyz_s = time.monotonic() - started
    if readyz.status_code != 503 or readyz.json().get("error") != "model_unavailable":
        problems.append(f"/readyz with TorchServe stopped: {readyz.status_code} {readyz.text[:100]}")
    started = time.monotonic()
    response = post(service, body)
    ocr_s = time.monotonic() - started
    if response.status_code != 503 or response.json().get("error") != "model_unavailable":
        problems.append(f"OCR with TorchServe stopped: {response.status_code} {response.text[:100]}")
    service.restart_torchserve()
    restarted = time.monotonic()
    back_s = float("inf")
    while time.monotonic() - restarted < 180:
        if requests.get(f"{service.gateway_url}/readyz", timeout=10).status_code == 200:
            response = post(service, body)
            if response.status_code == 200 and response.json()["text"] == "Hello world 2024":
                back_s = time.monotonic() - restarted
                break
            problems.append(f"ready again, but OCR answered {response.status_code} {response.text[:100]}")
            break
        time.sleep(0.5)
    return StopReport(readyz_s, ocr_s, back_s, problems)


def dribble(service: LiveService, head: bytes, byte: bytes, seconds: float) -> tuple[float, bytes]:
    """Send ``head`` at once, then ``byte`` once a second until the server answers or closes; the
    seconds that took and the answer."""
    host, port = service.gateway_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=seconds) as sock:
        started = time.monotonic()
        sock.sendall(head)
        sock.settimeout(1.0)
        answer = b""
        while time.monotonic() - started < seconds:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                try:
                    sock.sendall(byte)
                except OSError:  # closed: what came before is the answer
                    break
                continue
            if not chunk:
                break
            answer += chunk
        return time.monotonic() - started, answer


@dataclass
class SlowReport:
    others_s: float  # a probe and an OCR request, sent while the slow clients dribble
    cut_after_s: list[float]  # when each slow client was answered
    problems: list[str]


def slow_clients(service: LiveService, in_head: int = 8, in_body: int = 8) -> SlowReport:
    """Clients sending a request a byte a second, in its head or in its body, while a probe and an OCR
    request go through."""
    request_line = b"POST /api/v1/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    kinds = [(request_line + b"X-Slow: ", b"a")] * in_head + [
        (request_line + b"Content-Length: 1000\r\n\r\n", b" ")
    ] * in_body
    body = json_body(b64(png_bytes(render_clean_line("Hello world 2024"))), mode="line")
    problems = []
    with ThreadPoolExecutor(len(kinds)) as pool:
        slow = [pool.submit(dribble, service, head, byte, 60.0) for head, byte in kinds]
        time.sleep(3)
        started = time.monotonic()
        if requests.get(f"{service.gateway_url}/healthz", timeout=30).status_code != 200:
            problems.append("/healthz failed beside the slow clients")
        response = post(service, body)
        if response.status_code != 200 or response.json().get("text") != "Hello world 2024":
            problems.append(f"OCR beside the slow clients: {response.status_code} {response.text[:100]}")
        others_s = time.monotonic() - started
        answers = [future.result() for future in slow]
    for took, answer in answers:
        head, _, text = answer.partition(b"\r\n\r\n")
        status = head.split(b" ")[1] if head.count(b" ") else b"none"
        code = json.loads(text).get("error") if status != b"none" and text else None
        if status != b"408" or code != "request_timeout":
            problems.append(f"a slow client got {status!r} {code} after {took:.1f} s")
    return SlowReport(others_s, sorted(took for took, _ in answers), problems)


@dataclass
class MemorySample:
    requests: int
    gateway_mb: float
    worker_mb: float
    front_end_mb: float


def memory_over(
    service: LiveService, count: int, every: int, seed: int, log: Callable[[str], None] = lambda _: None
) -> list[MemorySample]:
    """Resident memory sampled every ``every`` requests of a mixed load (lines, pages, bad requests)."""
    samples = []
    for done in range(0, count, every):
        report = under_load(service, every, seed + done)
        if report.failures:
            raise RuntimeError(f"wrong answers while measuring memory: {report.failures[:5]}")
        gateway = psutil.Process(service.gateway_pid).children()  # recycled workers are new processes
        front_end = [psutil.Process(service.torchserve_pid)]
        front_end += [p for p in front_end[0].children(recursive=True) if p.name() == "java"]
        sample = MemorySample(done + every, rss_mb(gateway), rss_mb(model_workers(service)), rss_mb(front_end))
        samples.append(sample)
        log(
            f"{sample.requests} requests: gateway workers {sample.gateway_mb:.0f} MB, model worker "
            f"{sample.worker_mb:.0f} MB, TorchServe front end {sample.front_end_mb:.0f} MB"
        )
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load", type=int, default=2000, help="requests of the answers-under-load check")
    parser.add_argument("--memory", type=int, default=10000, help="requests of the memory check")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mar = build_mar(work / "mar")
        (work / "live").mkdir()
        with run_service(mar, work / "live") as service:
            load = under_load(service, args.load, args.seed)
            print(
                f"under load: {load.sent} requests from {CLIENTS} clients in {load.seconds:.0f} s, {load.good} "
                f"good ones compared with their answers alone, {load.bad} bad; {len(load.failures)} wrong"
            )
            failures += load.failures

            kill = kill_worker_under_load(service)
            print(
                f"model worker killed under load: {kill.held} requests in flight, {kill.lost} of them answered 503 "
                f"model_unavailable, {len(kill.failed)} other failures; "
                f"answers again after {kill.recovered_s:.1f} s"
            )
            failures += kill.failed
            if kill.recovered_s > RECOVERY_S:
                failures.append(f"answers came again only after {kill.recovered_s:.1f} s")

            stopped = stop_front_end(service)
            print(
                f"TorchServe stopped: /readyz 503 in {stopped.readyz_s:.2f} s, OCR 503 in {stopped.ocr_s:.2f} s; "
                f"restarted, answers again after {stopped.back_s:.1f} s"
            )
            failures += stopped.problems
            if max(stopped.readyz_s, stopped.ocr_s) > PROMPT_S:
                failures.append("the gateway was slow to say TorchServe is down")

            slow = slow_clients(service, 12, 12)
            first, last = slow.cut_after_s[0], slow.cut_after_s[-1]
            print(
                f"24 clients sending a byte a second: a probe and an OCR request answered in {slow.others_s:.2f} s "
                f"beside them; each slow client answered 408 after {first:.1f}-{last:.1f} s"
            )
            failures += slow.problems

            samples = memory_over(service, args.memory, args.memory // 10, args.seed, print)
            settled = samples[len(samples) // 5]  # after a fifth of the requests
            for name, allowed in SETTLED_GROWTH_MB.items():
                growth = getattr(samples[-1], name) - getattr(settled, name)
                print(f"{name}: {growth:+.0f} MB from {settled.requests} to {samples[-1].requests} requests")
                if growth > allowed:
                    failures.append(f"{name} grew {growth:+.0f} MB after the load settled (allowed {allowed})")
    print(f"failures: {len(failures)}")
    for failure in failures[:50]:
        print("  " + failure)
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
