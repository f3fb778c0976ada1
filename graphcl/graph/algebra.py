"""Sparse algebra on :class:`~graphcl.graph.SparseGraph`: products, sums and
powers of the weighted adjacencies, computed with torch's sparse CSR kernels
(nothing is dense in N x N).
"""
from __future__ import annotations

import warnings

import torch

from graphcl.graph.validation import check_count

#: Orders up to this multiply step by step (``A^k = A^{k-1} A``, the
#: association the reference implementations use); higher orders square.
_STEPWISE_MAX_ORDER = 8
#: :meth:`SparseGraph.matrix_power` refuses larger orders; up to it, repeated
#: squaring costs at most 3 sparse products per bit of the order (under 190).
MAX_POWER_ORDER = 2 ** 63 - 1


class _FiniteWatch:
    """Warns once when a graph produced by :meth:`SparseGraph.matrix_power`
    holds a non-finite weight (checked after every product, since a later
    product can drop the entry again)."""

    def __init__(self, order: int):
        self.order = order
        self.warned = False

    def __call__(self, graph: "SparseGraph", k: int) -> "SparseGraph":
        w = graph.edge_weight
        if not self.warned and w is not None and not bool(torch.isfinite(w).all()):
            self.warned = True
            warnings.warn(f"matrix_power(order={self.order}): weights overflowed to Inf/NaN "
                          f"({w.dtype}) at power {k}; normalise the graph or use float64 "
                          "weights", RuntimeWarning, stacklevel=3)
        return graph


class AlgebraMixin:
    """Products, sums, powers and the transpose of
    :class:`~graphcl.graph.SparseGraph`'s weighted adjacency."""

    def matmul(self, other: "SparseGraph") -> "SparseGraph":
        r"""Sparse-sparse product :math:`A_{self} A_{other}` of the weighted
        adjacencies (duplicates summed), as a new weighted graph.

        Shapes: ``self`` is ``[n, k]``, ``other`` ``[k, m]``, the result ``[n, m]``.
        """
        if not isinstance(other, AlgebraMixin):
            raise TypeError(f"other must be a SparseGraph, got {type(other).__name__}")
        if self.num_cols != other.num_rows:
            raise ValueError(f"cannot multiply a [{self.num_rows}, {self.num_cols}] graph by a "
                             f"[{other.num_rows}, {other.num_cols}] graph")
        if self.device != other.device:
            raise ValueError(f"graphs are on different devices: {self.device} and {other.device}")
        a, b = self.to_torch_sparse(), other.to_torch_sparse()
        if a.dtype != b.dtype:
            dtype = torch.promote_types(a.dtype, b.dtype)
            a, b = a.to(dtype), b.to(dtype)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            prod = a @ b
        index_dtype = self.index_dtype
        return type(self)(prod.crow_indices().to(index_dtype), prod.col_indices().to(index_dtype),
                          other.num_cols, prod.values())

    def matrix_power(self, order: int, cumulative: bool = False) -> "SparseGraph":
        r""":math:`A^r` (``cumulative=False``) or :math:`\sum_{k=1}^{r} A^k`
        (``cumulative=True``) of a square weighted graph, by sparse products:
        nothing is dense in N x N, but :math:`A^r` fills in as r grows.

        Orders up to 8 multiply step by step (:math:`A^k = A^{k-1} A`); higher
        orders use repeated squaring, so any order costs at most 3 sparse
        products per bit of ``order`` (under 190).

        Args:
            order (int): :math:`r`, from 1 to ``MAX_POWER_ORDER`` (``2**63 - 1``).
            cumulative (bool): sum the powers 1..r instead.

        Warns:
            RuntimeWarning: when a weight overflows to Inf or becomes NaN (e.g.
            path counts of an unnormalised graph in float32); normalise the
            graph or use float64 weights.
        """
        order = check_count(order, "order")
        if not 1 <= order <= MAX_POWER_ORDER:
            raise ValueError(f"order must be in [1, {MAX_POWER_ORDER}], got {order}")
        if self.num_rows != self.num_cols:
            raise ValueError(f"matrix_power needs a square graph, got [{self.num_rows}, "
                             f"{self.num_cols}]")
        watch = _FiniteWatch(order)
        if order <= _STEPWISE_MAX_ORDER:
            power = total = self
            for k in range(2, order + 1):
                power = watch(power.matmul(self), k)
                if cumulative:
                    total = watch(total.add(power), k)
            return total if cumulative else power
        return self._power_by_squaring(order, cumulative, watch)

    def _power_by_squaring(self, order: int, cumulative: bool, watch: "_FiniteWatch"
                           ) -> "SparseGraph":
        """Left-to-right binary powering; with ``cumulative``, the running sum
        follows :math:`S_{2m} = S_m + A^m S_m` and :math:`S_{m+1} = S_m + A^{m+1}`."""
        power = total = self  # A^m and S_m, for m = 1
        m = 1
        for bit in bin(order)[3:]:
            if cumulative:
                total = watch(total.add(power.matmul(total)), 2 * m)
            power, m = watch(power.matmul(power), 2 * m), 2 * m
            if bit == "1":
                power, m = watch(power.matmul(self), m + 1), m + 1
                if cumulative:
                    total = watch(total.add(power), m)
        return total if cumulative else power

    def add(self, other: "SparseGraph") -> "SparseGraph":
        """Element-wise sum of two weighted adjacencies of the same shape."""
        if not isinstance(other, AlgebraMixin):
            raise TypeError(f"other must be a SparseGraph, got {type(other).__name__}")
        if (self.num_rows, self.num_cols) != (other.num_rows, other.num_cols):
            raise ValueError(f"cannot add a [{self.num_rows}, {self.num_cols}] graph and a "
                             f"[{other.num_rows}, {other.num_cols}] graph")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            total = (self.to_torch_sparse().to_sparse_coo()
                     + other.to_torch_sparse().to_sparse_coo()).coalesce().to_sparse_csr()
        index_dtype = self.index_dtype
        return type(self)(total.crow_indices().to(index_dtype),
                          total.col_indices().to(index_dtype), self.num_cols, total.values())

    def transpose(self) -> "SparseGraph":
        r"""The reversed graph :math:`A^\top` (every edge ``j -> i`` becomes
        ``i -> j``), read from the cached CSC: no sort.

        Shapes: ``self`` is ``[n, m]``, the result ``[m, n]``.
        """
        colptr, csc_row, csc_perm = self.csc
        weight = None if self.edge_weight is None else self.edge_weight[csc_perm.long()]
        return type(self)(colptr, csc_row, self.num_rows, weight)

