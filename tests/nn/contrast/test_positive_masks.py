"""Every loss takes its positive mask as a dense tensor, a sparse COO/CSR
tensor or a graphcl SparseGraph (rows = anchors, columns = samples,
edge_weight = the weights) and gives the same values and gradients."""
import pytest
import torch

from graphcl import SparseGraph
from graphcl.nn import cross_view_infonce, multi_positive_infonce

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta state")]


def weighted_mask(n, m, g):
    """Weights in [0.5, 1.5) on ~30% of the entries, one positive per row."""
    keep = torch.rand(n, m, generator=g) < 0.3
    keep[torch.arange(n), torch.arange(n) % m] = True
    return (torch.rand(n, m, generator=g, dtype=torch.float64) + 0.5) * keep


def as_graph(dense, weighted=True):
    """The mask as a SparseGraph: edge (col -> row), i.e. row = anchor."""
    rows, cols = dense.nonzero().t()
    weight = dense[rows, cols] if weighted else None
    return SparseGraph.from_edge_index(torch.stack([cols, rows]), weight,
                                       num_src_nodes=dense.size(1), num_dst_nodes=dense.size(0))


def masks(dense):
    return {"dense": dense, "coo": dense.to_sparse(), "csr": dense.to_sparse_csr(),
            "graph": as_graph(dense)}


def grads_of(fn, *inputs):
    inputs = [x.detach().clone().requires_grad_() for x in inputs]
    out = fn(*inputs)
    return out.detach(), torch.autograd.grad(out, inputs)


@pytest.mark.parametrize("n,m,block", [(17, 17, 5), (13, 21, (4, 6)), (9, 30, 64)])
def test_multi_positive_infonce_same_for_every_mask(n, m, block):
    g = torch.Generator().manual_seed(n)
    a = torch.randn(n, 6, generator=g, dtype=torch.float64)
    s = torch.randn(m, 6, generator=g, dtype=torch.float64)
    dense = weighted_mask(n, m, g)
    results = {name: grads_of(lambda x, y: multi_positive_infonce(x, y, mask, 0.4,
                                                                  block_size=block), a, s)
               for name, mask in masks(dense).items()}
    for name, (value, grads) in results.items():
        torch.testing.assert_close(value, results["dense"][0], msg=name)
        torch.testing.assert_close(grads, results["dense"][1], msg=name)


@pytest.mark.parametrize("tau", [0.03, 0.5])  # the two-call and the fused path
def test_cross_view_infonce_same_for_every_mask(tau):
    g = torch.Generator().manual_seed(2)
    z1 = torch.randn(19, 5, generator=g, dtype=torch.float64)
    z2 = torch.randn(19, 5, generator=g, dtype=torch.float64)
    dense = weighted_mask(19, 19, g)

    def both(mask):
        return lambda x, y: torch.stack(cross_view_infonce(x, y, mask, tau, block_size=6)).sum(1)

    results = {name: grads_of(lambda x, y: both(mask)(x, y) @ torch.tensor([0.3, 0.7],
                                                                           dtype=torch.float64),
                              z1, z2)
               for name, mask in masks(dense).items()}
    for name, (value, grads) in results.items():
        torch.testing.assert_close(value, results["dense"][0], msg=name)
        torch.testing.assert_close(grads, results["dense"][1], msg=name)


def test_graph_without_edge_weight_is_a_unit_mask_and_gradchecks():
    g = torch.Generator().manual_seed(5)
    a = torch.randn(8, 3, generator=g, dtype=torch.float64, requires_grad=True)
    s = torch.randn(11, 3, generator=g, dtype=torch.float64, requires_grad=True)
    dense = (weighted_mask(8, 11, g) > 0).double()
    graph = as_graph(dense, weighted=False)
    torch.testing.assert_close(multi_positive_infonce(a, s, graph, 0.5),
                               multi_positive_infonce(a, s, dense, 0.5))
    assert torch.autograd.gradcheck(
        lambda x, y: multi_positive_infonce(x, y, graph, 0.5, block_size=(3, 4)), (a, s))


def test_graph_duplicate_edges_are_summed_and_zero_weights_are_not_positives():
    g = torch.Generator().manual_seed(6)
    a = torch.randn(4, 3, generator=g, dtype=torch.float64)
    s = torch.randn(4, 3, generator=g, dtype=torch.float64)
    # edges (col -> row): (0 -> 0) twice with 0.5 each, (1 -> 1), (2 -> 2), (3 -> 3), (1 -> 0) weight 0
    edge_index = torch.tensor([[0, 0, 1, 2, 3, 1], [0, 0, 1, 2, 3, 0]])
    weight = torch.tensor([0.5, 0.5, 1.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    graph = SparseGraph.from_edge_index(edge_index, weight, num_nodes=4)
    expected = multi_positive_infonce(a, s, torch.eye(4, dtype=torch.float64), 0.5)
    torch.testing.assert_close(multi_positive_infonce(a, s, graph, 0.5), expected)


def test_bad_graph_masks_name_the_argument():
    a, s = torch.randn(4, 3), torch.randn(5, 3)
    eye = torch.eye(4, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"pos_mask must have shape \[N, M\] = \[4, 5\] .*got "
                                         r"\[4, 4\]"):
        multi_positive_infonce(a, s, as_graph(torch.eye(4)), 0.5)
    with pytest.raises(ValueError, match="pos_mask's edge_weight has negative entries"):
        multi_positive_infonce(a, s, as_graph(eye).with_edge_weight(-torch.ones(4)), 0.5)
    missing = eye.clone()
    missing[2, 2] = 0
    with pytest.raises(ValueError, match=r"pos_mask has 1 row\(s\) without any positive entry "
                                         r"\(first: row 2\)"):
        multi_positive_infonce(a, s, as_graph(missing), 0.5)
    with pytest.raises(ValueError, match="pos_mask is on meta but anchor is on cpu"):
        multi_positive_infonce(a, s, as_graph(eye).to("meta"), 0.5)
    with pytest.raises(TypeError, match="or a graphcl SparseGraph, got list"):
        multi_positive_infonce(a, s, eye.tolist(), 0.5)
