"""graphcl's sparse ops: fused CSR message passing and segment reductions.

Each op validates its arguments in Python, then runs the compiled kernels
(``torch.ops.graphcl.*``, CPU and CUDA, with autograd) or the pure-PyTorch
fallback; :func:`backend` says which.

Differences from torch_scatter (``scatter``, ``segment_csr``) and PyG
(``softmax``), kept on purpose:

- **Reductions**: ``'sum'`` (alias ``'add'``), ``'mean'``, ``'max'`` and
  ``'min'``. There is no ``'mul'`` (nor ``'std'`` / ``'logsumexp'``); any
  other name raises ValueError.
- **Dimension 0 only**: every op reduces along the first dimension. There is
  no ``dim`` argument, ``index`` must be 1-D with one entry per row of ``src``
  (no broadcasting of an index of ``src``'s shape) and ``rowptr`` must be 1-D
  (no batched leading dimensions). Trailing dimensions are kept: ``src`` is
  ``[E]`` or ``[E, F]``.
- **Floating inputs only**: ``src``, ``x``, scores and edge weights must be
  floating point; integer and bool inputs raise TypeError, where
  torch_scatter accepts them. (The kernels cover float32/float64 on CPU and
  also float16/bfloat16 on CUDA; other floating dtypes run on the fallback.)
  Indices (``index``, ``rowptr``, the graph's) may be int32 or int64.
- **Empty segments** give 0 for every reduction, max/min included (as in
  torch_scatter; ``torch.Tensor.scatter_reduce`` would keep the initial value).
- **NaN** propagates like ``torch.amax`` / ``torch.amin`` / ``torch.softmax``:
  a NaN in a segment makes that segment's max/min NaN, and a softmax row with
  a NaN score is NaN. An ``edge_weight`` containing NaN is refused with
  ValueError before any kernel runs.
- **Returned values only**: no ``out=`` argument, and max/min return the
  values without the argmax tensor torch_scatter's ``scatter_max`` returns.
- **Gradients** of max/min: the kernels give the whole gradient to one
  entry (the first NaN of the segment, else the first maximum/minimum); the
  ``'torch'`` backend follows PyTorch's rule (ties share it evenly, and every
  entry of a segment holding NaN gets a NaN gradient).
- **Double backward** (``create_graph=True``, ``gradgradcheck``): the
  ``'torch'`` backend differentiates its backward through PyTorch's autograd;
  the extension's backward passes are built from differentiable ops when
  ``create_graph=True`` (see ``csrc/spmm.cpp``), so second derivatives are
  computed on both backends, never returned as zeros.
- **Layouts**: any strided, transposed, expanded or offset view of any
  tensor argument is accepted (the kernels make their own contiguous copies).
- **Raw ops**: ``torch.ops.graphcl.*_forward`` / ``*_backward`` check their
  arguments in C++ too (a direct call raises, never crashes) but are not
  differentiable; on CUDA those checks cost one wait on the GPU per call.
- **Determinism**: ``scatter`` sorts the index once and uses no atomics, so
  results do not depend on thread scheduling.

**Graph arguments.** ``spmm``, ``sddmm`` and ``segment_softmax`` take a
:class:`~graphcl.SparseGraph` or anything
:func:`graphcl.graph.as_sparse_graph` accepts (``edge_index``, ``EdgeIndex``,
a torch sparse tensor read as PyG's ``adj_t``, a ``torch_sparse.SparseTensor``),
converted once and cached. Per-edge tensors (``edge_weight``, ``scores`` and
the per-edge outputs) are in CSR order for a SparseGraph and in the input's
own edge order otherwise (an ``edge_index``'s columns, a coalesced COO's
entries); a plain ``edge_index`` is square with as many nodes as ``x`` has
rows (``a``/``b`` for ``sddmm``), like PyG's ``propagate``.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from graphcl.ops import _fallback
from graphcl.ops._backend import (backend, extension_available, extension_has_cuda,
                                  kernels_for, set_backend, use_backend)
from graphcl.ops._checks import (check_count, check_edge_values, check_features, check_graph,
                                 check_index, check_index_tensor, check_reduce, check_rowptr,
                                 graph_input, num_rows_of)

__all__ = ["spmm", "sddmm", "segment_softmax", "segment_csr", "scatter", "backend",
           "set_backend", "use_backend", "extension_available", "extension_has_cuda"]


@graph_input(lambda args: (num_rows_of(args.get("x")), None), edge_inputs=("edge_weight",))
def spmm(graph, x: Tensor, edge_weight: Optional[Tensor] = None, reduce: str = "sum") -> Tensor:
    r"""Fused message passing: ``out[i] = REDUCE_{(j -> i)} w_ji * x[j]``.

    One pass over the CSR rows gathers and reduces without building the
    ``E x F`` message tensor. Backward for ``x`` runs over the graph's cached
    CSC; the gradient for ``edge_weight`` is an SDDMM; max/min keep the index
    of the selected edge for their backward.

    Args:
        graph (SparseGraph or adjacency): the graph (see the module
            docstring for the other forms accepted).
        x (Tensor): source node features.
        edge_weight (Tensor, optional): one weight per edge in CSR order,
            of ``x``'s dtype, without NaN; defaults to the graph's weights in
            ``x``'s dtype (:meth:`SparseGraph.edge_weight_as`: a normalised
            graph's coefficients are recomputed, not cast, for float64 ``x``)
            or unit weights for an unweighted graph.
        reduce (str): ``'sum'`` (or ``'add'``), ``'mean'``, ``'max'`` or
            ``'min'`` (no ``'mul'``). Rows without edges give 0; a NaN among
            a row's messages makes its max/min NaN (like ``torch.amax``).

    Shapes:
        - x: ``[graph.num_cols, F]``
        - edge_weight: ``[graph.num_edges]``
        - output: ``[graph.num_rows, F]``
    """
    check_graph(graph)
    reduce = check_reduce(reduce)
    check_features(x, "x", graph.num_cols, graph.device, "source nodes (num_cols)")
    if edge_weight is None:
        edge_weight = graph.edge_weight_as(x.dtype)
    else:
        check_edge_values(edge_weight, "edge_weight", graph.num_edges, x)
    if kernels_for(x):
        colptr, csc_row, csc_perm = graph.csc if torch.is_grad_enabled() else (
            graph.rowptr, graph.col, graph.col)  # unused without autograd
        return torch.ops.graphcl.spmm(graph.rowptr, graph.col, edge_weight, colptr, csc_row,
                                      csc_perm, x, reduce)
    return _fallback.spmm(graph, x, edge_weight, reduce)


@graph_input(lambda args: (num_rows_of(args.get("b")), num_rows_of(args.get("a"))),
             edge_output=True)
def sddmm(graph, a: Tensor, b: Tensor) -> Tensor:
    r"""Per-edge dot products ``out[e] = <a[i], b[j]>`` for every edge
    ``e = (j -> i)``, in CSR order (attention scores, weight gradients).

    Args:
        graph (SparseGraph or adjacency): the graph (see the module
            docstring for the other forms accepted).
        a (Tensor): target node features (floating point).
        b (Tensor): source node features, same dtype and width as ``a``.

    Shapes:
        - a: ``[graph.num_rows, F]``, b: ``[graph.num_cols, F]``
        - output: ``[graph.num_edges]``
    """
    check_graph(graph)
    check_features(a, "a", graph.num_rows, graph.device, "target nodes (num_rows)")
    check_features(b, "b", graph.num_cols, graph.device, "source nodes (num_cols)")
    if a.dtype != b.dtype:
        raise TypeError(f"a has dtype {a.dtype} but b has {b.dtype}")
    if a.size(1) != b.size(1):
        raise ValueError(f"a has {a.size(1)} features but b has {b.size(1)}")
    if kernels_for(a):
        colptr, csc_row, csc_perm = graph.csc
        return torch.ops.graphcl.sddmm(graph.rowptr, graph.col, colptr, csc_row, csc_perm, a, b)
    return _fallback.sddmm(graph, a, b)


@graph_input(lambda args: (None, None), edge_inputs=("scores",), edge_output=True)
def segment_softmax(graph, scores: Tensor) -> Tensor:
    r"""Softmax of per-edge scores over the incoming edges of every node
    (each CSR row), independently per head; PyG's
    ``torch_geometric.utils.softmax`` grouped by target.

    Args:
        graph (SparseGraph or adjacency): the graph (see the module
            docstring for the other forms accepted).
        scores (Tensor): floating point scores, one row per edge in CSR
            order. A row (node, head) with a NaN score gives NaN for all of its
            edges, like ``torch.softmax``.

    Shapes:
        - scores: ``[graph.num_edges]`` or ``[graph.num_edges, H]`` in CSR order
        - output: same shape as ``scores``
    """
    check_graph(graph)
    squeeze = isinstance(scores, Tensor) and scores.dim() == 1
    scores2d = scores.unsqueeze(-1) if squeeze else scores
    check_features(scores2d, "scores", graph.num_edges, graph.device, "edges")
    if kernels_for(scores2d):
        out = torch.ops.graphcl.segment_softmax(graph.rowptr, scores2d)
    else:
        out = _fallback.segment_softmax(graph, scores2d)
    return out.squeeze(-1) if squeeze else out


def segment_csr(src: Tensor, rowptr: Tensor, reduce: str = "sum") -> Tensor:
    r"""Reduce consecutive segments of ``src``'s rows: segment ``i`` is
    ``src[rowptr[i]:rowptr[i+1]]``; torch_scatter's ``segment_csr`` along
    dimension 0 (see the module docstring for the differences).

    Args:
        src (Tensor): floating point values (integer ``src`` raises TypeError).
        rowptr (Tensor): 1-D int32/int64 row pointer, non-decreasing, from 0 to
            ``src.size(0)``.
        reduce (str): ``'sum'`` (or ``'add'``), ``'mean'``, ``'max'`` or
            ``'min'`` (no ``'mul'``). Empty segments give 0; NaN propagates
            through max/min like ``torch.amax``.

    Shapes:
        - src: ``[E, F]`` (or ``[E]``), rowptr: ``[S + 1]``
        - output: ``[S, F]`` (or ``[S]``)
    """
    reduce = check_reduce(reduce)
    squeeze = isinstance(src, Tensor) and src.dim() == 1
    src2d = src.unsqueeze(-1) if squeeze else src
    if not isinstance(src2d, Tensor):
        raise TypeError(f"src must be a torch.Tensor, got {type(src).__name__}")
    check_features(src2d, "src", src2d.size(0) if src2d.dim() == 2 else -1, src2d.device, "entries")
    check_rowptr(rowptr, "rowptr", src2d.size(0), src2d.device)
    if kernels_for(src2d):
        out = torch.ops.graphcl.segment_csr(src2d, rowptr, reduce)
    else:
        out = _fallback.segment_csr(src2d, rowptr, reduce)
    return out.squeeze(-1) if squeeze else out


def scatter(src: Tensor, index: Tensor, dim_size: Optional[int] = None,
            reduce: str = "sum") -> Tensor:
    r"""COO scatter-reduce along the first dimension:
    ``out[k] = REDUCE_{e : index[e] = k} src[e]``; torch_scatter's ``scatter``
    with ``dim=0`` (see the module docstring for the differences). Entries no
    index points to give 0. Deterministic (the kernels sort the index once; no
    atomics).

    Args:
        src (Tensor): floating point values (integer ``src`` raises TypeError).
        index (Tensor): 1-D int32/int64 output row of every row of ``src``.
        dim_size (int, optional): number of output rows, a non-negative int
            (Python or numpy int, or a 0-d integer tensor) larger than every
            index; ``index.max() + 1`` when omitted (which costs a device sync
            on GPU).
        reduce (str): ``'sum'`` (or ``'add'``), ``'mean'``, ``'max'`` or
            ``'min'`` (no ``'mul'``). NaN propagates through max/min like
            ``torch.amax``.

    Shapes:
        - src: ``[E, F]`` (or ``[E]``), index: ``[E]``
        - output: ``[dim_size, F]`` (or ``[dim_size]``)
    """
    reduce = check_reduce(reduce)
    if not isinstance(src, Tensor):
        raise TypeError(f"src must be a torch.Tensor, got {type(src).__name__}")
    squeeze = src.dim() == 1
    src2d = src.unsqueeze(-1) if squeeze else src
    check_features(src2d, "src", src2d.size(0) if src2d.dim() == 2 else -1, src2d.device, "entries")
    # The index dtype first: inferring dim_size reads the index.
    check_index_tensor(index, "index")
    if dim_size is None:
        dim_size = int(index.max()) + 1 if index.numel() else 0
    else:
        dim_size = check_count(dim_size, "dim_size")
    check_index(index, "index", src2d.size(0), dim_size, src2d.device)
    if kernels_for(src2d):
        out = torch.ops.graphcl.scatter_coo(src2d, index, dim_size, reduce)
    else:
        out = _fallback.scatter(src2d, index, dim_size, reduce)
    return out.squeeze(-1) if squeeze else out
