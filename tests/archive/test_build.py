"""The .mar: what it holds (the inference package whole, nothing of training or synthetic data), the
settings it carries, and the pins of its requirements."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import torch
import yaml

from model.inference.config import BeamConfig, ReaderConfig
from model.training.paths import DEFAULT_DETECTOR_WEIGHTS, DEFAULT_WEIGHTS

ROOT = Path(__file__).resolve().parents[2]


def test_archive_is_self_contained(built_mar):
    with zipfile.ZipFile(built_mar) as mar:
        names = set(mar.namelist())
        manifest = json.loads(mar.read("MAR-INF/MANIFEST.json"))
        config = yaml.safe_load(mar.read("model-config.yaml"))
        meta = json.loads(mar.read("model_config.json"))
        detector_meta = json.loads(mar.read("detector_config.json"))
        reader_meta = json.loads(mar.read("reader_config.json"))
    expected = {
        "crnn.torchscript.pt",
        "detector.torchscript.pt",
        "detector_config.json",
        "reader_config.json",
        "ocr_handler.py",
        "charset.txt",
        "lm.npz",
        "model_config.json",
        "model-config.yaml",
        "requirements.txt",
        "model/__init__.py",
    }
    assert expected <= names
    # model/inference whole, every module of it, and nothing else of the model package.
    inference = {
        f"model/{path.relative_to(ROOT / 'model').as_posix()}" for path in (ROOT / "model" / "inference").rglob("*.py")
    }
    packed = {name for name in names if name.startswith("model/") and name.endswith(".py")}
    assert packed == inference | {"model/__init__.py"}
    assert not any(name.startswith(("model/training", "model/synth", "model/weights", "tests/")) for name in names)
    assert manifest["model"]["handler"] == "ocr_handler.py"
    assert manifest["model"]["serializedFile"] == "crnn.torchscript.pt"
    assert {"batchSize", "maxBatchDelay", "minWorkers", "maxWorkers", "responseTimeout"} <= set(config)
    assert {"torch_threads", "max_pixels"} <= set(config["handler"])
    # The archive carries the committed, trained weights, never a fresh model, and their settings.
    trained = torch.load(DEFAULT_WEIGHTS, map_location="cpu", weights_only=True)
    assert trained["step"] > 0
    assert meta["trained_steps"] == trained["step"]
    assert meta["beam"] == BeamConfig().to_dict()
    assert ReaderConfig.from_dict(reader_meta) == ReaderConfig()
    detector = torch.load(DEFAULT_DETECTOR_WEIGHTS, map_location="cpu", weights_only=True)
    assert detector["step"] > 0
    assert detector_meta["trained_steps"] == detector["step"]


def test_archived_package_imports_on_its_own(built_mar, tmp_path):
    """The handler's imports resolve inside the archive alone (with the runtime packages)."""
    with zipfile.ZipFile(built_mar) as mar:
        mar.extractall(tmp_path, [name for name in mar.namelist() if name.startswith("model/")])
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    code = "import model.inference.assemble as a; print(a.__file__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(tmp_path))


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line} is not pinned exactly"
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_archive_requirements_are_the_runtime_pins():
    """archive/requirements.txt (for a TorchServe host that installs the handler's packages itself)
    pins exactly what the runtime requirements pin, so the two cannot drift apart."""
    runtime = _pins(ROOT / "requirements.txt")
    archive = _pins(ROOT / "archive" / "requirements.txt")
    assert archive and all(runtime.get(name) == version for name, version in archive.items()), (archive, runtime)
    for extra in ("requirements-train.txt", "requirements-test.txt"):
        assert all(name not in runtime for name in _pins(ROOT / extra)), f"{extra} repeats a runtime pin"
