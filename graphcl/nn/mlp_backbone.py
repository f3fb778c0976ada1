"""A plain MLP embedding network (a few-shot backbone for vector instances)."""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from graphcl.nn._dropout import check_positive_int


class MLPBackbone(nn.Module):
    r"""``Linear -> ReLU (-> Dropout)`` per hidden layer, then a final
    ``Linear``: the embedding :math:`f_\theta(x)` of Prototypical Networks /
    GPN when instances are vectors (word vectors here) instead of images.

    Args:
        in_channels (int): input size.
        hidden_channels (sequence of int): hidden sizes (may be empty).
        out_channels (int): embedding size.
        dropout (float): dropout after every hidden activation (default 0).

    Shapes:
        - x: ``[B, in_channels]``
        - output: ``[B, out_channels]``
    """

    def __init__(self, in_channels: int, hidden_channels: Sequence[int] = (128,),
                 out_channels: int = 128, dropout: float = 0.0):
        super().__init__()
        sizes = [in_channels, *hidden_channels, out_channels]
        for i, size in enumerate(sizes):
            check_positive_int(size, "in_channels" if i == 0 else
                               "out_channels" if i == len(sizes) - 1 else "hidden_channels")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        layers = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(a, b), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.net = nn.Sequential(*layers)
        self.in_channels, self.out_channels = in_channels, out_channels

    def reset_parameters(self) -> None:
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.size(1) != self.in_channels:
            raise ValueError(f"x must have shape [B, {self.in_channels}], got {tuple(x.shape)}")
        return self.net(x)
