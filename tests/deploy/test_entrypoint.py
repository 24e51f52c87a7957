"""The Docker image's command (deploy/entrypoint.sh) supervises TorchServe and the gateway: when either
dies the other is stopped and the container exits non-zero; `docker stop` ends both cleanly. No
Docker engine is available here, so the script runs on its own with two stand-ins on its PATH that
record their pid and wait (the servers themselves are exercised by the integration tests)."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

ENTRYPOINT = Path(__file__).resolve().parents[2] / "deploy" / "entrypoint.sh"
STAND_IN = """#!/bin/bash
echo $$ > "{pids}/{name}"
exec sleep 300
"""


@pytest.fixture()
def started(tmp_path):
    bin_dir, pids = tmp_path / "bin", tmp_path / "pids"
    bin_dir.mkdir()
    pids.mkdir()
    for name in ("torchserve", "gunicorn"):
        script = bin_dir / name
        script.write_text(STAND_IN.format(pids=pids, name=name))
        script.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    process = subprocess.Popen([str(ENTRYPOINT)], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    children = {path.name: int(path.read_text()) for path in pids.iterdir()}
    assert set(children) == {"torchserve", "gunicorn"}
    yield process, children
    process.kill()
    process.wait()
    process.stderr.close()
    for pid in children.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it waits only for its parent to read its status.
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


@pytest.mark.parametrize("dies, other", [("torchserve", "gunicorn"), ("gunicorn", "torchserve")])
def test_the_container_exits_when_either_server_dies(started, dies, other):
    process, children = started
    os.kill(children[dies], signal.SIGKILL)
    assert process.wait(timeout=10) == 1
    assert "exited; stopping the container" in process.stderr.read()
    time.sleep(0.2)
    assert not _alive(children[other])


def test_docker_stop_ends_both_cleanly(started):
    process, children = started
    assert process.poll() is None  # both running: the entrypoint waits
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    time.sleep(0.2)
    assert not any(_alive(pid) for pid in children.values())
