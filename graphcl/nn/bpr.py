"""Bayesian personalised ranking loss."""
from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["BPRLoss", "bpr_loss"]


def bpr_loss(pos_scores: Tensor, neg_scores: Tensor, reduction: str = "mean") -> Tensor:
    r"""BPR loss of Rendle et al., `"BPR: Bayesian Personalized Ranking from
    Implicit Feedback" <https://arxiv.org/abs/1205.2618>`_ (UAI 2009):

    .. math::
        \mathcal{L} = -\frac{1}{BM} \sum_{b=1}^{B} \sum_{m=1}^{M}
        \log \sigma\big(s^{+}_b - s^{-}_{b,m}\big)

    computed as ``softplus(neg - pos)`` (stable for any score gap).

    Args:
        pos_scores (Tensor): ``[B]``, the score of each observed pair.
        neg_scores (Tensor): ``[B]`` or ``[B, M]``, M sampled negatives per pair.
        reduction (str): ``'mean'`` (default), ``'sum'`` or ``'none'``
            (``[B]`` or ``[B, M]``).
    """
    if not isinstance(pos_scores, Tensor) or not isinstance(neg_scores, Tensor):
        raise TypeError("pos_scores and neg_scores must be torch.Tensors")
    if not pos_scores.is_floating_point() or not neg_scores.is_floating_point():
        raise TypeError(f"scores must be floating point, got {pos_scores.dtype} and "
                        f"{neg_scores.dtype}")
    if pos_scores.dim() != 1 or pos_scores.numel() == 0:
        raise ValueError(f"pos_scores must be 1-D [B] with B >= 1, got shape "
                         f"{list(pos_scores.shape)}")
    if neg_scores.dim() not in (1, 2) or neg_scores.size(0) != pos_scores.size(0) \
            or neg_scores.numel() == 0:
        raise ValueError(f"neg_scores must be [B] or [B, M] with B = {pos_scores.size(0)} "
                         f"and M >= 1, got shape {list(neg_scores.shape)}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    pos = pos_scores if neg_scores.dim() == 1 else pos_scores.unsqueeze(1)
    loss = F.softplus(neg_scores - pos)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


class BPRLoss(nn.Module):
    r"""Module form of :func:`bpr_loss`.

    Args:
        reduction (str): ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shapes:
        - pos_scores ``[B]``, neg_scores ``[B]`` or ``[B, M]``
        - output: a scalar (or the unreduced ``[B]`` / ``[B, M]``)
    """

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def forward(self, pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
        return bpr_loss(pos_scores, neg_scores, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
