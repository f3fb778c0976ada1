"""Per-type input projection of a heterogeneous graph to one hidden size."""
from __future__ import annotations

from typing import List, Optional, Sequence

from torch import Tensor, nn
from torch.nn import functional as F

from graphcl.nn._dropout import check_positive_int

__all__ = ["TypeProjection"]


def _check_dropout(p, name: str) -> float:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
    return float(p)


class TypeProjection(nn.Module):
    r"""Projects the features of every node type to a shared hidden size, as
    HeCo's first layer (Wang et al., `"Self-supervised Heterogeneous Graph
    Neural Network with Co-contrastive Learning"
    <https://arxiv.org/abs/2105.09111>`_, Eq. 1):

    .. math::
        h_{t,i} = \mathrm{ELU}\big(\mathrm{Dropout}(W_t x_{t,i} + b_t)\big)

    A type without features is one-hot: :math:`W_t x_{t,i}` is then column
    :math:`i` of :math:`W_t`, read directly instead of multiplying an
    :math:`N_t \times N_t` identity (which is what made the reference need
    16 GB on AMiner).

    Args:
        in_channels (list of int or None): feature size per type, ``None`` for
            a one-hot (featureless) type.
        num_nodes (list of int): node count per type (the one-hot size).
        hidden (int): output size.
        feat_drop (float, optional): dropout after the linear map, before the
            ELU. (default: :obj:`0.0`)

    Shapes:
        - **input:** a list with, per type, ``[num_nodes[t], in_channels[t]]``
          or ``None`` for a one-hot type.
        - **output:** a list of ``[num_nodes[t], hidden]``.
    """

    def __init__(self, in_channels: Sequence[Optional[int]], num_nodes: Sequence[int],
                 hidden: int, feat_drop: float = 0.0):
        super().__init__()
        in_channels, num_nodes = list(in_channels), list(num_nodes)
        if not in_channels or len(in_channels) != len(num_nodes):
            raise ValueError(f"in_channels and num_nodes need one entry per node type (at least "
                             f"one), got {len(in_channels)} and {len(num_nodes)}")
        for t, (c, n) in enumerate(zip(in_channels, num_nodes)):
            check_positive_int(n, f"num_nodes[{t}]")
            if c is not None:
                check_positive_int(c, f"in_channels[{t}]")
        check_positive_int(hidden, "hidden")
        self.one_hot = [c is None for c in in_channels]
        # Each Linear is initialised right after it is built (not in a second
        # pass): the random stream, and so a seeded model, stays the
        # reference's.
        self.lins = nn.ModuleList(self._xavier(nn.Linear(n if c is None else c, hidden))
                                  for c, n in zip(in_channels, num_nodes))
        self.feat_drop = nn.Dropout(_check_dropout(feat_drop, "feat_drop"))

    @staticmethod
    def _xavier(lin: nn.Linear) -> nn.Linear:
        # HeCo's initialisation: xavier_normal with gain sqrt(2), PyTorch's bias.
        nn.init.xavier_normal_(lin.weight, gain=1.414)
        return lin

    def reset_parameters(self) -> None:
        for lin in self.lins:
            lin.reset_parameters()
            self._xavier(lin)

    def forward(self, features: Sequence[Optional[Tensor]]) -> List[Tensor]:
        features = list(features)
        if len(features) != len(self.lins):
            raise ValueError(f"features needs one entry per node type ({len(self.lins)}), "
                             f"got {len(features)}")
        out = []
        for t, (lin, one_hot, x) in enumerate(zip(self.lins, self.one_hot, features)):
            if one_hot:
                if x is not None:
                    raise ValueError(f"features[{t}] must be None: type {t} was declared "
                                     f"one-hot (in_channels[{t}] = None)")
                z = lin.weight.t() + lin.bias
            else:
                if not isinstance(x, Tensor) or x.dim() != 2 or x.size(1) != lin.in_features:
                    shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
                    raise ValueError(f"features[{t}] must be a [num_nodes, {lin.in_features}] "
                                     f"tensor, got {shape}")
                z = lin(x)
            out.append(F.elu(self.feat_drop(z)))
        return out

    def __repr__(self) -> str:
        sizes = [None if o else lin.in_features for o, lin in zip(self.one_hot, self.lins)]
        return (f"{self.__class__.__name__}({sizes}, hidden={self.lins[0].out_features}, "
                f"feat_drop={self.feat_drop.p})")
