import math

import pytest
import torch

from model.inference.charset import Charset
from model.inference.checkpoint import build_model
from model.inference.config import ModelConfig
from model.synth import alphabet
from model.synth.alphabet import build_v1
from model.training.checkpoint import NEW_CLASS_ODDS, grow_charset


@pytest.fixture(scope="module")
def small_config() -> ModelConfig:
    return ModelConfig(conv_channels=(8, 8, 8, 8, 8, 8), lstm_hidden=16)


def test_grown_model_reads_as_before_and_new_letters_start_from_their_base(small_config):
    torch.manual_seed(0)
    old, new = Charset(build_v1(), "v1"), alphabet.current()
    model = build_model(small_config, old).eval()
    grown = grow_charset(model, old, new).eval()
    image = torch.rand(2, 1, 32, 96)
    with torch.inference_mode():
        before, after = model(image), grown(image)
    assert after.shape[-1] == new.num_classes
    torch.testing.assert_close(after[..., : old.num_classes], before)
    for char, base in [("é", "e"), ("•", "·"), ("«", "《"), ("☐", "□")]:  # by decomposition, or by look
        torch.testing.assert_close(
            after[..., new.encode(char)[0]], before[..., old.encode(base)[0]] - math.log(NEW_CLASS_ODDS)
        )


def test_grow_refuses_an_alphabet_that_reorders_the_old_one(small_config):
    old = Charset(build_v1(), "v1")
    model = build_model(small_config, old)
    with pytest.raises(ValueError, match="does not extend"):
        grow_charset(model, old, Charset(list(reversed(build_v1())), "v9"))
