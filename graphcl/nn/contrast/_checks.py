"""Argument checks shared by the contrastive losses (private to
:mod:`graphcl.nn.contrast`): every message names the argument as the caller
wrote it."""
from __future__ import annotations

import math
import numbers
from typing import Optional, Tuple

import torch
from torch import Tensor

from graphcl.nn.contrast._numerics import BlockSize, min_tau

_REDUCTIONS = ("mean", "sum", "none")


def check_block_size(block_size: BlockSize) -> Tuple[int, int]:
    sizes = block_size if isinstance(block_size, (tuple, list)) else (block_size, block_size)
    if len(sizes) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                  for v in sizes):
        raise TypeError(f"block_size must be an int or a pair (rows, cols) of ints, "
                        f"got {block_size!r}")
    if min(sizes) < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size!r}")
    return int(sizes[0]), int(sizes[1])


def check_tau(tau) -> None:
    if isinstance(tau, Tensor):
        if tau.numel() != 1:
            raise ValueError(f"tau must be a scalar, got a tensor of shape {list(tau.shape)}")
        if tau.dtype == torch.bool or tau.dtype.is_complex:
            raise TypeError(f"tau must be a real number, got a tensor of dtype {tau.dtype}")
        value = float(tau.detach())
    elif isinstance(tau, numbers.Real) and not isinstance(tau, bool):
        value = float(tau)
    else:
        raise TypeError(f"tau must be a positive number, got {type(tau).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"tau must be a finite number > 0, got {value}")


def check_tau_range(tau, dtype: torch.dtype) -> None:
    """Refuses a tau so small that 1/tau overflows the compute dtype (the
    loss itself would be Inf), naming tau and the smallest allowed value."""
    requires_grad = isinstance(tau, Tensor) and tau.requires_grad
    value = float(tau.detach()) if isinstance(tau, Tensor) else float(tau)
    smallest = min_tau(dtype, requires_grad)
    if value < smallest:
        what = "tau (which requires grad, so dloss/dtau ~ 1/tau^2 must fit too)" \
            if requires_grad else "tau"
        raise ValueError(f"{what} = {value:.3g} is too small for {dtype}: the scores "
                         f"cos / tau reach 1/tau = {1.0 / value:.3g}, and {dtype} needs "
                         f"tau >= {smallest:.3g}; use a larger tau or float64 embeddings")


def check_embeddings(anchor: Tensor, sample: Tensor,
                      names: Tuple[str, str] = ("anchor", "sample")) -> None:
    """Type, shape, dtype, device and finiteness of the two embeddings,
    named ``names`` in the messages."""
    pair = tuple(zip(names, (anchor, sample)))
    for name, x in pair:
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.layout != torch.strided:
            raise TypeError(f"{name} must be a dense tensor, got layout {x.layout}")
        if x.dim() != 2:
            raise ValueError(f"{name} must have shape [num_nodes, channels], got {list(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    both = f"{names[0]} and {names[1]}"
    if anchor.dtype != sample.dtype:
        raise TypeError(f"{both} must have the same dtype, got {anchor.dtype} and "
                        f"{sample.dtype}")
    if anchor.device != sample.device:
        raise ValueError(f"{both} must be on the same device, got {anchor.device} and "
                         f"{sample.device}")
    if anchor.size(1) != sample.size(1):
        raise ValueError(f"{both} must have the same number of channels, got "
                         f"{anchor.size(1)} and {sample.size(1)}")
    if anchor.size(0) == 0 or sample.size(0) == 0:
        raise ValueError(f"{both} need at least one row each, got shapes "
                         f"{list(anchor.shape)} and {list(sample.shape)}")
    if anchor.size(1) == 0:
        raise ValueError(f"{both} need at least one channel, got shapes "
                         f"{list(anchor.shape)} and {list(sample.shape)}")
    for name, x in pair:
        if not bool(torch.isfinite(x.detach()).all()):
            raise ValueError(f"{name} contains NaN or Inf")


def check_view_pair(z1, z2) -> None:
    """Two views of the same N samples: ``[N, d]`` tensors of one shape
    (NT-Xent and VICReg pair row i of z1 with row i of z2)."""
    if not isinstance(z1, Tensor) or not isinstance(z2, Tensor) or z1.shape != z2.shape \
            or z1.dim() != 2:
        raise ValueError(f"z1 and z2 must be [N, d] tensors of the same shape, got "
                         f"{list(getattr(z1, 'shape', []))} and {list(getattr(z2, 'shape', []))}")


def check_normalize(normalize) -> None:
    # a string such as "no" would otherwise count as True
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")


def check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def check_diagonal(diagonal, tau, n: int, m: int, dtype: torch.dtype) -> Optional[float]:
    """The constant score that replaces s_ii, or None."""
    if diagonal is None:
        return None
    if not isinstance(diagonal, numbers.Real) or isinstance(diagonal, bool) \
            or not math.isfinite(float(diagonal)):
        raise TypeError(f"diagonal must be None or a finite number, got {diagonal!r}")
    if n != m:
        raise ValueError(f"diagonal replaces sim(z_i, z_i), so anchor and sample need the same "
                         f"number of rows, got {n} and {m}")
    if isinstance(tau, Tensor):
        if tau.requires_grad and float(diagonal) != 0.0:
            raise ValueError("a non-zero diagonal with a tau that requires grad is not supported "
                             "(the replaced score diagonal / tau would need a gradient for tau)")
        tau = float(tau.detach())
    score = float(diagonal) / float(tau)
    # Like the cosine scores, the constant score must leave room for the row's
    # shifted scores (see min_tau).
    if not abs(score) <= torch.finfo(dtype).max / 4:
        raise ValueError(f"diagonal / tau = {score:.3g} is beyond the range of {dtype}; use a "
                         f"smaller |diagonal| or a larger tau")
    return score
