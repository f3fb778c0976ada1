"""Tests for graphcl.datasets.sdcn.loader: load_sdcn on the SDCN / SCGC clustering datasets.

Data come from the local mirror into a temporary data root; nothing is downloaded.
"""
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
import torch
from torch_geometric.utils import is_undirected

from datasets_support import sdcn_mirror as mirror  # noqa: F401 (fixture)
from graphcl.datasets import (
    ChecksumError,
    MissingFeaturesError,
    SDCN_FILES,
    load_planetoid,
    load_sdcn,
)
from graphcl.datasets import _files

pytestmark = pytest.mark.usefixtures("fresh_verification_cache")

# name: (N, d, classes, directed edges after symmetrisation, class counts)
FACTS = {
    "usps": (9298, 256, 10, 42904, [1553, 1269, 929, 824, 852, 716, 834, 792, 708, 821]),
    "acm": (3025, 1870, 3, 26256, [1061, 965, 999]),
    "cite": (3327, 3703, 6, 9104, [264, 590, 668, 701, 596, 508]),
    "dblp": (4057, 334, 4, 7056, [1197, 745, 1109, 1006]),
    "cora": (2708, 1433, 7, 10556, [351, 217, 418, 818, 426, 298, 180]),
    "citeseer": (3327, 3703, 6, 9104, [264, 590, 668, 701, 596, 508]),
}


FEATURELESS = {
    "hhar": (10299, 561, 6, [1722, 1544, 1406, 1777, 1906, 1944]),
    "reut": (10000, 2000, 4, [4312, 2403, 2471, 814]),
}


# Symmetrised edge counts of every shipped kNN graph (lines in the file in brackets).
KNN_EDGES = {
    "usps": {1: 15162, 3: 42904, 5: 69992, 10: 137634},  # (9298 k lines)
    "hhar": {1: 15276, 3: 45442, 5: 76078, 10: 151736},  # (10299 k lines)
    "reut": {1: 18866, 3: 55734, 5: 92270, 10: 183290},  # (10032, 30006, 50000, 100000)
}


@pytest.fixture
def mirrored_root(tmp_path, monkeypatch, mirror) -> Path:
    """An empty data root filled from the mirror; downloading fails the test."""
    def refuse(url, *args, **kwargs):
        raise AssertionError(f"unexpected download of {url}")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    root = tmp_path / "data"
    monkeypatch.setenv("GRAPHCL_DATA", str(root))
    monkeypatch.setenv("GRAPHCL_MIRROR", str(mirror))
    return root


def _edge_set(edge_index: torch.Tensor):
    return set(map(tuple, edge_index.t().tolist()))


def _file_pairs(path: Path):
    pairs = np.loadtxt(path, dtype=np.int64, ndmin=2)
    edges = {(int(a), int(b)) for a, b in pairs}
    return {e for e in edges | {(b, a) for a, b in edges} if e[0] != e[1]}


def _check_graph(data, n: int, edges: int):
    ei = data.edge_index
    assert ei.dtype == torch.long and ei.shape == (2, edges)
    assert int(ei.min()) >= 0 and int(ei.max()) < n
    assert not (ei[0] == ei[1]).any()
    assert is_undirected(ei, num_nodes=n)
    # Coalesced: strictly increasing in row-major order (sorted, no duplicates).
    key = ei[0] * n + ei[1]
    assert bool((key[1:] > key[:-1]).all())


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(FACTS))
def test_dataset_loads_with_the_published_sizes(mirrored_root, name):
    n, d, classes, edges, counts = FACTS[name]
    data = load_sdcn(name)
    assert data.name == name and data.num_clusters == classes
    assert data.x.dtype == torch.float32 and data.x.shape == (n, d)
    assert bool(torch.isfinite(data.x).all())
    assert data.y.dtype == torch.long and data.y.shape == (n,)
    assert torch.bincount(data.y, minlength=classes).tolist() == counts
    _check_graph(data, n, edges)


def test_usps_recipe(mirrored_root, mirror):
    h5py = pytest.importorskip("h5py")
    data = load_sdcn("USPS")  # case-insensitive
    assert data.knn_k == 3
    with h5py.File(mirror / "sdcn/usps/usps.h5", "r") as f:
        x = np.vstack([f["train/data"][:], f["test/data"][:]])
    assert np.array_equal(data.x.numpy(), x)
    assert float(data.x.min()) >= 0.0 and float(data.x.max()) <= 1.0
    assert np.array_equal(data.y.numpy(), np.loadtxt(mirror / "sdcn/usps/usps_label.txt", dtype=np.int64))
    assert _edge_set(data.edge_index) == _file_pairs(mirror / "sdcn/usps/usps3_graph.txt")


