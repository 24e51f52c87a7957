"""CRNN: a VGG-style convolutional feature extractor, a bidirectional LSTM and a linear classifier.

The extractor reduces a 1 x 32 x W line image to a 1 x W/4 feature sequence; every column of it is one
CTC frame, so a character ~32 px wide gets ~8 frames and a narrow Latin letter ~2.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from model.inference.config import ModelConfig

# Horizontal reduction of the extractor: frames = image width // WIDTH_STRIDE.
WIDTH_STRIDE = 4


def _conv(in_ch: int, out_ch: int) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]


class FeatureExtractor(nn.Module):
    """Shape: (N, 1, 32, W) -> (N, C, 1, W / 4)."""

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        c1, c2, c3, c4, c5, c6 = channels
        self.body = nn.Sequential(
            *_conv(1, c1),
            nn.MaxPool2d(2, 2),  # 16 x W/2
            *_conv(c1, c2),
            nn.MaxPool2d(2, 2),  # 8 x W/4
            *_conv(c2, c3),
            *_conv(c3, c4),
            nn.MaxPool2d((2, 1), (2, 1)),  # 4 x W/4
            *_conv(c4, c5),
            *_conv(c5, c6),
            nn.MaxPool2d((2, 1), (2, 1)),  # 2 x W/4
            # Collapse the last two rows into one feature column per frame.
            nn.Conv2d(c6, c6, (2, 1), bias=False),
            nn.BatchNorm2d(c6),
            nn.ReLU(inplace=True),
        )
        self.out_channels = c6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class CRNN(nn.Module):
    """Line recogniser. Shape: (N, 1, 32, W) -> logits (N, W / 4, num_classes).

    ``widths`` (N,) are the images' own widths inside a padded batch: the LSTM then reads each line
    only up to its end, so a line's result does not depend on the lines batched with it.
    """

    def __init__(self, config: ModelConfig, num_classes: int) -> None:
        super().__init__()
        if config.preprocess.height != 32:
            raise ValueError("the feature extractor is built for 32-pixel-high lines")
        self.config = config
        self.num_classes = num_classes
        self.width_stride = WIDTH_STRIDE
        self.features = FeatureExtractor(config.conv_channels)
        self.sequence = nn.LSTM(
            self.features.out_channels,
            config.lstm_hidden,
            num_layers=config.lstm_layers,
            bidirectional=True,
            batch_first=True,
            dropout=config.dropout if config.lstm_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(2 * config.lstm_hidden, num_classes)

    def forward(self, images: torch.Tensor, widths: torch.Tensor | None = None) -> torch.Tensor:
        features = self.features(images).squeeze(2).permute(0, 2, 1)  # N, T, C
        frames = features.shape[1]
        if widths is None:
            sequence, _ = self.sequence(features)
        else:
            lengths = torch.clamp(widths // self.width_stride, 1, frames).cpu()
            packed = pack_padded_sequence(features, lengths, batch_first=True, enforce_sorted=False)
            packed_out, _ = self.sequence(packed)
            sequence, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=frames)
        return self.classifier(self.dropout(sequence))


def frames_for_width(width: int) -> int:
    """Number of CTC frames the network emits for an input of ``width`` pixels."""
    return width // WIDTH_STRIDE


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
