"""What graphcl's convolutional image encoders share: He initialisation of
their convolutions and the check of an image batch."""
from __future__ import annotations

from torch import Tensor, nn


def kaiming_reset(encoder: nn.Module) -> None:
    """He-normal (fan-out, ReLU) conv weights; batch-norm layers reset."""
    for module in encoder.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            module.reset_parameters()


def check_images(x: Tensor, in_channels: int) -> None:
    """Raise ``ValueError`` unless ``x`` is ``[B, in_channels, H, W]``."""
    if x.dim() != 4 or x.size(1) != in_channels:
        raise ValueError(f"x must be [B, {in_channels}, H, W], got {list(x.shape)}")
