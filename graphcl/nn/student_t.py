"""DEC-style soft cluster assignment and its sharpened target distribution."""
from __future__ import annotations

import torch
from torch import Tensor, nn


class StudentTAssignment(nn.Module):
    r"""Soft assignment of embeddings to learnable cluster centres with a
    Student's t kernel (DEC, SDCN, SCGC):

    .. math::
        q_{ij} = \frac{(1 + \lVert z_i - \mu_j \rVert^2 / v)^{-(v+1)/2}}
                      {\sum_{j'} (1 + \lVert z_i - \mu_{j'} \rVert^2 / v)^{-(v+1)/2}}

    Args:
        num_clusters (int): K.
        channels (int): embedding size d.
        v (float): degrees of freedom of the t distribution. (default: ``1.0``)

    Shapes:
        - input: ``z`` of shape ``[N, d]``
        - output: ``q`` of shape ``[N, K]``, rows summing to 1
    """

    def __init__(self, num_clusters: int, channels: int, v: float = 1.0):
        super().__init__()
        if num_clusters < 1 or channels < 1:
            raise ValueError(f"num_clusters and channels must be >= 1, got {num_clusters} and "
                             f"{channels}")
        if not v > 0:
            raise ValueError(f"v must be > 0, got {v}")
        self.v = float(v)
        self.centers = nn.Parameter(torch.empty(num_clusters, channels))
        nn.init.xavier_normal_(self.centers)

    @torch.no_grad()
    def set_centers(self, centers) -> None:
        """Copy initial centres (e.g. K-means') into the parameter."""
        centers = torch.as_tensor(centers, dtype=self.centers.dtype)
        if tuple(centers.shape) != tuple(self.centers.shape):
            raise ValueError(f"centers must have shape {list(self.centers.shape)}, got "
                             f"{list(centers.shape)}")
        self.centers.copy_(centers)

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.size(1) != self.centers.size(1):
            raise ValueError(f"z must have shape [N, {self.centers.size(1)}], got {list(z.shape)}")
        dist2 = torch.cdist(z, self.centers).pow(2)  # [N, K], O(N K d) memory-light
        q = (1.0 + dist2 / self.v).pow(-(self.v + 1.0) / 2.0)
        return q / q.sum(1, keepdim=True)

    def extra_repr(self) -> str:
        return f"num_clusters={self.centers.size(0)}, channels={self.centers.size(1)}, v={self.v}"


def target_distribution(q: Tensor) -> Tensor:
    r"""DEC's sharpened target :math:`p_{ij} = (q_{ij}^2 / f_j) / \sum_{j'} q_{ij'}^2 / f_{j'}`
    with cluster frequencies :math:`f_j = \sum_i q_{ij}`.

    Shapes: ``q`` ``[N, K]`` -> ``p`` ``[N, K]``.
    """
    weight = q.pow(2) / q.sum(0, keepdim=True)
    return weight / weight.sum(1, keepdim=True)
