"""Tests for graphcl.knn: SDCN's kNN graph construction (calcu_graph.py)."""
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from graphcl.knn import knn_graph, knn_graph_data, symmetrize

REPO = Path(__file__).resolve().parents[1]


def _mirror() -> Path:
    configured = os.environ.get("GRAPHCL_MIRROR")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


def _pairs(edge_index: torch.Tensor):
    return [tuple(p) for p in edge_index.t().tolist()]


def reference_knn(x, k, method):
    """Brute force, exact arithmetic: S per SDCN, top-(k+1) by (-S, index), drop self.

    heat ranks by the exact squared distance (S = exp(-d^2/2) is decreasing in it);
    cos uses integer overlaps; ncos exact fractions overlap / (n_i n_j).
    """
    x = np.asarray(x)
    n = len(x)
    if method == "heat":
        xf = [[Fraction(float(v)) for v in row] for row in x]
        key = [[sum((a - b) ** 2 for a, b in zip(xf[i], xf[j])) for j in range(n)] for i in range(n)]
    else:
        b = (x > 0).astype(int)
        overlap = b @ b.T
        count = b.sum(1)
        if method == "cos":
            key = [[-int(overlap[i, j]) for j in range(n)] for i in range(n)]
        else:
            key = [[-Fraction(int(overlap[i, j]), int(count[i] * count[j])) if count[i] * count[j] else 0
                    for j in range(n)] for i in range(n)]
    out = []
    for i in range(n):
        order = sorted(range(n), key=lambda j: (key[i][j], j))[: k + 1]
        out += [(i, j) for j in order if j != i]
    return out


# ---------------------------------------------------------------------------
# Exact reproduction of SDCN's shipped USPS graphs
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def usps_x():
    h5py = pytest.importorskip("h5py")
    path = _mirror() / "sdcn" / "usps" / "usps.h5"
    if not path.is_file():
        pytest.skip(f"no USPS file at {path} (set GRAPHCL_MIRROR)")
    with h5py.File(path, "r") as f:
        return np.vstack([f["train/data"][:], f["test/data"][:]])


@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_reproduces_sdcn_usps_graphs_exactly(usps_x, k):
    shipped = np.loadtxt(_mirror() / "sdcn" / "usps" / f"usps{k}_graph.txt", dtype=np.int64)
    edge_index = knn_graph(usps_x, k, "heat")
    assert edge_index.dtype == torch.long and edge_index.shape == (2, 9298 * k)
    # Same directed pairs (SDCN wrote each row's neighbours in argpartition order).
    assert set(_pairs(edge_index)) == set(map(tuple, shipped.tolist()))
    assert torch.equal(edge_index[0], torch.from_numpy(shipped[:, 0]))  # rows in order


# ---------------------------------------------------------------------------
# Hand-checkable cases
# ---------------------------------------------------------------------------

def test_heat_small_by_hand():
    # Points on a line at 0, 1, 3, 7: nearest neighbours are unambiguous.
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    assert _pairs(knn_graph(x, 1)) == [(0, 1), (1, 0), (2, 1), (3, 2)]
    assert _pairs(knn_graph(x, 2)) == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 1), (2, 0), (3, 2), (3, 1)]


def test_cos_small_by_hand():
    x = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1], [1, 0, 0]], dtype=np.float32) * 0.5
    # S = [[2,1,1,1],[1,1,0,1],[1,0,2,0],[1,1,0,1]]
    # row 1: S_10 = S_11 = S_13 = 1 -> top-2 is {0, 1}: one neighbour.
    # row 3: S_30 = S_31 = S_33 = 1 -> top-2 is {0, 1}: self pushed out, two neighbours.
    assert _pairs(knn_graph(x, 1, "cos")) == [(0, 1), (1, 0), (2, 0), (3, 0), (3, 1)]


def test_ncos_small_by_hand():
    x = np.array([[3.0, 0.2, 0, 0], [5.0, 0, 0, 0], [0, 0, 1.0, 1.0], [0, 0, 0, 0]])
    # n = [2, 1, 2, 0]; S_ij = overlap / (n_i n_j):
    # row 0: [1/2, 1/2, 0, 0]; row 1: [1/2, 1, 0, 0]; row 2: [0, 0, 1/2, 0]; row 3 (zero): all 0.
    assert _pairs(knn_graph(x, 1, "ncos")) == [(0, 1), (1, 0), (2, 0), (3, 0), (3, 1)]


def test_ties_give_k_plus_one_neighbours():
    x = np.ones((5, 3))  # all identical: every similarity ties
    # Row i keeps nodes 0, 1, 2 (lower index first); rows 3 and 4 lose their own slot.
    assert _pairs(knn_graph(x, 2)) == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1),
                                       (3, 0), (3, 1), (3, 2), (4, 0), (4, 1), (4, 2)]


