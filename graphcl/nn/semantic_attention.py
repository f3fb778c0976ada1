"""Semantic (type-level / metapath-level) attention."""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from graphcl.nn._dropout import (check_attn_dropout, check_positive_int, drop_coefficients,
                                 drop_parameter)


class SemanticAttention(nn.Module):
    r"""Fuses P embeddings of the same nodes (one per metapath or neighbour
    type) with one weight per embedding:

    .. math::
        w_p = a^\top \frac{1}{N}\sum_i \tanh(W z_{p,i} + b), \qquad
        \beta = \mathrm{softmax}_p(w), \qquad z = \sum_p \beta_p z_p

    (HAN's and HeCo's semantic/type-level attention; :math:`W, b, a` are shared
    across the P inputs).

    Args:
        channels (int): embedding size.
        hidden_channels (int, optional): size of :math:`W`'s output
            (default: ``channels``).
        attn_dropout (float): attention dropout probability.
        attn_dropout_mode (str): ``'coefficients'`` (drop :math:`\beta`) or
            ``'parameter'`` (drop entries of :math:`a`, HeCo's reference code).

    Shapes:
        - embeddings: P >= 1 tensors ``[N, channels]`` with N >= 1 (or one
          ``[P, N, channels]``), floating point, finite, of the module's dtype
          and device
        - output: ``[N, channels]``; with ``return_attention=True`` also
          ``beta`` of shape ``[P]``

    Anything else raises a ``TypeError``/``ValueError`` naming ``embeddings``
    (no nodes, N = 0, is refused too: :math:`\beta` would be a mean over no
    nodes).
    """

    def __init__(self, channels: int, hidden_channels: int = None, attn_dropout: float = 0.0,
                 attn_dropout_mode: str = "coefficients"):
        super().__init__()
        check_positive_int(channels, "channels")
        if hidden_channels is None:
            hidden_channels = channels
        check_positive_int(hidden_channels, "hidden_channels")
        check_attn_dropout(attn_dropout, attn_dropout_mode)
        self.lin = nn.Linear(channels, hidden_channels)
        self.att = nn.Parameter(torch.empty(1, hidden_channels))
        self.attn_dropout, self.attn_dropout_mode = attn_dropout, attn_dropout_mode
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_normal_(self.lin.weight, gain=1.414)
        nn.init.zeros_(self.lin.bias)
        nn.init.xavier_normal_(self.att, gain=1.414)

    def _stack(self, embeddings: Union[Sequence[Tensor], Tensor]) -> Tensor:
        """The P embeddings as one ``[P, N, channels]`` tensor, validated."""
        c = self.lin.in_features
        if isinstance(embeddings, Tensor):
            z = embeddings
        else:
            if isinstance(embeddings, (str, bytes)) or not hasattr(embeddings, "__iter__"):
                raise TypeError(f"embeddings must be a sequence of tensors or one [P, N, {c}] "
                                f"tensor, got {type(embeddings).__name__}")
            views = list(embeddings)
            if not views:
                raise ValueError("embeddings is empty: SemanticAttention needs at least one "
                                 "embedding to fuse")
            for p, v in enumerate(views):
                if not isinstance(v, Tensor):
                    raise TypeError(f"embeddings[{p}] must be a torch.Tensor, got "
                                    f"{type(v).__name__}")
                first = views[0]
                if v.dtype != first.dtype:
                    raise TypeError(f"embeddings[{p}] has dtype {v.dtype} but embeddings[0] "
                                    f"has {first.dtype}; all must match")
                if v.shape != first.shape or v.device != first.device:
                    raise ValueError(f"embeddings[{p}] has shape {list(v.shape)} on {v.device} "
                                     f"but embeddings[0] has shape {list(first.shape)} on "
                                     f"{first.device}; all must match")
            z = torch.stack(views)
        if z.dim() != 3 or z.size(-1) != c:
            raise ValueError(f"embeddings must be P tensors of shape [N, {c}], "
                             f"got stacked shape {tuple(z.shape)}")
        if z.size(0) == 0 or z.size(1) == 0:
            raise ValueError(f"embeddings must hold at least one embedding of at least one node "
                             f"(P >= 1, N >= 1), got stacked shape {tuple(z.shape)}")
        weight = self.lin.weight
        if z.dtype != weight.dtype:
            raise TypeError(f"embeddings have dtype {z.dtype} but the module's parameters are "
                            f"{weight.dtype} (convert one of them)")
        if z.device != weight.device:
            raise ValueError(f"embeddings are on {z.device} but the module's parameters are on "
                             f"{weight.device}")
        if not bool(torch.isfinite(z.detach()).all()):
            raise ValueError("embeddings contain NaN or Inf")
        return z

    def forward(self, embeddings: Union[Sequence[Tensor], Tensor],
                return_attention: bool = False) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        z = self._stack(embeddings)
        att = drop_parameter(self.att, self.attn_dropout, self.attn_dropout_mode, self.training)
        summary = torch.tanh(self.lin(z)).mean(dim=1)  # [P, hidden]
        beta = torch.softmax((summary * att).sum(-1), dim=0)  # [P]
        beta = drop_coefficients(beta, self.attn_dropout, self.attn_dropout_mode, self.training)
        out = (beta.view(-1, 1, 1) * z).sum(0)
        return (out, beta) if return_attention else out
