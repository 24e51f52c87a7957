"""Build ``crnn_ocr.mar``: one reproducible, self-contained TorchServe archive.

The archive root holds the recogniser's TorchScript weights, ``ocr_handler.py``, ``charset.txt``,
``model_config.json``, the character language model ``lm.npz``, the detector's
``detector.torchscript.pt`` and ``detector_config.json``, and the ``model`` package modules the
handler imports, so a TorchServe host needs only the archive (plus the Python packages in
``archive/requirements.txt``).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from model.checkpoint import DEFAULT_WEIGHTS
from model.detector.checkpoint import DEFAULT_DETECTOR_WEIGHTS
from model.export import export_detector, export_serving
from model.language import DEFAULT_LM

ROOT = Path(__file__).resolve().parent.parent
MODEL_NAME = "crnn_ocr"
# The slice of the model package that serving imports (no training, synthesis or fonts).
SERVING_MODULES = (
    "__init__.py",
    "charset.py",
    "checkpoint.py",
    "config.py",
    "decoding.py",
    "export.py",
    "language.py",
    "network.py",
    "preprocessing.py",
    "detector/__init__.py",
    "detector/boxes.py",
    "detector/checkpoint.py",
    "detector/inference.py",
    "detector/network.py",
    "detector/preprocessing.py",
    "reader/__init__.py",
    "reader/crops.py",
    "reader/markers.py",
    "reader/order.py",
    "reader/pipeline.py",
    "reader/recognise.py",
    "reader/rules.py",
)

log = logging.getLogger("archive")


def stage(weights: Path, detector: Path, lm: Path, staging: Path) -> Path:
    """Lay out the archive's extra files on purpose: ``--extra-files`` copies a folder's contents."""
    extra = staging / "extra"
    script = export_serving(weights, extra, lm)
    export_detector(detector, extra)
    shutil.move(script, staging / script.name)
    package = extra / "model"
    for name in SERVING_MODULES:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "model" / name, package / name)
    shutil.copy2(ROOT / "handler" / "ocr_handler.py", staging / "ocr_handler.py")
    return staging / script.name


def build(weights: Path, detector: Path, lm: Path, export_path: Path, version: str) -> Path:
    export_path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        script = stage(weights, detector, lm, staging)
        command = [
            str(Path(sys.executable).parent / "torch-model-archiver"),
            "--model-name",
            MODEL_NAME,
            "--version",
            version,
            "--serialized-file",
            str(script),
            "--handler",
            str(staging / "ocr_handler.py"),
            "--extra-files",
            str(staging / "extra"),
            "--config-file",
            str(ROOT / "archive" / "model-config.yaml"),
            "--requirements-file",
            str(ROOT / "archive" / "requirements.txt"),
            "--export-path",
            str(export_path),
            "--force",
        ]
        subprocess.run(command, check=True)
    mar = export_path / f"{MODEL_NAME}.mar"
    log.info("built %s (%.1f MB)", mar, mar.stat().st_size / 1e6)
    return mar


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--detector", type=Path, default=DEFAULT_DETECTOR_WEIGHTS)
    parser.add_argument("--lm", type=Path, default=DEFAULT_LM, help="character language model (make lm)")
    parser.add_argument("--export-path", type=Path, default=ROOT / "model-store")
    parser.add_argument("--version", default="1.0")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    build(args.weights, args.detector, args.lm, args.export_path, args.version)


if __name__ == "__main__":
    main()
