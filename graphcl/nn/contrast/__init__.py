r"""Contrastive losses computed blockwise (no :math:`N \times M` similarity
matrix), with a positive mask that is dense, sparse (COO/CSR) or a
:class:`~graphcl.graph.SparseGraph`.

- :mod:`~graphcl.nn.contrast.infonce`: the multi-positive InfoNCE;
- :mod:`~graphcl.nn.contrast.cross_view`: both directions between two views
  (HeCo), fused into one pass over the tiles;
- :mod:`~graphcl.nn.contrast.neighbour`: Graph-MLP's neighbour contrast (SCGC);
- :mod:`~graphcl.nn.contrast.hard_negatives`: synthetic hard negatives;
- :mod:`~graphcl.nn.contrast.nt_xent`: SimCLR's NT-Xent (on the InfoNCE above);
- :mod:`~graphcl.nn.contrast.vicreg`: VICReg.

Private modules: ``_positives`` (mask validation and representation),
``_tiles`` / ``_tiles_backward`` (the tiled log-sum-exp kernels), ``_pairs``
(the sparse mask's positive pairs), ``_fused_directions`` (the fused
cross-view kernel), ``_blockwise`` (the autograd function), ``_checks`` and
``_numerics``.
"""
from graphcl.nn.contrast.cross_view import CrossViewInfoNCE, cross_view_infonce
from graphcl.nn.contrast.hard_negatives import (HardNegativeInfoNCE, mixed_hard_negatives,
                                                positive_logsumexp)
from graphcl.nn.contrast.infonce import MultiPositiveInfoNCE, multi_positive_infonce
from graphcl.nn.contrast.neighbour import NeighbourContrast, neighbour_contrast
from graphcl.nn.contrast.nt_xent import NTXentLoss, nt_xent
from graphcl.nn.contrast.vicreg import VICRegLoss, vicreg_loss

__all__ = ["MultiPositiveInfoNCE", "multi_positive_infonce", "CrossViewInfoNCE",
           "cross_view_infonce", "NeighbourContrast", "neighbour_contrast",
           "HardNegativeInfoNCE", "mixed_hard_negatives", "positive_logsumexp",
           "nt_xent", "NTXentLoss", "vicreg_loss", "VICRegLoss"]