@pytest.mark.parametrize("name", sorted(KNN_EDGES))
def test_every_knn_graph(mirrored_root, mirror, name):
    n = FACTS[name][0] if name in FACTS else FEATURELESS[name][0]
    features = None if name == "usps" else np.zeros((n, 2), dtype=np.float32)
    for k, edges in KNN_EDGES[name].items():
        data = load_sdcn(name, k=k, features=features)
        assert data.knn_k == k
        _check_graph(data, n, edges)
        if k == 1:
            assert _edge_set(data.edge_index) == _file_pairs(mirror / f"sdcn/{name}/{name}1_graph.txt")


def test_default_k(mirrored_root):
    assert load_sdcn("hhar", features=np.zeros((10299, 1))).knn_k == 5
    assert load_sdcn("reut", features=np.zeros((10000, 1))).knn_k == 3


def test_acm_recipe(mirrored_root, mirror):
    data = load_sdcn("acm")
    mat = scipy.io.loadmat(mirror / "sdcn/acm/ACM3025.mat")
    assert np.array_equal(data.x.numpy(), mat["feature"].astype(np.float32))
    assert set(np.unique(data.x.numpy())) == {0.0, 1.0}
    labels = np.loadtxt(mirror / "sdcn/acm/acm_label.txt", dtype=np.int64)
    assert np.array_equal(data.y.numpy(), labels)
    assert np.array_equal(mat["label"].argmax(1), labels)
    assert _edge_set(data.edge_index) == _file_pairs(mirror / "sdcn/acm/acm_graph.txt")
    pap = sp.coo_matrix(mat["PAP"])
    assert _edge_set(data.edge_index) == {(int(i), int(j)) for i, j in zip(pap.row, pap.col) if i != j}


def test_cite_recipe(mirrored_root, mirror):
    data = load_sdcn("cite")
    planetoid = load_planetoid("citeseer")
    assert torch.equal(data.x, planetoid.x)
    assert torch.equal(data.y, planetoid.y)
    cite_labels = np.loadtxt(mirror / "sdcn/cite/cite_label.txt", dtype=np.int64)
    assert cite_labels.min() == 1 and np.array_equal(data.y.numpy(), cite_labels - 1)
    assert _edge_set(data.edge_index) == _file_pairs(mirror / "sdcn/cite/cite_graph.txt")
    assert _edge_set(data.edge_index) == _edge_set(planetoid.edge_index)
    assert torch.equal(load_sdcn("citeseer").edge_index, data.edge_index)


def test_dblp_option_b(mirrored_root, mirror):
    data = load_sdcn("dblp")
    labels = np.load(mirror / "heco/dblp/labels.npy")
    assert np.array_equal(data.y.numpy(), labels)
    assert np.array_equal(data.x.numpy(), sp.load_npz(mirror / "heco/dblp/a_feat.npz").toarray())
    apa = sp.load_npz(mirror / "heco/dblp/apa.npz").tocoo()
    assert apa.diagonal().all()  # the file has a full diagonal; the loader drops it
    assert _edge_set(data.edge_index) == {(int(i), int(j)) for i, j in zip(apa.row, apa.col) if i != j}
    # Same edge count and isolated-node count as SDCN's own (differently ordered) graph.
    sdcn_graph = _file_pairs(mirror / "sdcn/dblp/dblp_graph.txt")
    assert len(sdcn_graph) == data.edge_index.size(1) == 7056
    degree = torch.bincount(data.edge_index[0], minlength=4057)
    assert int((degree == 0).sum()) == 4057 - len({i for i, _ in sdcn_graph}) == 1466


# ---------------------------------------------------------------------------
# hhar / reut features
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,where", [("hhar", "UCI HAR"), ("reut", "reutersidf10k")])
def test_missing_features_raise_a_clear_error(mirrored_root, name, where):
    n, d, _, _ = FEATURELESS[name]
    with pytest.raises(MissingFeaturesError) as error:
        load_sdcn(name)
    assert isinstance(error.value, ValueError)
    message = str(error.value)
    assert where in message and "features=" in message and f"({n}, {d})" in message
    assert f"{n}x{d}" in message and ".npy" in message


