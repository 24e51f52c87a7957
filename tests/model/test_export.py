import json

import torch

from model.charset import Charset
from model.checkpoint import DEFAULT_WEIGHTS, build_model, load_checkpoint, save_checkpoint
from model.config import ModelConfig
from model.export import CHARSET_FILE, CONFIG_FILE, export_serving, load_torchscript, publish, to_torchscript


def test_torchscript_equals_eager_on_committed_weights(tmp_path):
    model, charset, _ = load_checkpoint(DEFAULT_WEIGHTS)
    script = export_serving(DEFAULT_WEIGHTS, tmp_path)
    scripted = load_torchscript(script)
    torch.manual_seed(0)
    images = torch.rand(3, 1, 32, 160)
    widths = torch.tensor([160, 96, 40])
    with torch.inference_mode():
        torch.testing.assert_close(scripted(images, widths), model(images, widths), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(scripted(images), model(images), rtol=1e-4, atol=1e-4)
    assert Charset.from_file(tmp_path / CHARSET_FILE).chars == charset.chars
    meta = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert ModelConfig.from_dict(meta["config"]) == model.config


def test_torchscript_output_shape():
    charset = Charset(list("abc"), "test")
    model = build_model(ModelConfig(), charset).eval()
    scripted = to_torchscript(model)
    assert scripted(torch.zeros(2, 1, 32, 64)).shape == (2, 16, charset.num_classes)


def test_publish_halves_weights_but_keeps_predictions(tmp_path):
    charset = Charset(list("abcdef"), "test")
    model = build_model(ModelConfig(), charset).eval()
    full = tmp_path / "full.pt"
    save_checkpoint(full, model, charset, {"step": 7})
    publish(full, tmp_path / "half.pt")
    half, half_charset, payload = load_checkpoint(tmp_path / "half.pt")
    assert payload["step"] == 7 and half_charset.chars == charset.chars
    assert all(v.dtype != torch.float32 for v in payload["state_dict"].values() if v.is_floating_point())
    images = torch.rand(2, 1, 32, 64)
    with torch.inference_mode():
        torch.testing.assert_close(half(images).softmax(-1), model(images).softmax(-1), atol=2e-3, rtol=0)
