"""Which implementation the ops run on: the compiled extension or PyTorch.

The compiled kernels (``graphcl._C``) are used when they were built and can
handle the tensors' device and dtype. ``GRAPHCL_BACKEND=torch`` (or
:func:`use_backend`) forces the pure-PyTorch fallback, which is always there.
"""
from __future__ import annotations

import contextlib
import os
import warnings

import torch

_BACKENDS = ("extension", "torch")

try:
    from graphcl import _C  # noqa: F401  (loading it registers torch.ops.graphcl)
    _EXTENSION_ERROR = None
except ImportError as exc:  # not built, or built against another torch
    _EXTENSION_ERROR = exc


def extension_available() -> bool:
    """Whether the compiled extension was loaded."""
    return _EXTENSION_ERROR is None


def extension_has_cuda() -> bool:
    """Whether the loaded extension has CUDA kernels registered."""
    if not extension_available():
        return False
    return torch._C._dispatch_has_kernel_for_dispatch_key("graphcl::spmm_forward", "CUDA")


def _initial_backend() -> str:
    requested = os.environ.get("GRAPHCL_BACKEND", "").strip().lower()
    if requested and requested not in _BACKENDS and requested != "auto":
        raise ValueError(f"GRAPHCL_BACKEND must be one of {_BACKENDS} or 'auto', got {requested!r}")
    if requested == "torch":
        return "torch"
    if requested == "extension" and not extension_available():
        raise ImportError(f"GRAPHCL_BACKEND=extension but graphcl._C failed to load: "
                          f"{_EXTENSION_ERROR}")
    if not extension_available():
        warnings.warn(f"graphcl._C is not available ({_EXTENSION_ERROR}); using the pure-PyTorch "
                      "fallback. Reinstall with `pip install --no-build-isolation .` to build it.",
                      RuntimeWarning, stacklevel=2)
        return "torch"
    return "extension"


_current = _initial_backend()


def backend() -> str:
    """The backend in use: ``'extension'`` (graphcl's C++/CUDA kernels) or
    ``'torch'`` (the pure-PyTorch fallback)."""
    return _current


def set_backend(name: str) -> None:
    """Select ``'extension'`` or ``'torch'`` for all later calls."""
    global _current
    if name not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {name!r}")
    if name == "extension" and not extension_available():
        raise RuntimeError(f"graphcl._C failed to load: {_EXTENSION_ERROR}")
    _current = name


@contextlib.contextmanager
def use_backend(name: str):
    """Context manager that runs its block on backend ``name``."""
    previous = _current
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


_CPU_DTYPES = (torch.float32, torch.float64)
_CUDA_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def kernels_for(tensor: torch.Tensor) -> bool:
    """Whether the compiled kernels should run on ``tensor`` (device and dtype
    supported, extension backend selected); otherwise the fallback runs."""
    if _current != "extension":
        return False
    if tensor.device.type == "cpu":
        return tensor.dtype in _CPU_DTYPES
    if tensor.device.type == "cuda":
        return tensor.dtype in _CUDA_DTYPES and extension_has_cuda()
    return False
