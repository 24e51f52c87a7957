"""The served form of both networks: TorchScript, frozen, channels-last, the recogniser's classifier
in int8. Written by the archive build (``model.training.export``) and assembled from checkpoints for
evaluation (``model.inference.assemble``), so both run the very same conversion."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch


def _ignore_deprecations() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", "torch.quantize_per_tensor", UserWarning)


def to_torchscript(model: torch.nn.Module, quantize: bool = True) -> torch.jit.ScriptModule:
    """The serving form of ``model`` (left unchanged): channels-last convolutions, frozen, and with
    ``quantize`` the classifier in int8 by dynamic quantisation. The 256 x 6,930 classifier is about a third of a
    line's CPU time in float32; in int8 it costs a third of that, and the convolutions run faster in
    the memory layout oneDNN prefers."""
    model = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
    # TorchScript and torch.ao.quantization are deprecated from torch 2.10 on, but they are what
    # TorchServe 0.12 serves natively and still work in 2.13; the warnings are silenced here only,
    # where the choice is made on purpose.
    with warnings.catch_warnings():
        _ignore_deprecations()
        if quantize:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return _frozen(torch.jit.script(model))


def detector_torchscript(model: torch.nn.Module) -> torch.jit.ScriptModule:
    """The detector's serving form: float32 TorchScript (its convolutions gain nothing from dynamic
    int8, which only quantises linear layers), channels-last and frozen. On an A4 page at 1,600 px
    that took detection from 0.57 to 0.18 s on 2 cores, with the same output to 1e-5."""
    with warnings.catch_warnings():
        _ignore_deprecations()
        return _frozen(torch.jit.script(copy.deepcopy(model).eval().to(memory_format=torch.channels_last)))


def _frozen(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    """Weights inlined as constants, batch norms folded into the convolutions before them: less work
    per call. A frozen module keeps only ``forward``."""
    with torch.inference_mode():
        return torch.jit.freeze(module)


def load_torchscript(path: str | Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        _ignore_deprecations()
        return torch.jit.load(str(path), map_location="cpu")
