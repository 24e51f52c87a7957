"""Session fixtures that run the real service: the .mar built from the committed weights, a real
TorchServe started from a model store holding only that archive, and the real gateway (gunicorn)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 180


@dataclass(frozen=True)
class LiveService:
    gateway_url: str
    inference_url: str
    management_url: str
    metrics_url: str
    workdir: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}; log:\n{log.read_text()[-4000:]}")
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} not ready after {START_TIMEOUT_S} s; log:\n{log.read_text()[-4000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, with all its children (TorchServe's workers)."""
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def torchserve_config(ports: dict[str, int], target: Path) -> Path:
    """The repository's config.properties with the three addresses moved to free ports."""
    lines = []
    for line in (ROOT / "config.properties").read_text().splitlines():
        key = line.split("=", 1)[0]
        if key in ports:
            line = f"{key}=http://127.0.0.1:{ports[key]}"
        lines.append(line)
    target.write_text("\n".join(lines) + "\n")
    return target


@pytest.fixture(scope="session")
def built_mar(tmp_path_factory) -> Path:
    """Build the archive exactly as `make archive` does, into a temporary folder."""
    out = tmp_path_factory.mktemp("mar-build")
    subprocess.run([sys.executable, "-m", "archive.build", "--export-path", str(out)], cwd=ROOT, check=True)
    return out / "crnn_ocr.mar"


@pytest.fixture(scope="session")
def live_service(tmp_path_factory, built_mar) -> Iterator[LiveService]:
    work = tmp_path_factory.mktemp("live")
    # Only the .mar is copied: the archive must be self-contained.
    store = work / "model-store"
    store.mkdir()
    shutil.copy2(built_mar, store / built_mar.name)
    ports = {key: free_port() for key in ("inference_address", "management_address", "metrics_address")}
    config = torchserve_config(ports, work / "config.properties")
    env = {**os.environ, "TMPDIR": str(work), "LOG_LOCATION": str(work / "logs"), "METRICS_LOCATION": str(work / "logs"),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    ts_log, gw_log = work / "torchserve.out", work / "gateway.out"
    with ts_log.open("w") as ts_out, gw_log.open("w") as gw_out:
        yield from _run_service(work, store, config, ports, env, ts_log, ts_out, gw_out)


def _run_service(work, store, config, ports, env, ts_log, ts_out, gw_out) -> Iterator[LiveService]:
    torchserve = subprocess.Popen(
        [str(BIN / "torchserve"), "--start", "--foreground", "--ncs", "--model-store", str(store),
         "--ts-config", str(config), "--models", "crnn_ocr=crnn_ocr.mar"],
        cwd=work, env=env, stdout=ts_out, stderr=subprocess.STDOUT, start_new_session=True,
    )
    gateway = None
    try:
        inference = f"http://127.0.0.1:{ports['inference_address']}"
        management = f"http://127.0.0.1:{ports['management_address']}"
        gateway_port = free_port()
        gateway = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{gateway_port}", "--workers", "2", "--timeout", "60",
             "--access-logfile", "-", "gateway.wsgi:app"],
            cwd=ROOT, env={**env, "OCR_TORCHSERVE_URL": inference, "OCR_MANAGEMENT_URL": management},
            stdout=gw_out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        wait_until(lambda: requests.get(f"{gateway_url}/readyz", timeout=2).status_code == 200, "the model", torchserve, ts_log)
        yield LiveService(gateway_url, inference, management, f"http://127.0.0.1:{ports['metrics_address']}/metrics", work)
    finally:
        if gateway:
            stop(gateway)
        stop(torchserve)
