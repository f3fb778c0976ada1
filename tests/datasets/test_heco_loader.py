"""Tests for graphcl.datasets.heco.loader: load_heco and HeCoDataset on ACM, DBLP and
AMiner (counts, layout, an independent reading, verification before parsing).

Data come from the local mirror (../shared/data/heco, or $GRAPHCL_MIRROR) into a
temporary data root; nothing is downloaded. Each real dataset is loaded once
per test session (datasets_support.load_heco_once).
"""
import os
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from datasets_support import csr, sha256_hex
from datasets_support import heco, module_env, no_network  # noqa: F401 (fixture)
from datasets_support import heco_mirror as mirror  # noqa: F401 (fixture)
from graphcl.datasets import ChecksumError
from graphcl.datasets.heco import HECO_SPECS, HeCoDataset, load_heco

PROVIDED = ["acm", "dblp", "aminer"]


# Facts from ../shared/data/SOURCES.md.
NODES = {
    "acm": {"paper": 4019, "author": 7167, "subject": 60},
    "dblp": {"author": 4057, "paper": 14328, "term": 7723, "conference": 20},
    "aminer": {"paper": 6564, "author": 13329, "reference": 35890},
}


METAPATH_NNZ = {
    "acm": {"pap": 57853, "psp": 4338213},
    "dblp": {"apa": 11113, "apcpa": 5000495, "aptpa": 7043571},
    "aminer": {"pap": 21976, "prp": 129824},
}


CLASS_COUNTS = {"acm": [1993, 965, 1061], "dblp": [1197, 745, 1109, 1006],
                "aminer": [1333, 1114, 526, 3591]}


POS_NNZ = {"acm": 20053, "dblp": 4046685, "aminer": 67730}


# Schema edges = lines of the target-to-neighbour relation list.
SCHEMA_EDGES = {"acm": {"author": 13407, "subject": 4019}, "dblp": {"paper": 19645},
                "aminer": {"author": 18007, "reference": 58831}}


FEATURES = {"acm": ("paper", 1902, 340377), "dblp": ("author", 334, 48810)}


# ---------------------------------------------------------------------------
# Provided datasets: counts and structure
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", PROVIDED)
def test_counts_and_layout(heco, name):
    data = heco(name)
    spec = HECO_SPECS[name]
    target = spec.target
    assert data.name == name and data.target_type == target
    assert data.node_types == list(NODES[name])  # reference order, target first
    assert {t: data[t].num_nodes for t in data.node_types} == NODES[name]
    assert data.metapaths == list(METAPATH_NNZ[name])
    assert data.schema_types == list(SCHEMA_EDGES[name])
    assert data.num_classes == len(CLASS_COUNTS[name])
    with warnings.catch_warnings():
        # DBLP's term and conference nodes only enter through APTPA and APCPA,
        # so they have no edge type of their own; PyG warns about that.
        warnings.filterwarnings("ignore", message="The node types .* are isolated")
        data.validate(raise_on_error=True)  # every edge id within its node type

    n = NODES[name][target]
    for m, nnz in METAPATH_NNZ[name].items():
        ei = data[target, m, target].edge_index
        assert ei.dtype == torch.int64 and tuple(ei.shape) == (2, nnz), m
        adj = csr(ei, n)
        assert adj.nnz == nnz, f"{m} has duplicate edges"
        assert (adj != adj.T).nnz == 0, f"{m} is not symmetric"
        assert adj.diagonal().all(), f"{m} lacks diagonal entries"

    for t, edges in SCHEMA_EDGES[name].items():
        ei = data[t, "schema", target].edge_index
        assert ei.dtype == torch.int64 and tuple(ei.shape) == (2, edges)
        assert (torch.diff(ei[1]) >= 0).all()  # grouped by target node
        assert torch.bincount(ei[1], minlength=n).min() >= 1  # every node has a neighbour

    for t in data.node_types:
        used = t == target or t in data.schema_types
        if name in FEATURES and FEATURES[name][0] == t:
            _, dim, nnz = FEATURES[name]
            assert data[t].x.dtype == torch.float32 and tuple(data[t].x.shape) == (data[t].num_nodes, dim)
            assert int((data[t].x != 0).sum()) == nnz
            assert data[t].one_hot is False
        else:
            assert "x" not in data[t]  # never a dense identity
            assert data[t].one_hot is used

    y = data[target].y
    assert y.dtype == torch.int64 and y.shape == (n,)
    assert torch.bincount(y).tolist() == CLASS_COUNTS[name]
    classes = len(CLASS_COUNTS[name])
    splits = {}
    for r in (20, 40, 60):
        train, val, test = (data[target][f"{k}_idx_{r}"] for k in ("train", "val", "test"))
        for idx in (train, val, test):
            assert idx.dtype == torch.int64 and idx.unique().numel() == idx.numel()
        assert torch.bincount(y[train], minlength=classes).tolist() == [r] * classes
        assert val.numel() == 1000 and test.numel() == 1000
        sets = [set(train.tolist()), set(val.tolist()), set(test.tolist())]
        assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
        splits[r] = sets
    # val and test differ between ratios
    assert splits[20][1] != splits[40][1] and splits[40][2] != splits[60][2]

    pos = data[target].positive_index
    assert pos.dtype == torch.int64 and tuple(pos.shape) == (2, POS_NNZ[name])
    assert "pos" not in data[target]  # PyG reserves `pos` for coordinates


