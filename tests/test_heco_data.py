"""Tests for the HeCo datasets (graphcl.datasets.heco) and the positives rule (positives.py).

Data come from the local mirror (../shared/data/heco, or $GRAPHCL_MIRROR) into a
temporary data root; nothing is downloaded. Each real dataset is loaded once
per module. Freebase, whose files are not provided, is tested on a synthetic
folder with the same layout.
"""
import hashlib
import os
import pickle
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest
from test_datasets import _card_table
import scipy.sparse as sp
import torch

from graphcl.datasets import ChecksumError, DownloadError
from graphcl.datasets.heco import (
    HECO_COMMIT,
    HECO_FILES,
    HECO_SPECS,
    HeCoDataset,
    MissingChecksumError,
    load_heco,
    metapath_from_relations,
)
from graphcl.datasets._npy import UnsafePickleError, load_integer_object_array
from graphcl.datasets.positives import (
    HECO_POSITIVE_T,
    determined_rows,
    is_valid_topt_selection,
    topt_positives,
    topt_violations,
)

REPO = Path(__file__).resolve().parents[1]
CARDS = REPO / "datasets"
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


def _mirror_dir() -> Path:
    configured = os.environ.get("GRAPHCL_MIRROR")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


@pytest.fixture(scope="module")
def mirror() -> Path:
    path = _mirror_dir()
    if not (path / "heco" / "acm" / "labels.npy").is_file():
        pytest.skip(f"no HeCo data in the mirror {path} (set GRAPHCL_MIRROR)")
    return path


@pytest.fixture(scope="module")
def module_env(tmp_path_factory, mirror):
    """One temporary data root for the module, filled from the mirror only."""
    root = tmp_path_factory.mktemp("heco-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHCL_DATA", str(root))
        mp.setenv("GRAPHCL_MIRROR", str(mirror))

        def refuse(url, *args, **kwargs):
            raise AssertionError(f"unexpected download of {url}")

        mp.setattr(urllib.request, "urlopen", refuse)
        yield root


