"""Seeding Python, numpy and torch together, plus a generator for graphcl's
own sampling (so sampling does not depend on how much else drew from the
global torch RNG)."""
from __future__ import annotations

import numbers
import random

import numpy as np
import torch

MAX_SEED = 2**32 - 1  # numpy's limit; torch and Python accept it too


def check_seed(seed, name: str = "seed") -> int:
    """``seed`` as an int in ``[0, 2**32 - 1]``, or a ``ValueError``/``TypeError``
    naming the argument."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(seed).__name__} {seed!r}")
    seed = int(seed)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be in [0, {MAX_SEED}], got {seed}")
    return seed


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's ``random``, numpy and torch with ``seed`` and return a
    fresh ``torch.Generator`` seeded with it."""
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
