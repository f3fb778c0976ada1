"""Attention dropout, in the two forms graphcl's attention modules support."""
from torch import Tensor
from torch.nn import functional as F

ATTN_DROPOUT_MODES = ("coefficients", "parameter")


def check_attn_dropout(p: float, mode: str) -> None:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"attn_dropout must be in [0, 1), got {p}")
    if mode not in ATTN_DROPOUT_MODES:
        raise ValueError(f"attn_dropout_mode must be one of {ATTN_DROPOUT_MODES}, got {mode!r}")


def drop_parameter(att: Tensor, p: float, mode: str, training: bool) -> Tensor:
    """HeCo's reference code drops entries of the attention *vector* itself
    (re-sampled every forward) instead of the attention coefficients; that is
    the ``'parameter'`` mode."""
    return F.dropout(att, p, training) if mode == "parameter" and p > 0 else att


def drop_coefficients(alpha: Tensor, p: float, mode: str, training: bool) -> Tensor:
    return F.dropout(alpha, p, training) if mode == "coefficients" and p > 0 else alpha