def _raw(mirror, name, file, allow_pickle=False):
    path = mirror / "heco" / name / file
    assert sha256_hex(path.read_bytes()) == HECO_SPECS[name].files[file]
    if file.endswith(".npz") and file != "t_feat.npz":
        return sp.load_npz(path)
    return np.load(path, allow_pickle=allow_pickle)


@pytest.mark.parametrize("name", ["acm", "aminer"])
def test_loader_matches_an_independent_reading(heco, mirror, name):
    data = heco(name)
    spec = HECO_SPECS[name]
    target = spec.target
    if name == "acm":
        assert np.array_equal(data["paper"].x.numpy(), _raw(mirror, name, "p_feat.npz").toarray().astype(np.float32))
    assert np.array_equal(data[target].y.numpy(), _raw(mirror, name, "labels.npy").astype(np.int64))
    pos = _raw(mirror, name, "pos.npz").tocoo()
    assert set(zip(pos.row.tolist(), pos.col.tolist())) == set(map(tuple, data[target].positive_index.t().tolist()))
    for t in spec.schema_types:
        nei = _raw(mirror, name, f"nei_{spec.letters[t]}.npy", allow_pickle=True)
        expected = [(int(j), i) for i, row in enumerate(nei) for j in np.asarray(row).reshape(-1)]
        assert data[t, "schema", target].edge_index.t().tolist() == [list(e) for e in expected]
    for r in (20, 60):
        assert np.array_equal(data[target][f"test_idx_{r}"].numpy(), _raw(mirror, name, f"test_{r}.npy"))


def test_case_insensitive_and_dataset_class(heco):
    ds = HeCoDataset("ACM")
    assert len(ds) == 1 and ds.name == "acm" and repr(ds) == "HeCoDataset('acm')"
    assert ds[0] is ds.get() is ds.data
    assert ds.target_type == "paper" and ds.metapaths == ["pap", "psp"] and ds.num_classes == 3
    assert torch.equal(ds.get()["paper"].positive_index, heco("acm")["paper"].positive_index)
    with pytest.raises(IndexError):
        ds[1]


@pytest.mark.parametrize("bad", ["imdb", "acm ", "", None])
def test_unknown_name(tmp_path, bad):
    with pytest.raises(ValueError, match=r"unknown HeCo dataset.*acm.*aminer.*dblp.*freebase"):
        load_heco(bad, root=tmp_path)
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------------------
# Checksums
# ---------------------------------------------------------------------------

def test_corrupted_file_raises_before_parsing(tmp_path, monkeypatch, mirror, no_network):
    root = tmp_path / "data"
    monkeypatch.setenv("GRAPHCL_MIRROR", str(mirror))
    load_heco("acm", root=root)  # installs verified copies
    path = root / "heco" / "acm" / "nei_a.npy"
    payload = bytearray(path.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    path.write_bytes(bytes(payload))
    with monkeypatch.context() as mp:
        for module, attr in [(pickle, "load"), (pickle, "loads"), (np, "load"), (sp, "load_npz")]:
            mp.setattr(module, attr, lambda *a, **k: pytest.fail("parsed before verification"))
        with pytest.raises(ChecksumError) as error:
            load_heco("acm", root=root)
    message = str(error.value)
    assert str(path) in message and HECO_SPECS["acm"].files["nei_a.npy"] in message
    assert sha256_hex(bytes(payload)) in message


class _Payload:
    """Unpickling this runs os.mkdir(marker): a stand-in for malicious code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_malicious_neighbour_file_is_never_unpickled(tmp_path, monkeypatch, mirror, no_network):
    bad_mirror = tmp_path / "mirror"
    (bad_mirror / "heco").mkdir(parents=True)
    (bad_mirror / "heco" / "aminer").symlink_to(mirror / "heco" / "aminer", target_is_directory=True)
    root = tmp_path / "data"
    marker = tmp_path / "pwned"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    (root / "heco" / "aminer").mkdir(parents=True)
    np.save(root / "heco" / "aminer" / "nei_r.npy", evil, allow_pickle=True)
    monkeypatch.setenv("GRAPHCL_MIRROR", str(bad_mirror))
    with pytest.raises(ChecksumError, match="nei_r.npy"):
        load_heco("aminer", root=root)
    assert not marker.exists()
