"""SDCN's kNN graph construction (``calcu_graph.py``), chunked and exact.

SDCN builds the USPS, HHAR and Reuters graphs by ranking every node's
similarity row and keeping its top ``k + 1`` entries, then writing ``i j`` for
every kept ``j != i``. This module does the same without ever holding an
``N x N`` matrix: rows are processed in chunks, only ``O(chunk_size * N)``
scores live at a time, and the result is ``O(N * k)``.

Not to be confused with :func:`torch_geometric.nn.knn_graph`; this one is
``graphcl.knn.knn_graph``.

Exactness and ties
------------------
* ``heat`` ranks by squared Euclidean distance (S = exp(-d^2 / 2) is strictly
  decreasing in d^2; ranking by d^2 avoids the underflow of exp to 0 at large
  distances, which would create spurious ties). Candidates come from the fast
  float64 expansion ``|a|^2 + |b|^2 - 2 a.b``; the final ranking uses the
  directly computed ``sum((a - b)^2)`` in float64, so identical rows are at
  distance exactly 0 and the answer does not depend on BLAS blocking or
  ``chunk_size``.
* ``cos`` and ``ncos`` are computed from the binarised features with exact
  integer overlaps (``ncos`` divides an integer overlap by the integer
  ``n_i * n_j`` once, so mathematically equal scores are bit-equal).
* Ties are broken by the lower node index. SDCN used ``np.argpartition``,
  whose choice among equal scores is unspecified (it depends on the numpy
  version and CPU); with the lower-index rule a node can lose its own slot to
  tied lower-indexed nodes, and then, as in SDCN, it gets ``k + 1`` neighbours.
"""
from __future__ import annotations

from typing import Optional, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]

METHODS = ("heat", "cos", "ncos")


def knn_graph(x: ArrayLike, k: int, method: str = "heat", *, chunk_size: int = 1024) -> torch.Tensor:
    r"""Directed kNN graph exactly as SDCN's ``calcu_graph.py`` builds it.

    For every node ``i`` the ``k + 1`` most similar nodes (``i`` itself
    included as a candidate) are taken, and an edge ``(i, j)`` is emitted for
    each of them with ``j != i``. Usually ``i`` is among them and has ``k``
    out-neighbours; when ties push ``i`` out, it has ``k + 1``.

    Similarities:

    - ``"heat"``: :math:`S_{ij} = \exp(-\lVert x_i - x_j\rVert^2 / 2)`, i.e.
      nearest by Euclidean distance (used by SDCN for USPS and HHAR).
    - ``"cos"``: binarise (:math:`x > 0 \to 1`), :math:`S = X X^\top`.
    - ``"ncos"``: binarise, L1-normalise rows (an all-zero row stays zero),
      :math:`S = X X^\top` (used for Reuters).

    Ties are broken by the lower node index (see the module docstring).

    Args:
        x: Node features, a float numpy array or torch tensor (any device;
            the work happens there in float64).
        k: Number of neighbours, ``1 <= k < N``.
        method: ``"heat"``, ``"cos"`` or ``"ncos"``.
        chunk_size: Rows scored at a time; peak memory is about
            ``chunk_size * N`` float64 values. The result does not depend on it.

    Returns:
        ``edge_index``, a long tensor on the input's device (CPU for numpy),
        rows ``(source i, neighbour j)``, grouped by ``i`` in increasing order
        and, within a node, from most to least similar. Not symmetrised.

    Shapes:
        - x: ``[N, d]``
        - output: ``[2, E]`` with ``N * k <= E <= N * (k + 1)``

    Raises:
        TypeError: ``x`` is not a float array, or ``k`` / ``chunk_size`` are
            not integers.
        ValueError: ``x`` is not 2-D or has NaN/Inf, ``k`` is outside
            ``[1, N)``, ``method`` is unknown, or ``chunk_size < 1``.
    """
    xt = _as_float64(x)
    n = xt.size(0)
    _check_int("k", k)
    _check_int("chunk_size", chunk_size)
    if not 1 <= k < n:
        raise ValueError(f"k must satisfy 1 <= k < N = {n} (number of rows of x), got {k}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")

    scorer = _Scorer(xt, method)
    take = k + 1
    # Extra candidates so that near-ties at the boundary rarely need the
    # full-row fallback.
    m = min(n, take + max(8, take))
    sources, targets = [], []
    all_ids = torch.arange(n, device=xt.device)
    for start in range(0, n, chunk_size):
        rows = all_ids[start:start + chunk_size]
        approx = scorer.approx(rows)                              # [c, N], smaller = closer
        cand_val, cand = torch.topk(approx, m, dim=1, largest=False, sorted=True)
        cand, order = torch.sort(cand, dim=1)                     # by index: stable tie-break
        cand_val = torch.gather(cand_val, 1, order)
        exact = scorer.exact(rows, cand, approx)                  # [c, m]
        rank = torch.sort(exact, dim=1, stable=True).indices[:, :take]
        chosen = torch.gather(cand, 1, rank)                      # [c, k+1]
        if m < n:
            # Everything outside the candidates has approx >= the largest
            # candidate approx; if that cannot exceed the (k+1)-th exact score
            # (within the approximation error), rank the whole row exactly.
            boundary = torch.gather(exact, 1, rank[:, -1:]).squeeze(1)
            worst = cand_val.max(dim=1).values
            unsafe = worst - scorer.error(rows) <= boundary
            for r in unsafe.nonzero().view(-1).tolist():
                full = scorer.exact(rows[r:r + 1], all_ids.view(1, -1), approx[r:r + 1])
                chosen[r] = torch.sort(full[0], stable=True).indices[:take]
        keep = chosen != rows.view(-1, 1)
        sources.append(rows.view(-1, 1).expand_as(chosen)[keep])
        targets.append(chosen[keep])
    return torch.stack([torch.cat(sources), torch.cat(targets)]).long()


