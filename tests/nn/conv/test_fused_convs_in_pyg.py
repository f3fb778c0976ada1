"""The fused convolutions inside PyG's machinery: to_hetero, HeteroConv and
NodeLoader/NeighborLoader mini-batches (equal to PyG's layers there), and on
every adjacency form the converter accepts."""
import warnings

import pytest
import torch
import torch_geometric.typing
from torch_geometric import EdgeIndex
from torch_geometric.data import Data, HeteroData
from torch_geometric.loader import NeighborLoader, NodeLoader
from torch_geometric.nn import GATConv, GCNConv, HeteroConv, to_hetero
from torch_geometric.sampler import BaseSampler, SamplerOutput
from torch_geometric.utils import k_hop_subgraph

from graphcl import SparseGraph
from graphcl.nn.conv import FusedGATConv, FusedGCNConv

TOL = dict(rtol=1e-5, atol=1e-6)
CITES, WRITES, WRITTEN_BY = ("paper", "cites", "paper"), ("author", "writes", "paper"), \
    ("paper", "written_by", "author")


def hetero_data() -> HeteroData:
    """2 node types, 3 edge types (one square, two bipartite)."""
    g = torch.Generator().manual_seed(0)
    data = HeteroData()
    data["paper"].x = torch.randn(10, 6, generator=g)
    data["author"].x = torch.randn(7, 4, generator=g)
    data[CITES].edge_index = torch.randint(0, 10, (2, 25), generator=g)
    writes = torch.stack([torch.randint(0, 7, (18,), generator=g),
                          torch.randint(0, 10, (18,), generator=g)])
    data[WRITES].edge_index = writes
    data[WRITTEN_BY].edge_index = writes.flip(0)
    return data


class TwoLayers(torch.nn.Module):
    def __init__(self, conv, **kwargs):
        super().__init__()
        self.conv1 = conv((-1, -1), 8, **kwargs)
        self.conv2 = conv((-1, -1), 3, **kwargs)

    def forward(self, x, edge_index):
        return self.conv2(self.conv1(x, edge_index).relu(), edge_index)


def test_to_hetero_gat_equals_pyg(backend):
    data = hetero_data()
    ref = to_hetero(TwoLayers(GATConv, heads=2, add_self_loops=False), data.metadata())
    ours = to_hetero(TwoLayers(FusedGATConv, heads=2, add_self_loops=False), data.metadata())
    expected = ref(data.x_dict, data.edge_index_dict)  # initialises the lazy weights
    ours(data.x_dict, data.edge_index_dict)
    ours.load_state_dict(ref.state_dict())
    out = ours(data.x_dict, data.edge_index_dict)
    assert set(out) == {"paper", "author"}
    for node_type in out:
        torch.testing.assert_close(out[node_type], expected[node_type], **TOL)


def dense_sym(edge_index, num_src, num_dst):
    a = torch.zeros(num_dst, num_src).index_put_((edge_index[1], edge_index[0]),
                                                 torch.ones(edge_index.size(1)), accumulate=True)
    d_in, d_out = a.sum(1), a.sum(0)
    d_in, d_out = torch.where(d_in > 0, d_in, 1), torch.where(d_out > 0, d_out, 1)
    return a / (d_in[:, None] * d_out[None, :]).sqrt()


def test_to_hetero_gcn(backend):
    """Square edge types equal PyG's GCNConv, bipartite ones the
    D_dst^-1/2 A D_src^-1/2 reference; to_hetero sums them per target type."""
    class OneLayer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = FusedGCNConv(-1, 5, add_self_loops=False)

        def forward(self, x, edge_index):
            return self.conv(x, edge_index)
    data = hetero_data()
    model = to_hetero(OneLayer(), data.metadata())
    out = model(data.x_dict, data.edge_index_dict)
    convs = model.conv
    cites = GCNConv(6, 5, add_self_loops=False)
    cites.load_state_dict(convs["paper__cites__paper"].state_dict())
    writes, written_by = convs["author__writes__paper"], convs["paper__written_by__author"]
    x_paper, x_author = data["paper"].x, data["author"].x
    expected_paper = cites(x_paper, data[CITES].edge_index) + \
        dense_sym(data[WRITES].edge_index, 7, 10) @ writes.lin(x_author) + writes.bias
    expected_author = dense_sym(data[WRITTEN_BY].edge_index, 10, 7) @ written_by.lin(x_paper) \
        + written_by.bias
    torch.testing.assert_close(out["paper"], expected_paper, **TOL)
    torch.testing.assert_close(out["author"], expected_author, **TOL)


def test_hetero_conv_equals_pyg(backend):
    data = hetero_data()

    def layer(gcn, gat):
        return HeteroConv({CITES: gcn(-1, 8),
                           WRITES: gat((-1, -1), 8, heads=2, concat=False, add_self_loops=False),
                           WRITTEN_BY: gat((-1, -1), 8, add_self_loops=False)}, aggr="sum")
    ref, ours = layer(GCNConv, GATConv), layer(FusedGCNConv, FusedGATConv)
    expected = ref(data.x_dict, data.edge_index_dict)
    ours(data.x_dict, data.edge_index_dict)
    ours.load_state_dict(ref.state_dict())
    out = ours(data.x_dict, data.edge_index_dict)
    for node_type in ("paper", "author"):
        torch.testing.assert_close(out[node_type], expected[node_type], **TOL)


