"""Independent reference implementations for the op tests: plain Python loops
over each row's edge list and dense torch reductions, sharing no code with
graphcl.ops."""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch

Edge = Tuple[int, int]  # (source j, target i)


def reduce_rows(rows: torch.Tensor, reduce: str) -> torch.Tensor:
    """Reduce a non-empty stack of rows with torch's own reductions."""
    if reduce == "sum":
        return rows.sum(0)
    if reduce == "mean":
        return rows.mean(0)
    return rows.max(0).values if reduce == "max" else rows.min(0).values


def rows_of(edges: List[Edge], num_rows: int) -> List[List[int]]:
    """For every target row, the positions of its edges in `edges`."""
    rows: List[List[int]] = [[] for _ in range(num_rows)]
    for k, (_, i) in enumerate(edges):
        rows[i].append(k)
    return rows


def spmm(edges, num_rows, x, weight: Optional[torch.Tensor], reduce: str) -> torch.Tensor:
    out = []
    for ks in rows_of(edges, num_rows):
        if not ks:
            out.append(torch.zeros(x.size(1), dtype=x.dtype))
            continue
        msgs = torch.stack([x[edges[k][0]] * (weight[k] if weight is not None else 1.0)
                            for k in ks])
        out.append(reduce_rows(msgs, reduce))
    return torch.stack(out) if out else torch.zeros(0, x.size(1), dtype=x.dtype)


def sddmm(edges, a, b) -> torch.Tensor:
    if not edges:
        return torch.zeros(0, dtype=a.dtype)
    return torch.stack([(a[i] * b[j]).sum() for j, i in edges])


def segment_softmax(edges, num_rows, scores) -> torch.Tensor:
    out = torch.zeros_like(scores)
    for ks in rows_of(edges, num_rows):
        if ks:
            out[ks] = torch.softmax(scores[ks], dim=0)
    return out


def scatter(src, index, dim_size, reduce) -> torch.Tensor:
    out = []
    for k in range(dim_size):
        sel = src[index == k]
        if sel.numel() == 0:
            out.append(torch.zeros(src.shape[1:], dtype=src.dtype))
        else:
            out.append(reduce_rows(sel, reduce))
    return torch.stack(out) if out else torch.zeros((0,) + tuple(src.shape[1:]), dtype=src.dtype)
