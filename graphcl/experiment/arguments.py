"""argparse types and checks shared by every method's CLI options, so bad
arguments fail before any data is loaded."""
from __future__ import annotations

import argparse
import os
from pathlib import Path


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An int >= 1 (argparse type)."""
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """An int >= 0 (argparse type)."""
    return _int_at_least(text, 0, "a non-negative integer")


def seed_int(text: str) -> int:
    """A seed in [0, 2**32 - 1] (argparse type)."""
    from graphcl.experiment.seeding import MAX_SEED
    value = non_negative_int(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SEED}, got {value}")
    return value


def check_output_path(path, name: str = "--out") -> Path:
    """``path`` as a Path a results file can be written to: not a folder, no
    regular file on the way to it, and a writable existing ancestor."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{name} {path} is a folder; give a file name such as {path / 'results.json'}")
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{name} {path}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ValueError(f"{name} {path}: folder {parent} is not writable")
            break
    return path