def knn_graph_data(x: ArrayLike, k: int, method: str = "heat", *, y: Optional[ArrayLike] = None,
                   chunk_size: int = 1024):
    """A ``Data`` with ``x``, the symmetrised kNN graph of :func:`knn_graph`
    (union of both directions, coalesced, no self loops) and optional ``y``.

    Args:
        x: Node features ``[N, d]`` (numpy or torch, float).
        k: Neighbours per node.
        method: ``"heat"``, ``"cos"`` or ``"ncos"``.
        y: Optional labels ``[N]``.
        chunk_size: See :func:`knn_graph`.

    Returns:
        ``torch_geometric.data.Data`` with float32 ``x``, long ``edge_index``
        and (if given) long ``y``.
    """
    from torch_geometric.data import Data

    edge_index = symmetrize(knn_graph(x, k, method, chunk_size=chunk_size), _as_float64(x).size(0))
    xt = torch.as_tensor(x).float()
    data = Data(x=xt, edge_index=edge_index.to(xt.device))
    if y is not None:
        data.y = torch.as_tensor(y).long().view(-1)
    return data


def symmetrize(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Union of ``(i, j)`` and ``(j, i)``, self loops dropped, coalesced (row-major).

    On a binary adjacency this equals SDCN's element-wise ``max(A, A^T)``.

    Args:
        edge_index: ``[2, E]`` long.
        num_nodes: N.

    Returns:
        ``[2, E']`` long, sorted by source then target, without duplicates.
    """
    from torch_geometric.utils import coalesce

    both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    both = both[:, both[0] != both[1]]
    return coalesce(both, num_nodes=num_nodes)


class _Scorer:
    """Per-method scores where smaller means more similar."""

    def __init__(self, x: torch.Tensor, method: str):
        self.method = method
        if method == "heat":
            self.x = x
            self.sq = (x * x).sum(dim=1)
            # Bound on |expansion - direct| for one entry (generous: 8 d eps).
            eps = torch.finfo(torch.float64).eps
            self._err_scale = 8.0 * max(x.size(1), 1) * eps
            self._sq_max = float(self.sq.max()) if x.numel() else 0.0
            if not bool(torch.isfinite(self.sq).all()):
                raise ValueError("x is too large: squared row norms overflow float64")
        else:
            b = (x > 0).to(torch.float64)
            self.x = b
            self.count = b.sum(dim=1)  # integers, exact in float64

    def approx(self, rows: torch.Tensor) -> torch.Tensor:
        if self.method == "heat":
            d2 = self.sq[rows].view(-1, 1) + self.sq.view(1, -1) - 2.0 * (self.x[rows] @ self.x.T)
            return d2.clamp_min_(0.0)
        return self._binary(rows)

    def exact(self, rows: torch.Tensor, cols: torch.Tensor, approx: torch.Tensor) -> torch.Tensor:
        """Exact scores of ``rows[r]`` against ``cols[r, :]``: ``[c, m]``.

        ``approx`` is :meth:`approx` of the same rows; the binary scores are
        already exact (integer overlaps), so they are gathered from it.
        """
        if self.method != "heat":
            return torch.gather(approx, 1, cols)
        out = torch.empty(cols.shape, dtype=torch.float64, device=self.x.device)
        d = max(1, self.x.size(1))
        # Bounded memory: blocks of [b, w, d] differences, about 4M values.
        width = max(1, min(cols.size(1), (1 << 22) // d))
        step = max(1, (1 << 22) // (width * d))
        for s in range(0, rows.numel(), step):
            xr = self.x[rows[s:s + step]].unsqueeze(1)
            for w in range(0, cols.size(1), width):
                diff = xr - self.x[cols[s:s + step, w:w + width]]
                out[s:s + step, w:w + width] = (diff * diff).sum(dim=2)
        return out

    def error(self, rows: torch.Tensor) -> torch.Tensor:
        if self.method == "heat":
            return self._err_scale * (self.sq[rows] + self._sq_max) + 1e-300
        return torch.zeros(rows.numel(), dtype=torch.float64, device=self.x.device)

    def _binary(self, rows: torch.Tensor) -> torch.Tensor:
        overlap = self.x[rows] @ self.x.T                             # [c, N], exact integers
        if self.method == "cos":
            return -overlap
        denom = self.count[rows].view(-1, 1) * self.count.view(1, -1)  # exact integer products
        score = torch.where(denom > 0, overlap / denom.clamp_min(1.0), torch.zeros_like(overlap))
        return -score


def _as_float64(x: ArrayLike) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)
                or x.dtype == np.bool_):
            raise TypeError(f"x must be a numeric array, got dtype {x.dtype}")
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    elif isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"x must be a real tensor, got {x.dtype}")
        xt = x.detach().to(torch.float64)
    else:
        raise TypeError(f"x must be a numpy array or a torch tensor, got {type(x).__name__}")
    if xt.dim() != 2:
        raise ValueError(f"x must be 2-D [N, d], got shape {tuple(xt.shape)}")
    if xt.size(0) < 2:
        raise ValueError(f"x must have at least 2 rows, got {xt.size(0)}")
    if not bool(torch.isfinite(xt).all()):
        raise ValueError("x contains NaN or Inf")
    return xt.contiguous()


def _check_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")


def batched_knn_adjacency(x: torch.Tensor, k: int) -> torch.Tensor:
    """:func:`knn_graph` (``"heat"``, Euclidean) of many small graphs at once, as
    dense adjacencies: ``[b, i, j]`` is true for the edge ``i -> j``.

    Every graph's answer equals ``knn_graph(x[b], k)`` (same exact float64
    distances, same lower-index tie rule, ``k + 1`` neighbours where ties push
    a node out of its own slot); one sort over all graphs replaces a Python
    loop of calls (LVM-Med builds hundreds of 16-node graphs per step).

    Args:
        x: ``[B, n, d]`` float tensor (any device).
        k: neighbours, ``1 <= k < n``.

    Returns:
        ``[B, n, n]`` bool on the device of ``x``.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 3:
        raise TypeError(f"x must be a float [B, n, d] tensor, got "
                        f"{getattr(x, 'dtype', type(x).__name__)} {list(getattr(x, 'shape', []))}")
    _check_int("k", k)
    n = x.size(1)
    if not 1 <= k < n:
        raise ValueError(f"k must satisfy 1 <= k < n = {n} (nodes per graph), got {k}")
    xt = x.detach().to(torch.float64)
    if not bool(torch.isfinite(xt).all()):
        raise ValueError("x contains NaN or Inf")
    dist = (xt.unsqueeze(2) - xt.unsqueeze(1)).pow(2).sum(-1)          # [B, n, n], exact
    chosen = torch.sort(dist, dim=2, stable=True).indices[:, :, :k + 1]
    adjacency = torch.zeros(dist.shape, dtype=torch.bool, device=x.device)
    adjacency.scatter_(2, chosen, True)
    adjacency &= ~torch.eye(n, dtype=torch.bool, device=x.device)
    return adjacency


__all__ = ["knn_graph", "knn_graph_data", "symmetrize", "batched_knn_adjacency", "METHODS"]
