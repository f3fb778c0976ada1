"""Ranking metrics of zero-shot classification by predicted class vectors.

DGP's ImageNet evaluation (``evaluate_imagenet.py``): a sample is scored
against the class vectors of a candidate set by dot product, its rank is the
number of candidates scoring **at least** as high as its true class (ties count
against the prediction), and hit@k is the fraction of samples with rank <= k,
micro-averaged over samples. Scores are computed in chunks of samples, so
116k samples x 21k classes never sit in memory at once.
"""
from __future__ import annotations

from typing import Dict, Sequence

import torch
from torch import Tensor

HIT_KS = (1, 2, 5, 10, 20)


def _check(samples: Tensor, labels: Tensor, class_vectors: Tensor, candidates: Tensor) -> Tensor:
    for name, t in (("samples", samples), ("class_vectors", class_vectors)):
        if not isinstance(t, Tensor) or t.dim() != 2 or not t.is_floating_point():
            raise TypeError(f"{name} must be a 2-D floating tensor")
    if samples.size(1) != class_vectors.size(1):
        raise ValueError(f"samples have {samples.size(1)} dims but class_vectors {class_vectors.size(1)}")
    for name, t in (("labels", labels), ("candidates", candidates)):
        if not isinstance(t, Tensor) or t.dim() != 1 or t.is_floating_point():
            raise TypeError(f"{name} must be a 1-D integer tensor")
    if labels.numel() != samples.size(0):
        raise ValueError(f"labels has {labels.numel()} entries for {samples.size(0)} samples")
    if candidates.numel() and not (0 <= int(candidates.min()) and
                                   int(candidates.max()) < class_vectors.size(0)):
        raise IndexError(f"candidates must index the {class_vectors.size(0)} class_vectors")
    if torch.unique(candidates).numel() != candidates.numel():
        raise ValueError("candidates repeats a class")
    column = torch.full((class_vectors.size(0),), -1, dtype=torch.long)
    column[candidates.long().cpu()] = torch.arange(candidates.numel())
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= class_vectors.size(0)):
        raise IndexError(f"labels must index the {class_vectors.size(0)} class_vectors")
    true_column = column[labels.long().cpu()]
    if bool((true_column < 0).any()):
        missing = int(labels[true_column < 0][0])
        raise ValueError(f"labels: class {missing} of a sample is not among the candidates")
    return true_column


def ranks(samples: Tensor, labels: Tensor, class_vectors: Tensor, candidates: Tensor,
          chunk_size: int = 2048) -> Tensor:
    """Rank of every sample's true class among ``candidates`` (1 = best, ties against).

    Args:
        samples: ``[S, D]`` sample features (for DGP: CNN features or words).
        labels: ``[S]`` row of ``class_vectors`` each sample belongs to.
        class_vectors: ``[C, D]`` predicted class vectors (classifier rows).
        candidates: ``[K]`` rows of ``class_vectors`` competing for each sample;
            every label must be one of them.
        chunk_size: samples scored at once.

    Returns:
        ``[S]`` int64 ranks in ``[1, K]``.
    """
    true_column = _check(samples, labels, class_vectors, candidates)
    weights = class_vectors[candidates.to(class_vectors.device)].to(samples.dtype)
    # Repeated samples (the same word in many glosses) are scored once: the
    # product runs over distinct rows, the comparisons over every sample.
    distinct, inverse = torch.unique(samples, dim=0, return_inverse=True)
    order = torch.argsort(inverse.cpu(), stable=True)
    bounds = torch.searchsorted(inverse.cpu()[order], torch.arange(0, distinct.size(0) + chunk_size,
                                                                   chunk_size))
    out = torch.empty(samples.size(0), dtype=torch.long)
    for i, start in enumerate(range(0, distinct.size(0), chunk_size)):
        scores = distinct[start:start + chunk_size].to(weights.device) @ weights.t()
        for lo in range(int(bounds[i]), int(bounds[i + 1]), chunk_size):
            which = order[lo:min(lo + chunk_size, int(bounds[i + 1]))]
            rows = scores[(inverse.cpu()[which] - start).to(scores.device)]
            true = rows.gather(1, true_column[which].to(scores.device).unsqueeze(1))
            out[which] = (rows >= true).sum(1).cpu()
    return out


def hits_at_k(rank: Tensor, ks: Sequence[int] = HIT_KS) -> Dict[str, float]:
    """``{"hit@k": fraction of ranks <= k}``, micro-averaged over samples."""
    if rank.numel() == 0:
        raise ValueError("rank is empty: no samples to score")
    return {f"hit@{k}": float((rank <= k).double().mean()) for k in ks}


def per_class_top1(rank: Tensor, labels: Tensor) -> float:
    """Top-1 accuracy averaged over classes (each class's samples weigh 1 in total)."""
    if rank.numel() == 0:
        raise ValueError("rank is empty: no samples to score")
    classes, inverse = torch.unique(labels, return_inverse=True)
    hits = torch.zeros(classes.numel(), dtype=torch.float64).index_add_(0, inverse,
                                                                       (rank == 1).double())
    counts = torch.bincount(inverse, minlength=classes.numel()).double()
    return float((hits / counts).mean())


__all__ = ["HIT_KS", "ranks", "hits_at_k", "per_class_top1"]