def test_large_tie_groups_beyond_the_candidates():
    # 40 duplicates of one point plus 10 distinct ones: the tie group is larger than
    # the candidate set, so the exact full-row fallback must pick indices 0, 1.
    rng = np.random.default_rng(0)
    x = np.vstack([np.full((40, 4), 0.25), rng.random((10, 4)) + 2.0])
    for chunk in (3, 64):
        edges = knn_graph(x, 1, chunk_size=chunk)
        assert _pairs(edges) == reference_knn(x, 1, "heat")
        assert sum(1 for i, _ in _pairs(edges) if i < 40) == 2 + 38 * 2


def test_wide_features_use_column_blocks():
    # d = 100,000: the exact pass works in column blocks narrower than N.
    x = np.zeros((60, 100_000), dtype=np.float32)
    x[:, 0] = 1.0
    x[50:, 1] = np.arange(1, 11)
    edges = _pairs(knn_graph(x, 1))
    assert edges[:3] == [(0, 1), (1, 0), (2, 0)] and (49, 1) in edges
    assert edges[-2:] == [(58, 57), (59, 58)] and len(edges) == 2 + 48 * 2 + 10


# ---------------------------------------------------------------------------
# Against the brute-force reference
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("k", [1, 3, 6])
def test_heat_matches_reference_on_random_data(seed, k):
    x = np.random.default_rng(seed).normal(size=(40, 5)).astype(np.float32)
    x[7] = x[3]  # an exact duplicate
    assert _pairs(knn_graph(x, k, "heat")) == reference_knn(x, k, "heat")


@pytest.mark.parametrize("method", ["cos", "ncos"])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_binary_methods_match_reference_with_many_ties(method, k):
    rng = np.random.default_rng(k)
    x = rng.random((45, 6)) * (rng.random((45, 6)) < 0.4)  # sparse: many exact ties
    x[0] = 0.0  # an all-zero row
    edges = knn_graph(x, k, method, chunk_size=8)
    assert _pairs(edges) == reference_knn(x, k, method)


@pytest.mark.parametrize("method", ["heat", "cos", "ncos"])
def test_chunk_size_does_not_change_the_result(method):
    rng = np.random.default_rng(3)
    x = rng.random((70, 8)) * (rng.random((70, 8)) < 0.5)
    expected = knn_graph(x, 4, method, chunk_size=1024)
    for chunk in (1, 5, 69, 70):
        assert torch.equal(knn_graph(x, 4, method, chunk_size=chunk), expected), chunk


def test_numpy_and_torch_inputs_agree():
    x = np.random.default_rng(5).random((30, 4)).astype(np.float32)
    expected = knn_graph(x, 3)
    assert torch.equal(knn_graph(torch.from_numpy(x), 3), expected)
    assert torch.equal(knn_graph(x.astype(np.float64), 3), expected)
    assert torch.equal(knn_graph(torch.from_numpy(x).requires_grad_(), 3), expected)


def test_output_shape_and_order():
    x = np.random.default_rng(6).random((25, 3))
    edges = knn_graph(x, 4)
    assert edges.dtype == torch.long and edges.shape == (2, 100)
    assert torch.equal(edges[0], torch.arange(25).repeat_interleave(4))
    assert not (edges[0] == edges[1]).any()


def test_symmetrize_and_data():
    edges = torch.tensor([[0, 1, 2, 2], [1, 0, 0, 2]])
    assert _pairs(symmetrize(edges, 3)) == [(0, 1), (0, 2), (1, 0), (2, 0)]
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    data = knn_graph_data(x, 1, y=np.array([0, 0, 1, 1]))
    assert data.x.dtype == torch.float32 and data.y.tolist() == [0, 0, 1, 1]
    assert _pairs(data.edge_index) == [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)]


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("x,match", [
    (np.zeros(5), "2-D"),
    (np.zeros((2, 3, 4)), "2-D"),
    (np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0]]), "NaN or Inf"),
    (np.array([[0.0, 1.0], [np.inf, 0.0], [1.0, 1.0]]), "NaN or Inf"),
    (np.zeros((1, 3)), "at least 2 rows"),
])
def test_bad_x_raises_value_error(x, match):
    with pytest.raises(ValueError, match=match):
        knn_graph(x, 1)


@pytest.mark.parametrize("x", [[[0.0, 1.0], [1.0, 0.0]], np.array([["a"], ["b"]]),
                               torch.zeros(3, 2, dtype=torch.complex64)])
def test_non_array_x_raises_type_error(x):
    with pytest.raises(TypeError, match="x must be"):
        knn_graph(x, 1)


@pytest.mark.parametrize("k", [0, -1, 5, 6])
def test_k_out_of_range(k):
    with pytest.raises(ValueError, match=r"k must satisfy 1 <= k < N = 5"):
        knn_graph(np.random.rand(5, 2), k)


@pytest.mark.parametrize("k", [1.5, True, "2", None])
def test_k_not_int(k):
    with pytest.raises(TypeError, match="k must be an int"):
        knn_graph(np.random.rand(5, 2), k)


def test_bad_method_and_chunk_size():
    x = np.random.rand(5, 2)
    with pytest.raises(ValueError, match=r"method must be one of \['heat', 'cos', 'ncos'\]"):
        knn_graph(x, 1, "euclid")
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        knn_graph(x, 1, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size must be an int"):
        knn_graph(x, 1, chunk_size=2.0)
