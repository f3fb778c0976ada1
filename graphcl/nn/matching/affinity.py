r"""Node and edge affinities of LVM-Med's second-order graph matching, for a
batch of ``B`` pairs of ``n``-node graphs, and the padded edge lists they use."""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from graphcl.nn.matching._checks import check_view_embeddings


def node_affinity(z_s: Tensor, z_t: Tensor, alpha: float = 0.8,
                  local: Optional[Tensor] = None) -> Tensor:
    r"""Vertex affinities :math:`c^v_{ia} = \alpha \cos(z^s_i, z^t_a) + (1 - \alpha) c^{lo}_{ia}`
    (LVM-Med Eq. 3; `arXiv 2306.11925 <https://arxiv.org/abs/2306.11925>`_).

    Args:
        z_s, z_t (Tensor): node embeddings of the two views, ``[B, n, F]``.
        alpha (float, optional): weight of the global cosine (default ``0.8``).
        local (Tensor, optional): the local-patch term :math:`c^{lo}_{ia} + c^{lo}_{ai}`,
            ``[B, n, n]``; omitted (zero) by default.

    Returns:
        ``[B, n, n]``; entry ``[b, i, a]`` scores matching node ``i`` of the
        first view to node ``a`` of the second.
    """
    check_view_embeddings(z_s, z_t, "[B, n, F]")
    cos = F.normalize(z_s, dim=-1) @ F.normalize(z_t, dim=-1).transpose(1, 2)
    out = alpha * cos
    if local is not None:
        if local.shape != cos.shape:
            raise ValueError(f"local must have shape {list(cos.shape)}, got {list(local.shape)}")
        out = out + (1.0 - alpha) * local
    return out


