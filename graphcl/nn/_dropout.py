"""Attention dropout, in the two forms graphcl's attention modules support,
and the argument checks those modules share."""
import numbers

from torch import Tensor
from torch.nn import functional as F

ATTN_DROPOUT_MODES = ("coefficients", "parameter")


def check_positive_int(value, name: str) -> None:
    """A size argument (channels, heads, ...): an int >= 1, not a bool."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")


def check_attn_dropout(p: float, mode: str) -> None:
    if not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise TypeError(f"attn_dropout must be a number in [0, 1), got {p!r}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"attn_dropout must be in [0, 1), got {p}")
    if not isinstance(mode, str) or mode not in ATTN_DROPOUT_MODES:
        raise ValueError(f"attn_dropout_mode must be one of {ATTN_DROPOUT_MODES}, got {mode!r}")


def drop_parameter(att: Tensor, p: float, mode: str, training: bool) -> Tensor:
    """HeCo's reference code drops entries of the attention *vector* itself
    (re-sampled every forward) instead of the attention coefficients; that is
    the ``'parameter'`` mode."""
    return F.dropout(att, p, training) if mode == "parameter" and p > 0 else att


def drop_coefficients(alpha: Tensor, p: float, mode: str, training: bool) -> Tensor:
    return F.dropout(alpha, p, training) if mode == "coefficients" and p > 0 else alpha
