"""Tests for graphcl.datasets.planetoid: Cora and CiteSeer against their known facts,
an independent reading of the raw files and PyG's own Planetoid loader.
"""
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from datasets_support import sha256_hex
from datasets_support import mirrored_root, no_network  # noqa: F401 (fixture)
from datasets_support import planetoid_mirror as mirror  # noqa: F401 (fixture)
from graphcl.datasets import load_planetoid
from graphcl.datasets.planetoid import PLANETOID_FILES

pytestmark = pytest.mark.usefixtures("fresh_verification_cache")

CITESEER_MISSING_TEST_IDS = [2407, 2489, 2553, 2682, 2781, 2953, 3042, 3063, 3212, 3214, 3250, 3292,
                             3305, 3306, 3309]


# name: (nodes, features, classes, directed edges, train nodes)
FACTS = {
    "cora": (2708, 1433, 7, 10556, 140),
    "citeseer": (3327, 3703, 6, 9104, 120),
}


# ---------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cora", "citeseer"])
def test_loader_known_facts(mirrored_root, name):
    nodes, features, classes, edges, train = FACTS[name]
    data = load_planetoid(name)
    assert data.num_nodes == nodes
    assert tuple(data.x.shape) == (nodes, features) and data.x.dtype == torch.float32
    assert data.y.dtype == torch.long and int(data.y.max()) + 1 == classes
    assert tuple(data.edge_index.shape) == (2, edges)
    assert data.is_undirected() and not data.has_self_loops()
    # Coalesced as PyG's Planetoid leaves it: unique pairs sorted by (target, source).
    source, target = data.edge_index
    assert (torch.diff(target * nodes + source) > 0).all()
    assert data.train_mask.sum() == train and data.val_mask.sum() == 500 and data.test_mask.sum() == 1000
    assert torch.equal(data.train_mask.nonzero().view(-1), torch.arange(train))
    assert torch.equal(data.val_mask.nonzero().view(-1), torch.arange(train, train + 500))
    assert not (data.train_mask & data.test_mask).any() and not (data.val_mask & data.test_mask).any()
    assert torch.equal(torch.bincount(data.y[data.train_mask]), torch.full((classes,), 20))
    zero_rows = (data.x.sum(dim=1) == 0).nonzero().view(-1).tolist()
    if name == "citeseer":
        assert zero_rows == CITESEER_MISSING_TEST_IDS
        assert data.y[CITESEER_MISSING_TEST_IDS].eq(0).all()
        assert not data.test_mask[CITESEER_MISSING_TEST_IDS].any()
    else:
        assert zero_rows == []


def test_loader_name_is_case_insensitive(mirrored_root):
    a, b = load_planetoid("CiteSeer"), load_planetoid("CITESEER")
    assert a.num_nodes == b.num_nodes == 3327
    assert torch.equal(a.edge_index, b.edge_index)


@pytest.mark.parametrize("bad_name", ["pubmed", "cora ", "", None])
def test_unknown_name_raises_value_error(tmp_path, bad_name):
    with pytest.raises(ValueError, match=r"unknown Planetoid dataset.*citeseer.*cora"):
        load_planetoid(bad_name, root=tmp_path)
    assert not any(tmp_path.iterdir())  # nothing fetched for a bad name


def _raw_arrays(mirror: Path, name: str):
    """Unpickle the mirror's files directly (verified first), independent of graphcl and PyG."""
    out = {}
    for rel, (sha256, _) in PLANETOID_FILES[name].items():
        payload = (mirror / rel).read_bytes()
        assert sha256_hex(payload) == sha256
        suffix = rel.split(f"ind.{name}.", 1)[1]
        if suffix == "test.index":
            out[suffix] = np.array(payload.decode().split(), dtype=np.int64)
        else:
            with warnings.catch_warnings():  # py2 pickles name the deprecated scipy.sparse.csr
                warnings.simplefilter("ignore", DeprecationWarning)
                out[suffix] = pickle.loads(payload, encoding="latin1")
    return out


@pytest.mark.parametrize("name", ["cora", "citeseer"])
def test_loader_matches_an_independent_reading(mirrored_root, mirror, name):
    raw = _raw_arrays(mirror, name)
    nodes, features, _, _, train = FACTS[name]
    allx = raw["allx"].toarray()
    x = np.zeros((nodes, features), dtype=np.float32)
    y = np.zeros(nodes, dtype=np.int64)
    x[: len(allx)] = allx
    y[: len(allx)] = raw["ally"].argmax(1)
    # Row j of tx/ty belongs to node test.index[j].
    x[raw["test.index"]] = raw["tx"].toarray()
    y[raw["test.index"]] = raw["ty"].argmax(1)
    edges = {(u, v) for u, nbrs in raw["graph"].items() for v in nbrs if u != v}
    edges |= {(v, u) for u, v in edges}

    data = load_planetoid(name)
    assert np.array_equal(data.x.numpy(), x)
    assert np.array_equal(data.y.numpy(), y)
    assert set(map(tuple, data.edge_index.t().tolist())) == edges
    assert len(edges) == data.edge_index.size(1)  # no duplicates
    assert sorted(data.test_mask.nonzero().view(-1).tolist()) == sorted(raw["test.index"].tolist())


@pytest.mark.parametrize("name,pyg_name", [("cora", "Cora"), ("citeseer", "CiteSeer")])
def test_loader_equals_pyg_planetoid(mirrored_root, mirror, tmp_path, name, pyg_name):
    from torch_geometric.datasets import Planetoid

    raw_dir = tmp_path / "pyg" / pyg_name / "raw"
    raw_dir.mkdir(parents=True)
    for rel in PLANETOID_FILES[name]:
        shutil.copyfile(mirror / rel, raw_dir / Path(rel).name)
    expected = Planetoid(str(tmp_path / "pyg"), pyg_name)[0]
    data = load_planetoid(name)
    for key in ["x", "y", "edge_index", "train_mask", "val_mask", "test_mask"]:
        assert torch.equal(data[key], expected[key]), key
