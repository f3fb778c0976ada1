"""The batched engine of :func:`graphcl.eval.linear_probe`: R probes trained as one model.

Adam is element-wise and the summed loss ``sum_r CE_r`` has
``d/dW_r = dCE_r/dW_r``, so one optimiser over the stacked weights ``[R, d, C]``
performs the R independent trainings (up to float rounding of the matrix
products). Validation and test hits are counted per class after every step
(:func:`graphcl.eval.f1.class_counts`), so F1 curves need no sklearn call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from graphcl.eval.f1 import class_counts, sklearn_macro_from_counts


def init_probe_weights(repeats: int, dim: int, num_classes: int, seed: int):
    """xavier_uniform weights and zero biases for ``repeats`` probes.

    Each repeat's [C, d] weight (nn.Linear layout) is drawn in turn from one CPU
    generator seeded with ``seed``, so probe r gets exactly the init an
    independent ``nn.Linear(d, C)`` would get from the same generator state
    (and the result does not depend on the device).
    """
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    weights = []
    for _ in range(repeats):
        w = torch.empty(num_classes, dim)
        torch.nn.init.xavier_uniform_(w, generator=gen)
        weights.append(w.t())
    return torch.stack(weights), torch.zeros(repeats, num_classes)


def select_macro(val_macro: Tensor, tp: np.ndarray, predicted: np.ndarray,
                 true: np.ndarray) -> np.ndarray:
    """First iteration with the maximal validation Macro-F1, per repeat.

    The vectorised float64 values can differ from sklearn's in the last bit
    (different summation order), which only matters between iterations whose
    F1 ties mathematically. So every iteration within 1e-12 of the maximum is
    re-scored with the bit-exact sklearn replica (deduplicated by its counts) and
    the first exact maximum wins, as ``list.index(max(...))`` does in the reference.
    """
    vm = val_macro.cpu().numpy()  # [T, R]
    out = np.empty(vm.shape[1], dtype=np.int64)
    for r in range(vm.shape[1]):
        col = vm[:, r]
        cand = np.flatnonzero(col >= col.max() - 1e-12)
        if cand.size == 1:
            out[r] = cand[0]
            continue
        keys = np.concatenate([tp[cand, r], predicted[cand, r]], axis=1)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        c = tp.shape[-1]
        exact = np.array([sklearn_macro_from_counts(u[:c], u[c:], true) for u in uniq])
        out[r] = cand[int(np.argmax(exact[inverse.reshape(-1)]))]
    return out


@dataclass
class ProbeTrace:
    """What :func:`train_probes` records at every iteration t, for every repeat r."""

    tp_va: Tensor        # [T, R, C] val true positives
    pc_va: Tensor        # [T, R, C] val predicted counts
    tp_te: Tensor        # [T, R, C] test true positives
    pc_te: Tensor        # [T, R, C] test predicted counts
    losses: Tensor       # [T, R] train loss of the step's forward pass
    test_preds: Tensor   # [T, R, n_test] test predictions (small integer dtype)
    best_logits: Tensor  # [R, n_test, C] test logits at the first best val Micro-F1


def train_probes(x_tr: Tensor, y_tr: Tensor, x_eval: Tensor, y_va: Tensor, y_te: Tensor,
                 w0: Tensor, b0: Tensor, *, lr: float, weight_decay: float,
                 iterations: int) -> ProbeTrace:
    """Train the R probes as one batched model and count val/test hits after every step.

    Args:
        x_tr (Tensor): Train embeddings.
        y_tr (Tensor): Their class ids.
        x_eval (Tensor): Val rows, then test rows, so both share one GEMM.
        y_va (Tensor): Val class ids.
        y_te (Tensor): Test class ids.
        w0 (Tensor): Initial weights (on the training device).
        b0 (Tensor): Initial biases (on the training device).
        lr (float): Adam learning rate.
        weight_decay (float): Adam weight decay.
        iterations (int): Optimiser steps T.

    Shapes:
        - **inputs:** ``x_tr`` [n_train, d], ``y_tr`` [n_train],
          ``x_eval`` [n_val + n_test, d], ``y_va`` [n_val], ``y_te`` [n_test],
          ``w0`` [R, d, C], ``b0`` [R, C].
        - **output:** a :class:`ProbeTrace` (shapes in its fields).
    """
    repeats, dim, c = w0.shape
    device = w0.device
    weight = w0.requires_grad_(True)   # [R, d, C]
    bias = b0.requires_grad_(True)     # [R, C]
    opt = torch.optim.Adam([weight, bias], lr=lr, weight_decay=weight_decay)
    n_tr, n_va, n_te = y_tr.numel(), y_va.numel(), y_te.numel()

    t_dim = iterations
    tp_va = torch.empty(t_dim, repeats, c, dtype=torch.int64, device=device)
    pc_va = torch.empty_like(tp_va)
    tp_te = torch.empty_like(tp_va)
    pc_te = torch.empty_like(tp_va)
    losses = torch.empty(t_dim, repeats, dtype=torch.float32, device=device)
    pred_dtype = torch.uint8 if c <= 256 else (torch.int16 if c <= 32767 else torch.int32)
    test_preds = torch.empty(t_dim, repeats, n_te, dtype=pred_dtype, device=device)
    # running best val correct-count; integer comparison = exact first-max
    best_correct = torch.full((repeats,), -1, dtype=torch.int64, device=device)
    best_logits = torch.zeros(repeats, n_te, c, dtype=torch.float32, device=device)
    target_tr = y_tr.unsqueeze(1).expand(n_tr, repeats)

    for t in range(iterations):
        opt.zero_grad(set_to_none=True)
        # [n, d] x [d, R*C] as one GEMM, viewed as [n, R, C]
        logits = (x_tr @ weight.permute(1, 0, 2).reshape(dim, repeats * c)).view(n_tr, repeats, c)
        logits = logits + bias
        # cross_entropy wants classes on dim 1: [n, C, R]; per-repeat mean, then the sum
        per_repeat = F.cross_entropy(logits.transpose(1, 2), target_tr, reduction="none").mean(0)
        per_repeat.sum().backward()
        opt.step()
        with torch.no_grad():
            losses[t] = per_repeat.detach()
            out = (x_eval @ weight.permute(1, 0, 2).reshape(dim, repeats * c)).view(-1, repeats, c)
            out = out + bias
            pred = out.argmax(-1).t()               # [R, n_va + n_te], first max like torch/ref
            p_va, p_te = pred[:, :n_va], pred[:, n_va:]
            tp_va[t], pc_va[t] = class_counts(p_va, y_va, c)
            tp_te[t], pc_te[t] = class_counts(p_te, y_te, c)
            test_preds[t] = p_te.to(pred_dtype)
            correct = tp_va[t].sum(-1)
            better = correct > best_correct
            best_correct = torch.where(better, correct, best_correct)
            best_logits = torch.where(better.view(-1, 1, 1), out[n_va:].transpose(0, 1), best_logits)
    return ProbeTrace(tp_va=tp_va, pc_va=pc_va, tp_te=tp_te, pc_te=pc_te, losses=losses,
                  test_preds=test_preds, best_logits=best_logits)


__all__ = ["init_probe_weights", "select_macro", "ProbeTrace", "train_probes"]
