"""SDCN's autoencoder (d-500-500-2000-10, mirrored decoder) and its
pretraining, cached per dataset and seed."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from graphcl.io import atomic_writer, exclusive_lock


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers with ReLU between them and a linear last layer."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SDCNAutoencoder(nn.Module):
    r"""SDCN's autoencoder: encoder ``d-500-500-2000-n_z`` and mirrored decoder
    ``n_z-2000-500-500-d``, ReLU on hidden layers, linear code and output.

    Args:
        in_channels (int): d.
        hidden (tuple of int): encoder hidden sizes (default ``(500, 500, 2000)``).
        n_z (int): code size (default 10).
        decoder (bool): build the decoder (SCGC* uses the encoder only).

    Shapes:
        - input: ``x`` ``[N, d]``
        - output: ``(z, x_hat)`` with ``z`` ``[N, n_z]`` and ``x_hat`` ``[N, d]``
          (``None`` without a decoder)
    """

    def __init__(self, in_channels: int, hidden: Sequence[int] = (500, 500, 2000), n_z: int = 10,
                 decoder: bool = True):
        super().__init__()
        self.encoder = _mlp([in_channels, *hidden, n_z])
        self.decoder = _mlp([n_z, *reversed(hidden), in_channels]) if decoder else None

    def forward(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        z = self.encoder(x)
        return z, (self.decoder(z) if self.decoder is not None else None)


def _cache_key(x: Tensor, seed: int, hidden, n_z, epochs, lr, batch_size) -> str:
    digest = hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:16]
    spec = f"{digest}-{seed}-{'x'.join(map(str, hidden))}-{n_z}-{epochs}-{lr}-{batch_size}"
    return hashlib.sha256(spec.encode()).hexdigest()[:20]


def pretrain_autoencoder(x: Tensor, *, seed: int, hidden: Sequence[int] = (500, 500, 2000),
                         n_z: int = 10, epochs: int = 30, lr: float = 1e-3,
                         batch_size: int = 256, cache_dir: Optional[Path] = None,
                         progress: bool = True) -> SDCNAutoencoder:
    """SDCN pretraining: MSE reconstruction, Adam, shuffled mini-batches, no
    schedule, PyTorch default initialisation; everything seeded by ``seed``.

    With ``cache_dir`` the weights are stored as
    ``<cache_dir>/ae-<key>.pt``, where the key hashes the features, the seed and
    every hyperparameter, so a stale cache is never reused.
    """
    if x.dim() != 2 or not x.is_floating_point():
        raise ValueError(f"x must be a float [N, d] tensor, got {x.dtype} {list(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x contains NaN or Inf")
    if cache_dir is None:
        return _pretrain(x, seed, hidden, n_z, epochs, lr, batch_size, progress)
    path = Path(cache_dir) / f"ae-{_cache_key(x, seed, hidden, n_z, epochs, lr, batch_size)}.pt"
    # A process that finds another pretraining the same key (parallel seeds
    # with --shared-ae, or two test workers) waits for its file instead of
    # repeating the work; different keys never wait for each other.
    with exclusive_lock(path.with_suffix(".lock")):
        if path.exists():
            model = SDCNAutoencoder(x.size(1), hidden, n_z)
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return model.to(x.device)
        model = _pretrain(x, seed, hidden, n_z, epochs, lr, batch_size, progress)
        with atomic_writer(path) as f:
            torch.save(model.state_dict(), f)
    return model


def _pretrain(x: Tensor, seed: int, hidden, n_z: int, epochs: int, lr: float, batch_size: int,
              progress: bool) -> SDCNAutoencoder:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the default Linear init draws from the global generator
    model = SDCNAutoencoder(x.size(1), hidden, n_z).to(x.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = x.size(0)
    bar = tqdm(range(epochs), desc="AE pretraining", disable=not progress, leave=False)
    for _ in bar:
        perm = torch.randperm(n, generator=gen).to(x.device)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = x[perm[start:start + batch_size]]
            _, x_hat = model(batch)
            loss = F.mse_loss(x_hat, batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * batch.size(0)
        bar.set_postfix(mse=f"{total / n:.4f}")
    return model
