"""graphcl.nn.DenseGraphPropagation against a dense plain-PyTorch formula,
gradcheck, and the reference's §6 checks (uniform initial weights; on a chain
the descendant phase pulls from descendants, the ancestor phase from ancestors)."""
import pytest
import torch
import torch.nn.functional as F

from graphcl import ops
from graphcl.graph.hierarchy import ancestor_distance_groups
from graphcl.methods.dgp import DGP
from graphcl.nn import DenseGraphPropagation

# A small DAG: a tree over 12 nodes plus two second parents.
EDGES = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 7, 11],
                      [0, 0, 1, 1, 2, 3, 3, 5, 6, 9, 10, 5, 4]])


def dense_reference(layer, x, groups, direction):
    support = x @ layer.weight + layer.bias
    alpha = torch.softmax(layer.att, 0)
    return sum(a * g.to_dense(x.dtype) @ support for a, g in zip(alpha, groups.graphs(direction)))


@pytest.mark.parametrize("sizes", [(3, 9), (9, 3)])  # propagate first / transform first
@pytest.mark.parametrize("direction", ["ancestors", "descendants"])
def test_matches_dense_formula(sizes, direction):
    torch.manual_seed(0)
    groups = ancestor_distance_groups(EDGES, 12, max_distance=2)
    layer = DenseGraphPropagation(*sizes, num_groups=3, dropout=0.0).double()
    with torch.no_grad():
        layer.att.copy_(torch.randn(3))
        layer.bias.copy_(torch.randn(sizes[1]))
    x = torch.randn(12, sizes[0], dtype=torch.float64)
    graph, group = groups.stacked(direction)
    out = layer(x, graph, group)
    assert torch.allclose(out, dense_reference(layer, x, groups, direction))


def test_gradcheck_every_parameter():
    torch.manual_seed(1)
    groups = ancestor_distance_groups(EDGES, 12, max_distance=2)
    graph, group = groups.stacked("ancestors")
    layer = DenseGraphPropagation(2, 5, num_groups=3, dropout=0.0).double()
    x = torch.randn(12, 2, dtype=torch.float64, requires_grad=True)

    def f(x, w, b, a):
        with torch.no_grad():
            layer.weight.copy_(w), layer.bias.copy_(b), layer.att.copy_(a)
        return dense_reference(layer, x, groups, "ancestors")

    out = layer(x, graph, group)
    grads = torch.autograd.grad(out.pow(2).sum(), [x, layer.weight, layer.bias, layer.att])
    ref_params = [p.detach().clone().requires_grad_() for p in (layer.weight, layer.bias, layer.att)]
    support = x @ ref_params[0] + ref_params[1]
    ref = sum(a * g.to_dense(torch.float64) @ support
              for a, g in zip(torch.softmax(ref_params[2], 0), groups.graphs("ancestors")))
    ref_grads = torch.autograd.grad(ref.pow(2).sum(), [x, *ref_params])
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r)
    assert torch.autograd.gradcheck(lambda x: layer(x, graph, group), (x,))


def test_initial_weights_are_uniform_and_chain_directions():
    layer = DenseGraphPropagation(1, 1, num_groups=5)
    assert torch.allclose(layer.group_weights(), torch.full((5,), 0.2))
    # Chain 0 -> 1 -> 2 -> 3 (child -> parent): 3 is the root.
    groups = ancestor_distance_groups(torch.tensor([[0, 1, 2], [1, 2, 3]]), 4, max_distance=4)
    layer = DenseGraphPropagation(4, 4, num_groups=5, dropout=0.0, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(4))
    x = torch.eye(4)
    down = layer(x, *groups.stacked("descendants"))   # layer 1: from descendants
    up = layer(x, *groups.stacked("ancestors"))       # layer 2: from ancestors
    # Leaf 0 has no descendants: it only keeps itself (weight 0.2); the root
    # gathers every node, 0.2 per distance.
    assert torch.allclose(down[0], torch.tensor([0.2, 0, 0, 0]))
    assert torch.allclose(down[3], torch.full((4,), 0.2))
    assert torch.allclose(up[3], torch.tensor([0, 0, 0, 0.2]))
    assert torch.allclose(up[0], torch.full((4,), 0.2))
    assert torch.allclose(up[1], torch.tensor([0, 0.2, 0.2, 0.2]))


def test_without_distance_weights_is_plain_propagation():
    groups = ancestor_distance_groups(EDGES, 12)
    graph = groups.merged("ancestors")
    layer = DenseGraphPropagation(3, 4, distance_weights=False, dropout=0.0)
    assert layer.att is None and layer.group_weights() is None
    x = torch.randn(12, 3)
    assert torch.allclose(layer(x, graph), graph.to_dense() @ (x @ layer.weight + layer.bias),
                          atol=1e-6)


def previous_forward(self, x, graph, group=None):
    """The layer before the bias was folded into one product with [W; b]:
    Â[X, 1] then h[:, :-1] @ W + h[:, -1:] * b (the wide-output branch)."""
    weight = graph.edge_weight_as(x.dtype) * self.group_weights().to(x.dtype)[group]
    x = F.dropout(x, self.dropout, self.training)
    if x.size(1) + 1 < self.weight.size(1):
        h = ops.spmm(graph, torch.cat([x, torch.ones(x.size(0), 1, dtype=x.dtype)], 1), weight)
        return h[:, :-1] @ self.weight + h[:, -1:] * self.bias
    return ops.spmm(graph, x @ self.weight + self.bias, weight)


def train_dgp_predictions(dtype, epochs=30):
    groups = ancestor_distance_groups(EDGES, 12, max_distance=2)
    down, up = groups.stacked("descendants"), groups.stacked("ancestors")
    torch.manual_seed(0)
    x, target = torch.randn(12, 3, dtype=dtype), torch.randn(5, 4, dtype=dtype)
    model = DGP(3, 9, 4, num_groups=3).to(dtype)   # 3 -> 9: the folded branch runs
    optimizer = torch.optim.Adam(model.parameters(), 1e-2, weight_decay=5e-4)
    for _ in range(epochs):                          # training mode: dropout masks drawn
        loss = ((model(x, down, up)[:5] - target) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        return model(x, down, up)


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_trained_predictions_equal_the_previous_path(monkeypatch, dtype, atol):
    new = train_dgp_predictions(dtype)
    monkeypatch.setattr(DenseGraphPropagation, "forward", previous_forward)
    old = train_dgp_predictions(dtype)
    assert not torch.equal(old, torch.zeros_like(old))
    assert torch.allclose(new, old, atol=atol, rtol=0)


def test_bad_input():
    groups = ancestor_distance_groups(EDGES, 12)
    graph, group = groups.stacked()
    layer = DenseGraphPropagation(3, 4)
    with pytest.raises(ValueError, match="group"):
        layer(torch.randn(12, 3), graph, group[:-1])
    with pytest.raises(TypeError, match="graph"):
        layer(torch.randn(12, 3), EDGES, group)
    with pytest.raises(ValueError, match="dropout"):
        DenseGraphPropagation(3, 4, dropout=1.0)
