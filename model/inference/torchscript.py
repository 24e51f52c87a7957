"""The served form of both networks: TorchScript, frozen, channels-last, the recogniser's classifier
in int8, and the convolutions in float32 or bfloat16. Written by the archive build
(``model.training.export``, both precisions) and assembled from checkpoints for evaluation
(``model.inference.assemble``), so both run the very same conversion.

Precision: on a CPU that computes bfloat16 natively (AVX512-BF16, AMX) the convolutions of both
networks run in bfloat16, about twice as fast as float32 (on the reference host, in-process, an A4
page went from 0.61-0.65 to 0.48-0.52 s over two runs each, and a printed line from 21 to 17 ms);
elsewhere bfloat16 would be emulated and slower, so "auto" keeps float32 there. The LSTM and the
classifier stay as they were: the LSTM gained little and the classifier is int8 already. Real lines,
pages and books read the same within 0.15 points either way (README, "Precision"); the text of a
line may differ in a character between the two.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch
from torch import nn

FLOAT32, BFLOAT16 = "float32", "bfloat16"
PRECISIONS = ("auto", FLOAT32, BFLOAT16)


def _ignore_deprecations() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", "torch.quantize_per_tensor", UserWarning)


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX)."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(probe and probe())


def resolve_precision(precision: str) -> str:
    """``float32`` or ``bfloat16`` for a setting of ``PRECISIONS``: "auto" is bfloat16 only where the
    CPU computes it natively."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        return BFLOAT16 if native_bfloat16() else FLOAT32
    return precision


class _InBFloat16(nn.Module):
    """``module`` in bfloat16 between float32 input and float32 output."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module.to(torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x.to(torch.bfloat16)).float()


def to_torchscript(model: torch.nn.Module, quantize: bool = True, precision: str = FLOAT32) -> torch.jit.ScriptModule:
    """The serving form of a ``CRNN`` (left unchanged): channels-last convolutions in ``precision``,
    frozen, and with ``quantize`` the classifier in int8 by dynamic quantisation. The 256 x 6,930
    classifier is about a third of a line's CPU time in float32; in int8 it costs a third of that,
    and the convolutions run faster in the memory layout oneDNN prefers."""
    model = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
    if resolve_precision(precision) == BFLOAT16:
        model.features = _InBFloat16(model.features)
    # TorchScript and torch.ao.quantization are deprecated from torch 2.10 on, but they are what
    # TorchServe 0.12 serves natively and still work in 2.13; the warnings are silenced here only,
    # where the choice is made on purpose.
    with warnings.catch_warnings():
        _ignore_deprecations()
        if quantize:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return _frozen(torch.jit.script(model))


def detector_torchscript(model: torch.nn.Module, precision: str = FLOAT32) -> torch.jit.ScriptModule:
    """The detector's serving form: TorchScript in ``precision`` (its convolutions gain nothing from
    dynamic int8, which only quantises linear layers), channels-last and frozen. On an A4 page at
    1,600 px that took detection from 0.57 to 0.18 s on 2 cores, with the same output to 1e-5; in
    bfloat16, 0.11-0.13 s."""
    model = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
    if resolve_precision(precision) == BFLOAT16:
        model = _InBFloat16(model).eval()
    with warnings.catch_warnings():
        _ignore_deprecations()
        return _frozen(torch.jit.script(model))


def _frozen(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    """Weights inlined as constants, batch norms folded into the convolutions before them: less work
    per call. A frozen module keeps only ``forward``."""
    with torch.inference_mode():
        return torch.jit.freeze(module)


def load_torchscript(path: str | Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        _ignore_deprecations()
        return torch.jit.load(str(path), map_location="cpu")
