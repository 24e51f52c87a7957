import json
import os
import subprocess
import sys
import zipfile

import torch
import yaml

from archive.build import SERVING_MODULES
from model.checkpoint import DEFAULT_WEIGHTS
from model.config import BeamConfig
from model.detector.checkpoint import DEFAULT_DETECTOR_WEIGHTS


def test_archive_is_self_contained(built_mar):
    with zipfile.ZipFile(built_mar) as mar:
        names = set(mar.namelist())
        manifest = json.loads(mar.read("MAR-INF/MANIFEST.json"))
        config = yaml.safe_load(mar.read("model-config.yaml"))
        meta = json.loads(mar.read("model_config.json"))
        detector_meta = json.loads(mar.read("detector_config.json"))
    expected = {
        "crnn.torchscript.pt",
        "detector.torchscript.pt",
        "detector_config.json",
        "ocr_handler.py",
        "charset.txt",
        "lm.npz",
        "model_config.json",
        "model-config.yaml",
        "requirements.txt",
    } | {f"model/{name}" for name in SERVING_MODULES}
    assert expected <= names
    assert not any(name.startswith(("model/synth", "model/train", "model/detector/train", "model/detector/data", "tests/")) for name in names)
    assert manifest["model"]["handler"] == "ocr_handler.py"
    assert manifest["model"]["serializedFile"] == "crnn.torchscript.pt"
    assert {"batchSize", "maxBatchDelay", "minWorkers", "maxWorkers", "responseTimeout"} <= set(config)
    # The archive carries the committed, trained weights, never a fresh model.
    trained = torch.load(DEFAULT_WEIGHTS, map_location="cpu", weights_only=True)
    assert trained["step"] > 0
    assert meta["trained_steps"] == trained["step"]
    assert meta["beam"] == BeamConfig().to_dict()
    detector = torch.load(DEFAULT_DETECTOR_WEIGHTS, map_location="cpu", weights_only=True)
    assert detector["step"] > 0
    assert detector_meta["trained_steps"] == detector["step"]


def test_archived_modules_import_on_their_own(built_mar, tmp_path):
    """The handler's imports resolve inside the archive alone: a module the page reader starts to
    import must be added to SERVING_MODULES, or every worker fails to load."""
    with zipfile.ZipFile(built_mar) as mar:
        mar.extractall(tmp_path, [name for name in mar.namelist() if name.startswith("model/")])
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    code = "import model.reader.pipeline, model.decoding, model.export; print(model.reader.pipeline.__file__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(tmp_path))
