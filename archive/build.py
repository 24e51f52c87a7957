"""Build ``crnn_ocr.mar``: one reproducible, self-contained TorchServe archive.

The archive root holds ``ocr_handler.py``, the archive folder that ``model.training.export`` writes
(both networks in TorchScript, the charset, the language model and the settings tuned with them) and
the whole ``model.inference`` package, copied as it is: it imports nothing outside itself, so there
is no list of modules to keep. A TorchServe host needs only the archive (plus the Python packages
in ``archive/requirements.txt``, the runtime pins the handler imports).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from model.training.export import export_serving
from model.training.paths import DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, DEFAULT_WEIGHTS

ROOT = Path(__file__).resolve().parent.parent
MODEL_NAME = "crnn_ocr"
# What serving runs: the package, and the package above it (an __init__ with a docstring only).
INFERENCE = ROOT / "model" / "inference"

log = logging.getLogger("archive")


def stage(weights: Path, detector: Path, lm: Path, staging: Path) -> Path:
    """Lay out the archive's files on purpose: ``--extra-files`` copies a folder's contents."""
    extra = staging / "extra"
    script = export_serving(weights, detector, lm, extra)
    shutil.move(script, staging / script.name)
    (extra / "model").mkdir()
    shutil.copy2(ROOT / "model" / "__init__.py", extra / "model" / "__init__.py")
    shutil.copytree(INFERENCE, extra / "model" / "inference", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
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
