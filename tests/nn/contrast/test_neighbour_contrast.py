"""Graph-MLP's neighbour contrast against its dense formula (including the
+1e-8), with every mask layout, and its bad input."""
import math

import numpy as np
import pytest
import torch

from graphcl.graph import SparseGraph
from graphcl.nn import NeighbourContrast, neighbour_contrast

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta state")]


def random_symmetric_graph(n, p, g):
    upper = torch.triu((torch.rand(n, n, generator=g) < p).float(), 1)
    dense = upper + upper.t()
    return dense, dense.nonzero().t()


def dense_ncontrast(z, target, tau):
    """Graph-MLP's Ncontrast, dense, including the +1e-8."""
    norms = z.norm(dim=1, keepdim=True)
    cos = (z @ z.t()) / (norms @ norms.t()) * (1 - torch.eye(z.size(0), dtype=z.dtype))
    e = torch.exp(tau * cos)
    return -torch.log((e * target).sum(1) / e.sum(1) + 1e-8).mean()


def graph_target(dense_adjacency, order, cumulative):
    """SCGC's target, A_hat^r or sum_k A_hat^k with A_hat = D^-1 (A + I), as a
    SparseGraph (its edge weights are the positive weights)."""
    n = dense_adjacency.size(0)
    graph = SparseGraph.from_edge_index(dense_adjacency.nonzero().t(), num_nodes=n)
    a_hat = graph.normalized("row", add_self_loops=True)
    power = a_hat.matrix_power(order, cumulative=cumulative)
    return power.with_edge_weight(power.edge_weight.double())


@pytest.mark.parametrize("tau", [0.25, 1.0, 2.25])
@pytest.mark.parametrize("cumulative", [False, True])
@pytest.mark.parametrize("layout", ["graph", "csr", "coo", "dense"])
def test_neighbour_contrast_matches_graph_mlp_formula(tau, cumulative, layout):
    """The same loss and gradient for the target as a SparseGraph (what SCGC
    passes), a sparse CSR/COO tensor or a dense one."""
    g = torch.Generator().manual_seed(3)
    dense, _ = random_symmetric_graph(40, 0.1, g)
    graph = graph_target(dense, 2, cumulative)
    target = {"graph": graph, "csr": graph.to_torch_sparse(),
              "coo": graph.to_torch_sparse().to_sparse_coo(), "dense": graph.to_dense()}[layout]
    z = torch.randn(40, 10, generator=g, dtype=torch.float64, requires_grad=True)
    got = neighbour_contrast(z, target, tau, block_size=16)
    exp = dense_ncontrast(z, graph.to_dense(), tau)
    torch.testing.assert_close(got, exp)
    torch.testing.assert_close(torch.autograd.grad(got, z)[0], torch.autograd.grad(exp, z)[0])
    # The gradient is compared with the dense reference above in every case;
    # gradcheck adds the finite-difference check of the blocked backward, in
    # full for one tau and in fast mode (a random projection of the Jacobian,
    # one forward pair instead of 400) for the others: 4 s -> 0.3 s a case.
    assert torch.autograd.gradcheck(lambda v: NeighbourContrast(tau, block_size=(7, 9))(v, target),
                                    (z,), fast_mode=tau != 1.0)


def test_graph_target_is_bitwise_the_csr_target():
    """A SparseGraph target gives exactly the values and gradients of its own
    torch.sparse_csr form (what SCGC passed before), so SCGC's runs are unchanged."""
    g = torch.Generator().manual_seed(8)
    dense, _ = random_symmetric_graph(60, 0.08, g)
    n = dense.size(0)
    graph = SparseGraph.from_edge_index(dense.nonzero().t(), num_nodes=n)
    graph = graph.normalized("row", add_self_loops=True).matrix_power(3, cumulative=True)
    results = []
    for target in (graph, graph.to_torch_sparse()):
        z = torch.randn(n, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
        loss = neighbour_contrast(z, target, 0.5, block_size=(16, 24))
        results.append((loss, torch.autograd.grad(loss, z)[0]))
    assert torch.equal(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1])


def test_neighbour_contrast_errors():
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="tau"):
        neighbour_contrast(z, torch.eye(4), 0.0)
    with pytest.raises(ValueError, match="positive"):
        neighbour_contrast(z, torch.zeros(4, 4), 1.0)
    with pytest.raises(ValueError, match=r"^target must have shape"):
        neighbour_contrast(z, torch.eye(5), 1.0)


def test_neighbour_contrast_arguments_are_named_as_the_caller_wrote_them():
    z, target = torch.randn(4, 3), torch.eye(4)
    with pytest.raises(ValueError, match="tau must be a finite number > 0 .*multiplies.*got inf"):
        neighbour_contrast(z, target, math.inf)  # was "tau ... got 0.0" (its inverse)
    with pytest.raises(ValueError, match=r"tau = 1e\+300 is too large for torch.float32"):
        neighbour_contrast(z, target, 1e300)  # was about "tau = 1e-300"
    with pytest.raises(TypeError, match="tau must be a number > 0"):
        neighbour_contrast(z, target, "1.0")
    for eps in (-1.0, math.nan):  # both returned NaN
        with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
            neighbour_contrast(z, target, 1.0, eps=eps)
    with pytest.raises(ValueError, match="z contains NaN or Inf"):  # was "anchor ..."
        neighbour_contrast(torch.full((4, 3), math.nan), target, 1.0)
    with pytest.raises(TypeError, match="z must be a torch.Tensor"):
        neighbour_contrast(z.tolist(), target, 1.0)
    with pytest.raises(ValueError, match=r"^target must have shape"):
        neighbour_contrast(z, torch.eye(5), 1.0)
    with pytest.raises(ValueError, match=r"^target is on meta but z is on cpu"):
        neighbour_contrast(z, torch.eye(4, device="meta"), 1.0)
    with pytest.raises(ValueError, match="tau must be a finite number > 0"):
        NeighbourContrast(0.0)  # was accepted until the first forward
    with pytest.raises(ValueError, match="eps must be"):
        NeighbourContrast(1.0, eps=-1e-8)
    # numpy scalars are numbers too
    torch.testing.assert_close(neighbour_contrast(z, target, np.float32(2.0)),
                               neighbour_contrast(z, target, 2.0))
