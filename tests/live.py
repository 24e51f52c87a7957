"""Runs the real service for tests and benchmarks: a TorchServe started from a model store holding
only the built .mar, on free ports, and the real gateway (gunicorn) in front of it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 180


@dataclass
class LiveService:
    gateway_url: str
    inference_url: str
    management_url: str
    metrics_url: str
    workdir: Path
    gateway_pid: int  # gunicorn master
    torchserve: subprocess.Popen  # leader of TorchServe's process group (front end and workers)
    start_torchserve: Callable[[], subprocess.Popen] = field(repr=False)

    @property
    def torchserve_pid(self) -> int:
        return self.torchserve.pid

    def auth(self, kind: str) -> dict[str, str]:
        """The header that calls TorchServe directly with its ``kind`` key ("inference", "management")."""
        keys = json.loads((self.workdir / "key_file.json").read_text())
        return {"Authorization": f"Bearer {keys[kind]['key']}"}

    def stop_torchserve(self) -> None:
        """Stop TorchServe, front end and workers (the gateway keeps running)."""
        stop(self.torchserve)

    def restart_torchserve(self) -> None:
        """Start TorchServe again as it was started (it writes new keys); returns at once."""
        self.torchserve = self.start_torchserve()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, processes: dict[str, tuple[subprocess.Popen, Path]]) -> None:
    """Poll ``check`` until it is true; fail early, with the log, if a process dies meanwhile."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for name, (process, log) in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; log:\n{log.read_text()[-4000:]}")
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    logs = "\n".join(f"--- {name}:\n{log.read_text()[-3000:]}" for name, (_, log) in processes.items())
    raise RuntimeError(f"not ready after {START_TIMEOUT_S} s\n{logs}")


def stop(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, with all its children (TorchServe's front end and
    workers), and wait until the whole group is gone: TorchServe refuses to start again while its
    last instance is still exiting."""
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if process.poll() is not None and not _group_alive(process.pid):
                return
            time.sleep(0.1)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


# What config.properties binds: three HTTP addresses and two gRPC ports, all moved to free ports so
# that the tests run beside `make run`.
ADDRESSES = ("inference_address", "management_address", "metrics_address")
PORTS = ("grpc_inference_port", "grpc_management_port")


def torchserve_config(ports: dict[str, int], target: Path) -> Path:
    """The repository's config.properties with every address and port moved to ``ports``."""
    lines = []
    for line in (ROOT / "config.properties").read_text().splitlines():
        key = line.split("=", 1)[0]
        if key in ADDRESSES:
            line = f"{key}=http://127.0.0.1:{ports[key]}"
        elif key in PORTS:
            line = f"{key}={ports[key]}"
        lines.append(line)
    missing = set(ADDRESSES + PORTS) - {line.split("=", 1)[0] for line in lines}
    if missing:
        raise RuntimeError(f"config.properties does not set {sorted(missing)}: they could collide with `make run`")
    target.write_text("\n".join(lines) + "\n")
    return target


@contextmanager
def run_service(mar: Path, work: Path) -> Iterator[LiveService]:
    """Start TorchServe and the gateway in ``work``; stop both (and TorchServe's workers) on exit."""
    # Only the .mar is copied into an otherwise empty store: the archive must be self-contained.
    store = work / "model-store"
    store.mkdir()
    shutil.copy2(mar, store / mar.name)
    ports = {key: free_port() for key in ADDRESSES + PORTS}
    config = torchserve_config(ports, work / "config.properties")
    inference = f"http://127.0.0.1:{ports['inference_address']}"
    management = f"http://127.0.0.1:{ports['management_address']}"
    gateway_url = f"http://127.0.0.1:{free_port()}"
    # TMPDIR keeps TorchServe's pid file apart from a `make run` instance on the same machine.
    env = {
        **os.environ,
        "TMPDIR": str(work),
        "LOG_LOCATION": str(work / "logs"),
        "METRICS_LOCATION": str(work / "logs"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "OCR_TORCHSERVE_URL": inference,
        "OCR_MANAGEMENT_URL": management,
        # TorchServe runs in ``work``, where it writes its keys.
        "OCR_TORCHSERVE_KEY_FILE": str(work / "key_file.json"),
    }
    torchserve_cmd = [str(BIN / "torchserve"), "--start", "--foreground", "--ncs", "--model-store", str(store)]
    torchserve_cmd += ["--ts-config", str(config), "--models", "crnn_ocr=crnn_ocr.mar"]
    # The gateway's own gunicorn settings, as `make run` and the Docker image use them.
    gateway_cmd = [str(BIN / "gunicorn"), "--config", "gateway/gunicorn.conf.py"]
    gateway_cmd += ["--bind", gateway_url.removeprefix("http://"), "--access-logfile", "-", "gateway.wsgi:app"]
    ts_log, gw_log = work / "torchserve.out", work / "gateway.out"

    def start_torchserve() -> subprocess.Popen:
        with ts_log.open("a") as ts_out:
            return subprocess.Popen(
                torchserve_cmd, cwd=work, env=env, stdout=ts_out, stderr=subprocess.STDOUT, start_new_session=True
            )

    torchserve = start_torchserve()
    with gw_log.open("w") as gw_out:
        gateway = subprocess.Popen(
            gateway_cmd, cwd=ROOT, env=env, stdout=gw_out, stderr=subprocess.STDOUT, start_new_session=True
        )
        service = None
        try:
            wait_until(
                lambda: requests.get(f"{gateway_url}/readyz", timeout=2).status_code == 200,
                {"TorchServe": (torchserve, ts_log), "the gateway": (gateway, gw_log)},
            )
            metrics = f"http://127.0.0.1:{ports['metrics_address']}/metrics"
            service = LiveService(
                gateway_url, inference, management, metrics, work, gateway.pid, torchserve, start_torchserve
            )
            yield service
        finally:
            stop(gateway)
            stop(service.torchserve if service else torchserve)


def build_mar(out: Path) -> Path:
    """Build the archive exactly as `make archive` does, into ``out``."""
    subprocess.run([sys.executable, "-m", "archive.build", "--export-path", str(out)], cwd=ROOT, check=True)
    return out / "crnn_ocr.mar"
