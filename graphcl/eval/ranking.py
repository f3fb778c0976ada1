"""Top-K ranking metrics for recommendation: Recall@K, Hit@K, NDCG@K, MRR@K.

For a query q with relevant items R_q (|R_q| >= 1) and its ranking of the
candidate items (excluded items removed, ties broken by item index, so a lower
index ranks first; the evidence task indexes articles in PMCID order):

* Recall@K = |top-K ∩ R_q| / |R_q|;  Hit@K = 1[top-K ∩ R_q ≠ ∅]
* NDCG@K = DCG@K / IDCG@K with binary gains, DCG@K = Σ_{r ≤ K, item relevant}
  1 / log2(r + 1), IDCG@K the DCG of a ranking with every relevant item first
* MRR@K = 1 / (rank of the first relevant item) if it is ≤ K, else 0

With one relevant item Recall@K = Hit@K and NDCG@K = 1/log2(rank + 1).
Metrics are means over queries, as fractions.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
from torch import Tensor

__all__ = ["RANKING_METRICS", "candidate_ranks", "ranking_metrics", "target_ranks"]

#: The metric families, as they appear in result keys (``"recall@20"``).
RANKING_METRICS = ("recall", "hit", "ndcg", "mrr")


def _check_scores(scores) -> Tensor:
    if not isinstance(scores, Tensor):
        raise TypeError(f"scores must be a torch.Tensor [queries, items], got "
                        f"{type(scores).__name__}")
    if scores.dim() != 2 or scores.size(0) == 0 or scores.size(1) == 0:
        raise ValueError(f"scores must be 2-D [queries, items] and non-empty, got shape "
                         f"{list(scores.shape)}")
    if not scores.is_floating_point():
        scores = scores.double()
    if torch.isnan(scores).any():
        raise ValueError("scores contain NaN (a ranking of NaN is undefined)")
    return scores.detach()


def _check_mask(mask, like: Tensor, name: str) -> Tensor:
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise TypeError(f"{name} must be a bool tensor of shape {list(like.shape)}, got "
                        f"{type(mask).__name__}{'' if not isinstance(mask, Tensor) else ' ' + str(mask.dtype)}")
    if mask.shape != like.shape:
        raise ValueError(f"{name} must have the shape of scores {list(like.shape)}, got "
                         f"{list(mask.shape)}")
    return mask.to(like.device)


def candidate_ranks(scores: Tensor, exclude: Optional[Tensor] = None) -> Tensor:
    """1-based rank of every item per query, ``0`` for excluded items.

    Args:
        scores (Tensor): ``[Q, N]``, higher is better (``±inf`` allowed).
        exclude (BoolTensor, optional): ``[Q, N]``, items removed from a
            query's ranking (its training items).

    Ties are broken by item index: of two equal scores the lower index ranks
    first (a stable sort).
    """
    scores = _check_scores(scores)
    excluded = torch.zeros_like(scores, dtype=torch.bool) if exclude is None else \
        _check_mask(exclude, scores, "exclude")
    # Excluded items go last whatever their score: sort on (excluded, -score, index).
    key = torch.where(excluded, torch.full_like(scores, float("inf")), -scores)
    order = torch.sort(key, dim=1, stable=True).indices
    kept_sorted = (~excluded).gather(1, order)
    position = torch.cumsum(kept_sorted.long(), dim=1) * kept_sorted.long()
    ranks = torch.zeros_like(position)
    ranks.scatter_(1, order, position)
    return ranks


def target_ranks(scores: Tensor, targets: Tensor, exclude: Optional[Tensor] = None) -> Tensor:
    """Rank (1-based) of one relevant item per query: ``[Q]`` long.

    Args:
        scores (Tensor): ``[Q, N]``.
        targets (LongTensor): ``[Q]``, the relevant item of each query.
        exclude (BoolTensor, optional): ``[Q, N]``; a target may not be excluded.
    """
    scores = _check_scores(scores)
    if not isinstance(targets, Tensor) or targets.dtype not in (torch.int32, torch.int64):
        raise TypeError("targets must be an integer tensor [queries]")
    if targets.shape != (scores.size(0),):
        raise ValueError(f"targets must have shape [{scores.size(0)}], got {list(targets.shape)}")
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= scores.size(1)):
        raise IndexError(f"targets must lie in [0, {scores.size(1) - 1}], got "
                         f"{int(targets.min())}..{int(targets.max())}")
    ranks = candidate_ranks(scores, exclude).gather(1, targets.long().view(-1, 1)).view(-1)
    if bool((ranks == 0).any()):
        raise ValueError("a target item is excluded from its own query's ranking "
                         f"(queries {torch.nonzero(ranks == 0).view(-1).tolist()[:5]})")
    return ranks


def _check_ks(ks: Sequence[int], candidates: int) -> list:
    ks = list(ks)
    if not ks:
        raise ValueError("ks must list at least one K")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"every K in ks must be an int >= 1, got {k!r}")
        if k > candidates:
            raise ValueError(f"K = {k} is larger than the catalogue ({candidates} items)")
    return ks


def ranking_metrics(scores: Tensor, relevant: Tensor, exclude: Optional[Tensor] = None,
                    ks: Sequence[int] = (5, 10, 20),
                    metrics: Sequence[str] = RANKING_METRICS) -> Dict[str, float]:
    """Mean Recall/Hit/NDCG/MRR@K over queries (see the module docstring).

    Args:
        scores (Tensor): ``[Q, N]`` item scores per query.
        relevant (BoolTensor): ``[Q, N]``, each query's relevant items (>= 1
            per query, none of them excluded).
        exclude (BoolTensor, optional): ``[Q, N]`` items removed from the ranking.
        ks (sequence of int): the cut-offs, each in ``[1, N]``.
        metrics (sequence of str): any of :data:`RANKING_METRICS`.

    Returns:
        ``{"recall@5": ..., "ndcg@5": ..., ...}`` (fractions).
    """
    scores = _check_scores(scores)
    relevant = _check_mask(relevant, scores, "relevant")
    ks = _check_ks(ks, scores.size(1))
    unknown = [m for m in metrics if m not in RANKING_METRICS]
    if unknown or not metrics:
        raise ValueError(f"metrics must be a non-empty subset of {RANKING_METRICS}, got {metrics}")
    ranks = candidate_ranks(scores, exclude)
    if bool((relevant & (ranks == 0)).any()):
        raise ValueError("a relevant item is also excluded from its query's ranking")
    count = relevant.sum(1)
    if bool((count == 0).any()):
        raise ValueError(f"every query needs at least one relevant item; queries "
                         f"{torch.nonzero(count == 0).view(-1).tolist()[:5]} have none")
    big = ranks.max().item() + 1
    rel_ranks = torch.where(relevant, ranks, torch.full_like(ranks, big)).double()
    count = count.double()
    out = {}
    for k in ks:
        in_top = rel_ranks <= k
        discounts = torch.where(in_top, 1.0 / torch.log2(rel_ranks + 1), torch.zeros_like(rel_ranks))
        ideal_n = count.clamp(max=k)
        ideal = torch.cumsum(1.0 / torch.log2(torch.arange(2, k + 2, dtype=torch.float64)), 0)
        first = rel_ranks.min(1).values
        values = {
            "recall": in_top.sum(1) / count,
            "hit": in_top.any(1).double(),
            "ndcg": discounts.sum(1) / ideal[(ideal_n - 1).long()],
            "mrr": torch.where(first <= k, 1.0 / first, torch.zeros_like(first)),
        }
        for m in metrics:
            out[f"{m}@{k}"] = float(values[m].mean())
    return out
