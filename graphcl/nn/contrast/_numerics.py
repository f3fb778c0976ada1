"""Numerical constants of the compute dtype, tile ranges and the overflow-safe
row normalisation shared by the contrastive losses (private to
:mod:`graphcl.nn.contrast`)."""
from __future__ import annotations

import math
from typing import Tuple, Union

import torch
from torch import Tensor
from torch.nn import functional as F

BlockSize = Union[int, Tuple[int, int]]

DEFAULT_BLOCK_SIZE = 2048  # 2048 x 2048 float32 tiles (16 MiB): GEMM-bound on CPU


def log_tiny(dtype: torch.dtype) -> float:
    """log of the smallest normal number: exp() below it only makes
    denormals (slow on x86, and negligible next to a sum that is >= 1)."""
    return math.log(torch.finfo(dtype).tiny)


def half_log_tiny(dtype: torch.dtype) -> float:
    """log(sqrt(tiny)): a positive sum below exp() of this (relative to the
    row's running max), i.e. a row loss above -this (~43.7 in float32), is
    recomputed on the exact path; above it the clamping at ``tiny`` costs at
    most M * sqrt(tiny) relative error."""
    return 0.5 * log_tiny(dtype)


def acc_dtype(dtype: torch.dtype) -> torch.dtype:
    """Per-row running sums are kept in float64 (they are only O(rows))."""
    return torch.float64 if dtype in (torch.float32, torch.float64) else dtype


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 and float64 are computed as they are; half/bfloat16 in float32."""
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


def min_tau(dtype: torch.dtype, requires_grad: bool = False) -> float:
    """Smallest tau whose scores and loss are representable in ``dtype``.

    Cosine scores lie in [-1/tau, 1/tau], so the shifted scores of a row and
    its loss span up to 2/tau: 4/tau (a factor 2 of headroom for rounding)
    must be finite. A tau that requires grad also needs dloss/dtau, up to
    2/tau^2, to be finite."""
    limit = 4.0 / torch.finfo(dtype).max
    return math.sqrt(limit) if requires_grad else limit


def blocks(total: int, step: int):
    """Yields ``(start, stop)`` of consecutive ranges of ``step`` covering ``[0, total)``."""
    for s in range(0, total, step):
        yield s, min(s + step, total)


def unit_rows(x: Tensor) -> Tensor:
    r"""L2-normalises the rows (last dimension) of ``x`` without overflow or underflow.

    :func:`torch.nn.functional.normalize` squares the entries, so a float32
    row with entries near 1e30 has an Inf norm (and normalises to 0) and one
    near 1e-30 an underflowed norm. Each row is first divided by a power of
    two near its largest :math:`|x_{ij}|`: that division is exact, so ordinary
    rows give bit for bit ``F.normalize(x, dim=1)``, and the scale is a
    constant for autograd (normalisation is scale-invariant, so the gradient
    is unchanged). All-zero rows stay zero, as with ``F.normalize``.

    Shapes: ``x`` :math:`(*, d)` -> :math:`(*, d)` (the last dimension is normalised).
    """
    peak = x.detach().abs().amax(-1, keepdim=True)
    # frexp: peak = mantissa * 2^e with mantissa in [0.5, 1); 2^(e-1) <= peak
    # is a normal or subnormal number of x's dtype for every finite peak.
    exponent = torch.frexp(peak).exponent - 1
    return F.normalize(x / torch.ldexp(torch.ones_like(peak), exponent), dim=-1)
