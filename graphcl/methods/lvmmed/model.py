"""The image encoder every model trains and the self-supervised objective on
top of it (composed from graphcl.nn blocks)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from graphcl.methods.lvmmed.config import LVMMedConfig
from graphcl.nn.contrast import NTXentLoss, VICRegLoss
from graphcl.nn.matching import GraphMatchingLoss
from graphcl.nn.vision import Projector, ResNet18Small, SmallCNN, as_float_images

# Pixel statistics the encoder standardises with (PneumoniaMNIST pretraining
# images in [0, 1]: mean 0.57, std 0.17 measured; rounded constants keep
# saved encoders independent of the data).
PIXEL_MEAN, PIXEL_STD = 0.57, 0.17
IMAGE_SIZE = 28


class ImageEncoder(nn.Module):
    """Grey 28x28 images -> frozen-probe features: input checks, standardisation,
    the backbone. This is what :func:`~graphcl.methods.lvmmed.load_encoder` returns.

    Shapes:
        - images: ``[B, 28, 28]`` uint8 (0-255) or ``[B, 1, 28, 28]`` float in ``[0, 1]``
        - output: ``[B, out_channels]``
    """

    def __init__(self, encoder: str = "cnn", cnn_widths=(16, 32, 64)):
        super().__init__()
        self.name, self.cnn_widths = encoder, tuple(cnn_widths)
        self.backbone = SmallCNN(1, self.cnn_widths) if encoder == "cnn" else ResNet18Small(1)
        self.out_channels = self.backbone.out_channels

    def forward(self, images: Tensor) -> Tensor:
        x = as_float_images(images)
        if x.shape[1:] != (1, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"images must be grey {IMAGE_SIZE}x{IMAGE_SIZE} ([B, 28, 28] uint8 "
                             f"or [B, 1, 28, 28] float), got {list(images.shape)}")
        return self.backbone((x - PIXEL_MEAN) / PIXEL_STD)

    @torch.no_grad()
    def embed(self, images: Tensor, batch_size: int = 1024) -> Tensor:
        """Features of any number of images, in eval mode, batch by batch (CPU output)."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        out = [self(images[i:i + batch_size].to(device)).cpu()
               for i in range(0, len(images), batch_size)]
        self.train(was_training)
        return torch.cat(out) if out else torch.zeros(0, self.out_channels)


class SelfSupervisedModel(nn.Module):
    """Encoder + projector + the objective of ``config.model``."""

    def __init__(self, config: LVMMedConfig):
        super().__init__()
        self.config = config
        self.encoder = ImageEncoder(config.encoder, config.cnn_widths)
        self.projector = Projector(self.encoder.out_channels, config.projector_hidden,
                                   config.projection_dim)
        if config.model in ("lvmmed", "first-order"):
            self.objective = GraphMatchingLoss(
                config.projection_dim, config.gcn_hidden, config.nodes_per_graph, config.knn_k,
                config.alpha, config.lam, config.noise_scale,
                order="second" if config.model == "lvmmed" else "first",
                solver_iterations=config.solver_iterations, conv=config.gnn,
                num_layers=config.gcn_layers)
        elif config.model == "simclr":
            self.objective = NTXentLoss(config.tau)
        elif config.model == "vicreg":
            self.objective = VICRegLoss(*config.vicreg_weights)
        else:
            self.objective = None

    def loss(self, view_s: Tensor, view_t: Tensor,
             generator: Optional[torch.Generator] = None) -> Tensor:
        """The self-supervised loss of two views of one batch (both encoded in one pass,
        so BatchNorm sees both)."""
        if self.objective is None:
            raise ValueError("the random encoder has no training objective")
        z = self.projector(self.encoder(torch.cat([view_s, view_t])))
        z_s, z_t = z[:len(view_s)], z[len(view_s):]
        if isinstance(self.objective, GraphMatchingLoss):
            return self.objective(z_s, z_t, generator).loss
        return self.objective(z_s, z_t)
