r"""Blockwise multi-positive InfoNCE (HeCo's cross-view loss, SCGC's neighbour
contrast, ...) with O(N·block) memory instead of O(N·M)."""
from __future__ import annotations

from typing import Optional, Union

from torch import Tensor, nn

from graphcl.nn.contrast._blockwise import infonce_rows, reduce_losses
from graphcl.nn.contrast._checks import (check_block_size, check_diagonal, check_embeddings,
                                         check_normalize, check_reduction, check_tau,
                                         check_tau_range)
from graphcl.nn.contrast._numerics import DEFAULT_BLOCK_SIZE, BlockSize, compute_dtype
from graphcl.nn.contrast._positives import PositiveMask, prepare_mask

__all__ = ["MultiPositiveInfoNCE", "multi_positive_infonce"]


def multi_positive_infonce(anchor: Tensor, sample: Tensor, pos_mask: PositiveMask,
                           tau: Union[float, Tensor], *, normalize: bool = True,
                           block_size: BlockSize = DEFAULT_BLOCK_SIZE,
                           reduction: str = "mean",
                           diagonal: Optional[float] = None) -> Tensor:
    r"""Multi-positive InfoNCE, computed blockwise; see
    :class:`MultiPositiveInfoNCE` for the formula, arguments and shapes."""
    check_embeddings(anchor, sample)
    check_tau(tau)
    dtype = compute_dtype(anchor.dtype)
    check_tau_range(tau, dtype)
    br, bc = check_block_size(block_size)
    check_reduction(reduction)
    check_normalize(normalize)
    n, m = anchor.size(0), sample.size(0)
    diag_score = check_diagonal(diagonal, tau, n, m, dtype)
    pos = prepare_mask(pos_mask, n, m, anchor.device, dtype)
    losses = infonce_rows(anchor, sample, pos, tau, normalize, br, bc, diag_score)
    return reduce_losses(losses, reduction).to(anchor.dtype)


class MultiPositiveInfoNCE(nn.Module):
    r"""Multi-positive InfoNCE loss (HeCo's cross-view contrast, SCGC's
    neighbour contrast), computed in row x column tiles with an online
    log-sum-exp so that memory is :math:`O(N \cdot \text{block})`, never
    :math:`O(N \cdot M)`:

    .. math::
        s_{ij} = \frac{\cos(z^{(1)}_i, z^{(2)}_j)}{\tau}, \qquad
        \ell_i = \log \sum_{j} e^{s_{ij}} - \log \sum_{j} P_{ij}\, e^{s_{ij}},
        \qquad \mathcal{L} = \frac{1}{N} \sum_i \ell_i

    With ``normalize=False``, :math:`s_{ij} = \langle z^{(1)}_i, z^{(2)}_j\rangle / \tau`.
    This is HeCo's loss: HeCo computes :math:`e^{s_{ij}}`, divides every row by
    its sum plus ``1e-8`` and takes :math:`-\log \sum_j (\cdot)_{ij} P_{ij}`;
    the value here is the same without the ``1e-8`` (HeCo's
    ``lam * L(z_mp, z_sc, pos) + (1 - lam) * L(z_sc, z_mp, pos)``).

    Each tile is one GEMM; the all-candidates term keeps a running row
    maximum and rescaled sum, so float32 is stable for small :math:`\tau`
    (e.g. 0.05). For a sparse mask the positives' term is computed from the
    positive pairs only (:math:`O(\text{nnz} \cdot d)`); a dense mask is read
    one tile at a time. The backward pass recomputes the tiles from the
    saved per-row log-sum-exps,
    :math:`\partial \ell_i / \partial s_{ij} = \mathrm{softmax}_j(s_i) -
    P_{ij} e^{s_{ij}} / \sum_k P_{ik} e^{s_{ik}}`, and gradients flow to both
    inputs (which may be the same tensor, for intra-view contrast) and to
    :math:`\tau` when it is a tensor. The mask is a constant (no gradient).

    Args:
        tau (float or Tensor): temperature :math:`\tau > 0`.
        block_size (int or (int, int), optional): tile size, rows x columns
            (an int is used for both). Temporaries are
            ``block_rows x block_cols`` elements (two of them with a dense
            mask). (default: :obj:`2048`)
        normalize (bool, optional): use cosine similarity (L2-normalise both
            inputs) instead of raw dot products. (default: :obj:`True`)
        reduction (str, optional): ``'mean'``, ``'sum'`` or ``'none'``
            (per-anchor losses). (default: :obj:`'mean'`)
        diagonal (float, optional): if given, the similarity of each node
            with itself, :math:`\mathrm{sim}(z^{(1)}_i, z^{(2)}_i)` (anchor and
            sample are the same set of nodes, :math:`N = M`), is replaced by
            this constant before dividing by :math:`\tau`, in the denominator
            and in the positives; no gradient flows through it. Graph-MLP and
            SCGC use ``0``. (default: :obj:`None`)

    Shapes:
        - **input:**
          anchor :math:`(N, d)`, sample :math:`(M, d)` (same dtype and device),
          pos_mask :math:`(N, M)`: dense (bool, integer or floating weights
          :math:`\ge 0`), ``torch.sparse_coo`` / ``torch.sparse_csr``, or a
          :class:`~graphcl.graph.SparseGraph` (rows = anchors, columns =
          samples, ``edge_weight`` the weights, 1 where it has none); every
          row needs at least one positive.
        - **output:** scalar, or :math:`(N,)` with ``reduction='none'``.

    Cosine similarity is computed without overflow for any finite input (rows
    are rescaled by a power of two before they are normalised, so entries of
    1e30 in float32 are fine); an all-zero row has cosine 0 with every row,
    as in :func:`torch.nn.functional.cosine_similarity`. Scores reach
    :math:`1/\tau`, so :math:`\tau` must be at least ``4 / finfo(dtype).max``
    (about 1.2e-38 in float32; ``sqrt`` of that when :math:`\tau` is a tensor
    that requires grad, since :math:`\partial\mathcal{L}/\partial\tau` grows
    as :math:`1/\tau^2`). With ``normalize=False`` the dot products are
    unbounded: if they overflow the dtype a ``ValueError`` says so.

    Raises ``ValueError``/``TypeError`` naming the argument for wrong shapes,
    dtype or device mismatches, ``tau <= 0`` or too small for the dtype,
    negative or non-finite mask entries (or dense float64 weights beyond the
    range of float32 embeddings), NaN/Inf embeddings, rows without a positive,
    zero channels and ``block_size < 1``.
    """

    def __init__(self, tau: Union[float, Tensor], block_size: BlockSize = DEFAULT_BLOCK_SIZE,
                 normalize: bool = True, reduction: str = "mean",
                 diagonal: Optional[float] = None):
        super().__init__()
        check_tau(tau)
        check_block_size(block_size)
        check_reduction(reduction)
        check_normalize(normalize)
        self.tau, self.block_size = tau, block_size
        self.normalize, self.reduction = normalize, reduction
        self.diagonal = diagonal

    def forward(self, anchor: Tensor, sample: Tensor, pos_mask: PositiveMask) -> Tensor:
        return multi_positive_infonce(anchor, sample, pos_mask, self.tau, normalize=self.normalize,
                                      block_size=self.block_size, reduction=self.reduction,
                                      diagonal=self.diagonal)

    def extra_repr(self) -> str:
        tau = self.tau
        tau = f"tensor({float(tau):g})" if isinstance(tau, Tensor) else float(tau)
        return (f"tau={tau}, block_size={self.block_size}, normalize={self.normalize}, "
                f"reduction={self.reduction!r}")
