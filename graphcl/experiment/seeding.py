"""Seeding Python, numpy and torch together, plus a generator for graphcl's
own sampling (so sampling does not depend on how much else drew from the
global torch RNG)."""
from __future__ import annotations

import numbers
import random
from typing import List, Sequence

import numpy as np
import torch

MAX_SEED = 2**32 - 1  # numpy's limit; torch and Python accept it too
#: Most seeds one run may take (each is a full training run; more is a typo).
MAX_SEEDS = 10_000


def check_seed(seed, name: str = "seed") -> int:
    """``seed`` as an int in ``[0, 2**32 - 1]``, or a ``ValueError``/``TypeError``
    naming the argument."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(seed).__name__} {seed!r}")
    seed = int(seed)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be in [0, {MAX_SEED}], got {seed}")
    return seed


def check_seeds(seeds: Sequence[int], name: str = "seeds") -> List[int]:
    """The seeds of a multi-seed run as a list of distinct ints in ``[0, 2**32 - 1]``.

    Checked before any data is loaded, so a bad seed fails at once rather than
    inside numpy after minutes of loading. The count is checked before the
    sequence is iterated (``range(10**12)`` fails without building a list).

    Raises:
        TypeError: ``seeds`` is not a sequence, or holds a non-integer.
        ValueError: no seeds, more than :data:`MAX_SEEDS`, a seed out of
            range, or a repeated seed.
    """
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__"):
        raise TypeError(f"{name} must be a sequence of ints, got {type(seeds).__name__}")
    count = len(seeds)
    if count == 0:
        raise ValueError(f"{name} is empty: give at least one seed")
    if count > MAX_SEEDS:
        raise ValueError(f"{name} has {count} seeds, more than the {MAX_SEEDS} allowed")
    out = [check_seed(seed, f"{name}[{i}]") for i, seed in enumerate(seeds)]
    if len(set(out)) != len(out):
        raise ValueError(f"{name} repeats a seed: {sorted(out)}")
    return out


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's ``random``, numpy and torch with ``seed`` and return a
    fresh ``torch.Generator`` seeded with it."""
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
