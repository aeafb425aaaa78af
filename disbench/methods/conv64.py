"""The paper's 64x64 convolutional encoder and decoder (paper.md §4.1, Table A3).

Encoder: four 4x4 stride-2 convolutions (32, 32, 64, 64 channels, padding 2, ReLU) giving
64x5x5, a 256-unit ReLU layer, and a linear layer to ``out_multiplier * z_size`` (mean and
log-variance for a VAE). Decoder: 256 and 1024-unit ReLU layers reshaped to 64x4x4, then four
4x4 stride-2 transposed convolutions (64, 32, 32, C channels, padding 1) with no output
activation. Weights are xavier-normal, biases zero.
"""

from __future__ import annotations

import torch
from torch import nn


def xavier_init(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)
    return module


class EncoderConv64(nn.Module):
    def __init__(self, in_channels: int, z_size: int, out_multiplier: int = 2) -> None:
        super().__init__()
        self.z_size = z_size
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, 32, 4, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(32, 32, 4, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(64, 64, 4, stride=2, padding=2), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(1600, 256), nn.ReLU(),
            nn.Linear(256, out_multiplier * z_size),
        )
        xavier_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DecoderConv64(nn.Module):
    def __init__(self, out_channels: int, z_size: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(z_size, 256), nn.ReLU(),
            nn.Linear(256, 1024), nn.ReLU(),
            nn.Unflatten(1, (64, 4, 4)),
            nn.ConvTranspose2d(64, 64, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 32, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, out_channels, 4, stride=2, padding=1),
        )
        xavier_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
