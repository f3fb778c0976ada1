"""Tests for graphcl.datasets.heco.metapaths: metapath adjacencies from the relation lists,
and DBLP's aptpa.npz regenerated from pa.txt and pt.txt.

Data come from the local mirror (../shared/data/heco, or $GRAPHCL_MIRROR) into a
temporary data root; nothing is downloaded. Each real dataset is loaded once
per test session (datasets_support.load_heco_once).
"""
import urllib.error
import urllib.request
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from datasets_support import csr, sha256_hex
from datasets_support import heco, module_env, no_network  # noqa: F401 (fixture)
from datasets_support import heco_mirror as mirror  # noqa: F401 (fixture)
from graphcl.datasets import DownloadError
from graphcl.datasets.heco import HECO_SPECS, load_heco, metapath_from_relations

PROVIDED = ["acm", "dblp", "aminer"]


# ---------------------------------------------------------------------------
# Metapaths from the relation lists
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", PROVIDED)
def test_metapaths_equal_the_relation_list_rule(heco, mirror, name):
    data = heco(name)
    spec = HECO_SPECS[name]
    relations = {s: np.loadtxt(mirror / "heco" / name / f"{s}.txt", dtype=np.int64) for s in spec.relations}
    n = data[spec.target].num_nodes
    for m in spec.metapaths:
        rebuilt = metapath_from_relations(spec, m, relations).tocsr()
        loaded = csr(data[spec.target, m, spec.target].edge_index, n)
        assert (rebuilt != loaded).nnz == 0, m


# ---------------------------------------------------------------------------
# DBLP aptpa.npz: regenerated from pa.txt and pt.txt
# ---------------------------------------------------------------------------

@pytest.fixture
def mirror_without_aptpa(tmp_path, mirror, monkeypatch):
    partial = tmp_path / "mirror" / "heco" / "dblp"
    partial.mkdir(parents=True)
    for f in (mirror / "heco" / "dblp").iterdir():
        if f.name != "aptpa.npz":
            (partial / f.name).symlink_to(f)
    monkeypatch.setenv("GRAPHCL_MIRROR", str(tmp_path / "mirror"))
    return partial


def test_aptpa_is_regenerated_when_missing(heco, tmp_path, mirror, mirror_without_aptpa, no_network):
    shipped = heco("dblp")["author", "aptpa", "author"].edge_index
    root = tmp_path / "data"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_heco("dblp", root=root)
    assert torch.equal(data["author", "aptpa", "author"].edge_index, shipped)
    installed = root / "heco" / "dblp" / "aptpa.npz"
    if installed.exists():
        # Same numpy/scipy/zlib as the file's maker: byte-identical, hence cached.
        assert sha256_hex(installed.read_bytes()) == HECO_SPECS["dblp"].files["aptpa.npz"]
        assert not caught
    else:
        assert any("aptpa.npz" in str(w.message) for w in caught)
    # The same (row, col) set as the shipped file, read independently.
    shipped_csr = sp.load_npz(mirror / "heco" / "dblp" / "aptpa.npz").tocsr()
    regenerated = csr(data["author", "aptpa", "author"].edge_index, 4057)
    assert regenerated.nnz == shipped_csr.nnz == 7043571
    assert (regenerated != shipped_csr).nnz == 0


def test_aptpa_regeneration_needs_the_relation_lists(tmp_path, monkeypatch, mirror_without_aptpa):
    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("no network in this test")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    (mirror_without_aptpa / "pt.txt").unlink()
    with pytest.raises(DownloadError, match=r"aptpa\.npz.*rebuilds it from pa\.txt, pt\.txt.*APT = PA"):
        load_heco("dblp", root=tmp_path / "data")
