"""The MLP projection head of SimCLR / VICReg / LVM-Med."""
from __future__ import annotations

from torch import Tensor, nn


class Projector(nn.Module):
    r"""``Linear -> BatchNorm -> ReLU -> Linear``: the head :math:`h_\phi` that
    maps pooled encoder features to the space the self-supervised loss sees
    (SimCLR, `arXiv 2002.05709 <https://arxiv.org/abs/2002.05709>`_; LVM-Med
    uses 2048 -> 128). Linear probes read the features before it.

    Args:
        in_channels (int): encoder feature size.
        hidden_channels (int, optional): default ``512``.
        out_channels (int, optional): default ``128``.

    Shapes:
        - input: ``[B, in_channels]``
        - output: ``[B, out_channels]``
    """

    def __init__(self, in_channels: int, hidden_channels: int = 512, out_channels: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_channels, hidden_channels),
                                 nn.BatchNorm1d(hidden_channels), nn.ReLU(inplace=True),
                                 nn.Linear(hidden_channels, out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.net:
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
