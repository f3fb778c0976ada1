"""Tests for graphcl.datasets: file fetching, sha256 checks, cards, Planetoid loaders.

No test touches the internet: files come from the local mirror (../shared/data)
or from an HTTP server on 127.0.0.1 started by the test.
"""
import hashlib
import http.server
import os
import pickle
import re
import shutil
import threading
import urllib.request
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from graphcl.datasets import (
    DATASET_FILES,
    ChecksumError,
    DownloadError,
    data_root,
    fetch_all,
    fetch_file,
    load_planetoid,
    read_verified_bytes,
)
from graphcl.datasets import _files
from graphcl.datasets.heco import HECO_COMMIT
from graphcl.datasets.planetoid import PLANETOID_COMMIT, PLANETOID_FILES
from graphcl.datasets.sdcn import SDCN_COMMIT
from conftest import mirror_dir

pytestmark = pytest.mark.usefixtures("fresh_verification_cache")

REPO = Path(__file__).resolve().parents[1]
CARDS = REPO / "datasets"
ORIGINAL_URL_PREFIX = f"https://raw.githubusercontent.com/kimiyoung/planetoid/{PLANETOID_COMMIT}/data/"
HECO_URL_PREFIX = f"https://raw.githubusercontent.com/liun-online/HeCo/{HECO_COMMIT}/data/"
SDCN_URL_PREFIX = f"https://raw.githubusercontent.com/bdy9527/SDCN/{SDCN_COMMIT}/"
# The two SDCN feature files that come from other repositories (SOURCES.md of the mirror).
SDCN_OTHER_URLS = {
    "sdcn/usps/usps.h5": "https://raw.githubusercontent.com/niuers/Learning-From-Data-A-Short-Course/"
                         "879a698b960e5867f7c2b11f8938fa89c3d21839/data/usps.h5",
    "sdcn/acm/ACM3025.mat": "https://raw.githubusercontent.com/googlebaba/WWW2020-O2MAC/"
                            "f663628eddd253c23c5c60f5a098c1ad38e92e6d/data/ACM3025.mat",
}
# What each family's card must say about its licence.
LICENCE_TEXT = {"planetoid": ("MIT", "Zhilin Yang"), "heco": ("no licence stated upstream",),
                "sdcn": ("Apache-2.0",)}


def _family(name: str) -> str:
    for family in ("heco", "sdcn"):
        if name.startswith(family + "_"):
            return family
    return "planetoid"


def _original_url(name: str, rel: str) -> str:
    """Every registered file's URL is its upstream path at the pinned commit.

    The SDCN tables also list the HeCo / Planetoid files they read, so the
    URL follows the file's folder, not the dataset family.
    """
    if rel.startswith("heco/"):
        return HECO_URL_PREFIX + rel[len("heco/"):]
    if rel.startswith("sdcn/"):
        if rel in SDCN_OTHER_URLS:
            return SDCN_OTHER_URLS[rel]
        folder = "graph" if rel.endswith("_graph.txt") else "data"
        return f"{SDCN_URL_PREFIX}{folder}/{Path(rel).name}"
    return ORIGINAL_URL_PREFIX + Path(rel).name

CITESEER_MISSING_TEST_IDS = [2407, 2489, 2553, 2682, 2781, 2953, 3042, 3063, 3212, 3214, 3250, 3292,
                             3305, 3306, 3309]
# name: (nodes, features, classes, directed edges, train nodes)
FACTS = {
    "cora": (2708, 1433, 7, 10556, 140),
    "citeseer": (3327, 3703, 6, 9104, 120),
}


