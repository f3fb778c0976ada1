"""The CIFAR-style ResNet-08 image backbone of GPN's reference code."""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from graphcl.nn._dropout import check_positive_int
from graphcl.nn._residual import BasicResidualBlock


class ResNet08(nn.Module):
    r"""The ResNet-08 of `"Learning to Propagate for Graph Meta-Learning"
    <https://arxiv.org/abs/1909.05024>`_ (``lib/models/cifarResnet.py``): a
    3x3 stem with ``widths[0]`` channels, then one basic block per stage
    (``widths`` 16/32/64, strides 1/2/2), an ``pool`` x ``pool`` average pool
    and a flatten; 112 x 112 inputs give 64 x 3 x 3 = 576 features.

    Args:
        in_channels (int): image channels (3).
        widths (sequence of int): channels of the stages (16, 32, 64).
        pool (int): average-pool kernel and stride (8).

    Shapes:
        - x: ``[B, in_channels, H, W]``
        - output: ``[B, widths[-1] * (H // 4 // pool) * (W // 4 // pool)]``
          (``[B, 576]`` for 112 x 112)
    """

    def __init__(self, in_channels: int = 3, widths: Sequence[int] = (16, 32, 64), pool: int = 8):
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        check_positive_int(pool, "pool")
        if len(widths) != 3:
            raise ValueError(f"widths must give the 3 stage widths, got {list(widths)}")
        for w in widths:
            check_positive_int(w, "widths")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        cins = [widths[0], widths[0], widths[1]]
        self.stages = nn.Sequential(*[BasicResidualBlock(c, w, s)
                                      for c, w, s in zip(cins, widths, (1, 2, 2))])
        self.pool = nn.AvgPool2d(pool)
        self.in_channels = in_channels
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(f"x must have shape [B, {self.in_channels}, H, W], got "
                             f"{tuple(x.shape)}")
        return self.pool(self.stages(self.stem(x))).flatten(1)
