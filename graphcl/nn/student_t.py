"""DEC-style soft cluster assignment and its sharpened target distribution."""
from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor, nn

from graphcl.nn._dropout import check_positive_int


def _check_2d_float(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {x.dtype}")
    if x.dim() != 2:
        raise ValueError(f"{name} must be 2-D, got shape {list(x.shape)}")


def _check_finite(x: Tensor, name: str) -> None:
    if not bool(torch.isfinite(x.detach()).all()):
        raise ValueError(f"{name} contains NaN or Inf")


class StudentTAssignment(nn.Module):
    r"""Soft assignment of embeddings to learnable cluster centres with a
    Student's t kernel (DEC, SDCN, SCGC):

    .. math::
        q_{ij} = \frac{(1 + \lVert z_i - \mu_j \rVert^2 / v)^{-(v+1)/2}}
                      {\sum_{j'} (1 + \lVert z_i - \mu_{j'} \rVert^2 / v)^{-(v+1)/2}}

    The kernel is computed as written; where it overflows or underflows (all
    of a row's kernels round to 0, e.g. distances beyond ~1e19 with
    :math:`v = 1` or beyond ~1e4 with :math:`v = 20`), :math:`q` is computed
    instead as a softmax over :math:`j` of the log-kernel, from distances
    rescaled by a power of two, so any finite input gives rows that sum to 1.

    Args:
        num_clusters (int): K.
        channels (int): embedding size d.
        v (float): degrees of freedom of the t distribution, finite and
            > 0. (default: ``1.0``)

    Shapes:
        - input: ``z`` of shape ``[N, d]`` (finite, the centres' dtype and
          device)
        - output: ``q`` of shape ``[N, K]``, rows summing to 1
    """

    def __init__(self, num_clusters: int, channels: int, v: float = 1.0):
        super().__init__()
        check_positive_int(num_clusters, "num_clusters")
        check_positive_int(channels, "channels")
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise TypeError(f"v must be a number > 0, got {v!r}")
        if not (math.isfinite(v) and v > 0):
            # v = inf would make every kernel 1 (a uniform q), not the Gaussian limit
            raise ValueError(f"v must be a finite number > 0, got {v}")
        self.v = float(v)
        self.centers = nn.Parameter(torch.empty(num_clusters, channels))
        nn.init.xavier_normal_(self.centers)

    @torch.no_grad()
    def set_centers(self, centers) -> None:
        """Copy initial centres (e.g. K-means') into the parameter
        (``[num_clusters, channels]``, finite; cast to the parameter's dtype)."""
        try:
            centers = torch.as_tensor(centers, dtype=self.centers.dtype)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"centers must be an array of numbers of shape "
                            f"{list(self.centers.shape)}, got {type(centers).__name__} "
                            f"({err})") from None
        if tuple(centers.shape) != tuple(self.centers.shape):
            raise ValueError(f"centers must have shape {list(self.centers.shape)}, got "
                             f"{list(centers.shape)}")
        _check_finite(centers, "centers")
        self.centers.copy_(centers)

    def forward(self, z: Tensor) -> Tensor:
        _check_2d_float(z, "z")
        if z.size(1) != self.centers.size(1):
            raise ValueError(f"z must have shape [N, {self.centers.size(1)}], got {list(z.shape)}")
        if z.dtype != self.centers.dtype:
            raise TypeError(f"z has dtype {z.dtype} but the cluster centres are "
                            f"{self.centers.dtype} (convert one of them)")
        if z.device != self.centers.device:
            raise ValueError(f"z is on {z.device} but the cluster centres are on "
                             f"{self.centers.device}")
        _check_finite(z, "z")
        dist2 = torch.cdist(z, self.centers).pow(2)  # [N, K], O(N K d) memory-light
        q = (1.0 + dist2 / self.v).pow(-(self.v + 1.0) / 2.0)
        q = q / q.sum(1, keepdim=True)
        if not bool(torch.isfinite(q.detach()).all()):
            q = self._log_domain(z)
        return q

    def _log_domain(self, z: Tensor) -> Tensor:
        r"""q as softmax_j of -(v+1)/2 log(1 + d_ij^2 / v), in float64, from
        distances of z and the centres divided by a power of two c (no
        overflow): log(1 + d^2/v) = softplus(log(d'^2) + 2 log c - log v)."""
        peak = torch.maximum(z.detach().abs().amax(), self.centers.detach().abs().amax())
        # 2^(e-1) <= peak < 2^e: representable, and the scaled entries are < 2
        c = torch.ldexp(torch.ones_like(peak), torch.frexp(peak).exponent - 1).double()
        d2 = torch.cdist(z.double() / c, self.centers.double() / c).pow(2)  # < 16 d
        # a zero distance is clamped (no log(0)); its kernel is 1 either way
        log_ratio = d2.clamp_min(torch.finfo(torch.float64).tiny).log() \
            + (2.0 * c.log() - math.log(self.v))
        log_kernel = torch.nn.functional.softplus(log_ratio).mul(-(self.v + 1.0) / 2.0)
        return torch.softmax(log_kernel, dim=1).to(z.dtype)

    def extra_repr(self) -> str:
        return f"num_clusters={self.centers.size(0)}, channels={self.centers.size(1)}, v={self.v}"


def target_distribution(q: Tensor) -> Tensor:
    r"""DEC's sharpened target :math:`p_{ij} = (q_{ij}^2 / f_j) / \sum_{j'} q_{ij'}^2 / f_{j'}`
    with cluster frequencies :math:`f_j = \sum_i q_{ij}`.

    An empty cluster (:math:`f_j = 0`, a column of zeros) gets no target mass,
    :math:`p_{ij} = 0`, and leaves the other clusters' targets as they are
    (:math:`q_{ij}^2 / f_j = 0/0` is taken as 0, its limit).

    Args:
        q (Tensor): soft assignments, floating point, finite, >= 0, no row
            all zero (e.g. :class:`StudentTAssignment`'s output).

    Shapes: ``q`` ``[N, K]`` -> ``p`` ``[N, K]``.
    """
    _check_2d_float(q, "q")
    _check_finite(q, "q")
    if q.numel() and float(q.detach().amin()) < 0:
        raise ValueError("q has negative entries; soft assignments must be >= 0")
    freq = q.sum(0, keepdim=True)
    # f_j = 0 only for an all-zero column: 0 / 1 = 0 there, the exact quotient elsewhere
    weight = q.pow(2) / torch.where(freq > 0, freq, torch.ones_like(freq))
    total = weight.sum(1, keepdim=True)
    if q.numel() and not bool((total > 0).all()):
        row = int((total <= 0).flatten().nonzero()[0])
        raise ValueError(f"q has a row without any assignment mass (first: row {row}); every "
                         f"row needs an entry > 0")
    p = weight / total
    if not bool(torch.isfinite(p.detach()).all()):
        raise ValueError("q is too large: q^2 overflows its dtype (soft assignments are "
                         "expected in [0, 1])")
    return p
