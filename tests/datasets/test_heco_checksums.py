"""Tests for graphcl.datasets.heco.checksums: hashes the user pins (checksums= or a
SHA256SUMS file) for files whose sha256 is unknown in this release.

Freebase, whose files are not provided, is tested on a synthetic folder with
the upstream layout; nothing is downloaded.
"""
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from datasets_support import attacks, csr, npy_bytes, object_array, sha256_hex
from datasets_support import no_network  # noqa: F401 (fixture)
from graphcl.datasets import ChecksumError
from graphcl.datasets.heco import (
    HECO_COMMIT,
    HECO_SPECS,
    HeCoDataset,
    MissingChecksumError,
    UnsafePickleError,
    load_heco,
)
from graphcl.datasets.positives import HECO_POSITIVE_T, is_valid_topt_selection, topt_positives

@pytest.fixture
def no_parsing(monkeypatch):
    """Fail the test if anything is unpickled or loaded with numpy."""
    def forbidden(*args, **kwargs):
        raise AssertionError("a file was parsed before its checksum was verified")
    for module, attr in [(pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"),
                         (np, "load"), (np, "loadtxt"), (sp, "load_npz")]:
        monkeypatch.setattr(module, attr, forbidden)


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
    sums = {f.name: sha256_hex(f.read_bytes()) for f in sorted((mirror / "heco" / "freebase").iterdir())}
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
        assert (csr(data["movie", m, "movie"].edge_index, 3492) != mat.tocsr()).nnz == 0
    for t, lists in arrays["nei"].items():
        ei = data[t, "schema", "movie"].edge_index
        assert ei[0].tolist() == [int(j) for row in lists for j in row]
    assert np.array_equal(data["movie"].y.numpy(), arrays["labels"])
    pos = csr(data["movie"].positive_index, 3492)
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
# A pinned hash proves integrity, not harmlessness
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("attack", ["os.system", "builtins.eval", "os.mkdir"])
def test_pinned_malicious_neighbour_file_cannot_run_code(freebase, tmp_path, attack):
    """A SHA256SUMS written next to a crafted nei_a.npy pins it; it must still not run."""
    root, sums, _ = freebase
    marker = tmp_path / f"pwned-{attack}"
    payload = attacks(marker)[attack]
    # The attack is real: an ordinary unpickler runs it.
    pickle.loads(pickle.dumps(payload))
    assert marker.exists()
    marker.rmdir() if marker.is_dir() else marker.unlink()

    mirror = Path(os.environ["GRAPHCL_MIRROR"]) / "heco" / "freebase"
    evil = npy_bytes(object_array([payload] + [np.array([1])] * (3492 - 1)))
    (mirror / "nei_a.npy").write_bytes(evil)
    folder = root / "heco" / "freebase"
    folder.mkdir(parents=True)
    pins = dict(sums, **{"nei_a.npy": sha256_hex(evil)})
    (folder / "SHA256SUMS").write_text("".join(f"{sha}  {name}\n" for name, sha in pins.items()))
    with pytest.raises(UnsafePickleError) as error:
        load_heco("freebase")
    message = str(error.value)
    assert str(folder / "nei_a.npy") in message and "refused" in message
    assert not marker.exists()
