"""PneumoniaMNIST (28x28 chest X-rays, normal vs pneumonia) for self-supervised
pretraining and linear probing (LVM-Med).

Two public derivatives of MedMNIST v2's PneumoniaMNIST are pinned (the
official ``.npz`` is downloaded at run time by the ``medmnist`` package, so it
has no stable URL):

* ``kaggle``: train 3,882 / val 524 / test 624. Its val and test have the
  official MedMNIST split sizes; they are the evaluation splits here.
* ``balanced``: train 2,428 / val 270 / test 468, undersampled to balance the
  classes; its val and test are contained in the Kaggle file's val/test.

Pretraining uses the union of both train sets with duplicate (image, label)
pairs removed: 4,690 distinct images. Val and test are never mixed into it
(8 train images are pixel-identical to val images, as in upstream MedMNIST;
they are kept, and no train image occurs in test).
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Dict, Tuple, Union

import numpy as np
import torch

from graphcl.datasets._files import FileTable, read_verified_bytes

_BALANCED = "pneumoniamnist/pneumoniamnist_balanced_aksufatih.npz"
_KAGGLE = "pneumoniamnist/pneumoniamnist_kaggle_varun19424.npz"

#: ``{dataset name: {relative path: (sha256, url)}}``; ``datasets/pneumoniamnist.md``
#: repeats this table and a test keeps the two equal.
PNEUMONIAMNIST_FILES: Dict[str, FileTable] = {"pneumoniamnist": {
    _BALANCED: ("f36c2b3e34de9d60c5c734118bc6daff281eaf76b67a57d26ad958da948274b0",
                "https://raw.githubusercontent.com/aksufatih/snn-medmnist/"
                "5df79ab2ac7bf898a8c7bf39830053619defa2f7/pneumoniamnist.npz"),
    _KAGGLE: ("a554d2332488d3ddc075125e66a1af77ec379fd2bafc09108ab95a37e2bd9c26",
              "https://raw.githubusercontent.com/varun19424/pneumonia_mnist/"
              "9361a718d67e8a40f1ef8929db8c5682add8bd70/data/pneumoniamnist.npz"),
}}

_SPLITS = ("train", "val", "test")
#: Rows per split of each file, checked on load.
_EXPECTED_ROWS = {_BALANCED: (2428, 270, 468), _KAGGLE: (3882, 524, 624)}
#: Distinct (image, label) pairs of the two train sets together.
PRETRAIN_SIZE = 4690


@dataclass(frozen=True)
class PneumoniaMNIST:
    """The pretraining set and the two evaluation splits.

    Attributes:
        train_images: ``[4690, 28, 28]`` uint8, the de-duplicated union of both
            train sets (Kaggle-derived rows first, in file order, then the
            balanced file's new rows in its order).
        train_labels: ``[4690]`` int64, 0 = normal, 1 = pneumonia.
        val_images, val_labels: the Kaggle-derived val split (524 rows).
        test_images, test_labels: the Kaggle-derived test split (624 rows).
    """
    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor

    def split(self, name: str) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(images, labels)`` of ``'train'``, ``'val'`` or ``'test'``."""
        if name not in _SPLITS:
            raise ValueError(f"split must be one of {_SPLITS}, got {name!r}")
        return getattr(self, f"{name}_images"), getattr(self, f"{name}_labels")


def _read_npz(relative_path: str, root) -> Dict[str, np.ndarray]:
    sha256, url = PNEUMONIAMNIST_FILES["pneumoniamnist"][relative_path]
    payload = read_verified_bytes(relative_path, sha256, url, root)
    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    for split, rows in zip(_SPLITS, _EXPECTED_ROWS[relative_path]):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape != (rows, 28, 28) or images.dtype != np.uint8 or labels.shape != (rows, 1):
            raise ValueError(f"{relative_path}: {split} has images {images.shape} {images.dtype} "
                             f"and labels {labels.shape}, expected ({rows}, 28, 28) uint8 and "
                             f"({rows}, 1)")
    return arrays


def _distinct_pairs(images: np.ndarray, labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Rows with a first-seen (image bytes, label) pair, in their order."""
    seen, keep = set(), []
    for row, (image, label) in enumerate(zip(images, labels)):
        key = (image.tobytes(), int(label))
        if key not in seen:
            seen.add(key)
            keep.append(row)
    return images[keep], labels[keep]


def load_pneumoniamnist(root: Union[str, os.PathLike, None] = None) -> PneumoniaMNIST:
    """Load both PneumoniaMNIST files (sha256-verified) as a :class:`PneumoniaMNIST`.

    Args:
        root: Data root override (default ``$GRAPHCL_DATA``; files are copied
            from ``$GRAPHCL_MIRROR`` when set).

    Returns:
        4,690 pretraining images (both train sets, duplicates removed), the
        524 val and 624 test images of the Kaggle-derived file.
    """
    kaggle, balanced = _read_npz(_KAGGLE, root), _read_npz(_BALANCED, root)
    images = np.concatenate([kaggle["train_images"], balanced["train_images"]])
    labels = np.concatenate([kaggle["train_labels"], balanced["train_labels"]])[:, 0]
    images, labels = _distinct_pairs(images, labels)
    if len(images) != PRETRAIN_SIZE:
        raise ValueError(f"the union of the two train sets has {len(images)} distinct images, "
                         f"expected {PRETRAIN_SIZE}: check the files against "
                         f"datasets/pneumoniamnist.md")

    def tensors(split):
        return (torch.from_numpy(np.ascontiguousarray(kaggle[f"{split}_images"])),
                torch.from_numpy(kaggle[f"{split}_labels"][:, 0].astype(np.int64)))

    val_images, val_labels = tensors("val")
    test_images, test_labels = tensors("test")
    return PneumoniaMNIST(torch.from_numpy(np.ascontiguousarray(images)),
                          torch.from_numpy(labels.astype(np.int64)),
                          val_images, val_labels, test_images, test_labels)


__all__ = ["PNEUMONIAMNIST_FILES", "PRETRAIN_SIZE", "PneumoniaMNIST", "load_pneumoniamnist"]
