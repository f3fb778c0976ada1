"""A small convolutional encoder for 28x28 grey-scale images."""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from graphcl.nn.vision._conv_encoder import check_images, kaiming_reset


class SmallCNN(nn.Module):
    r"""Three 3x3 conv-BN-ReLU stages (2x2 max-pooling after the first two)
    and global average pooling: ``[B, C, 28, 28] -> [B, widths[-1]]``.

    A CPU-sized backbone for 28-32 px images (MedMNIST); LVM-Med itself uses a
    ResNet-50 (`arXiv 2306.11925 <https://arxiv.org/abs/2306.11925>`_), see
    :class:`~graphcl.nn.vision.ResNet18Small` for the ResNet at this size.

    Args:
        in_channels (int, optional): image channels (default ``1``).
        widths (sequence of int, optional): channels of the three stages
            (default ``(32, 64, 128)``).

    Shapes:
        - input: ``[B, in_channels, H, W]`` float, ``H, W >= 4``
        - output: ``[B, widths[-1]]``
    """

    def __init__(self, in_channels: int = 1, widths: Sequence[int] = (32, 64, 128)):
        super().__init__()
        if len(widths) != 3:
            raise ValueError(f"widths must hold 3 channel counts, got {list(widths)}")
        layers, previous = [], in_channels
        for stage, width in enumerate(widths):
            layers += [nn.Conv2d(previous, width, 3, padding=1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            if stage < 2:
                layers.append(nn.MaxPool2d(2))
            previous = width
        self.features = nn.Sequential(*layers)
        self.in_channels, self.out_channels = in_channels, widths[-1]
        self.reset_parameters()

    def reset_parameters(self) -> None:
        kaiming_reset(self)

    def forward(self, x: Tensor) -> Tensor:
        check_images(x, self.in_channels)
        return self.features(x).mean((2, 3))
