"""Pure-PyTorch implementations of the ops (the ``'torch'`` backend).

They materialise per-edge tensors and rely on PyTorch's autograd, so they are
slower and use more memory than the kernels, but they run on any device and
dtype and need nothing compiled. Values agree with the kernels, NaN and Inf
included: max/min propagate NaN like ``torch.amax``/``torch.amin`` (the
``scatter_reduce`` underneath does, on CPU and CUDA), and a softmax row holding
NaN or +inf is NaN throughout, like ``torch.softmax``. Both backends support
derivatives of any order.

Gradients of max/min follow PyTorch's rule here: on exact ties they are split
evenly among the tied entries, and every entry of a segment holding NaN gets
a NaN gradient. The kernels instead give the whole gradient to the one entry
they selected: the first NaN of the segment, else its first maximum
(minimum).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def scatter(src: Tensor, index: Tensor, dim_size: int, reduce: str) -> Tensor:
    index = index.long()
    out = src.new_zeros((dim_size,) + tuple(src.shape[1:]))
    if reduce == "sum":
        return out.index_add(0, index, src)
    expanded = index.view(-1, *([1] * (src.dim() - 1))).expand_as(src)
    op = {"mean": "mean", "max": "amax", "min": "amin"}[reduce]
    return out.scatter_reduce(0, expanded, src, op, include_self=False)


def spmm(graph, x: Tensor, weight: Optional[Tensor], reduce: str) -> Tensor:
    messages = x.index_select(0, graph.col.long())
    if weight is not None:
        messages = messages * weight.unsqueeze(-1)
    return scatter(messages, graph.row, graph.num_rows, reduce)


def sddmm(graph, a: Tensor, b: Tensor) -> Tensor:
    return (a.index_select(0, graph.row.long()) * b.index_select(0, graph.col.long())).sum(-1)


def segment_softmax(graph, scores: Tensor) -> Tensor:
    row = graph.row.long()
    row_max = scatter(scores.detach(), row, graph.num_rows, "max")
    exp = (scores - row_max.index_select(0, row)).exp()
    return exp / scatter(exp, row, graph.num_rows, "sum").index_select(0, row)


def segment_csr(src: Tensor, rowptr: Tensor, reduce: str) -> Tensor:
    counts = (rowptr[1:] - rowptr[:-1]).long()
    index = torch.arange(counts.numel(), device=src.device).repeat_interleave(
        counts, output_size=src.size(0))
    return scatter(src, index, counts.numel(), reduce)
