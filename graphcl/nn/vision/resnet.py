"""ResNet-18 adapted to 28-32 px images."""
from __future__ import annotations

from torch import Tensor, nn

from graphcl.nn._residual import BasicResidualBlock
from graphcl.nn.vision._conv_encoder import check_images, kaiming_reset


class ResNet18Small(nn.Module):
    r"""ResNet-18 (He et al. CVPR 2016, `arXiv 1512.03385 <https://arxiv.org/abs/1512.03385>`_)
    for small images, as SimCLR's CIFAR variant: a 3x3 stride-1 stem without
    max-pooling, four stages of two basic blocks (64, 128, 256, 512 channels,
    strides 1, 2, 2, 2) and global average pooling. 28 px inputs end at 4x4.

    Args:
        in_channels (int, optional): image channels (default ``1``).
        width (int, optional): channels of the first stage (default ``64``;
            the stages double it).

    Shapes:
        - input: ``[B, in_channels, H, W]`` float
        - output: ``[B, 8 * width]``
    """

    def __init__(self, in_channels: int = 1, width: int = 64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        blocks, c_in = [], width
        for stage, stride in enumerate((1, 2, 2, 2)):
            c_out = width * 2 ** stage
            blocks += [BasicResidualBlock(c_in, c_out, stride), BasicResidualBlock(c_out, c_out, 1)]
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.in_channels, self.out_channels = in_channels, c_in
        self.reset_parameters()

    def reset_parameters(self) -> None:
        kaiming_reset(self)

    def forward(self, x: Tensor) -> Tensor:
        check_images(x, self.in_channels)
        return self.blocks(self.stem(x)).mean((2, 3))