def padded_edges(adjacency: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Edge lists of a batch of dense adjacencies, padded to the largest edge count.

    Args:
        adjacency (Tensor): ``[B, n, n]`` bool, ``[b, i, j]`` true for edge ``i -> j``.

    Returns:
        ``(source, target, valid)``, each ``[B, E_max]``: edges in row-major
        order; padded slots have ``valid = False`` (and point at node 0).
    """
    if adjacency.dtype != torch.bool or adjacency.dim() != 3 or adjacency.size(1) != adjacency.size(2):
        raise TypeError(f"adjacency must be a bool [B, n, n] tensor, got {adjacency.dtype} "
                        f"{list(adjacency.shape)}")
    b, n, _ = adjacency.shape
    flat = adjacency.reshape(b, n * n)
    counts = flat.sum(1)
    e_max = int(counts.max()) if b else 0
    # a stable sort puts every graph's edges first, in row-major order
    order = torch.sort((~flat).to(torch.uint8), dim=1, stable=True).indices[:, :e_max]
    valid = torch.arange(e_max, device=adjacency.device).view(1, -1) < counts.view(-1, 1)
    order = torch.where(valid, order, torch.zeros_like(order))
    return order // n, order % n, valid


def edge_affinity(z_s: Tensor, adjacency_s: Tensor, z_t: Tensor, adjacency_t: Tensor,
                  perturb: Optional[Callable[[Tensor], Tensor]] = None) -> Tensor:
    r"""Edge affinities :math:`c^e_{ia,jb} = \cos(z^s_i - z^s_j, z^t_a - z^t_b)` for
    every edge :math:`i \to j` of the first graph and :math:`a \to b` of the
    second, as the quadratic term of the QAP (LVM-Med Eq. 3-4); an edge whose
    endpoints coincide has cosine 0 and no gradient (:func:`edge_directions`).

    .. math::
        Q_{(i,a),(j,b)} = A^s_{ij} A^t_{ab} \cos(z^s_i - z^s_j, z^t_a - z^t_b)

    with the row-major pair index :math:`(i, a) \mapsto i n + a`, so the QAP
    objective is :math:`\langle c^v, v\rangle + \mathrm{vec}(v)^\top Q\, \mathrm{vec}(v)`.
    (pygmtools' Lawler matrix is column-major: its entry ``[a n + i, b n + j]``
    is this ``Q[i n + a, j n + b]``.) Only the :math:`E_s E_t` edge pairs are
    computed (``[B, E_s, E_t]`` cosines), then scattered.

    Args:
        z_s, z_t (Tensor): node embeddings, ``[B, n, F]``.
        adjacency_s, adjacency_t (Tensor): ``[B, n, n]`` bool directed adjacencies.
        perturb (callable, optional): maps the ``[B, E_s, E_t]`` edge-pair
            affinities to perturbed ones before they are scattered (LVM-Med adds
            Gumbel noise there); padded pairs stay zero.

    Returns:
        ``Q``, ``[B, n*n, n*n]``, zero outside the edge pairs.
    """
    check_view_embeddings(z_s, z_t, "[B, n, F]")
    b, n, _ = z_s.shape
    for name, adj in (("adjacency_s", adjacency_s), ("adjacency_t", adjacency_t)):
        if adj.shape != (b, n, n):
            raise ValueError(f"{name} must have shape {[b, n, n]}, got {list(adj.shape)}")
    src_s, dst_s, ok_s = padded_edges(adjacency_s)
    src_t, dst_t, ok_t = padded_edges(adjacency_t)
    d_s = edge_directions(z_s, src_s, dst_s)   # [B, Es, F]
    d_t = edge_directions(z_t, src_t, dst_t)   # [B, Et, F]
    pair_ok = ok_s.unsqueeze(2) & ok_t.unsqueeze(1)
    values = d_s @ d_t.transpose(1, 2)                                      # [B, Es, Et]
    if perturb is not None:
        values = perturb(values)
    values = values * pair_ok
    rows = src_s.unsqueeze(2) * n + src_t.unsqueeze(1)
    cols = dst_s.unsqueeze(2) * n + dst_t.unsqueeze(1)
    index = (rows * (n * n) + cols).reshape(b, -1)
    out = values.new_zeros(b, n ** 4)
    out = out.scatter_add(1, index, values.reshape(b, -1))
    return out.view(b, n * n, n * n)


#: An edge shorter than this fraction of its longer endpoint is degenerate
#: (float rounding is ~1e-7 relative; real edges of LVM-Med's batches are
#: longer than 1e-2 of their endpoints, see benchmarks/lvmmed/diagnose.py).
DEGENERATE_EDGE = 1e-4


def edge_directions(z: Tensor, source: Tensor, target: Tensor) -> Tensor:
    r"""Unit vectors :math:`(z_i - z_j)/\|z_i - z_j\|` of the edges ``source -> target``.

    An edge whose endpoints coincide up to float rounding (shorter than
    ``DEGENERATE_EDGE`` times its longer endpoint) has no direction: its
    vector is zero, so its cosines are 0, and it passes no gradient. Such
    edges are common after the GCN: mutual kNN neighbours with the same closed
    neighbourhood get the same mean, bit for bit or to rounding. Normalising
    them would give a rounding-noise direction whose gradient is
    :math:`1/\|z_i - z_j\|` (up to ``1e12``), drowning every other gradient.

    Args:
        z (Tensor): ``[B, n, F]``.
        source, target (Tensor): ``[B, E]`` node indices.

    Returns:
        ``[B, E, F]``.
    """
    head, tail = _gather(z, source), _gather(z, target)
    difference = head - tail
    length = difference.norm(dim=-1, keepdim=True)
    scale = torch.maximum(head.norm(dim=-1, keepdim=True), tail.norm(dim=-1, keepdim=True))
    directed = length > DEGENERATE_EDGE * scale
    # dividing by 1 where there is no direction keeps the masked gradient finite
    safe = torch.where(directed, length, torch.ones_like(length))
    return torch.where(directed, difference / safe, torch.zeros_like(difference))


def _gather(z: Tensor, index: Tensor) -> Tensor:
    return torch.gather(z, 1, index.unsqueeze(-1).expand(-1, -1, z.size(-1)))


__all__ = ["node_affinity", "edge_affinity", "edge_directions", "padded_edges"]
