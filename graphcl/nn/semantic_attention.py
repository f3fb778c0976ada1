"""Semantic (type-level / metapath-level) attention."""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from graphcl.nn._dropout import check_attn_dropout, drop_coefficients, drop_parameter


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
        - embeddings: P tensors ``[N, channels]`` (or one ``[P, N, channels]``)
        - output: ``[N, channels]``; with ``return_attention=True`` also
          ``beta`` of shape ``[P]``
    """

    def __init__(self, channels: int, hidden_channels: int = None, attn_dropout: float = 0.0,
                 attn_dropout_mode: str = "coefficients"):
        super().__init__()
        check_attn_dropout(attn_dropout, attn_dropout_mode)
        hidden_channels = hidden_channels or channels
        self.lin = nn.Linear(channels, hidden_channels)
        self.att = nn.Parameter(torch.empty(1, hidden_channels))
        self.attn_dropout, self.attn_dropout_mode = attn_dropout, attn_dropout_mode
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_normal_(self.lin.weight, gain=1.414)
        nn.init.zeros_(self.lin.bias)
        nn.init.xavier_normal_(self.att, gain=1.414)

    def forward(self, embeddings: Union[Sequence[Tensor], Tensor],
                return_attention: bool = False) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        z = torch.stack(list(embeddings)) if not isinstance(embeddings, Tensor) else embeddings
        if z.dim() != 3 or z.size(-1) != self.lin.in_features:
            raise ValueError(f"embeddings must be P tensors of shape [N, {self.lin.in_features}], "
                             f"got stacked shape {tuple(z.shape)}")
        att = drop_parameter(self.att, self.attn_dropout, self.attn_dropout_mode, self.training)
        summary = torch.tanh(self.lin(z)).mean(dim=1)  # [P, hidden]
        beta = torch.softmax((summary * att).sum(-1), dim=0)  # [P]
        beta = drop_coefficients(beta, self.attn_dropout, self.attn_dropout_mode, self.training)
        out = (beta.view(-1, 1, 1) * z).sum(0)
        return (out, beta) if return_attention else out
