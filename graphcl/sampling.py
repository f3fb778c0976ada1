"""Vectorised neighbour sampling over CSR neighbour lists."""
from __future__ import annotations

from typing import Optional

import torch

from graphcl.graph import SparseGraph


def sample_neighbors(neighbors: SparseGraph, k: int,
                     generator: Optional[torch.Generator] = None) -> SparseGraph:
    """Draw ``k`` neighbours for every row of ``neighbors`` in one vectorised
    pass (no Python loop over nodes).

    A row with at least ``k`` neighbours gets ``k`` distinct ones (a uniform
    random subset); a row with fewer gets ``k`` draws with replacement; a row
    with none gets no edges. This is ``numpy.random.choice(nbrs, k,
    replace=len(nbrs) < k)`` per row, as HeCo's reference does in a loop.

    Args:
        neighbors (SparseGraph): row ``i`` lists the neighbours of target ``i``
            (its ``col``), e.g. built from ``(neighbour, 'schema', target)``
            edges.
        k (int): neighbours per row.
        generator (torch.Generator, optional): source of randomness.

    Returns:
        SparseGraph: ``num_rows`` x ``num_cols`` with ``k`` edges per non-empty
        row, in a random order.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    device = neighbors.device
    rowptr, col = neighbors.rowptr.long(), neighbors.col.long()
    deg = rowptr[1:] - rowptr[:-1]
    n = deg.numel()
    # Rows with enough neighbours: shuffle each row by sorting random keys
    # offset by the row id, then keep the first k of every row.
    keys = torch.rand(col.numel(), generator=generator, device=device) + neighbors.row.double()
    shuffled = col[torch.argsort(keys)]
    offsets = torch.arange(k, device=device)
    without = shuffled[(rowptr[:-1, None] + offsets).clamp_max(max(col.numel() - 1, 0))] \
        if col.numel() else torch.zeros(n, k, dtype=torch.long, device=device)
    # Rows with fewer than k neighbours: k independent uniform draws.
    draws = (torch.rand(n, k, generator=generator, device=device) * deg[:, None]).long()
    with_repl = col[(rowptr[:-1, None] + draws).clamp_max(max(col.numel() - 1, 0))] \
        if col.numel() else without
    sampled = torch.where((deg >= k)[:, None], without, with_repl)
    keep = deg > 0
    counts = torch.where(keep, torch.full_like(deg, k), torch.zeros_like(deg))
    new_rowptr = torch.zeros(n + 1, dtype=torch.long, device=device)
    torch.cumsum(counts, 0, out=new_rowptr[1:])
    new_col = sampled[keep].reshape(-1)
    return SparseGraph(new_rowptr.to(neighbors.index_dtype), new_col.to(neighbors.index_dtype),
                       neighbors.num_cols)