# ------------------------------------------------------------- mini-batches
def homogeneous_data(num_nodes=40) -> Data:
    g = torch.Generator().manual_seed(1)
    edge_index = torch.randint(0, num_nodes, (2, 160), generator=g)
    return Data(x=torch.randn(num_nodes, 6, generator=g), edge_index=edge_index,
                edge_weight=torch.rand(160, generator=g) + 0.1)


class FullNeighbourhood(BaseSampler):
    """All nodes within ``hops`` of the seeds, seeds first: NeighborLoader's
    batch layout without pyg-lib (whose sampler is not installed here)."""

    def __init__(self, data: Data, hops: int):
        self.edge_index, self.num_nodes, self.hops = data.edge_index, data.num_nodes, hops

    def sample_from_nodes(self, inputs, **kwargs) -> SamplerOutput:
        seeds = inputs.node
        subset, _, _, edge_mask = k_hop_subgraph(seeds, self.hops, self.edge_index,
                                                 num_nodes=self.num_nodes)
        node = torch.cat([seeds, subset[~torch.isin(subset, seeds)]])
        local = torch.full((self.num_nodes,), -1, dtype=torch.long)
        local[node] = torch.arange(node.numel())
        edge = edge_mask.nonzero().view(-1)
        return SamplerOutput(node=node, row=local[self.edge_index[0, edge]],
                             col=local[self.edge_index[1, edge]], edge=edge,
                             metadata=(inputs.input_id, inputs.time))

    def sample_from_edges(self, inputs, neg_sampling=None):
        raise NotImplementedError("node-level batches only")


class Stack(torch.nn.Module):
    def __init__(self, gcn, gat):
        super().__init__()
        self.gcn, self.gat = gcn(6, 8), gat(8, 4, heads=2)

    def forward(self, x, edge_index, edge_weight):
        return self.gat(self.gcn(x, edge_index, edge_weight).relu(), edge_index)


def models():
    torch.manual_seed(0)
    ref = Stack(GCNConv, GATConv)
    ours = Stack(FusedGCNConv, FusedGATConv)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def check_batches(loader, ref, ours, full):
    seen = 0
    for batch in loader:
        args = (batch.x, batch.edge_index, batch.edge_weight)
        out = ours(*args)
        torch.testing.assert_close(out, ref(*args), **TOL)
        seen += batch.batch_size
        if full is not None:  # a whole neighbourhood: the seeds' full-graph output
            torch.testing.assert_close(out[:batch.batch_size], full[batch.n_id[:batch.batch_size]],
                                       **TOL)
    return seen


def test_node_loader_mini_batches_equal_pyg(backend):
    data = homogeneous_data()
    ref, ours = models()
    full = ours(data.x, data.edge_index, data.edge_weight)
    torch.testing.assert_close(full, ref(data.x, data.edge_index, data.edge_weight), **TOL)
    # 3 hops: layer 1's GCN normalisation at the 1-hop nodes reads the degrees
    # of the 2-hop nodes, which count edges from the 3rd hop
    loader = NodeLoader(data, node_sampler=FullNeighbourhood(data, hops=3), batch_size=16)
    assert check_batches(loader, ref, ours, full) == data.num_nodes


@pytest.mark.skipif(not (torch_geometric.typing.WITH_PYG_LIB
                         or torch_geometric.typing.WITH_TORCH_SPARSE),
                    reason="NeighborLoader's sampler needs pyg-lib or torch-sparse")
def test_neighbor_loader_mini_batches_equal_pyg(backend):
    data = homogeneous_data()
    ref, ours = models()
    loader = NeighborLoader(data, num_neighbors=[4, 3], batch_size=16, shuffle=True)
    assert check_batches(loader, ref, ours, None) == data.num_nodes


# ------------------------------------------------------------ input forms
def adjacency_forms(edge_index, weight, n):
    coo = torch.sparse_coo_tensor(edge_index.flip(0), weight, (n, n)).coalesce()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        csr = coo.to_sparse_csr()
    return {"edge_index + edge_weight": (edge_index, weight),
            "EdgeIndex + edge_weight": (EdgeIndex(edge_index, sparse_size=(n, n)), weight),
            "torch COO": (coo, None), "torch CSR": (csr, None),
            "SparseGraph": (SparseGraph.from_edge_index(edge_index, weight, num_nodes=n), None)}


@pytest.mark.parametrize("conv", [FusedGCNConv, FusedGATConv])
def test_every_input_form_gives_the_same_output(backend, conv):
    data = homogeneous_data()
    edge_index = torch.unique(data.edge_index, dim=1)  # COO would sum duplicates
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]  # and GAT drops loops
    weight = torch.rand(edge_index.size(1)) + 0.1
    layer = conv(6, 4)
    weighted = conv is FusedGCNConv  # GAT reads no edge weights
    expected = layer(data.x, edge_index, weight) if weighted else layer(data.x, edge_index)
    for name, (adj, w) in adjacency_forms(edge_index, weight, data.num_nodes).items():
        out = layer(data.x, adj, w) if weighted and w is not None else layer(data.x, adj)
        torch.testing.assert_close(out, expected, **TOL, msg=name)
    if weighted:  # the unweighted edge_index differs: the weights were used
        assert not torch.allclose(layer(data.x, edge_index), expected)
