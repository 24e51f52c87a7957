"""Where the committed weights live in this checkout: what ``publish`` writes, and what the archive
build, evaluation and the benchmarks read by default."""

from __future__ import annotations

from pathlib import Path

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS / "crnn.pt"
DEFAULT_DETECTOR_WEIGHTS = WEIGHTS / "detector.pt"
DEFAULT_LM = WEIGHTS / "lm.npz"