@pytest.fixture
def mirror() -> Path:
    path = mirror_dir()
    if not (path / "planetoid" / "ind.cora.x").is_file():
        pytest.skip(f"no data mirror at {path} (set GRAPHCL_MIRROR)")
    return path


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly if anything tries to download."""
    def refuse(url, *args, **kwargs):
        raise AssertionError(f"unexpected download of {url}")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def mirrored_root(tmp_path, monkeypatch, mirror, no_network) -> Path:
    """An empty data root that is filled from the mirror, never from the network."""
    root = tmp_path / "data"
    monkeypatch.setenv("GRAPHCL_DATA", str(root))
    monkeypatch.setenv("GRAPHCL_MIRROR", str(mirror))
    return root


@pytest.fixture
def no_unpickling(monkeypatch):
    """Make every way of unpickling fail the test."""
    def forbidden(*args, **kwargs):
        raise AssertionError("a file was unpickled before its checksum was verified")
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path):
    """Serves tmp_path/served on 127.0.0.1; yields (served dir, base URL)."""
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def download_root(tmp_path, monkeypatch) -> Path:
    """An empty data root with no mirror, so missing files must be downloaded."""
    root = tmp_path / "data"
    monkeypatch.setenv("GRAPHCL_DATA", str(root))
    monkeypatch.delenv("GRAPHCL_MIRROR", raising=False)
    return root


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _leftovers(directory: Path):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# ---------------------------------------------------------------------------
# Data root and mirror
# ---------------------------------------------------------------------------

def test_data_root_from_env_default_and_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRAPHCL_DATA", raising=False)
    assert data_root() == tmp_path / "home" / ".cache" / "graphcl"
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "explicit") == tmp_path / "explicit"


def test_missing_files_are_copied_from_the_mirror(mirrored_root, mirror):
    paths = fetch_all(PLANETOID_FILES["cora"])
    assert sorted(paths) == sorted(PLANETOID_FILES["cora"])
    for rel, path in paths.items():
        assert path == mirrored_root / rel
        assert path.read_bytes() == (mirror / rel).read_bytes()
    # Only the eight files, no temporary files left behind.
    assert _leftovers(mirrored_root / "planetoid") == sorted(Path(rel).name for rel in paths)


def test_registry_matches_the_mirror_files(mirror):
    for name, files in DATASET_FILES.items():
        for rel, (sha256, url) in files.items():
            assert _files.sha256_of_file(mirror / rel) == sha256, rel
            assert url == _original_url(name, rel)


def test_paths_outside_the_data_root_are_rejected(tmp_path):
    for bad in ["../escape", "/etc/passwd", ""]:
        with pytest.raises(ValueError, match="relative"):
            fetch_file(bad, "0" * 64, "http://127.0.0.1:9/", root=tmp_path)


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
        assert _sha256(payload) == sha256
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


# ---------------------------------------------------------------------------
# Corrupt and truncated files
# ---------------------------------------------------------------------------

def _flip_byte(path: Path, offset: int) -> None:
    payload = bytearray(path.read_bytes())
    payload[offset] ^= 0xFF
    path.write_bytes(bytes(payload))


def _assert_checksum_message(error: pytest.ExceptionInfo, path: Path, expected: str) -> None:
    message = str(error.value)
    actual = _files.sha256_of_file(path)
    assert str(path) in message
    assert expected in message and actual in message and actual != expected
    assert "delete" in message and "GRAPHCL_MIRROR" in message


def test_corrupted_file_raises_before_unpickling(mirrored_root, no_unpickling):
    fetch_all(PLANETOID_FILES["cora"])
    rel = "planetoid/ind.cora.graph"
    path = mirrored_root / rel
    _flip_byte(path, path.stat().st_size // 2)
    with pytest.raises(ChecksumError) as error:
        load_planetoid("cora")
    assert isinstance(error.value, ValueError)
    _assert_checksum_message(error, path, PLANETOID_FILES["cora"][rel][0])


def test_truncated_file_raises_before_unpickling(mirrored_root, no_unpickling):
    fetch_all(PLANETOID_FILES["citeseer"])
    rel = "planetoid/ind.citeseer.allx"
    path = mirrored_root / rel
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ChecksumError) as error:
        load_planetoid("citeseer")
    _assert_checksum_message(error, path, PLANETOID_FILES["citeseer"][rel][0])


class _Payload:
    """Unpickling this runs os.mkdir(marker): a stand-in for malicious code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_malicious_replacement_is_never_executed(mirrored_root, tmp_path):
    # Sanity: the payload really executes when unpickled.
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(probe)))
    assert probe.is_dir()

    fetch_all(PLANETOID_FILES["cora"])
    marker = tmp_path / "pwned"
    (mirrored_root / "planetoid" / "ind.cora.x").write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    with pytest.raises(ChecksumError, match="ind.cora.x"):
        load_planetoid("cora")
    assert not marker.exists()


def test_changed_file_is_verified_again(mirrored_root):
    rel = "planetoid/ind.cora.y"
    sha256, url = PLANETOID_FILES["cora"][rel]
    path = fetch_file(rel, sha256, url)
    assert fetch_file(rel, sha256, url) == path  # cached verification still passes
    before = path.stat()
    _flip_byte(path, 10)
    # Same size, explicitly different mtime: the per-process cache must not hide the change.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ChecksumError, match="ind.cora.y"):
        fetch_file(rel, sha256, url)
    # Even with the original mtime restored, reading always hashes the bytes it returns.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(ChecksumError, match="ind.cora.y"):
        read_verified_bytes(rel, sha256, url)


def test_corrupt_mirror_file_is_not_installed(tmp_path, monkeypatch, mirror, no_network):
    bad_mirror = tmp_path / "mirror"
    (bad_mirror / "planetoid").mkdir(parents=True)
    rel = "planetoid/ind.cora.x"
    payload = bytearray((mirror / rel).read_bytes())
    payload[100] ^= 0x01
    (bad_mirror / rel).write_bytes(bytes(payload))
    root = tmp_path / "data"
    monkeypatch.setenv("GRAPHCL_DATA", str(root))
    monkeypatch.setenv("GRAPHCL_MIRROR", str(bad_mirror))
    sha256, url = PLANETOID_FILES["cora"][rel]
    with pytest.raises(ChecksumError) as error:
        fetch_file(rel, sha256, url)
    message = str(error.value)
    assert str(root / rel) in message and str(bad_mirror / rel) in message
    assert sha256 in message and _sha256(bytes(payload)) in message and "GRAPHCL_MIRROR" in message
    assert _leftovers(root / "planetoid") == []


# ---------------------------------------------------------------------------
# Downloads (local HTTP server only)
# ---------------------------------------------------------------------------

def test_download_from_url(download_root, http_server, capsys):
    served, base = http_server
    payload = os.urandom(3 * 1024 * 1024 + 17)  # several chunks
    (served / "blob.bin").write_bytes(payload)
    path = fetch_file("extra/blob.bin", _sha256(payload), base + "blob.bin")
    assert path == download_root / "extra" / "blob.bin"
    assert path.read_bytes() == payload
    assert _leftovers(path.parent) == ["blob.bin"]
    assert "blob.bin" in capsys.readouterr().err  # the tqdm progress bar


def test_download_from_file_url(download_root, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"graphcl" * 100)
    path = fetch_file("f/source.bin", _sha256(source.read_bytes()), source.as_uri())
    assert path.read_bytes() == source.read_bytes()


def test_bad_download_leaves_no_file(download_root, http_server):
    served, base = http_server
    good = b"the real contents\n" * 1000
    (served / "blob.bin").write_bytes(good[:-1] + b"?")
    url = base + "blob.bin"
    with pytest.raises(ChecksumError) as error:
        fetch_file("extra/blob.bin", _sha256(good), url)
    message = str(error.value)
    assert "blob.bin" in message and url in message and _sha256(good) in message
    assert _leftovers(download_root / "extra") == []


class _TruncatingHandler(http.server.BaseHTTPRequestHandler):
    """Promises 10,000 bytes, sends 1,000, then drops the connection."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(b"x" * 1000)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_truncated_download_leaves_no_file(download_root):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TruncatingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/blob.bin"
        with pytest.raises(DownloadError, match=r"blob\.bin.*1000 of 10000 bytes"):
            fetch_file("extra/blob.bin", _sha256(b"x" * 10000), url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert _leftovers(download_root / "extra") == []


def test_failed_download_names_file_and_url(download_root, http_server):
    _, base = http_server
    url = base + "does-not-exist.bin"
    with pytest.raises(DownloadError) as error:
        fetch_file("extra/does-not-exist.bin", "0" * 64, url)
    message = str(error.value)
    assert str(download_root / "extra" / "does-not-exist.bin") in message and url in message
    assert "GRAPHCL_MIRROR" in message
    assert not (download_root / "extra" / "does-not-exist.bin").exists()


def test_mirror_without_the_file_falls_back_to_download(tmp_path, monkeypatch, http_server):
    served, base = http_server
    (served / "only-online.bin").write_bytes(b"online")
    empty_mirror = tmp_path / "empty-mirror"
    empty_mirror.mkdir()
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GRAPHCL_MIRROR", str(empty_mirror))
    path = fetch_file("x/only-online.bin", _sha256(b"online"), base + "only-online.bin")
    assert path.read_bytes() == b"online"


def test_load_planetoid_downloads_from_the_registry_urls(download_root, http_server, mirror,
                                                          monkeypatch):
    served, base = http_server
    for rel in PLANETOID_FILES["cora"]:
        shutil.copyfile(mirror / rel, served / Path(rel).name)
    requested = []
    real_urlopen = urllib.request.urlopen

    # Redirect the pinned GitHub URLs to the local server; nothing else is allowed.
    def local_urlopen(url, *args, **kwargs):
        assert url.startswith(ORIGINAL_URL_PREFIX), url
        requested.append(url)
        return real_urlopen(base + url[len(ORIGINAL_URL_PREFIX):], *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", local_urlopen)
    data = load_planetoid("cora")
    assert data.num_nodes == 2708 and data.edge_index.size(1) == 10556
    assert sorted(requested) == sorted(url for _, url in PLANETOID_FILES["cora"].values())
    # A second load uses the verified files in the data root.
    load_planetoid("cora")
    assert len(requested) == 8


# ---------------------------------------------------------------------------
# Dataset cards
# ---------------------------------------------------------------------------

_CARD_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([\d,]+)\s*\|\s*`([0-9a-f]{64})`\s*\|\s*(\S+)\s*\|\s*$")


def _card_table(card: Path):
    rows = {}
    for line in card.read_text(encoding="utf-8").splitlines():
        match = _CARD_ROW.match(line)
        if match:
            rel, size, sha256, url = match.groups()
            assert rel not in rows, f"{card.name} lists {rel} twice"
            rows[rel] = (int(size.replace(",", "")), sha256, url)
    return rows


@pytest.mark.parametrize("name", sorted(DATASET_FILES))
def test_card_table_equals_registry(name):
    card = CARDS / f"{name}.md"
    assert card.is_file(), f"dataset {name!r} has no card {card}"
    rows = _card_table(card)
    assert {rel: (sha, url) for rel, (_, sha, url) in rows.items()} == dict(DATASET_FILES[name])
    text = card.read_text(encoding="utf-8")
    assert all(phrase in text for phrase in LICENCE_TEXT[_family(name)])


@pytest.mark.parametrize("name", sorted(DATASET_FILES))
def test_card_sizes_match_the_mirror(name, mirror):
    for rel, (size, _, _) in _card_table(CARDS / f"{name}.md").items():
        assert (mirror / rel).stat().st_size == size, rel