@pytest.fixture(scope="module")
def heco(module_env):
    """Lazily loaded datasets, each loaded at most once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = load_heco(name)
        return cache[name]

    return get


@pytest.fixture
def no_network(monkeypatch):
    def refuse(url, *args, **kwargs):
        raise AssertionError(f"unexpected download of {url}")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def no_parsing(monkeypatch):
    """Fail the test if anything is unpickled or loaded with numpy."""
    def forbidden(*args, **kwargs):
        raise AssertionError("a file was parsed before its checksum was verified")
    for module, attr in [(pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"),
                         (np, "load"), (np, "loadtxt"), (sp, "load_npz")]:
        monkeypatch.setattr(module, attr, forbidden)


def _csr(edge_index: torch.Tensor, n: int) -> sp.csr_matrix:
    row, col = edge_index.numpy()
    return sp.csr_matrix((np.ones(row.size, dtype=bool), (row, col)), shape=(n, n))


def _metapaths(data):
    t = data.target_type
    return [data[t, m, t].edge_index for m in data.metapaths]


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
        adj = _csr(ei, n)
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
    assert _sha256(path.read_bytes()) == HECO_SPECS[name].files[file]
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


@pytest.mark.parametrize("name", PROVIDED)
def test_metapaths_equal_the_relation_list_rule(heco, mirror, name):
    data = heco(name)
    spec = HECO_SPECS[name]
    relations = {s: np.loadtxt(mirror / "heco" / name / f"{s}.txt", dtype=np.int64) for s in spec.relations}
    n = data[spec.target].num_nodes
    for m in spec.metapaths:
        rebuilt = metapath_from_relations(spec, m, relations).tocsr()
        loaded = _csr(data[spec.target, m, spec.target].edge_index, n)
        assert (rebuilt != loaded).nnz == 0, m


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
# Positives: the metapath-count top-T rule
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", PROVIDED)
def test_shipped_positives_are_a_valid_top_t_selection(heco, name):
    data = heco(name)
    target, n, t = data.target_type, data[data.target_type].num_nodes, HECO_POSITIVE_T[name]
    mps = [_csr(ei, n) for ei in _metapaths(data)]
    shipped = _csr(data[target].positive_index, n)
    assert topt_violations(shipped, mps, t).size == 0

    built = topt_positives(mps, t)
    assert is_valid_topt_selection(built, mps, t)
    assert built.nnz == shipped.nnz  # row sizes are determined: min(T, #candidates)
    # Where no tie straddles the cut, the selection is unique: equal to the file.
    determined = determined_rows(mps, t)
    assert determined.any()
    assert (built[determined] != shipped[determined]).nnz == 0


def test_topt_builder_on_a_small_example():
    # Counts of row 0: j=0 -> 2, j=1 -> 1, j=2 -> 2, j=3 -> 1 (4 candidates).
    a = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]])
    b = np.array([[1, 0, 1, 1], [0, 1, 0, 0], [1, 0, 1, 0], [1, 0, 0, 1]])
    pos = topt_positives([a, b], 2).toarray()
    assert pos[0].tolist() == [1, 0, 1, 0]  # the two count-2 candidates
    assert pos[1].tolist() == [1, 1, 0, 0] and pos[3].tolist() == [1, 0, 0, 1]
    assert is_valid_topt_selection(pos, [a, b], 2)
    assert topt_positives([a, b], 3).toarray()[0].tolist() == [1, 1, 1, 0]  # tie at the cut: lowest ids
    ei = torch.from_numpy(np.stack(np.nonzero(a)).astype(np.int64))
    assert (topt_positives([ei], 4, num_nodes=4) != sp.csr_matrix(a)).nnz == 0


def test_violations_are_detected(heco):
    data = heco("acm")
    n = data["paper"].num_nodes
    mps = [_csr(ei, n) for ei in _metapaths(data)]
    counts = (mps[0].astype(int) + mps[1].astype(int)).tocsr()
    good = _csr(data["paper"].positive_index, n).tolil()

    # Row with more than T candidates where a count-2 candidate is kept and a
    # count-1 candidate is dropped: swapping them breaks the count order.
    for i in range(n):
        row = counts.getrow(i)
        kept = set(good.rows[i])
        twos = [j for j, c in zip(row.indices, row.data) if c == 2 and j in kept]
        ones = [j for j, c in zip(row.indices, row.data) if c == 1 and j not in kept]
        if twos and ones:
            break
    swapped = good.copy()
    swapped[i, twos[0]] = 0
    swapped[i, ones[0]] = 1
    assert topt_violations(swapped.tocsr(), mps, 5).tolist() == [i]

    missing = good.copy()
    missing[i, twos[0]] = 0  # one positive too few
    assert topt_violations(missing.tocsr(), mps, 5).tolist() == [i]

    stranger = good.copy()
    j = int(np.setdiff1d(np.arange(n), counts.getrow(7).indices)[0])
    stranger[7, j] = 1  # a positive no metapath connects
    assert 7 in topt_violations(stranger.tocsr(), mps, 5).tolist()
    assert not is_valid_topt_selection(stranger.tocsr(), mps, 5)


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
    assert _sha256(bytes(payload)) in message


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
        assert _sha256(installed.read_bytes()) == HECO_SPECS["dblp"].files["aptpa.npz"]
        assert not caught
    else:
        assert any("aptpa.npz" in str(w.message) for w in caught)
    # The same (row, col) set as the shipped file, read independently.
    shipped_csr = sp.load_npz(mirror / "heco" / "dblp" / "aptpa.npz").tocsr()
    regenerated = _csr(data["author", "aptpa", "author"].edge_index, 4057)
    assert regenerated.nnz == shipped_csr.nnz == 7043571
    assert (regenerated != shipped_csr).nnz == 0


def test_aptpa_regeneration_needs_the_relation_lists(tmp_path, monkeypatch, mirror_without_aptpa):
    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("no network in this test")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    (mirror_without_aptpa / "pt.txt").unlink()
    with pytest.raises(DownloadError, match=r"aptpa\.npz.*rebuilds it from pa\.txt, pt\.txt.*APT = PA"):
        load_heco("dblp", root=tmp_path / "data")


# ---------------------------------------------------------------------------
# Freebase: synthetic folder with the upstream layout, user-pinned hashes
# ---------------------------------------------------------------------------

def _write_synthetic_freebase(folder: Path, seed: int = 0) -> dict:
    """Write a Freebase-layout folder (real node counts, random relations); return its arrays."""
    rng = np.random.default_rng(seed)
    spec = HECO_SPECS["freebase"]
    counts = spec.num_nodes
    n = counts["movie"]
    folder.mkdir(parents=True)
    relations, nei = {}, {}
    for t, stem, (lo, hi) in [("director", "md", (1, 2)), ("actor", "ma", (1, 6)), ("writer", "mw", (1, 3))]:
        lists = [rng.choice(counts[t], size=rng.integers(lo, hi), replace=False) for _ in range(n)]
        pairs = np.array([(i, j) for i, row in enumerate(lists) for j in row], dtype=np.int64)
        np.savetxt(folder / f"{stem}.txt", pairs, fmt="%d")
        relations[stem] = pairs
        arr = np.empty(n, dtype=object)
        for i, row in enumerate(lists):  # element-wise: equal lengths would make numpy broadcast
            arr[i] = np.asarray(row, dtype=np.int64)
        np.save(folder / f"nei_{stem[1]}.npy", arr, allow_pickle=True)
        nei[t] = lists
    mps = {}
    for m, stem in [("mdm", "md"), ("mam", "ma"), ("mwm", "mw")]:
        inc = sp.csr_matrix((np.ones(len(relations[stem])), tuple(relations[stem].T)),
                            shape=(n, counts[{"d": "director", "a": "actor", "w": "writer"}[stem[1]]]))
        mps[m] = sp.coo_matrix(((inc @ inc.T) > 0).tocsr())
        sp.save_npz(folder / f"{m}.npz", mps[m])
    pos = topt_positives(list(mps.values()), HECO_POSITIVE_T["freebase"])
    sp.save_npz(folder / "pos.npz", sp.coo_matrix(pos.astype(np.float64)))
    labels = rng.integers(0, 3, size=n)
    np.save(folder / "labels.npy", labels)
    for r in (20, 40, 60):
        train = np.concatenate([rng.choice(np.flatnonzero(labels == c), r, replace=False) for c in range(3)])
        rest = rng.permutation(np.setdiff1d(np.arange(n), train))
        for kind, idx in [("train", train), ("val", rest[:1000]), ("test", rest[1000:2000])]:
            np.save(folder / f"{kind}_{r}.npy", idx.astype(np.int64))
    return {"labels": labels, "nei": nei, "mps": mps, "pos": pos}


@pytest.fixture
def freebase(tmp_path, monkeypatch, no_network):
    mirror = tmp_path / "fb-mirror"
    arrays = _write_synthetic_freebase(mirror / "heco" / "freebase")
    sums = {f.name: _sha256(f.read_bytes()) for f in sorted((mirror / "heco" / "freebase").iterdir())}
    assert sorted(sums) == sorted(HECO_SPECS["freebase"].files)  # the upstream file list
    monkeypatch.setenv("GRAPHCL_MIRROR", str(mirror))
    root = tmp_path / "data"
    monkeypatch.setenv("GRAPHCL_DATA", str(root))
    return root, sums, arrays


def test_freebase_without_hashes_is_refused_before_reading(freebase, no_parsing):
    root, _, _ = freebase
    with pytest.raises(MissingChecksumError) as error:
        load_heco("freebase")
    message = str(error.value)
    assert "nei_a.npy" in message and "checksums=" in message and "SHA256SUMS" in message
    assert HECO_COMMIT in message
    assert not root.exists()  # nothing copied, nothing parsed
    assert isinstance(error.value, ChecksumError)


def test_freebase_loads_with_pinned_hashes(freebase):
    root, sums, arrays = freebase
    data = load_heco("freebase", checksums=sums)
    assert data.node_types == ["movie", "director", "actor", "writer"]
    assert [data[t].num_nodes for t in data.node_types] == [3492, 2502, 33401, 4459]
    assert all(data[t].one_hot is True and "x" not in data[t] for t in data.node_types)
    assert data.metapaths == ["mdm", "mam", "mwm"] and data.schema_types == ["director", "actor", "writer"]
    assert data.target_type == "movie" and data.num_classes == 3
    data.validate(raise_on_error=True)
    for m, mat in arrays["mps"].items():
        assert (_csr(data["movie", m, "movie"].edge_index, 3492) != mat.tocsr()).nnz == 0
    for t, lists in arrays["nei"].items():
        ei = data[t, "schema", "movie"].edge_index
        assert ei[0].tolist() == [int(j) for row in lists for j in row]
    assert np.array_equal(data["movie"].y.numpy(), arrays["labels"])
    pos = _csr(data["movie"].positive_index, 3492)
    assert (pos != (arrays["pos"] != 0)).nnz == 0
    assert is_valid_topt_selection(pos, list(arrays["mps"].values()), 80)
    assert data["movie"].train_idx_60.numel() == 180 and data["movie"].test_idx_20.numel() == 1000


def test_freebase_hashes_from_a_sha256sums_file(freebase):
    root, sums, _ = freebase
    folder = root / "heco" / "freebase"
    folder.mkdir(parents=True)
    listing = "".join(f"{sha}  {name}\n" for name, sha in sums.items())
    (folder / "SHA256SUMS").write_text(listing)
    data = HeCoDataset("Freebase").get()  # picked up from the data root
    assert data["movie"].num_nodes == 3492
    elsewhere = root.parent / "pins.txt"
    elsewhere.write_text("# pinned by hand\n" + listing.replace("  ", " *"))
    assert load_heco("freebase", checksums=elsewhere)["movie"].y.numel() == 3492


def test_freebase_wrong_pin_raises_checksum_error(freebase, no_parsing):
    root, sums, _ = freebase
    bad = dict(sums, **{"nei_d.npy": "0" * 64})
    with pytest.raises(ChecksumError, match="nei_d.npy"):
        load_heco("freebase", checksums=bad)
    partial = {k: v for k, v in sums.items() if k != "mwm.npz"}
    with pytest.raises(MissingChecksumError, match="mwm.npz"):
        load_heco("freebase", checksums=partial)


def test_checksums_argument_is_checked(tmp_path):
    acm_labels = HECO_SPECS["acm"].files["labels.npy"]
    with pytest.raises(ValueError, match="disagrees"):
        load_heco("acm", root=tmp_path, checksums={"labels.npy": "f" * 64})
    with pytest.raises(ValueError, match="64 hex"):
        load_heco("freebase", root=tmp_path, checksums={"labels.npy": "abc"})
    with pytest.raises(ValueError, match="not a file"):
        load_heco("freebase", root=tmp_path, checksums={"nope.npy": acm_labels})
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------------------
# nei_*.npy: a restricted unpickler, even for pinned files
# ---------------------------------------------------------------------------

class _Call:
    """Pickles as ``func(*args)``: unpickling it calls func (a stand-in for an attack)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _attacks(marker: Path):
    """Pickled calls that each create ``marker`` when unpickled."""
    import builtins
    import shlex
    return {
        "os.system": _Call(os.system, f"touch {shlex.quote(str(marker))}"),
        "builtins.eval": _Call(builtins.eval, f"__import__('os').mkdir({str(marker)!r})"),
        "os.mkdir": _Call(os.mkdir, str(marker)),
    }


def _npy_bytes(array: np.ndarray) -> bytes:
    import io
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _object_array(items) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):  # item by item: equal lengths must not broadcast
        out[i] = item
    return out


@pytest.mark.parametrize("attack", ["os.system", "builtins.eval", "os.mkdir"])
def test_pinned_malicious_neighbour_file_cannot_run_code(freebase, tmp_path, attack):
    """A SHA256SUMS written next to a crafted nei_a.npy pins it; it must still not run."""
    root, sums, _ = freebase
    marker = tmp_path / f"pwned-{attack}"
    payload = _attacks(marker)[attack]
    # The attack is real: an ordinary unpickler runs it.
    pickle.loads(pickle.dumps(payload))
    assert marker.exists()
    marker.rmdir() if marker.is_dir() else marker.unlink()

    mirror = Path(os.environ["GRAPHCL_MIRROR"]) / "heco" / "freebase"
    evil = _npy_bytes(_object_array([payload] + [np.array([1])] * (3492 - 1)))
    (mirror / "nei_a.npy").write_bytes(evil)
    folder = root / "heco" / "freebase"
    folder.mkdir(parents=True)
    pins = dict(sums, **{"nei_a.npy": _sha256(evil)})
    (folder / "SHA256SUMS").write_text("".join(f"{sha}  {name}\n" for name, sha in pins.items()))
    with pytest.raises(UnsafePickleError) as error:
        load_heco("freebase")
    message = str(error.value)
    assert str(folder / "nei_a.npy") in message and "refused" in message
    assert not marker.exists()


