"""Macro- and Micro-F1 from confusion counts, for many predictions at once.

Macro/Micro-F1 are functions of per-class counts (true positives, #predicted,
#true). :func:`class_counts` computes them for ``R`` predictions of the same
targets in one scatter, :func:`f1_from_counts` evaluates sklearn's formulas on
them (vectorised, float64), and :func:`sklearn_macro_from_counts` replays
sklearn's exact arithmetic for one row, so that near-ties are broken as a loop
over ``sklearn.metrics.f1_score`` calls would break them.
:func:`batched_f1_scores` puts these together for users.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import Tensor

from graphcl.eval._checks import ArrayLike, as_numpy


def class_counts(pred: Tensor, target: Tensor, num_classes: int):
    """Per-repeat true positives and predicted counts.

    Args:
        pred: [R, n] predicted class ids.
        target: [n] true class ids.
    Returns:
        (tp, predicted), both [R, num_classes] int64.
    """
    r = pred.shape[0]
    # One flat scatter over r*C + class keeps it a single kernel for all repeats.
    flat = (pred + torch.arange(r, device=pred.device).unsqueeze(1) * num_classes).reshape(-1)
    predicted = torch.zeros(r * num_classes, dtype=torch.int64, device=pred.device)
    predicted.scatter_add_(0, flat, torch.ones_like(flat))
    tp = torch.zeros_like(predicted)
    tp.scatter_add_(0, flat, (pred == target.unsqueeze(0)).reshape(-1).to(torch.int64))
    return tp.view(r, num_classes), predicted.view(r, num_classes)


def f1_from_counts(tp: Tensor, predicted: Tensor, true: Tensor):
    """Macro- and Micro-F1 (float64) with sklearn's definitions.

    sklearn averages macro-F1 over ``unique_labels(y_true, y_pred)``, i.e. the
    classes with (#true + #predicted) > 0; classes absent from both are skipped.
    Per class F1 = 2 tp / (#true + #predicted); micro-F1 = correct / n.

    Args:
        tp, predicted: [..., C] integer counts.
        true: [C] integer counts of the true labels.
    Returns:
        (macro, micro), each of shape [...].
    """
    denom = (true + predicted).to(torch.float64)
    present = denom > 0
    per_class = torch.where(present, 2.0 * tp.to(torch.float64) / denom.clamp_min(1.0),
                            torch.zeros((), dtype=torch.float64, device=tp.device))
    macro = per_class.sum(-1) / present.sum(-1).to(torch.float64)
    micro = tp.sum(-1).to(torch.float64) / true.sum().to(torch.float64)
    return macro, micro


def sklearn_macro_from_counts(tp: np.ndarray, predicted: np.ndarray, true: np.ndarray) -> float:
    """Bit-exact replica of ``f1_score(..., average='macro')`` from counts: the same
    float64 operations in the same order (sklearn 1.x ``_fbeta`` + ``_nanaverage``).
    Used to break near-ties exactly as a loop over sklearn calls would."""
    present = (true + predicted) > 0
    denom = 1.0 * true[present].astype(np.float64) + predicted[present].astype(np.float64)
    return float(np.nanmean((2.0 * tp[present].astype(np.float64)) / denom))


def batched_f1_scores(y_true: ArrayLike, y_pred: ArrayLike, num_classes: Optional[int] = None):
    """Macro- and Micro-F1 of many predictions of the same targets at once.

    Equals ``sklearn.metrics.f1_score(y_true, y_pred[b], average=...)`` for every
    row b (to float rounding of the final mean), including sklearn's handling of
    classes that appear in neither y_true nor y_pred (they are not averaged).

    Args:
        y_true: [n] integer class ids >= 0 (< num_classes when it is given).
        y_pred: [B, n] (or [n]) integer class ids >= 0 (< num_classes when given).
        num_classes: number of classes C; default the number of distinct ids in
            y_true and y_pred (any non-negative ids, renumbered; the scores do
            not depend on it).
    Returns:
        (macro, micro): float64 tensors of shape [B] (or scalars for 1-D y_pred).
    """
    yt = torch.as_tensor(as_numpy(y_true, "y_true") if not isinstance(y_true, Tensor) else y_true)
    yp = torch.as_tensor(as_numpy(y_pred, "y_pred") if not isinstance(y_pred, Tensor) else y_pred)
    squeeze = yp.dim() == 1
    if squeeze:
        yp = yp.unsqueeze(0)
    if yt.dim() != 1 or yp.dim() != 2 or yp.shape[1] != yt.shape[0]:
        raise ValueError(f"y_pred must be [B, n] (or [n]) with n = len(y_true); got y_true "
                         f"{tuple(yt.shape)}, y_pred {tuple(yp.shape)}")
    if yt.numel() == 0:
        raise ValueError("y_true is empty")
    if yt.is_floating_point() or yp.is_floating_point():
        raise TypeError("y_true and y_pred must hold integer class ids")
    yt, yp = yt.long(), yp.long().to(yt.device)
    if int(yt.min()) < 0 or int(yp.min()) < 0:
        raise ValueError("class ids must be >= 0")
    if num_classes is None:
        # Renumber the ids that occur to 0..C-1: F1 only counts classes present
        # in y_true or y_pred, so this changes no score, and sparse large ids
        # do not size the [B, C] count tables.
        classes, inverse = torch.unique(torch.cat([yt, yp.reshape(-1)]), return_inverse=True)
        yt, yp = inverse[:yt.numel()], inverse[yt.numel():].view_as(yp)
        c = int(classes.numel())
    else:
        top = int(max(int(yt.max()), int(yp.max())))
        if top >= num_classes:
            raise ValueError(f"class id {top} is out of range for num_classes={num_classes}")
        c = num_classes
    tp, predicted = class_counts(yp, yt, c)
    true = torch.bincount(yt, minlength=c)
    macro, micro = f1_from_counts(tp, predicted, true)
    return (macro[0], micro[0]) if squeeze else (macro, micro)


__all__ = ["batched_f1_scores"]
