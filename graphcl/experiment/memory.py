"""Keep freed tensor memory in the process, so large tensors allocated every
epoch do not page-fault afresh every epoch.

glibc's malloc serves every request above 32 MB (its largest mmap threshold)
with a fresh ``mmap`` and gives it back with ``munmap`` when the tensor is
freed, so each full-graph activation (e.g. 32,324 × 256 or × 2048 float32,
33 MB and 265 MB) is zero-filled page by page again on every epoch. On a
virtual machine a page fault is expensive: measured here, allocating and
filling one 32,324 × 2048 tensor took 570 ms against 55 ms after this call
(``benchmarks/dgp/speed.py`` gives the whole-epoch effect). The call tells
malloc to take every block from its heap (no mmap) and never to trim it, so
freed blocks are reused. The price is memory: the process keeps what it
freed until it exits, and holes between live blocks that a larger tensor
cannot use raise the peak (DGP's reproduction at hidden 256, evaluation
included: peak RSS 2.9 GB against 1.5 GB before).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

# glibc's mallopt parameters (malloc.h) and their defaults.
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_DEFAULTS = {_M_MMAP_MAX: 65536, _M_TRIM_THRESHOLD: 128 * 1024}
_REUSE = {_M_MMAP_MAX: 0, _M_TRIM_THRESHOLD: 2 ** 31 - 1}  # no mmap; trim never (INT_MAX)


def reuse_freed_memory(enabled: bool = True) -> bool:
    """Make glibc's malloc reuse freed memory instead of returning it to the
    system (process-wide, for the rest of the process). Call it once at the
    start of a long training run; tensors allocated later benefit.

    Args:
        enabled (bool): ``False`` restores glibc's default mmap count and trim
            threshold (for measuring the difference in one process).

    Returns:
        ``True`` if applied (Linux with glibc), ``False`` where there is no
        glibc ``mallopt`` (macOS, Windows, musl), which changes nothing.
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {type(enabled).__name__}")
    mallopt = _mallopt()
    if mallopt is None:
        return False
    settings = _REUSE if enabled else _DEFAULTS
    return all(mallopt(param, value) == 1 for param, value in settings.items())


def _mallopt():
    if not sys.platform.startswith("linux"):
        return None
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # no libc by that name, or one without mallopt (musl)
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt
