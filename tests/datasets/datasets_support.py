"""Helpers shared by the dataset tests.

A plain module rather than a ``conftest.py``: with several ``conftest.py``
files in folders without ``__init__.py``, ``from conftest import ...`` picks
whichever was collected last.

The fixtures here are imported by name into the test modules that use them
(pytest registers a fixture under the name it has in the test module). The
three mirror fixtures are imported as ``mirror``, e.g.
``from datasets_support import heco_mirror as mirror``, and ``module_env`` and
``mirrored_root`` use whichever ``mirror`` their module has.
"""
import hashlib
import os
import urllib.request
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphcl.datasets import load_heco

REPO = Path(__file__).resolve().parents[2]
CARDS = REPO / "datasets"


def mirror_dir() -> Path:
    """The data mirror the tests read (GRAPHCL_MIRROR, default ../shared/data)."""
    configured = os.environ.get("GRAPHCL_MIRROR")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


def _mirror_holding(probe: str, what: str) -> Path:
    """The mirror, or skip the test when ``probe`` (a path inside it) is missing."""
    path = mirror_dir()
    if not (path / probe).is_file():
        pytest.skip(f"{what} {path} (set GRAPHCL_MIRROR)")
    return path


@pytest.fixture(scope="module")
def heco_mirror() -> Path:
    """The mirror holding the HeCo files (skips without them)."""
    return _mirror_holding("heco/acm/labels.npy", "no HeCo data in the mirror")


@pytest.fixture(scope="module")
def wordnet_mirror() -> Path:
    """The mirror holding the WordNet noun table and GloVe vocabulary (skips without them)."""
    return _mirror_holding("wordnet/wordnet30_nouns.json.gz", "no WordNet data in the mirror at")


@pytest.fixture
def planetoid_mirror() -> Path:
    """The mirror holding the Planetoid files (skips without them)."""
    return _mirror_holding("planetoid/ind.cora.x", "no data mirror at")


@pytest.fixture(scope="module")
def pneumoniamnist_mirror() -> Path:
    """The mirror holding the PneumoniaMNIST files (skips without them)."""
    return _mirror_holding("pneumoniamnist/pneumoniamnist_kaggle_varun19424.npz",
                           "no PneumoniaMNIST data in the mirror at")


@pytest.fixture
def sdcn_mirror() -> Path:
    """The mirror holding the SDCN files (skips without them)."""
    return _mirror_holding("sdcn/usps/usps_label.txt", "no SDCN data in the mirror at")


def _refuse_download(url, *args, **kwargs):
    raise AssertionError(f"unexpected download of {url}")


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly if anything tries to download."""
    monkeypatch.setattr(urllib.request, "urlopen", _refuse_download)


@pytest.fixture
def mirrored_root(tmp_path, monkeypatch, mirror, no_network) -> Path:
    """An empty data root that is filled from the mirror, never from the network."""
    root = tmp_path / "data"
    monkeypatch.setenv("GRAPHCL_DATA", str(root))
    monkeypatch.setenv("GRAPHCL_MIRROR", str(mirror))
    return root


@pytest.fixture(scope="module")
def module_env(tmp_path_factory, mirror):
    """One temporary data root for the module, filled from the mirror only."""
    root = tmp_path_factory.mktemp("heco-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHCL_DATA", str(root))
        mp.setenv("GRAPHCL_MIRROR", str(mirror))
        mp.setattr(urllib.request, "urlopen", _refuse_download)
        yield root


@pytest.fixture(scope="module")
def heco(module_env):
    """Lazily loaded HeCo datasets, each loaded at most once per test session."""
    return load_heco_once


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def csr(edge_index: torch.Tensor, n: int) -> sp.csr_matrix:
    """Boolean ``[n, n]`` adjacency of an edge_index, read independently of graphcl."""
    row, col = edge_index.numpy()
    return sp.csr_matrix((np.ones(row.size, dtype=bool), (row, col)), shape=(n, n))


_HECO: Dict[str, object] = {}


def load_heco_once(name: str):
    """``load_heco(name)``, loaded at most once per test session.

    Call it with a data root filled from the mirror only (the loaded graph is
    the same whatever the root), so that the HeCo test modules share one load
    of each real dataset instead of repeating DBLP's.
    """
    if name not in _HECO:
        _HECO[name] = load_heco(name)
    return _HECO[name]


class Call:
    """Pickles as ``func(*args)``: unpickling it calls func (a stand-in for an attack)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def attacks(marker: Path):
    """Pickled calls that each create ``marker`` when unpickled."""
    import builtins
    import shlex
    return {
        "os.system": Call(os.system, f"touch {shlex.quote(str(marker))}"),
        "builtins.eval": Call(builtins.eval, f"__import__('os').mkdir({str(marker)!r})"),
        "os.mkdir": Call(os.mkdir, str(marker)),
    }


def npy_bytes(array: np.ndarray) -> bytes:
    """``np.save`` of ``array`` (pickles allowed) as bytes."""
    import io
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def object_array(items) -> np.ndarray:
    """A 1-d object array holding ``items`` as they are."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):  # item by item: equal lengths must not broadcast
        out[i] = item
    return out


@pytest.fixture(scope="module")
def dgp_mirror() -> Path:
    """The mirror holding DGP's files and the WordNet/GloVe tables (skips without them)."""
    _mirror_holding("wordnet/wordnet30_nouns.json.gz", "no WordNet data in the mirror at")
    return _mirror_holding("dgp/imagenet_induced_graph.json", "no DGP data in the mirror at")
