"""Model and preprocessing configuration, kept in one place.

Both dataclasses are stored inside every checkpoint, so the handler and the evaluation scripts rebuild
exactly the preprocessing and network that training used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class PreprocessConfig:
    """How an image becomes the network's input tensor."""

    height: int = 32
    min_width: int = 32
    # Long lines are squeezed rather than cut, so nothing is silently lost.
    max_width: int = 1600
    # Width is padded to a multiple of the network's horizontal stride.
    width_multiple: int = 4
    # Decoded images above this many pixels are refused before resizing (decompression bombs).
    max_pixels: int = 40_000_000
    # Percentiles used to stretch contrast; robust to a few specks of dirt.
    contrast_low_pct: float = 1.0
    contrast_high_pct: float = 99.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelConfig:
    """CRNN hyper-parameters; the charset size is added at build time."""

    # Output channels of the six 3x3 convolutions of the VGG-style feature extractor.
    conv_channels: tuple[int, ...] = (32, 64, 96, 96, 160, 160)
    lstm_hidden: int = 128
    lstm_layers: int = 2
    dropout: float = 0.1
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["conv_channels"] = list(self.conv_channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        data = dict(data)
        data["conv_channels"] = tuple(data["conv_channels"])
        data["preprocess"] = PreprocessConfig(**data.get("preprocess", {}))
        return cls(**data)


@dataclass(frozen=True)
class BeamConfig:
    """CTC beam search with the character language model (``model.decoding.BeamDecoder``): how much
    the language model's opinion weighs against the network's. The weights were chosen on the
    seeded synthetic validation set, never on the real lines (see the model card)."""

    # Weight of the language model's log probability (shallow fusion).
    lm_weight: float = 0.2
    # Bonus per character read: without it the language model would favour dropping characters.
    length_bonus: float = 1.0
    # Bonus for each English word of the language model's lexicon that a reading completes, per unit
    # of the word's Zipf frequency ("is" 7.1, "surface" 4.8, "ls" 3.7; unknown words 0).
    word_bonus: float = 0.5
    # Prefixes kept after each frame ...
    beam_width: int = 8
    # ... unless they trail the best by more than this (natural log): confident lines keep one or two.
    beam_gap: float = 6.0
    # Classes a frame offers: those at least this probable. With the weights above, a class under
    # a hundredth of its frame's mass practically never wins, and every class offered costs time.
    min_prob: float = 0.01

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DetectorConfig:
    """The DB (differentiable binarisation) text-line detector: network widths, training targets and
    how probability maps become boxes. Stored in the detector's checkpoint like ``ModelConfig``."""

    # Output channels of the stem and the four stages (strides 2, 4, 8, 16, 32) of the backbone.
    channels: tuple[int, ...] = (16, 24, 40, 80, 128)
    # Width of the feature pyramid; each of its four levels contributes a quarter at stride 4.
    pyramid_channels: int = 64
    # Maps come out at half the input resolution: thin lines of small print keep a few pixels.
    output_stride: int = 2
    # A line's target kernel is its box shrunk by D = area * (1 - r^2) / perimeter; 0.6 rather than
    # DB's 0.4 because the maps are at half resolution and small print would shrink to nothing.
    shrink_ratio: float = 0.6
    # Threshold-map targets lie in [low, high] near box borders (DB's values).
    threshold_low: float = 0.3
    threshold_high: float = 0.7
    # Inference: the input's long side is scaled to this (a multiple of 32; small images are not
    # enlarged), pixels above ``binarise`` form kernels, kernels scoring under ``min_score`` or
    # thinner than ``min_size`` map pixels are dropped.
    long_side: int = 1280
    binarise: float = 0.3
    min_score: float = 0.5
    min_size: float = 2.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        data = dict(data)
        data["channels"] = tuple(data["channels"])
        return cls(**data)