@pytest.mark.parametrize("name", sorted(FEATURELESS))
def test_features_of_the_right_size_load(mirrored_root, mirror, name):
    n, d, classes, counts = FEATURELESS[name]
    x = np.random.default_rng(0).random((n, d), dtype=np.float32)
    data = load_sdcn(name, features=x)
    assert data.name == name and data.num_clusters == classes
    assert data.x.dtype == torch.float32 and np.array_equal(data.x.numpy(), x)
    assert torch.bincount(data.y).tolist() == counts
    labels = np.loadtxt(mirror / f"sdcn/{name}/{name}_label.txt", dtype=np.int64)
    assert np.array_equal(data.y.numpy(), labels - labels.min())  # hhar is 1-based on disk
    _check_graph(data, n, KNN_EDGES[name][data.knn_k])
    assert torch.equal(load_sdcn(name, features=torch.from_numpy(x)).x, data.x)


def test_features_from_files(mirrored_root, tmp_path):
    x = np.random.default_rng(1).random((10000, 3)).astype(np.float32)
    np.save(tmp_path / "reut.npy", x)
    np.savetxt(tmp_path / "reut.txt", x, fmt="%.6f")
    assert np.array_equal(load_sdcn("reut", features=tmp_path / "reut.npy").x.numpy(), x)
    from_txt = load_sdcn("reut", features=str(tmp_path / "reut.txt")).x.numpy()
    assert np.allclose(from_txt, x, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="features"):
        load_sdcn("reut", features=tmp_path / "missing.npy")


@pytest.mark.parametrize("bad,match", [
    (np.zeros((10298, 561)), r"features has 10298 rows, but hhar has 10299 nodes"),
    (np.zeros((10300, 561)), r"features has 10300 rows"),
    (np.zeros(10299), r"features must be 2-D"),
    (np.full((10299, 2), np.nan), r"features contains NaN or Inf"),
    (np.array([["a"]] * 10299), r"features must be real numbers"),
])
def test_bad_features_raise(mirrored_root, bad, match):
    with pytest.raises(ValueError, match=match):
        load_sdcn("hhar", features=bad)


def test_wrong_rows_from_a_file_name_the_file(mirrored_root, tmp_path):
    np.save(tmp_path / "hhar.npy", np.zeros((100, 561)))
    with pytest.raises(ValueError, match=r"features \(.*hhar\.npy\) has 100 rows"):
        load_sdcn("hhar", features=tmp_path / "hhar.npy")


# ---------------------------------------------------------------------------
# Argument errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    ({"name": "mnist"}, "unknown SDCN dataset"),
    ({"name": None}, "unknown SDCN dataset"),
    ({"name": "usps", "k": 2}, r"k must be one of \[1, 3, 5, 10\]"),
    ({"name": "usps", "k": "3"}, r"k must be one of"),
    ({"name": "usps", "k": True}, r"k must be one of"),
    ({"name": "acm", "k": 3}, "k applies only to the kNN datasets"),
    ({"name": "usps", "features": np.zeros((9298, 256))}, "features= is only for hhar and reut"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_sdcn(root=tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())  # nothing fetched


def test_missing_h5py_says_how_to_install(mirrored_root, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` raise ImportError
    with pytest.raises(ImportError, match="pip install h5py"):
        load_sdcn("usps")


# ---------------------------------------------------------------------------
# Corrupt files
# ---------------------------------------------------------------------------

def _flip_byte(path: Path, offset: int) -> None:
    payload = bytearray(path.read_bytes())
    payload[offset] ^= 0x01
    path.write_bytes(bytes(payload))


@pytest.mark.parametrize("name,rel,kwargs", [
    ("usps", "sdcn/usps/usps3_graph.txt", {}),
    ("usps", "sdcn/usps/usps.h5", {}),
    ("acm", "sdcn/acm/ACM3025.mat", {}),
    ("cite", "sdcn/cite/cite_label.txt", {}),
    ("dblp", "heco/dblp/apa.npz", {}),
    ("hhar", "sdcn/hhar/hhar5_graph.txt", {"features": np.zeros((10299, 1))}),
])
def test_corrupted_copy_raises_checksum_error(mirrored_root, mirror, name, rel, kwargs):
    load_sdcn(name, **kwargs)  # installs the verified files into the data root
    path = mirrored_root / rel
    _flip_byte(path, path.stat().st_size // 2)
    _files._reset_verification_cache()
    with pytest.raises(ChecksumError) as error:
        load_sdcn(name, **kwargs)
    message = str(error.value)
    sha256 = next(table[rel][0] for table in SDCN_FILES.values() if rel in table)
    assert str(path) in message and sha256 in message


def test_truncated_graph_raises_checksum_error(mirrored_root):
    load_sdcn("acm")
    path = mirrored_root / "sdcn/acm/acm_graph.txt"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: len(lines) // 2]))  # whole lines: still parses
    with pytest.raises(ChecksumError, match="acm_graph.txt"):
        load_sdcn("acm")
