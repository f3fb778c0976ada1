"""GPN's two-stage class-split sampler (``sample-tiered-imagenet/
build_data_dag.py`` and ``build_classes_dif_distance.py`` of
liulu112601/Gated-Propagation-Net), with Python's ``random`` semantics.

Stage 1 (``random.seed(seed)``) alternates between the two sets so that train
keeps about ``ratio / (1 - ratio)`` times as many classes as test, each pick
being ``random.choice`` over the pool classes (in pool order) that are at
least ``min_distance`` away from every class of the *other* set; it stops at
the first step with no candidate. Stage 2 (``random.seed(seed)`` again) draws
every pool class whose distance to the nearest training class lies in a band
(Close = [1, 4], Far = [5, 10]).

The lists returned are the drawn classes. GPN appends the root to each list
(and its stage-2 script measures distances to the training list with that
root); the counts of the offline protocol (981 / 484 / 105 on WordNet) are
those of the drawn classes, with band distances to the drawn training classes,
which is the default here (``root_in_train=False``); the root is kept in every
split's graph by the benchmark instead.
"""
from __future__ import annotations

import random
from typing import Dict, List, Sequence, Tuple

import numpy as np

CLOSE_BAND = (1, 4)
FAR_BAND = (5, 10)


def _check_distances(distances: np.ndarray) -> np.ndarray:
    distances = np.asarray(distances)
    if distances.ndim != 2 or distances.shape[0] != distances.shape[1]:
        raise ValueError(f"distances must be a square [C, C] matrix, got shape {distances.shape}")
    return distances


def sample_train_classes(distances: np.ndarray, seed: int = 111, ratio: float = 0.8,
                         min_distance: int = 4) -> List[int]:
    """Stage 1: the training classes, in the order drawn. ``distances[i, j]``
    is the class distance; the pool is ``range(C)``, so give the classes in
    sorted-name order."""
    distances = _check_distances(distances)
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio must lie in (0, 1), got {ratio}")
    rng = random.Random(seed)
    n = distances.shape[0]
    in_pool = np.ones(n, dtype=bool)
    # nearest distance of every class to the current train / test set
    to_train = np.full(n, np.inf)
    to_test = np.full(n, np.inf)
    train, test = [], []
    balance = ratio / (1 - ratio)  # the reference's float, 4.000000000000001 for 0.8
    while True:
        add_to_train = len(train) / balance <= len(test)
        far_enough = (to_test if add_to_train else to_train) >= min_distance
        candidates = np.flatnonzero(in_pool & far_enough)
        if candidates.size == 0:
            break
        pick = int(rng.choice(candidates.tolist()))
        in_pool[pick] = False
        if add_to_train:
            train.append(pick)
            np.minimum(to_train, distances[pick], out=to_train)
        else:
            test.append(pick)
            np.minimum(to_test, distances[pick], out=to_test)
    return train


def sample_band_classes(distances: np.ndarray, train: Sequence[int], band: Tuple[int, int],
                        seed: int = 111) -> List[int]:
    """Stage 2: every class whose nearest training class is ``band[0]`` to
    ``band[1]`` away, in the order ``random.choice`` draws them."""
    distances = _check_distances(distances)
    lo, hi = band
    rng = random.Random(seed)
    nearest = distances[:, list(train)].min(axis=1)
    in_band = (nearest >= lo) & (nearest <= hi)
    drawn = []
    while True:  # every drawn class leaves the pool, so this takes all of the band
        candidates = np.flatnonzero(in_band)
        if candidates.size == 0:
            break
        pick = int(rng.choice(candidates.tolist()))
        in_band[pick] = False
        drawn.append(pick)
    return drawn


def sample_class_splits(distances: np.ndarray, root: int, seed: int = 111, ratio: float = 0.8,
                        min_distance: int = 4, close: Tuple[int, int] = CLOSE_BAND,
                        far: Tuple[int, int] = FAR_BAND, root_in_train: bool = False
                        ) -> Dict[str, List[int]]:
    """Both stages: the drawn ``{"train", "close", "far"}`` class lists.

    Args:
        root (int): the root class; with ``root_in_train`` the band distances
            are measured to the training list with the root appended (GPN's
            stage-2 script), otherwise to the drawn training classes.
    """
    if not 0 <= root < np.shape(distances)[0]:
        raise IndexError(f"root {root} is not a class index")
    train = sample_train_classes(distances, seed, ratio, min_distance)
    reference = train + [root] if root_in_train and root not in train else train
    return {"train": train,
            "close": sample_band_classes(distances, reference, close, seed),
            "far": sample_band_classes(distances, reference, far, seed)}


__all__ = ["sample_class_splits", "sample_train_classes", "sample_band_classes",
           "CLOSE_BAND", "FAR_BAND"]