def test_whole_pickle_replaced_by_a_call_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    header = _npy_bytes(_object_array([np.array([1])]))
    # numpy's header (object dtype), then a pickle that is nothing but the call
    crafted = header[:header.index(b"\n") + 1] + pickle.dumps(_attacks(marker)["os.mkdir"])
    with pytest.raises(UnsafePickleError, match=r"nei_x\.npy.*posix\.mkdir|nei_x\.npy.*os\.mkdir"):
        load_integer_object_array(crafted, "nei_x.npy")
    assert not marker.exists()


def _with_pickle(array: np.ndarray, protocol: int) -> bytes:
    """numpy's .npy header for ``array`` followed by its pickle in ``protocol``
    (numpy 1.x's np.save wrote protocol 3, numpy 2.x writes 4)."""
    header = _npy_bytes(array)
    return header[:header.index(b"\n") + 1] + pickle.dumps(array, protocol=protocol)


@pytest.mark.parametrize("protocol", ["np.save", 3, 4, 5])
def test_object_array_of_integer_arrays_loads(protocol):
    items = [np.array([3, 1, 2]), np.array([], dtype=np.int64), np.array([7], dtype=np.int32),
             np.array([9, 8], dtype=">i2"), np.array([[4, 5]], dtype=np.uint8), np.array([6, 6, 6])]
    array = _object_array(items)
    payload = _npy_bytes(array) if protocol == "np.save" else _with_pickle(array, protocol)
    loaded = load_integer_object_array(payload, "nei_x.npy")
    assert loaded.dtype == object and loaded.shape == (6,)
    for got, want in zip(loaded, items):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_protocol_2_bytes_need_codecs_which_is_refused():
    # Python 3's protocol 2 rebuilds bytes with _codecs.encode: not an allowed global.
    with pytest.raises(UnsafePickleError, match="_codecs.encode"):
        load_integer_object_array(_with_pickle(_object_array([np.array([1])]), 2), "nei_x.npy")


