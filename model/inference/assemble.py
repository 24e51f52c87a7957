"""The one place a ``PageReader`` is put together, from an archive folder (the handler: what
TorchServe unpacked from the ``.mar``) or from checkpoints (evaluation and the benchmarks). Both
paths end in ``_assemble``, and checkpoints are converted exactly as the archive build converts them
(``model.inference.torchscript``), so what is measured is what is served.

An archive folder holds the files named below; ``model.training.export.export_serving`` writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model.inference.charset import Charset
from model.inference.checkpoint import load_checkpoint, load_detector
from model.inference.config import BeamConfig, DetectorConfig, ModelConfig, ReaderConfig
from model.inference.decoding import BeamDecoder, Decoder, greedy
from model.inference.language import CharLanguageModel
from model.inference.reader.pipeline import PageReader
from model.inference.reader.recognise import LineRecogniser, Network
from model.inference.torchscript import (
    BFLOAT16,
    FLOAT32,
    detector_torchscript,
    load_torchscript,
    resolve_precision,
    to_torchscript,
)

# Each network in both precisions (``model.inference.torchscript``); the float32 recogniser is the
# archive's serialized file.
RECOGNISER_FILES = {FLOAT32: "crnn.torchscript.pt", BFLOAT16: "crnn.bf16.torchscript.pt"}
RECOGNISER_FILE = RECOGNISER_FILES[FLOAT32]
CHARSET_FILE = "charset.txt"
# The recogniser's network and preprocessing, its beam search settings, its training steps.
CONFIG_FILE = "model_config.json"
DETECTOR_FILES = {FLOAT32: "detector.torchscript.pt", BFLOAT16: "detector.bf16.torchscript.pt"}
DETECTOR_CONFIG_FILE = "detector_config.json"
LM_FILE = "lm.npz"
# The page reader's thresholds (``ReaderConfig``), tuned with these weights.
READER_CONFIG_FILE = "reader_config.json"


@dataclass(frozen=True)
class Checkpoints:
    """Training checkpoints to read with: the recogniser, the detector, and the character language
    model of the beam search (None: greedy decoding)."""

    recogniser: Path
    detector: Path
    lm: Path | None


def load_reader(
    source: Path | Checkpoints,
    quantize: bool = True,
    reader_config: ReaderConfig | None = None,
    precision: str = "auto",
) -> PageReader:
    """A page reader from an archive folder or from ``Checkpoints``. ``quantize`` (checkpoints only):
    the recogniser's classifier in int8 as served; ``reader_config`` replaces the archive's (or, for
    checkpoints, the current) thresholds, to measure a change before it is exported; ``precision``
    of the convolutions (``model.inference.torchscript.PRECISIONS``): "auto" chooses as the handler
    does on this CPU."""
    precision = resolve_precision(precision)
    if isinstance(source, Checkpoints):
        crnn, charset, _ = load_checkpoint(source.recogniser)
        dbnet, _ = load_detector(source.detector)
        lm = CharLanguageModel.load(source.lm) if source.lm else None
        return _assemble(
            to_torchscript(crnn, quantize=quantize, precision=precision),
            charset,
            crnn.config,
            BeamConfig(),
            lm,
            detector_torchscript(dbnet, precision),
            dbnet.config,
            reader_config or ReaderConfig(),
        )
    folder = Path(source)
    meta = _json(folder / CONFIG_FILE)
    return _assemble(
        load_torchscript(folder / RECOGNISER_FILES[precision]).eval(),
        Charset.from_file(folder / CHARSET_FILE),
        ModelConfig.from_dict(meta["config"]),
        BeamConfig(**meta["beam"]),
        CharLanguageModel.load(folder / LM_FILE),
        load_torchscript(folder / DETECTOR_FILES[precision]).eval(),
        DetectorConfig.from_dict(_json(folder / DETECTOR_CONFIG_FILE)["config"]),
        reader_config or ReaderConfig.from_dict(_json(folder / READER_CONFIG_FILE)),
    )


def archive_info(folder: Path) -> dict[str, Any]:
    """What an archive folder says about its models in every answer: the charset's version and the
    detector's training steps."""
    return {
        "charset": _json(folder / CONFIG_FILE)["charset_version"],
        "detector_steps": _json(folder / DETECTOR_CONFIG_FILE).get("trained_steps"),
    }


def _assemble(
    recogniser: Network,
    charset: Charset,
    config: ModelConfig,
    beam: BeamConfig,
    lm: CharLanguageModel | None,
    detector: Any,
    detector_config: DetectorConfig,
    settings: ReaderConfig,
) -> PageReader:
    with torch.inference_mode():
        classes = recogniser(torch.zeros(1, 1, config.preprocess.height, 64)).shape[-1]
    if classes != charset.num_classes:
        raise ValueError(
            f"the recogniser emits {classes} classes but charset {charset.version} has {charset.num_classes}"
        )
    # The language model's vocabulary is checked against the charset too (ValueError).
    decode: Decoder = BeamDecoder(charset, lm, beam) if lm else greedy(charset)
    lines = LineRecogniser(recogniser, charset, config.preprocess, decode, settings)
    return PageReader(lines, detector, detector_config, settings)


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
