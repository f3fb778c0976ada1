"""SCGC and SCGC*: an MLP autoencoder (or its encoder) whose only contact with
the graph is the neighbour-contrast loss, plus DEC-style self-training."""
from __future__ import annotations

from typing import Dict, Optional, Union

from torch import Tensor, nn
from torch.nn import functional as F

from graphcl.graph import SparseGraph
from graphcl.methods.scgc.autoencoder import SDCNAutoencoder
from graphcl.nn import StudentTAssignment, neighbour_contrast, target_distribution


def structure_target(graph: SparseGraph, order: int, cumulative: bool) -> SparseGraph:
    r"""The soft positives of the neighbour contrast, as a :class:`SparseGraph`
    whose edge weights are the positive weights (the losses take it as it is):
    :math:`\hat A^r` (SCGC) or :math:`\sum_{k=1}^{r} \hat A^k` (SCGC*'s IAC),
    with :math:`\hat A = D^{-1}(A + I)`.

    ``graph`` must be symmetric (the loaders symmetrise with the element-wise
    max, as the reference does). Powers are sparse-sparse products; nothing is
    dense in N x N.
    """
    a_hat = graph.normalized("row", add_self_loops=True)
    return a_hat.matrix_power(order, cumulative=cumulative)


class SCGC(nn.Module):
    r"""SCGC (``star=False``: autoencoder, loss
    :math:`\beta\,KL(P\|Q) + \alpha\,L_{NC}(\hat A^r) + \mathrm{MSE}`) or
    SCGC* (``star=True``: encoder only, loss
    :math:`\beta\,KL(P\|Q) + \alpha\,L_{IAC}`).

    Args:
        autoencoder (SDCNAutoencoder): pretrained weights (SCGC* keeps only the encoder).
        num_clusters (int): K.
        star (bool): SCGC* instead of SCGC.
        alpha, beta (float): weights of the contrast and of the KL term.
        tau (float): multiplier of the cosine in the contrast.
        block_size (int): tile size of the blockwise contrast.

    Shapes:
        - input: ``x`` ``[N, d]``, target ``[N, N]``: a SparseGraph (see
          :func:`structure_target`), or a sparse or dense tensor
        - ``forward`` returns ``(z [N, n_z], q [N, K], x_hat [N, d] or None)``
    """

    def __init__(self, autoencoder: SDCNAutoencoder, num_clusters: int, *, star: bool,
                 alpha: float, beta: float, tau: float, block_size: int = 2048):
        super().__init__()
        self.encoder = autoencoder.encoder
        self.decoder = None if star else autoencoder.decoder
        if not star and self.decoder is None:
            raise ValueError("SCGC (star=False) needs an autoencoder with a decoder")
        n_z = self.encoder[-1].out_features
        self.assignment = StudentTAssignment(num_clusters, n_z)
        self.star, self.alpha, self.beta, self.tau = star, alpha, beta, tau
        self.block_size = block_size

    def forward(self, x: Tensor):
        z = self.encoder(x)
        x_hat = self.decoder(z) if self.decoder is not None else None
        return z, self.assignment(z), x_hat

    def loss(self, x: Tensor, z: Tensor, q: Tensor, p: Tensor, x_hat: Optional[Tensor],
             target: Union[SparseGraph, Tensor]) -> Dict[str, Tensor]:
        """The terms of the training loss (``total`` is what is minimised)."""
        terms = {"kl": F.kl_div(q.log(), p, reduction="batchmean"),
                 "contrast": neighbour_contrast(z, target, self.tau, block_size=self.block_size)}
        total = self.beta * terms["kl"] + self.alpha * terms["contrast"]
        if x_hat is not None:
            terms["mse"] = F.mse_loss(x_hat, x)
            total = total + terms["mse"]
        terms["total"] = total
        return terms


__all__ = ["SCGC", "structure_target", "target_distribution"]
