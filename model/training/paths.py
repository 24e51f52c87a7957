"""Where the committed weights live in this checkout: what ``publish`` writes, and what the archive
build, evaluation and the benchmarks read by default; and the serving limits the archive ships."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS / "crnn.pt"
DEFAULT_DETECTOR_WEIGHTS = WEIGHTS / "detector.pt"
DEFAULT_LM = WEIGHTS / "lm.npz"
SERVING_CONFIG = Path(__file__).resolve().parents[2] / "archive" / "model-config.yaml"
# The real training material (../shared/data beside the checkout), unless OCR_DATA_DIR names another.
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
# Where `make documents` writes what it draws from that material (outside git).
DEFAULT_DOCUMENTS = Path(__file__).resolve().parents[2] / "data" / "documents"


def serving_limits() -> dict[str, Any]:
    """The handler's serving limits (``handler:`` in the archive's model-config.yaml), for running
    the served path outside TorchServe with the same bounds."""
    return yaml.safe_load(SERVING_CONFIG.read_text(encoding="utf-8"))["handler"]
