"""Predict class vectors for every node of any class graph from the known
vectors of some of its nodes (DGP's use: classifier rows of a CNN for the seen
classes, word embeddings as node inputs)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from graphcl.methods.dgp.config import GRAPH_MODELS, DGPConfig
from graphcl.methods.dgp.train import ZeroShotTask, reference_predictions, train_zero_shot


def propagate_class_vectors(hierarchy: Tensor, x: Tensor, known: Tensor, known_vectors: Tensor,
                            model: str = "dgp", epochs: int = 3000, hidden: int = 2048,
                            seed: int = 0, progress: bool = False,
                            config: Optional[DGPConfig] = None) -> Tensor:
    """Class vectors for all nodes, trained to match ``known_vectors`` on ``known``.

    Args:
        hierarchy: ``[2, E]`` child → parent edges over ``N`` nodes (a DAG for
            ``dgp``/``dgpm``; ``sgcn`` uses it undirected).
        x: ``[N, D]`` node inputs (word embeddings); rows are L2-normalised here.
        known: ``[K]`` nodes with a known class vector (distinct).
        known_vectors: ``[K, C]`` their vectors (e.g. a trained classifier's
            rows, weight ‖ bias); L2-normalised here, as DGP does.
        model: ``dgp``, ``dgpm``, ``sgcn`` or a reference row (``ridge``,
            ``ridge_ax``, ``identity``).
        epochs, hidden, seed, progress: training settings (DGP's defaults).
        config: a full :class:`DGPConfig` instead of ``model``/``epochs``/``hidden``.

    Returns:
        ``[N, C]`` L2-normalised predicted class vectors (score a feature ``f``
        against class ``c`` as ``f @ out[c]``).

    Raises:
        ValueError: shapes disagree, a known node repeats or is out of range,
            a known vector is zero or not finite, or the hierarchy has a cycle.
    """
    if not isinstance(x, Tensor) or x.dim() != 2 or not x.is_floating_point():
        raise TypeError("x must be a 2-D floating tensor [num_nodes, dim]")
    known = torch.as_tensor(known)
    if known.dim() != 1 or known.is_floating_point() or known.numel() == 0:
        raise ValueError("known must be a non-empty 1-D integer tensor of node indices")
    if int(known.min()) < 0 or int(known.max()) >= x.size(0):
        raise ValueError(f"known: node indices must be in [0, {x.size(0)})")
    if torch.unique(known).numel() != known.numel():
        raise ValueError("known repeats a node")
    if known_vectors.dim() != 2 or known_vectors.size(0) != known.numel():
        raise ValueError(f"known_vectors must be [{known.numel()}, C] (one row per known node), "
                         f"got {list(known_vectors.shape)}")
    if not bool(torch.isfinite(known_vectors).all()):
        raise ValueError("known_vectors contains NaN or Inf")
    empty = (known_vectors.norm(dim=1) == 0).nonzero().flatten()
    if empty.numel():
        raise ValueError(f"known_vectors: node {int(known[empty[0]])} has no target (a zero "
                         "vector); leave it out of known")
    if config is None:
        config = DGPConfig(model=model, epochs=epochs, hidden=hidden)
    if config.model == "gcnz":
        raise ValueError("model 'gcnz' needs GCNZ's own graph; use dgp, dgpm or sgcn here")
    task = ZeroShotTask(x=torch.nn.functional.normalize(x.float(), dim=1),
                        hierarchy=torch.as_tensor(hierarchy).long(), known=known.long(),
                        targets=torch.nn.functional.normalize(known_vectors.float(), dim=1))
    if config.model in GRAPH_MODELS:
        task.graph("groups")  # a cycle raises before any training
        return train_zero_shot(task, config, seed=seed, progress=progress).predictions
    return reference_predictions(task, config.model, config.ridge_alpha)
