import json

import pytest
import torch

from model.inference.assemble import (
    CHARSET_FILE,
    CONFIG_FILE,
    READER_CONFIG_FILE,
    RECOGNISER_FILES,
    Checkpoints,
    load_reader,
)
from model.inference.charset import Charset
from model.inference.checkpoint import build_model, load_checkpoint, load_detector
from model.inference.config import ModelConfig, ReaderConfig
from model.inference.crnn import frames_for_width
from model.inference.decoding import greedy_decode
from model.inference.preprocessing import pad_batch, preprocess
from model.inference.torchscript import (
    BFLOAT16,
    FLOAT32,
    detector_torchscript,
    load_torchscript,
    native_bfloat16,
    resolve_precision,
    to_torchscript,
)
from model.training.checkpoint import save_checkpoint
from model.training.export import export_serving, publish
from model.training.paths import DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, DEFAULT_WEIGHTS
from tests.helpers import pick_cjk_font, render_clean_line


def test_float_torchscript_equals_eager_on_committed_weights():
    model, _, _ = load_checkpoint(DEFAULT_WEIGHTS)
    scripted = to_torchscript(model, quantize=False)
    torch.manual_seed(0)
    images = torch.rand(3, 1, 32, 160)
    widths = torch.tensor([160, 96, 40])
    with torch.inference_mode():
        torch.testing.assert_close(scripted(images, widths), model(images, widths), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(scripted(images), model(images), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("precision", [FLOAT32, BFLOAT16])
def test_served_model_reads_like_the_float_model(tmp_path, fonts, precision):
    """The exported model (int8 classifier; convolutions in float32 or bfloat16) gives the float
    model's text and nearly its probabilities."""
    model, charset, _ = load_checkpoint(DEFAULT_WEIGHTS)
    export_serving(DEFAULT_WEIGHTS, DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, tmp_path)
    served = load_torchscript(tmp_path / RECOGNISER_FILES[precision])
    cjk = pick_cjk_font(fonts)
    lines = [
        render_clean_line("Invoice No. 20261124"),
        render_clean_line("合计金额：128.50元", cjk.path, index=cjk.index),
        render_clean_line("The quick brown fox"),
    ]
    images, widths = pad_batch([preprocess(line, model.config.preprocess) for line in lines])
    widths = torch.tensor(widths)
    with torch.inference_mode():
        expected, got = model(images, widths).softmax(-1), served(images, widths).softmax(-1)
    # int8 moves single probabilities by up to ~0.05 (0.051 on the session-3 weights, 2 of 1.5 M values).
    torch.testing.assert_close(got, expected, atol=0.1, rtol=0)
    assert float((got - expected).abs().mean()) < (1e-4 if precision == FLOAT32 else 5e-4)
    for e, g, w in zip(expected.numpy(), got.numpy(), widths.tolist()):
        frames = frames_for_width(w)
        assert greedy_decode(g[:frames], charset).text == greedy_decode(e[:frames], charset).text
    assert Charset.from_file(tmp_path / CHARSET_FILE).chars == charset.chars
    meta = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert ModelConfig.from_dict(meta["config"]) == model.config


def test_the_served_detector_in_bfloat16_finds_what_float32_finds(tmp_path):
    model, _ = load_detector(DEFAULT_DETECTOR_WEIGHTS)
    page = torch.ones(1, 3, 256, 512)
    page[:, :, 100:130, 40:460] = 0.1  # one dark bar where a line would be
    with torch.inference_mode():
        full = detector_torchscript(model, FLOAT32)(page)[0, 0].sigmoid()
        half = detector_torchscript(model, BFLOAT16)(page)[0, 0].sigmoid()
    assert half.dtype == torch.float32
    assert float((half - full).abs().max()) < 0.05
    assert float(((half > 0.45) != (full > 0.45)).float().mean()) < 1e-3


def test_precision_auto_is_bfloat16_only_where_the_cpu_computes_it():
    assert resolve_precision("auto") == (BFLOAT16 if native_bfloat16() else FLOAT32)
    assert resolve_precision(FLOAT32) == FLOAT32 and resolve_precision(BFLOAT16) == BFLOAT16
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("float16")


def test_torchscript_output_shape():
    charset = Charset(list("abc"), "test")
    model = build_model(ModelConfig(), charset).eval()
    scripted = to_torchscript(model)
    assert scripted(torch.zeros(2, 1, 32, 64)).shape == (2, 16, charset.num_classes)


def test_publish_halves_weights_but_keeps_predictions(tmp_path):
    charset = Charset(list("abcdef"), "test")
    model = build_model(ModelConfig(), charset).eval()
    full = tmp_path / "full.pt"
    seen = {"documents": {"real_share": 0.4}, "plates": {"plate_share": 0.015}}
    save_checkpoint(full, model, charset, {"step": 7, "optimizer": {}, **seen})
    publish(full, tmp_path / "half.pt")
    half, half_charset, payload = load_checkpoint(tmp_path / "half.pt")
    assert payload["step"] == 7 and half_charset.chars == charset.chars
    # The real data the weights saw stays on record; the optimiser's state does not.
    assert {k: payload[k] for k in seen} == seen and "optimizer" not in payload
    assert all(v.dtype != torch.float32 for v in payload["state_dict"].values() if v.is_floating_point())
    images = torch.rand(2, 1, 32, 64)
    with torch.inference_mode():
        torch.testing.assert_close(half(images).softmax(-1), model(images).softmax(-1), atol=2e-3, rtol=0)


def test_reader_settings_travel_with_the_archive(tmp_path):
    """The page reader's thresholds are written into the archive folder and read back from it: a
    reader assembled from the folder uses the archive's settings, not the code's defaults."""
    tuned = ReaderConfig(noise_confidence=0.42, trim_margin=(0.2, 0.4))
    export_serving(DEFAULT_WEIGHTS, DEFAULT_DETECTOR_WEIGHTS, DEFAULT_LM, tmp_path, tuned)
    assert ReaderConfig.from_dict(json.loads((tmp_path / READER_CONFIG_FILE).read_text())) == tuned
    from_archive = load_reader(tmp_path)
    assert from_archive.settings == tuned != ReaderConfig()
    assert from_archive.recogniser.width_spread == tuned.width_spread
    # From checkpoints, the current settings unless told otherwise.
    assert load_reader(Checkpoints(DEFAULT_WEIGHTS, DEFAULT_DETECTOR_WEIGHTS, None)).settings == ReaderConfig()
