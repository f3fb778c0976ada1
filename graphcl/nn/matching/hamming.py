r"""The Hamming loss between a batch of matchings and a target (LVM-Med Eq. 5)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def hamming_loss(matching: Tensor, target: Optional[Tensor] = None) -> Tensor:
    r""":math:`L(v, v^*) = \sum_{ia} v_{ia}(1 - v^*_{ia}) + v^*_{ia}(1 - v_{ia})`,
    averaged over the ``B`` graphs (the reference code's
    :math:`\sum_{ia} \mathrm{mean}_b`). For permutations this is twice the
    number of wrongly matched nodes. Linear in ``matching``, so its gradient
    :math:`1 - 2 v^*` is what the blackbox / IMLE backward perturbs with.

    Args:
        matching (Tensor): ``[B, n, n]`` (0/1 or relaxed).
        target (Tensor, optional): ``[B, n, n]`` or ``[n, n]``; the identity
            (node ``i`` of one view is node ``i`` of the other) by default.

    Returns:
        scalar.
    """
    if not isinstance(matching, Tensor) or matching.dim() != 3 or not matching.is_floating_point():
        raise TypeError(f"matching must be a float [B, n, n] tensor, got "
                        f"{getattr(matching, 'dtype', type(matching).__name__)} "
                        f"{list(getattr(matching, 'shape', []))}")
    n = matching.size(-1)
    if target is None:
        target = torch.eye(n, dtype=matching.dtype, device=matching.device)
    elif target.shape[-2:] != matching.shape[-2:]:
        raise ValueError(f"target must be [n, n] or {list(matching.shape)}, got "
                         f"{list(target.shape)}")
    wrong = matching * (1 - target) + target * (1 - matching)
    return wrong.sum((-2, -1)).mean()


__all__ = ["hamming_loss"]
