"""DBNet-style text-line detector, small enough for a CPU: a MobileNetV2-like backbone, a feature
pyramid fused at stride 4, and a head that predicts two maps at half the input resolution:

- probability that a pixel lies in the shrunk kernel of a text line (used at inference);
- an adaptive threshold, high near line borders (used only in training, through the differentiable
  binarisation ``sigmoid(k * (P - T))`` that sharpens the gaps between neighbouring lines).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from model.inference.config import DetectorConfig


def _conv(in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand (1x1), depthwise 3x3, project (1x1); a shortcut when the shape is kept."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, expand: int = 3) -> None:
        super().__init__()
        hidden = in_ch * expand
        self.body = nn.Sequential(
            _conv(in_ch, hidden, 1),
            _conv(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
        )
        self.shortcut = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.shortcut else y


def _stage(in_ch: int, out_ch: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(
        InvertedResidual(in_ch, out_ch, 2), *(InvertedResidual(out_ch, out_ch) for _ in range(blocks - 1))
    )


class DBNet(nn.Module):
    """Shape: (N, 3, H, W), H and W multiples of 32, values in [0, 1] -> logits (N, 2, H/2, W/2):
    channel 0 the kernel probability, channel 1 the threshold."""

    def __init__(self, config: DetectorConfig) -> None:
        super().__init__()
        self.config = config
        c0, c1, c2, c3, c4 = config.channels
        p = config.pyramid_channels
        self.stem = _conv(3, c0, 3, 2)
        self.stages = nn.ModuleList([_stage(c0, c1, 2), _stage(c1, c2, 2), _stage(c2, c3, 3), _stage(c3, c4, 2)])
        self.lateral = nn.ModuleList([nn.Conv2d(c, p, 1, bias=False) for c in (c1, c2, c3, c4)])
        self.smooth = nn.ModuleList([_conv(p, p // 4) for _ in range(4)])
        self.head = nn.Sequential(
            _conv(p, 16),
            nn.ConvTranspose2d(16, 16, 2, 2, bias=False),  # stride 4 -> 2
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 2, 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # Written with plain loops over the module lists so that TorchScript can compile it.
        x = self.stem(images)
        features: list[torch.Tensor] = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        levels: list[torch.Tensor] = []
        for i, lateral in enumerate(self.lateral):
            levels.append(lateral(features[i]))
        # Top-down pyramid: coarse context (is this a line of text?) flows into the fine levels.
        for i in range(len(levels) - 2, -1, -1):
            levels[i] = levels[i] + F.interpolate(levels[i + 1], size=levels[i].shape[-2:], mode="nearest")
        size = levels[0].shape[-2:]
        fused: list[torch.Tensor] = []
        for i, smooth in enumerate(self.smooth):
            level = smooth(levels[i])
            fused.append(F.interpolate(level, size=size, mode="nearest") if i > 0 else level)
        return self.head(torch.cat(fused, dim=1))
