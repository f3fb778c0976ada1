"""The basic residual block shared by graphcl's image backbones (ResNet-08 of
GPN, the small-image ResNet-18 of graphcl.nn.vision)."""
from __future__ import annotations

from torch import Tensor, nn


class BasicResidualBlock(nn.Module):
    """He et al.'s basic block: two 3x3 conv + batch-norm layers with a ReLU
    between, plus a shortcut that is the identity, or a 1x1 conv + batch-norm
    projection when the stride or channel count changes; ReLU after the sum.

    Args:
        c_in (int): input channels.
        c_out (int): output channels.
        stride (int): stride of the first conv and of the projection.

    Shapes:
        - input: ``[B, c_in, H, W]``
        - output: ``[B, c_out, ceil(H / stride), ceil(W / stride)]``
    """

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:  # a projection when the shape changes
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        return (out + self.shortcut(x)).relu()
