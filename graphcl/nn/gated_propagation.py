"""GPN's gated multi-head cosine-attention propagation of class prototypes."""
from __future__ import annotations

import math
import numbers
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from graphcl import ops
from graphcl.graph import SparseGraph
from graphcl.nn._dropout import check_positive_int


class GatedCosinePropagation(nn.Module):
    r"""The propagation of `"Learning to Propagate for Graph Meta-Learning"
    <https://arxiv.org/abs/1909.05024>`_ (GPN, the reference's
    ``MultiheadCosinePropagationNetSimSoftmaxRatio``): at every step and head
    :math:`k`, node :math:`a` attends over its in-neighbours :math:`b`

    .. math::
        e^k_{ab} = \mathrm{softmax}_{b \in N(a)}\big(\tau \cos(W^k_q h_b, W^k_k h_a)\big),
        \qquad m^k_a = \sum_{b \in N(a)} e^k_{ab} h_b

    (raw features as values; a node without in-edges keeps
    :math:`m^k_a = h_a`), a cosine-softmax gate against the input
    :math:`h^0`

    .. math::
        [g^k_{self}, g^k_{msg}] = \mathrm{softmax}\big(\tau [\cos(h_a, h^0_a),
        \cos(m^k_a, h^0_a)]\big), \qquad
        h_a \leftarrow \tfrac{1}{H} \sum_k g^k_{msg} m^k_a + g^k_{self} h_a

    Scores are per-edge gathers, the softmax is ``graphcl.ops.segment_softmax``
    over every node's in-edges and the messages are ``graphcl.ops.spmm``, so a
    batch of task subgraphs (one block-diagonal ``SparseGraph``) runs in one
    pass; no dense adjacency is built.

    Args:
        channels (int): feature size :math:`C` of the prototypes.
        attention_channels (int): output size of :math:`W_q, W_k` (GPN: 128).
        heads (int): attention heads :math:`H`, averaged (GPN: 5).
        steps (int): propagation steps, each with its own weights (GPN: 2).
        temperature (float): :math:`\tau` (GPN: 1).
        init_std (float): :math:`W_q, W_k \sim N(0, \text{init\_std}^2)`,
            no bias (GPN: 0.001).
        eps (float): norm floor of the attention cosine (the reference's
            ``nn.CosineSimilarity(eps=1e-4)``).

    Shapes:
        - x: ``[N, channels]``
        - graph: a square :class:`SparseGraph` (row = receiving node), or a
          list of ``steps`` of them (one per step)
        - output: ``[N, channels]``; with ``return_gates=True`` also the
          message gates :math:`g_{msg}` ``[steps, N, heads]``
    """

    def __init__(self, channels: int, attention_channels: int = 128, heads: int = 5,
                 steps: int = 2, temperature: float = 1.0, init_std: float = 0.001,
                 eps: float = 1e-4):
        super().__init__()
        for name, value in (("channels", channels), ("attention_channels", attention_channels),
                            ("heads", heads), ("steps", steps)):
            check_positive_int(value, name)
        for name, value in (("temperature", temperature), ("init_std", init_std), ("eps", eps)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        self.channels, self.attention_channels = channels, attention_channels
        self.heads, self.steps = heads, steps
        self.temperature, self.init_std, self.eps = float(temperature), float(init_std), float(eps)
        # W_q of head j at step s is query[s, :, j*D:(j+1)*D] (one matmul per step)
        shape = (steps, channels, heads * attention_channels)
        self.query = nn.Parameter(torch.empty(shape))
        self.key = nn.Parameter(torch.empty(shape))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.query, 0.0, self.init_std)
        nn.init.normal_(self.key, 0.0, self.init_std)

    def _graphs(self, graph, n: int, device) -> List[SparseGraph]:
        graphs = list(graph) if isinstance(graph, (list, tuple)) else [graph] * self.steps
        if len(graphs) != self.steps:
            raise ValueError(f"graph: expected {self.steps} graphs (one per step), got "
                             f"{len(graphs)}")
        for g in graphs:
            if not isinstance(g, SparseGraph):
                raise TypeError(f"graph must be a graphcl.SparseGraph (or a list of them), got "
                                f"{type(g).__name__}")
            if g.num_rows != n or g.num_cols != n:
                raise ValueError(f"graph must be square over the {n} rows of x, got "
                                 f"{g.num_rows} x {g.num_cols}")
            if g.device != device:
                raise ValueError(f"graph is on {g.device} but x is on {device}")
        return graphs

    def _heads_graph(self, graph: SparseGraph) -> SparseGraph:
        """``heads`` stacked copies of ``graph`` (copy ``j`` writes rows
        ``j * num_rows ...``): one spmm then aggregates every head, its
        per-edge weights being the head-major attention ``alpha.T``."""
        e = graph.num_edges
        starts = graph.rowptr[:-1].unsqueeze(0) + e * torch.arange(
            self.heads, device=graph.device, dtype=graph.rowptr.dtype).unsqueeze(1)
        rowptr = torch.cat([starts.reshape(-1), graph.rowptr.new_tensor([self.heads * e])])
        return SparseGraph(rowptr, graph.col.repeat(self.heads), graph.num_cols)

    def step(self, h: Tensor, h0: Tensor, graph: SparseGraph, s: int,
             rows: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Step ``s`` for the receiving nodes ``rows`` (all when ``None``):
        ``graph`` has one row per receiving node and one column per node of
        ``h``. Returns their new features ``[R, C]`` and gates ``[R, H]``."""
        H, D = self.heads, self.attention_channels
        h_dst = h if rows is None else h.index_select(0, rows)
        h0_dst = h0 if rows is None else h0.index_select(0, rows)
        q = (h @ self.query[s]).view(-1, H, D)       # read at the source b
        k = (h_dst @ self.key[s]).view(-1, H, D)     # read at the target a
        q = q / q.norm(dim=-1, keepdim=True).clamp_min(self.eps)
        k = k / k.norm(dim=-1, keepdim=True).clamp_min(self.eps)
        row, col = graph.row.long(), graph.col.long()
        scores = self.temperature * (k.index_select(0, row) * q.index_select(0, col)).sum(-1)
        alpha = ops.segment_softmax(graph, scores)  # [E, H]
        messages = ops.spmm(self._heads_graph(graph), h, alpha.t().reshape(-1))
        messages = messages.view(H, -1, h.size(1)).transpose(0, 1)  # [R, H, C]
        has_in = (graph.rowptr[1:] > graph.rowptr[:-1]).view(-1, 1, 1)
        messages = torch.where(has_in, messages, h_dst.unsqueeze(1))
        self_sim = F.cosine_similarity(h_dst, h0_dst, dim=-1).unsqueeze(1).expand(-1, H)
        msg_sim = F.cosine_similarity(messages, h0_dst.unsqueeze(1), dim=-1)
        gates = torch.softmax(self.temperature * torch.stack([self_sim, msg_sim], -1), dim=-1)
        out = gates[..., 1:] * messages + gates[..., :1] * h_dst.unsqueeze(1)
        return out.mean(1), gates[..., 1]

    @staticmethod
    def _rows_graph(graph: SparseGraph, rows: Tensor) -> SparseGraph:
        """The in-edges of ``rows`` only (one graph row per entry of ``rows``)."""
        counts = (graph.rowptr[1:] - graph.rowptr[:-1]).long()[rows]
        rowptr = torch.zeros(rows.numel() + 1, dtype=torch.long, device=rows.device)
        torch.cumsum(counts, 0, out=rowptr[1:])
        starts = graph.rowptr[:-1].long()[rows]
        offsets = torch.arange(int(rowptr[-1]), device=rows.device) - torch.repeat_interleave(
            rowptr[:-1] - starts, counts)
        col = graph.col.long()[offsets] if offsets.numel() else graph.col.long()[:0]
        return SparseGraph(rowptr.to(graph.rowptr.dtype), col.to(graph.rowptr.dtype),
                           graph.num_cols)

    def _needed_rows(self, graphs: List[SparseGraph], targets: Tensor, n: int) -> List[Tensor]:
        """Per step, the nodes whose new value a later step (or the output)
        reads: the targets at the last step, their in-neighbours before it..."""
        needed = torch.zeros(n, dtype=torch.bool, device=targets.device)
        needed[targets] = True
        out: List[Tensor] = []
        for g in reversed(graphs):
            out.append(needed.nonzero().view(-1))
            grown = needed.clone()
            grown[g.col.long()[needed[g.row.long()]]] = True
            needed = grown
        return out[::-1]

    def forward(self, x: Tensor, graph: Union[SparseGraph, Sequence[SparseGraph]],
                return_gates: bool = False, targets: Optional[Tensor] = None):
        """Propagate; with ``targets`` (node indices) only their outputs are
        computed (each step updates just the nodes later steps read, which is
        exact for the targets) and the output is ``[len(targets), C]``; gates
        of nodes a step skipped are NaN."""
        if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() != 2 \
                or x.size(1) != self.channels:
            raise ValueError(f"x must be a floating [N, {self.channels}] tensor, got "
                             f"{type(x).__name__} {tuple(getattr(x, 'shape', ()))}")
        graphs = self._graphs(graph, x.size(0), x.device)
        n = x.size(0)
        if targets is None:
            plan = [None] * self.steps
        else:
            targets = torch.as_tensor(targets, dtype=torch.long, device=x.device).view(-1)
            if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= n):
                raise IndexError(f"targets must index the {n} rows of x")
            plan = self._needed_rows(graphs, targets, n)
        h, gates = x, []
        for s, (g, rows) in enumerate(zip(graphs, plan)):
            if rows is None:
                h, gate = self.step(h, x, g, s)
            else:
                new, gate_rows = self.step(h, x, self._rows_graph(g, rows), s, rows)
                h = h.index_copy(0, rows, new)
                gate = x.new_full((n, self.heads), float("nan")).index_copy(0, rows, gate_rows)
            gates.append(gate)
        out = h if targets is None else h.index_select(0, targets)
        return (out, torch.stack(gates)) if return_gates else out

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.channels}, attention_channels="
                f"{self.attention_channels}, heads={self.heads}, steps={self.steps})")
