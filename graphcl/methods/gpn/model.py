"""GPN and Prototypical Networks composed from graphcl.nn blocks."""
from __future__ import annotations

from typing import Optional

from torch import Tensor, nn

from graphcl.methods.gpn.config import GPNConfig
from graphcl.nn import GatedCosinePropagation, MLPBackbone, ResNet08


def squared_euclidean_logits(queries: Tensor, prototypes: Tensor) -> Tensor:
    """``-||q - p||^2``: ``[..., Q, F]`` x ``[..., N, F]`` -> ``[..., Q, N]``."""
    return -(queries.unsqueeze(-2) - prototypes.unsqueeze(-3)).pow(2).sum(-1)


class GPN(nn.Module):
    """Backbone, a many-shot head over the training classes, and (for GPN) the
    gated propagation of prototypes; ``propagation`` is ``None`` for ProtoNet.

    Args:
        config (GPNConfig): sizes and the model kind.
        num_train_classes (int): outputs of the many-shot head.
    """

    def __init__(self, config: GPNConfig, num_train_classes: int):
        super().__init__()
        if config.backbone == "mlp":
            self.backbone = MLPBackbone(config.in_channels, config.hidden_channels,
                                        config.embedding_channels)
            channels = config.embedding_channels
        else:
            self.backbone = ResNet08(config.in_channels)
            channels = 576
        self.channels = channels
        self.head = nn.Linear(channels, num_train_classes)
        self.propagation: Optional[GatedCosinePropagation] = None
        if config.model == "gpn":
            self.propagation = GatedCosinePropagation(
                channels, config.attention_channels, config.heads, config.steps,
                config.temperature)

    def forward(self, x: Tensor) -> Tensor:
        return self.backbone(x)