def test_shipped_neighbour_files_load_as_numpy_loads_them(mirror):
    import io
    for path in sorted((mirror / "heco").glob("*/nei_*.npy")):
        payload = path.read_bytes()
        got = load_integer_object_array(payload, str(path))
        want = np.load(io.BytesIO(payload), allow_pickle=True)
        assert got.dtype == want.dtype and got.shape == want.shape
        if want.dtype == object:
            assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(got, want))
        else:
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("items, match", [
    ([np.array([1.5, 2.0])], "integer"),                              # float items
    ([np.array(["a"])], "integer"),                                   # strings
    ([_object_array([np.array([1])])], "integer"),                    # nested object array
    ([np.zeros(2, dtype=[("a", "i8")])], "integer"),                  # structured dtype
    (["text"], "integer arrays"),                                     # a str item
    ([{1: 2}], "integer arrays"),                                     # a dict item
])
def test_object_array_with_other_items_is_refused(items, match):
    with pytest.raises(UnsafePickleError, match=match) as error:
        load_integer_object_array(_npy_bytes(_object_array(items)), "nei_x.npy")
    assert "nei_x.npy" in str(error.value)


def test_truncated_or_inconsistent_pickle_is_refused():
    payload = _npy_bytes(_object_array([np.array([1, 2]), np.array([3])]))
    with pytest.raises(UnsafePickleError, match="nei_x.npy"):
        load_integer_object_array(payload[:-20], "nei_x.npy")
    header = _npy_bytes(_object_array([np.array([1])] * 3))  # the header says 3 items
    two = pickle.dumps(_object_array([np.array([1]), np.array([2])]), protocol=4)
    mismatch = header[:header.index(b"\n") + 1] + two
    with pytest.raises(UnsafePickleError, match="header"):
        load_integer_object_array(mismatch, "nei_x.npy")
    with pytest.raises(ValueError, match="nei_x.npy"):
        load_integer_object_array(b"not an npy file", "nei_x.npy")


def test_plain_integer_array_is_read_without_pickle():
    import io
    buffer = io.BytesIO()
    np.save(buffer, np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(load_integer_object_array(buffer.getvalue(), "n.npy"),
                                  np.arange(6).reshape(3, 2))
    buffer = io.BytesIO()
    np.save(buffer, np.ones(3))
    with pytest.raises(ValueError, match="n.npy.*integers"):
        load_integer_object_array(buffer.getvalue(), "n.npy")


# ---------------------------------------------------------------------------
# Dataset cards
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(HECO_FILES))
def test_card_lists_every_mirror_file(name, mirror):
    """The registry/card agreement, sizes and hashes are checked for every
    dataset in test_datasets.py; here: a HeCo card leaves no file out."""
    rows = _card_table(CARDS / f"{name}.md")
    assert sorted(rows) == sorted(f"heco/{p.parent.name}/{p.name}"
                                  for p in (mirror / "heco" / name[len("heco_"):]).iterdir())


def test_freebase_card_lists_the_layout():
    text = (CARDS / "heco_freebase.md").read_text(encoding="utf-8")
    for file in HECO_SPECS["freebase"].files:
        assert f"`heco/freebase/{file}`" in text, file
    assert "checksums=" in text and "SHA256SUMS" in text and HECO_COMMIT in text
