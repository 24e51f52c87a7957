"""The CRNN's LSTM reads each line of a padded batch only up to the line's end."""

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from model.inference.config import ModelConfig
from model.inference.crnn import CRNN, frames_for_width
from model.inference.torchscript import to_torchscript


def packed_reference(model: CRNN, images: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
    """What the network computed before: the LSTM over a packed sequence."""
    features = model.features(images).squeeze(2).permute(0, 2, 1)
    lengths = torch.clamp(widths // model.width_stride, 1, features.shape[1])
    packed = pack_padded_sequence(features, lengths, batch_first=True, enforce_sorted=False)
    sequence, _ = pad_packed_sequence(model.sequence(packed)[0], batch_first=True, total_length=features.shape[1])
    return model.classifier(sequence)


@pytest.mark.parametrize("scripted", [False, True])
def test_each_line_is_read_to_its_own_end(scripted):
    torch.manual_seed(0)
    model = CRNN(ModelConfig(), num_classes=50).eval()
    images, widths = torch.rand(4, 1, 32, 240), torch.tensor([240, 97, 160, 8])
    # The served form too: TorchScript, frozen, channels-last (float, to compare closely).
    served = to_torchscript(model, quantize=False) if scripted else model
    with torch.inference_mode():
        expected, got = packed_reference(model, images, widths), served(images, widths)
    for i, width in enumerate(widths.tolist()):
        frames = frames_for_width(width)
        assert (got[i, :frames] - expected[i, :frames]).abs().max() < 1e-4


def test_gradients_reach_both_directions():
    torch.manual_seed(0)
    model = CRNN(ModelConfig(), num_classes=50).train()
    model(torch.rand(2, 1, 32, 64), torch.tensor([64, 40])).sum().backward()
    assert model.sequence.weight_hh_l1.grad.abs().sum() > 0
    assert model.sequence.weight_hh_l1_reverse.grad.abs().sum() > 0
