"""Helpers shared by the methods' multi-seed runs and results.json writers."""
import json
import numbers
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from graphcl.datasets._files import atomic_writer
from graphcl.experiment.seeding import check_seed

#: Most seeds one run may take (each is a full training run; more is a typo).
MAX_SEEDS = 10_000


def check_seeds(seeds: Sequence[int], name: str = "seeds") -> List[int]:
    """The seeds of a multi-seed run as a list of distinct ints in ``[0, 2**32 - 1]``.

    Checked before any data is loaded, so a bad seed fails at once rather than
    inside numpy after minutes of loading. The count is checked before the
    sequence is iterated (``range(10**12)`` fails without building a list).

    Args:
        seeds: The seeds, e.g. ``range(10)`` or ``[0, 4, 7]``.
        name: The argument's name in error messages.

    Returns:
        The seeds as a list of Python ints.

    Raises:
        TypeError: ``seeds`` is not a sequence, or holds a non-integer.
        ValueError: No seeds, more than :data:`MAX_SEEDS`, a seed out of
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


def check_positive_int(value: Optional[int], name: str) -> Optional[int]:
    """``value`` as an int >= 1, or ``None`` (meaning the config's default).

    Raises:
        TypeError: Not an integer.
        ValueError: Less than 1 (zero epochs would report an untrained model).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer or None, got "
                        f"{type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(value)


def config_as_json(config: Any) -> Dict[str, Any]:
    """A config dataclass as a results.json dictionary; tuples become lists, as
    they do in a results.json read back, so a resumed run compares equal."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(config).items()}


def write_json(results: Dict[str, Any], path: Union[str, os.PathLike]) -> None:
    """Write a results dictionary as indented JSON, atomically.

    The JSON is serialised first (a value JSON cannot hold fails before the
    file is touched), then written through
    :func:`graphcl.datasets._files.atomic_writer`: a full disk or a crash
    leaves the previous file at ``path`` intact, never a truncated one.

    Args:
        results: The dictionary to write.
        path: The file; missing parent directories are created.
    """
    path = Path(path)
    text = json.dumps(results, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as f:
        f.write(text.encode("utf-8"))
