"""One seeded SCGC / SCGC* run: pretrain (cached), K-means init, 200 epochs of
self-training, per-epoch clustering metrics under both protocols."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
from sklearn.cluster import KMeans
from tqdm.auto import tqdm

from graphcl.eval import CLUSTER_METRICS, clustering_metrics
from graphcl.graph import SparseGraph
from graphcl.methods.scgc.autoencoder import pretrain_autoencoder
from graphcl.methods.scgc.config import SCGCConfig
from graphcl.methods.scgc.model import SCGC, structure_target
from graphcl.nn import target_distribution

PAPER_PROTOCOL = ("paper protocol (reference code): metrics at the start of each of the 200 "
                  "epochs (epoch 0 = K-means init), the maximum of each metric taken "
                  "independently over the epochs, i.e. epochs picked with the labels")
HONEST_PROTOCOL = ("honest protocol: all four metrics of the final model after the fixed "
                   "200-epoch budget; no labels used to pick anything")


@dataclass
class SCGCRun:
    """Result of :func:`train_scgc`.

    Attributes:
        trace: metrics at evaluation points 0..epochs (point e = before update e;
            the last point is the final model).
        paper: per-metric max over points 0..epochs-1 (reference protocol).
        honest: metrics of the final model.
        predictions: final cluster assignment ``[N]``.
        pretrain_seconds, train_seconds: wall times (training excludes metrics).
        embeddings: final ``z`` ``[N, n_z]``.
    """
    trace: List[Dict[str, float]]
    paper: Dict[str, float]
    honest: Dict[str, float]
    predictions: np.ndarray
    embeddings: torch.Tensor
    pretrain_seconds: float
    train_seconds: float
    epochs: int
    loss_history: List[float] = field(default_factory=list)

    @property
    def seconds_per_epoch(self) -> float:
        return self.train_seconds / max(self.epochs, 1)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _check_data(data) -> None:
    for attr in ("x", "edge_index"):
        if getattr(data, attr, None) is None:
            raise ValueError(f"data needs '{attr}' (got a {type(data).__name__} without it)")
    if data.x.dim() != 2 or not data.x.is_floating_point():
        raise ValueError(f"data.x must be a float [N, d] tensor, got {data.x.dtype} "
                         f"{list(data.x.shape)}")
    y = getattr(data, "y", None)
    if y is not None and y.shape != (data.x.size(0),):
        raise ValueError(f"data.y must have shape [{data.x.size(0)}], got {list(y.shape)}")
    if not bool(torch.isfinite(data.x).all()):
        raise ValueError("data.x contains NaN or Inf")


def train_scgc(data, config: SCGCConfig, *, seed: int, epochs: Optional[int] = None,
               cache_dir: Optional[Path] = None, progress: bool = True,
               num_clusters: Optional[int] = None, ae_seed: Optional[int] = None) -> SCGCRun:
    """Train SCGC (``config.star=False``) or SCGC* on a PyG ``Data`` with
    ``x``, ``y`` and a symmetric ``edge_index``.

    ``data.y`` is optional: without labels nothing is scored (``trace``,
    ``paper`` and ``honest`` are empty) and ``num_clusters`` must be given;
    ``predictions`` is the clustering.

    The seed drives AE pretraining, K-means (``n_init=config.kmeans_n_init``)
    and training. With ``ae_seed`` the AE is pretrained with that seed instead,
    so runs that share it start from one AE, as the reference code's 10
    iterations share SDCN's released weights. Labels are used only to score
    each evaluation point.
    """
    _check_data(data)
    epochs = config.epochs if epochs is None else int(epochs)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    y = data.y.cpu().numpy() if getattr(data, "y", None) is not None else None
    k = num_clusters or getattr(data, "num_clusters", None)
    if k is None:
        if y is None:
            raise ValueError("num_clusters is required when data has no labels (data.y)")
        k = len(np.unique(y))
    k = int(k)
    if not 2 <= k <= data.x.size(0):
        raise ValueError(f"num_clusters must be in [2, N={data.x.size(0)}], got {k}")
    x = data.x.float()

    _seed_everything(seed)
    start = time.perf_counter()
    autoencoder = pretrain_autoencoder(
        x, seed=seed if ae_seed is None else int(ae_seed), hidden=config.hidden,
        n_z=config.n_z, epochs=config.ae_epochs, lr=config.ae_lr, batch_size=config.ae_batch_size, cache_dir=cache_dir, progress=progress)
    pretrain_seconds = time.perf_counter() - start

    graph = SparseGraph.from_edge_index(data.edge_index.to(x.device), num_nodes=x.size(0))
    target = structure_target(graph, config.order, cumulative=config.star)

    _seed_everything(seed)
    model = SCGC(autoencoder, k, star=config.star, alpha=config.alpha, beta=config.beta,
                 tau=config.tau, block_size=config.loss_block_size).to(x.device)
    with torch.no_grad():
        z0 = model.encoder(x)
    kmeans = KMeans(n_clusters=k, n_init=config.kmeans_n_init, random_state=seed)
    kmeans.fit(z0.cpu().numpy())
    model.assignment.set_centers(kmeans.cluster_centers_)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)

    trace: List[Dict[str, float]] = []
    losses: List[float] = []
    train_seconds = 0.0
    bar = tqdm(range(epochs + 1), desc=f"{config.method} {getattr(data, 'name', '')}".strip(),
               disable=not progress)
    for epoch in bar:
        last = epoch == epochs
        tic = time.perf_counter()
        with torch.set_grad_enabled(not last):
            z, q, x_hat = model(x)
            # P is recomputed every epoch from the current Q (update interval 1); the
            # reference does it in a separate no-grad forward of the same weights.
            p = target_distribution(q.detach())
        train_seconds += time.perf_counter() - tic
        pred = q.detach().argmax(1).cpu().numpy()
        if y is not None:
            trace.append(clustering_metrics(y, pred))
        if last:
            break
        tic = time.perf_counter()
        terms = model.loss(x, z, q, p, x_hat, target)
        optimizer.zero_grad()
        terms["total"].backward()
        optimizer.step()
        train_seconds += time.perf_counter() - tic
        losses.append(terms["total"].item())
        bar.set_postfix(loss=f"{losses[-1]:.4f}",
                        **({"acc": f"{trace[-1]['acc']:.4f}"} if trace else {}))

    paper = {m: max(t[m] for t in trace[:-1]) for m in CLUSTER_METRICS} if trace else {}
    honest = dict(trace[-1]) if trace else {}
    return SCGCRun(trace=trace, paper=paper, honest=honest, predictions=pred,
                   embeddings=z.detach().cpu(), pretrain_seconds=pretrain_seconds,
                   train_seconds=train_seconds, epochs=epochs, loss_history=losses)
