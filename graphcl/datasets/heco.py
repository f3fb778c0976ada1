"""HeCo's heterogeneous graphs (ACM, DBLP, AMiner, Freebase) as PyG ``HeteroData``.

The raw files are those of liun-online/HeCo (``data/<dataset>/``), pinned to
one commit. Each dataset is described by a small declarative
:class:`HeCoSpec` (node types, metapaths, schema neighbour types, feature
files, file hashes), and one loader, :func:`load_heco`, handles all four.

Every file is sha256-verified before it is parsed (see
:mod:`graphcl.datasets._files`). The ``nei_*.npy`` files are pickled object
arrays; a pinned hash proves integrity, not that the file is harmless (whoever
can write the data root can pin a crafted file in ``SHA256SUMS``), so they are
read with a restricted unpickler that rebuilds only integer arrays and refuses
every other global (:mod:`graphcl.datasets._npy`): no dataset file can run
code. Freebase's files are not part of this
release's data, so its hashes are unknown: the user pins them (``checksums=``
or a ``SHA256SUMS`` file), and nothing is read until they are pinned.

DBLP's ``aptpa.npz`` in the local mirror is regenerated from ``pa.txt`` and
``pt.txt`` (the upstream blob is not available), so its pinned hash cannot be
obtained from the upstream URL. When neither the data root nor the mirror has
it, the loader rebuilds it from the (verified) relation lists instead of
downloading it.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.data import HeteroData

from graphcl.io import atomic_writer
from graphcl.datasets._files import (
    ChecksumError,
    DownloadError,
    FileTable,
    data_root,
    mirror_root,
    read_verified_bytes,
)
from graphcl.datasets._npy import UnsafePickleError, load_integer_object_array
from graphcl.datasets.positives import csr_to_edge_index

HECO_COMMIT = "20e8ca2042838877b2c815279920218b6bbea1db"
_HECO_URL = f"https://raw.githubusercontent.com/liun-online/HeCo/{HECO_COMMIT}/data/{{}}/{{}}"

#: Name of the optional checksum file in ``<data root>/heco/<dataset>/``.
SHA256SUMS = "SHA256SUMS"

_SPLIT_RATIOS = (20, 40, 60)
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

PathLike = Union[str, os.PathLike]
Checksums = Union[Mapping[str, str], PathLike, None]


class MissingChecksumError(ChecksumError):
    """A file has no known sha256, so it may not be read (pin one with ``checksums=``)."""


@dataclass(frozen=True, eq=False)  # identity equality: the dict fields are unhashable
class HeCoSpec:
    """Declarative layout of one HeCo dataset folder.

    Attributes:
        name: Dataset name, also the folder ``heco/<name>/``.
        node_types: ``(type, letter, number of nodes)`` in the reference's
            order, target type first. The letter is the one used in file names
            (``pa.txt``, ``nei_a.npy``, metapath ``pap``).
        num_classes: Number of classes of the target type.
        metapaths: Metapath file stems in the order the reference uses them.
        schema_types: Neighbour types of the network-schema view, in order.
        features: ``{type: feature file}`` for the types whose raw features the
            reference uses; every other type in ``[target] + schema_types`` is
            one-hot (identity) in the model.
        relations: Relation-list stems (``<s><t>.txt``, ``s`` first).
        files: ``{file name: sha256 or None}`` for every file of the folder;
            ``None`` means the hash is unknown and must be pinned by the user.
        regenerable: Metapath files that are rebuilt from the relation lists
            when neither the data root nor the mirror has them.
    """

    name: str
    node_types: Tuple[Tuple[str, str, int], ...]
    num_classes: int
    metapaths: Tuple[str, ...]
    schema_types: Tuple[str, ...]
    features: Mapping[str, str]
    relations: Tuple[str, ...]
    files: Mapping[str, Optional[str]] = field(repr=False)
    regenerable: Tuple[str, ...] = ()

    @property
    def target(self) -> str:
        """The target node type (the one with labels and positives)."""
        return self.node_types[0][0]

    @property
    def num_nodes(self) -> Dict[str, int]:
        """``{type: number of nodes}``."""
        return {t: n for t, _, n in self.node_types}

    @property
    def letters(self) -> Dict[str, str]:
        """``{type: file-name letter}``."""
        return {t: letter for t, letter, _ in self.node_types}

    def relative_path(self, file: str) -> str:
        """Path of a file under the data root and the mirror."""
        return f"heco/{self.name}/{file}"

    def url(self, file: str) -> str:
        """The file's upstream URL, pinned to :data:`HECO_COMMIT`."""
        return _HECO_URL.format(self.name, file)

    def required_files(self) -> List[str]:
        """The files :func:`load_heco` reads, in reading order."""
        letters = self.letters
        out = ["labels.npy"]
        out += [self.features[t] for t, _, _ in self.node_types if t in self.features]
        out += [f"{m}.npz" for m in self.metapaths]
        out += [f"nei_{letters[t]}.npy" for t in self.schema_types]
        out.append("pos.npz")
        out += [f"{kind}_{r}.npy" for r in _SPLIT_RATIOS for kind in ("train", "val", "test")]
        return out

    def file_table(self) -> FileTable:
        """``{relative path: (sha256, url)}`` for the registry (all hashes known)."""
        unknown = [f for f, sha in self.files.items() if sha is None]
        if unknown:
            raise MissingChecksumError(f"heco/{self.name} has files without a known sha256: {unknown}")
        return {self.relative_path(f): (sha, self.url(f)) for f, sha in sorted(self.files.items())}


def _split_files() -> List[str]:
    return [f"{kind}_{r}.npy" for kind in ("train", "val", "test") for r in _SPLIT_RATIOS]


HECO_SPECS: Dict[str, HeCoSpec] = {
    "acm": HeCoSpec(
        name="acm",
        node_types=(("paper", "p", 4019), ("author", "a", 7167), ("subject", "s", 60)),
        num_classes=3,
        metapaths=("pap", "psp"),
        schema_types=("author", "subject"),
        features={"paper": "p_feat.npz"},
        relations=("pa", "ps"),
        files={
            "a_feat.npz": "e2f2ac8d357310149fc7badbf32ea0b171dec25aad6c37ec45de592666c65555",
            "labels.npy": "019284b3e6a58fc8ebd432fb99aaaf183ad41dbf56b8ca7af0b56dca9dd844b5",
            "nei_a.npy": "1b60e195f2d3a7ead0b591f4ca1b25c5e048390decb37362a828780c4d761c05",
            "nei_s.npy": "c0c4b7fe18b569384e47a582e0656bd17eb8994a0835d51bac121bfb98a2663d",
            "p_feat.npz": "9e1019dfceaaabb19ee5b5f09de3147ffbaa818b43c3fc3f92bdfaf4ed5f02f4",
            "pa.txt": "e67385fc13c3b3b624d81de7eb6e4245d9aeafa063c5466c6fab0f151bcb84d6",
            "pap.npz": "3f25894497558f74356448f1a504c946efef9f23e7beb74d38bc9ecf95a4dbb6",
            "pos.npz": "d683afe2d8cad6b5d99724f027a03bf82a078ecf8835e8e9cb58a7962127e642",
            "ps.txt": "3da7615ef5567c5f7f1ab9ec770c4b4b8b6a54790baa1cda3d4499329dfc22d5",
            "psp.npz": "cd25669b884825155487308c7d4adb42d99edbc843215438219ad551f86c8f3e",
            "test_20.npy": "eb90e38c882009c6439d749d160d39ed64f8813e9f672c02be54993914934afa",
            "test_40.npy": "f73d7e23459dd654a7567ee8bf123849f400096f8fac558dc37033d3fdc11aa6",
            "test_60.npy": "5181ccdeacc54b88ed53681ba9f2c789cc6d67a499f40a68ac6827a96932b976",
            "train_20.npy": "6bf4c1cef638f3ffe1826091b9be7fbff23a4935dfbde03c24b492d264d67684",
            "train_40.npy": "98239282e69e9775a9b13bc54598cc780eca31dcaeb81963efbbd4c6c3e51435",
            "train_60.npy": "5b86f56415b84d1faa8c8f864cd37272589ec4ffff1b0ca347d4c39ee38dcc02",
            "val_20.npy": "4280dccb661a50196502a39973a462919399fcfcd97b1d43581dfa9ca02d1b5d",
            "val_40.npy": "19fb1e72b76bc24da95423d1a83583a42fe5b62d69b2b197312f630ff5096202",
            "val_60.npy": "e234b6c1e19445ed6cc3694a273b943bbded8e847a9d0246f18d59f76fb8cd5d",
        },
    ),
    "dblp": HeCoSpec(
        name="dblp",
        # Term and conference only enter through APTPA and APCPA.
        node_types=(("author", "a", 4057), ("paper", "p", 14328), ("term", "t", 7723),
                    ("conference", "c", 20)),
        num_classes=4,
        metapaths=("apa", "apcpa", "aptpa"),
        schema_types=("paper",),
        features={"author": "a_feat.npz"},
        relations=("pa", "pc", "pt"),
        files={
            "a_feat.npz": "997876bf8d90d29fdb90bf4801a9909893a9ee5646a85aeca079ce167595ec41",
            "apa.npz": "db86d949728d422cf388741d3cd80280e0ab79ac27242b3d0a0a0635a476a3bb",
            "apcpa.npz": "25181174771506d9636daae4eb98fe048c61654cd1280cf35315c7c4adde0f56",
            "aptpa.npz": "cce71e2f778265bdd71839ea902a2aac2283d897d6d9fca8a180fd7c7a260192",
            "labels.npy": "817efdc3ebb9e96067b8770dad5894b06ecabde2ac95d4b17443985f0439fda7",
            "nei_p.npy": "f195754f35a26d18222c0124c85d6aa238e7a1ae4f6089cc664ec616e403f9ab",
            "p_feat.npz": "99c3d1836c44cda016f790d1cdbcc76fed729e48b9e2a9332eac145960716d9f",
            "pa.txt": "94cf38a92733d21664f55907305773bb6fb90dd9d1579392517596488f061382",
            "pc.txt": "316182e11f19fddfc3a01ebd6541134a7c3931ee62262e638be607bb3f9768e4",
            "pos.npz": "593aba2899e5ae6e70da9943fc7e55fd07bfc7ad9bb92755fbd10f41ac979632",
            "pt.txt": "78f3d6f9a528ed112a2d29bd2a672cdf13a03779a87ce89856e6a622eda280b8",
            "t_feat.npz": "462ea84b5eebfd4883910d0d15afff53e960ae8a80d7d62591f86a8d61fb5467",
            "test_20.npy": "a7fc6b67e477df8301915065b116fb7742d99f28323a2bf8bcb57663a2d5c490",
            "test_40.npy": "9af7116d1d11e656e4fc64dc11601353a3f37cad8fb9ffe8d71cf16d7e2a7ca6",
            "test_60.npy": "52122be025ae02256f82376bc62d1ba74083a4473a211e89a1389d67ca6e68bb",
            "train_20.npy": "85f0e91265931c8b1433ed7bd04e7e8f4c8c4246784d4443c147d6f24cccc709",
            "train_40.npy": "82cead2b36410b52729e2034c0e75de55779e718e4a35f7cc0a31b25526d8c2b",
            "train_60.npy": "47086d378beda443b1a2aa1bb2d681e5a6d2b3e819a3e9850e365ea1f8f9b819",
            "val_20.npy": "6c06b017a4c45c7cd9d01c67fb409336ddcd5c076edb9c90792cc2d027565d38",
            "val_40.npy": "b4c0b94ed81eeb28fe9bf6dd4a057de9093aa512caf4197165a2634568e7b2d5",
            "val_60.npy": "7ba309a9daec8bd5d92e217cecc6a22d8547b7b0193a8a30855fffd41636cec6",
        },
        # The pinned aptpa.npz is a regenerated file, not the upstream blob.
        regenerable=("aptpa",),
    ),
    "aminer": HeCoSpec(
        name="aminer",
        node_types=(("paper", "p", 6564), ("author", "a", 13329), ("reference", "r", 35890)),
        num_classes=4,
        metapaths=("pap", "prp"),
        schema_types=("author", "reference"),
        features={},
        relations=("pa", "pr"),
        files={
            "labels.npy": "51a0500d6f74ee8745fc2d0f85c38dcdba064878980b890d5a347f29d68b531d",
            "nei_a.npy": "69a0cc596ed1c6d16e7da32921db4c693279351d75bbb5a3bcc2f58513f319d1",
            "nei_r.npy": "568ad58013e0e491b42e5b07e102cb25cc17253c45eb00029615c29133ef513c",
            "pa.txt": "6e644c162db67840a414483890fe052fafa4deb4a3c5fa5a31e9bf7d87236885",
            "pap.npz": "058b211cfb6bcf130a9cf6b1c1e338d8fabf09cd8ef5888f7d7ba7064deef825",
            "pos.npz": "90d51988c0b086e04bcd399efda5779c80cded0a9b39ed068cb85e623ea8db00",
            "pr.txt": "04238431ee02107b88883b689c9920d77a5a718aca39b85cf7aa77f77aad1e5f",
            "prp.npz": "4f63835c4b0a7d8e62beb78823d5d3ec906ce49d2ed51f54450a8edbdc471303",
            "test_20.npy": "78a07809ebe756e471ad076b09847fbc87baf2813afab5d5a7888f1d7fa5edbd",
            "test_40.npy": "6317d3a093fccec5c5daa3c4dd196c2281c9735d0d8204d38069bb5588415d79",
            "test_60.npy": "0849876c17c16b23b64d7a7bf044ab7ae1012f5d18832583bd854af5d9dd5705",
            "train_20.npy": "609d9d70352f3a3db56a6c3e0ea97a2a5b8d943494b284fc61e747e00cc3c04e",
            "train_40.npy": "8c96436b60a5b43cbda238a8c3bea7ace6d43e17652f3d8d81bf4effcfe15e36",
            "train_60.npy": "99a1d9510d177e6f68b68c7ffc4e69d7cb6118c53e8d343ac48ef4eeb2ae6ed5",
            "val_20.npy": "5ac76f040e62102026bc4202328b708fe8a6a1b8c99119d78eadbe7494db5eb8",
            "val_40.npy": "b91f42687b34b6d306dcbb94b7cd5b9428dceaf2e4fe391d9b86a92ba2a94b4d",
            "val_60.npy": "74fa03079f8117223a845764de01d66139ea9767385f8cfc58cc6d9b0d7cc65c",
        },
    ),
    # Layout from the HeCo reference and the upstream file list of
    # data/freebase/; the files are not in this release's data, so no hash is
    # known (None) and the user must pin them before anything is read.
    "freebase": HeCoSpec(
        name="freebase",
        node_types=(("movie", "m", 3492), ("director", "d", 2502), ("actor", "a", 33401),
                    ("writer", "w", 4459)),
        num_classes=3,
        metapaths=("mdm", "mam", "mwm"),
        schema_types=("director", "actor", "writer"),
        features={},
        relations=("md", "ma", "mw"),
        files={f: None for f in ["labels.npy", "ma.txt", "mam.npz", "md.txt", "mdm.npz", "mw.txt",
                                 "mwm.npz", "nei_a.npy", "nei_d.npy", "nei_w.npy", "pos.npz",
                                 *_split_files()]},
    ),
}

#: Registry tables of the datasets whose hashes are all pinned, keyed like
#: their cards ``datasets/heco_<name>.md``.
HECO_FILES: Dict[str, FileTable] = {
    f"heco_{name}": spec.file_table()
    for name, spec in HECO_SPECS.items() if all(sha is not None for sha in spec.files.values())
}


def heco_spec(name: str) -> HeCoSpec:
    """The :class:`HeCoSpec` of a dataset.

    Args:
        name: ``"acm"``, ``"dblp"``, ``"aminer"`` or ``"freebase"`` (case-insensitive).

    Returns:
        The dataset's spec.

    Raises:
        ValueError: Unknown name.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in HECO_SPECS:
        raise ValueError(f"unknown HeCo dataset {name!r}; expected one of {sorted(HECO_SPECS)} "
                         f"(case-insensitive)")
    return HECO_SPECS[key]


# ---------------------------------------------------------------------------
# Checksums
# ---------------------------------------------------------------------------

def read_sha256sums(path: PathLike) -> Dict[str, str]:
    """Parse a ``sha256sum`` output file (``<hex>  <name>`` per line).

    Args:
        path: The file.

    Returns:
        ``{file name: sha256}``; the names' directories are dropped.
    """
    out = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or not _SHA256.match(parts[0]):
            raise ValueError(f"{path}:{number}: expected '<sha256>  <file name>', got {line!r}")
        # sha256sum marks binary-mode entries with a leading '*'.
        out[PurePosixPath(parts[1].strip().lstrip("*")).name] = parts[0].lower()
    return out


def _pinned_hashes(spec: HeCoSpec, checksums: Checksums,
                   root: Optional[PathLike]) -> Dict[str, str]:
    """The sha256 of every file the loader reads, from the registry or the user.

    ``checksums`` only fills hashes the registry lacks; a user hash that
    disagrees with a registry hash is an error rather than an override, so a
    typo cannot silently weaken verification of a pinned file.
    """
    source = None
    if checksums is None:
        sums = data_root(root) / "heco" / spec.name / SHA256SUMS
        if sums.is_file() and any(sha is None for sha in spec.files.values()):
            checksums, source = read_sha256sums(sums), str(sums)
    elif isinstance(checksums, (str, os.PathLike)):
        source = str(checksums)
        checksums = read_sha256sums(checksums)
    user = {}
    for key, sha in dict(checksums or {}).items():
        file = PurePosixPath(key).name  # accept "labels.npy" or "heco/freebase/labels.npy"
        if not isinstance(sha, str) or not _SHA256.match(sha):
            raise ValueError(f"checksum for {key!r} must be 64 hex digits, got {sha!r}")
        if file not in spec.files:
            raise ValueError(f"checksum given for {key!r}, which is not a file of heco/{spec.name} "
                             f"(files: {sorted(spec.files)})")
        known = spec.files[file]
        if known is not None and known != sha.lower():
            raise ValueError(f"checksum for {file} ({sha}) disagrees with the pinned sha256 {known} "
                             f"of heco/{spec.name}; checksums= only fills unknown hashes")
        user[file] = sha.lower()

    pinned, missing = {}, []
    for file in spec.required_files():
        sha = spec.files[file] or user.get(file)
        if sha is None:
            missing.append(file)
        else:
            pinned[file] = sha
    if missing:
        where = f" ({source} does not list them)" if source else ""
        raise MissingChecksumError(
            f"the sha256 of heco/{spec.name} files {missing} is unknown in this release{where}, and "
            f"graphcl never parses an unverified file (nei_*.npy are pickles). Obtain the files from "
            f"{spec.url('<file>')}, check them by a means you trust, then pin their hashes: pass "
            f"checksums={{'labels.npy': '<sha256>', ...}} or checksums='/path/to/SHA256SUMS', or "
            f"write `sha256sum {' '.join(missing)} > {SHA256SUMS}` output to "
            f"{data_root(root) / 'heco' / spec.name / SHA256SUMS}.")
    return pinned


# ---------------------------------------------------------------------------
# Parsing (only ever called on verified bytes)
# ---------------------------------------------------------------------------

def _load_npy(payload: bytes) -> np.ndarray:
    return np.load(io.BytesIO(payload), allow_pickle=False)


def _load_sparse(payload: bytes) -> sp.csr_matrix:
    # load_npz reads with allow_pickle=False; CSR gives canonical order.
    matrix = sp.csr_matrix(sp.load_npz(io.BytesIO(payload)))
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def _load_relation(payload: bytes, file: str) -> np.ndarray:
    pairs = np.loadtxt(io.BytesIO(payload), dtype=np.int64, ndmin=2)
    if pairs.shape[1] != 2:
        raise ValueError(f"{file}: expected two ids per line, got {pairs.shape[1]}")
    return pairs


def _check_ids(ids: np.ndarray, bound: int, what: str) -> None:
    if ids.size and (ids.min() < 0 or ids.max() >= bound):
        raise ValueError(f"{what}: ids must lie in [0, {bound}), got [{ids.min()}, {ids.max()}]")


def _neighbour_edges(payload: bytes, file: str, num_targets: int, num_neighbours: int) -> torch.Tensor:
    """``[2, E]`` edge_index (neighbour id, target id) of a ``nei_<t>.npy`` file.

    Edges are grouped by target node in id order, and each node's neighbours
    keep the file's order (the reference samples from these lists by position).
    """
    # A pickled object array. Verification proves integrity, not intent (the
    # user may pin any file), so it is read with an unpickler that can only
    # rebuild integer arrays: no file can run code.
    nei = load_integer_object_array(payload, file)
    if nei.dtype == object:
        lists = [np.asarray(a, dtype=np.int64).reshape(-1) for a in nei]
    elif nei.ndim == 2:  # ACM nei_s.npy: a plain (N, 1) array, one subject per paper
        lists = list(nei.astype(np.int64))
    else:
        raise ValueError(f"{file}: expected an object array or a 2-d array, got {nei.dtype} {nei.shape}")
    if len(lists) != num_targets:
        raise ValueError(f"{file}: {len(lists)} neighbour lists for {num_targets} target nodes")
    lengths = np.fromiter((a.size for a in lists), dtype=np.int64, count=len(lists))
    src = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int64)
    _check_ids(src, num_neighbours, file)
    dst = np.repeat(np.arange(num_targets, dtype=np.int64), lengths)
    return torch.from_numpy(np.stack([src, dst]))


# ---------------------------------------------------------------------------
# Metapaths from relation lists (and DBLP's aptpa regeneration)
# ---------------------------------------------------------------------------

def _incidence(spec: HeCoSpec, src: str, dst: str, relations: Mapping[str, np.ndarray]) -> sp.csr_matrix:
    """Boolean src x dst incidence from ``<src><dst>.txt`` or, transposed, ``<dst><src>.txt``."""
    by_letter = {letter: n for _, letter, n in spec.node_types}
    if src + dst in relations:
        pairs = relations[src + dst]
    elif dst + src in relations:
        pairs = relations[dst + src][:, ::-1]
    else:
        raise ValueError(f"heco/{spec.name} has no relation list between {src!r} and {dst!r}")
    _check_ids(pairs[:, 0], by_letter[src], f"relation {src}{dst} ({src} ids)")
    _check_ids(pairs[:, 1], by_letter[dst], f"relation {src}{dst} ({dst} ids)")
    return sp.csr_matrix((np.ones(len(pairs), dtype=bool), (pairs[:, 0], pairs[:, 1])),
                         shape=(by_letter[src], by_letter[dst]))


def metapath_from_relations(spec: HeCoSpec, metapath: str,
                            relations: Mapping[str, np.ndarray]) -> sp.coo_matrix:
    """Rebuild a symmetric metapath adjacency from relation lists.

    For ``aptpa``: M = (A→P)·(P→T) > 0 over the first half of the path, then
    M·Mᵀ > 0 (the rule that produced HeCo's metapath files).

    Args:
        spec: The dataset's spec (for node counts and letters).
        metapath: A palindromic metapath name such as ``"aptpa"``.
        relations: ``{relation stem: (E, 2) int array}``, e.g. ``{"pa": ..., "pt": ...}``.

    Returns:
        Boolean COO matrix in (row, column) order with int32 indices, the
        form of HeCo's ``<metapath>.npz`` files.
    """
    if len(metapath) < 3 or len(metapath) % 2 == 0 or metapath != metapath[::-1]:
        raise ValueError(f"metapath must be a palindrome of odd length >= 3, got {metapath!r}")
    half = metapath[: len(metapath) // 2 + 1]
    walk = _incidence(spec, half[0], half[1], relations)
    for src, dst in zip(half[1:], half[2:]):
        walk = ((walk @ _incidence(spec, src, dst, relations)) > 0).tocsr()
    full = ((walk @ walk.T.tocsr()) > 0).tocsr()
    full.sort_indices()
    # CSR first: its COO is row-major, which is how the shipped files are ordered.
    return full.tocoo()


def _present(spec: HeCoSpec, file: str, root: Optional[PathLike]) -> bool:
    rel = PurePosixPath(spec.relative_path(file))
    if data_root(root).joinpath(*rel.parts).is_file():
        return True
    mirror = mirror_root()
    return mirror is not None and mirror.joinpath(*rel.parts).is_file()


def regenerate_metapath(spec: HeCoSpec, metapath: str, root: Optional[PathLike] = None,
                        pinned: Optional[Mapping[str, str]] = None) -> sp.csr_matrix:
    """Rebuild a metapath file from its verified relation lists.

    If the rebuilt matrix, serialised with ``scipy.sparse.save_npz``, has the
    pinned sha256 (it does with numpy/scipy/zlib versions like those that made
    the shipped DBLP ``aptpa.npz``), the file is installed in the data root so
    later loads read it directly. Otherwise the matrix is still used: it is
    derived from verified inputs; only its compressed bytes differ.

    Args:
        spec: The dataset's spec.
        metapath: Metapath name, e.g. ``"aptpa"``.
        root: Data root override.
        pinned: ``{file: sha256}`` for the relation lists and the metapath
            file; defaults to the registry's hashes.

    Returns:
        The metapath adjacency as canonical boolean CSR.

    Raises:
        DownloadError: A relation list could not be fetched.
    """
    # Registry hashes first; the caller's (user-pinned) ones fill the gaps.
    pinned = {**{f: sha for f, sha in spec.files.items() if sha is not None}, **dict(pinned or {})}
    needed = sorted({metapath[i:i + 2] for i in range(len(metapath) // 2)}
                    | {metapath[i + 1] + metapath[i] for i in range(len(metapath) // 2)})
    stems = [s for s in spec.relations if s in needed]
    relations = {}
    for stem in stems:
        file = f"{stem}.txt"
        if file not in pinned:
            raise MissingChecksumError(f"cannot rebuild heco/{spec.name}/{metapath}.npz: the sha256 "
                                       f"of {file} is unknown; pin it with checksums=")
        try:
            payload = read_verified_bytes(spec.relative_path(file), pinned[file], spec.url(file), root)
        except DownloadError as exc:
            raise DownloadError(
                f"heco/{spec.name}/{metapath}.npz is in neither the data root nor the mirror, so "
                f"graphcl rebuilds it from {', '.join(s + '.txt' for s in stems)} "
                f"({metapath.upper()} from the relation lists, e.g. APT = PAᵀ·PT > 0, "
                f"APTPA = APT·APTᵀ > 0), but fetching {file} failed: {exc}") from exc
        relations[stem] = _load_relation(payload, file)
    coo = metapath_from_relations(spec, metapath, relations)

    file = f"{metapath}.npz"
    buffer = io.BytesIO()
    sp.save_npz(buffer, coo)
    payload = buffer.getvalue()
    if pinned.get(file) is not None and hashlib.sha256(payload).hexdigest() == pinned[file]:
        target = data_root(root) / spec.relative_path(file)
        target.parent.mkdir(parents=True, exist_ok=True)
        # A crash or a full disk never leaves a partial file at the final path.
        with atomic_writer(target) as out:
            out.write(payload)
    else:
        warnings.warn(f"regenerated heco/{spec.name}/{file} differs byte-wise from the pinned file "
                      f"(a different zlib/numpy?); using the rebuilt matrix without caching it",
                      RuntimeWarning, stacklevel=2)
    return coo.tocsr()


# ---------------------------------------------------------------------------
# Loader
# ---------------------------------------------------------------------------

def load_heco(name: str, root: Optional[PathLike] = None, checksums: Checksums = None) -> HeteroData:
    """Load a HeCo dataset as ``HeteroData``.

    Every file is fetched (data root, then ``$GRAPHCL_MIRROR``, then the
    upstream URL) and sha256-verified before any of them is parsed.

    Args:
        name: ``"acm"``, ``"dblp"``, ``"aminer"`` or ``"freebase"`` (case-insensitive).
        root: Data root override; defaults to ``$GRAPHCL_DATA`` or ``~/.cache/graphcl``.
        checksums: sha256 for files whose hash is unknown in this release
            (Freebase): ``{file name: sha256}`` or the path of a ``sha256sum``
            file. When ``None``, ``<data root>/heco/<name>/SHA256SUMS`` is used
            if it exists.

    Returns:
        ``HeteroData`` with, for target type ``T`` (e.g. ``"paper"``):

        - ``data[t].num_nodes`` for every node type, in the reference order;
          ``data[t].x`` (float32, dense, *not* row-normalised: the model does
          that) for types with used raw features; ``data[t].one_hot`` (bool):
          True where the model uses identity features (no matrix is stored).
        - ``data[T, m, T].edge_index`` (int64, row-major sorted) per metapath m.
        - ``data[t, "schema", T].edge_index``: rows (neighbour id, target id),
          grouped by target, each node's neighbours in the file's order.
        - ``data[T].y`` (int64), ``data[T].positive_index`` ([2, nnz], row 0 =
          anchor), ``data[T].{train,val,test}_idx_{20,40,60}`` (int64).
        - ``data.name``, ``data.target_type``, ``data.metapaths`` (order),
          ``data.schema_types`` (order), ``data.num_classes``.

    Raises:
        ValueError: Unknown name, or files inconsistent with the layout.
        MissingChecksumError: A needed file has no known or pinned sha256.
        graphcl.datasets.ChecksumError: A file is corrupt or truncated.
        graphcl.datasets.DownloadError: A file could not be fetched.
        UnsafePickleError: A ``nei_*.npy`` pickle names a global other than the few
            numpy needs for integer arrays, or holds other items (nothing of it ran).
    """
    spec = heco_spec(name)
    pinned = _pinned_hashes(spec, checksums, root)
    num_nodes = spec.num_nodes
    n = num_nodes[spec.target]

    # Verify every file first, so that a bad file fails before any parsing.
    payloads: Dict[str, bytes] = {}
    regenerate = []
    for file in spec.required_files():
        stem = file[: -len(".npz")] if file.endswith(".npz") else None
        if stem in spec.regenerable and not _present(spec, file, root):
            regenerate.append(stem)
            continue
        payloads[file] = read_verified_bytes(spec.relative_path(file), pinned[file],
                                             spec.url(file), root)

    data = HeteroData()
    for t, _, count in spec.node_types:
        data[t].num_nodes = count
    target = spec.target

    for t, file in spec.features.items():
        x = _load_sparse(payloads[file])
        if x.shape[0] != num_nodes[t]:
            raise ValueError(f"{file}: {x.shape[0]} rows for {num_nodes[t]} {t} nodes")
        data[t].x = torch.from_numpy(x.toarray().astype(np.float32))
    model_types = (target,) + spec.schema_types
    for t, _, _ in spec.node_types:
        data[t].one_hot = t in model_types and t not in spec.features

    for m in spec.metapaths:
        file = f"{m}.npz"
        adj = (regenerate_metapath(spec, m, root, pinned) if m in regenerate
               else _load_sparse(payloads[file]))
        if adj.shape != (n, n):
            raise ValueError(f"{file}: shape {adj.shape}, expected ({n}, {n})")
        data[target, m, target].edge_index = csr_to_edge_index(adj)

    letters = spec.letters
    for t in spec.schema_types:
        file = f"nei_{letters[t]}.npy"
        where = str(data_root(root).joinpath(*PurePosixPath(spec.relative_path(file)).parts))
        data[t, "schema", target].edge_index = _neighbour_edges(payloads[file], where, n,
                                                                num_nodes[t])

    labels = _load_npy(payloads["labels.npy"]).reshape(-1)
    if labels.shape[0] != n or not np.array_equal(labels, np.round(labels)):
        raise ValueError(f"labels.npy: expected {n} integer labels, got {labels.dtype} {labels.shape}")
    labels = labels.astype(np.int64)  # ACM stores float64
    _check_ids(labels, spec.num_classes, "labels.npy")
    data[target].y = torch.from_numpy(labels)

    pos = _load_sparse(payloads["pos.npz"])
    if pos.shape != (n, n):
        raise ValueError(f"pos.npz: shape {pos.shape}, expected ({n}, {n})")
    data[target].positive_index = csr_to_edge_index(pos)

    for r in _SPLIT_RATIOS:
        for kind in ("train", "val", "test"):
            file = f"{kind}_{r}.npy"
            idx = _load_npy(payloads[file]).reshape(-1).astype(np.int64)
            _check_ids(idx, n, file)
            data[target][f"{kind}_idx_{r}"] = torch.from_numpy(idx)

    data.name = spec.name
    data.target_type = target
    data.metapaths = list(spec.metapaths)
    data.schema_types = list(spec.schema_types)
    data.num_classes = spec.num_classes
    return data


class HeCoDataset:
    """A HeCo dataset: one ``HeteroData`` graph, loaded on construction.

    Args:
        name: ``"acm"``, ``"dblp"``, ``"aminer"`` or ``"freebase"`` (case-insensitive).
        root: Data root override (see :func:`load_heco`).
        checksums: Pinned sha256 for files without a known hash (Freebase).

    Attributes:
        spec: The dataset's :class:`HeCoSpec`.
        data: The loaded graph (see :func:`load_heco` for its attributes).
    """

    def __init__(self, name: str, root: Optional[PathLike] = None, checksums: Checksums = None):
        self.spec = heco_spec(name)
        self.data = load_heco(self.spec.name, root, checksums)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def target_type(self) -> str:
        return self.spec.target

    @property
    def metapaths(self) -> List[str]:
        return list(self.spec.metapaths)

    @property
    def schema_types(self) -> List[str]:
        return list(self.spec.schema_types)

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    def __len__(self) -> int:
        return 1

    def __getitem__(self, idx: int) -> HeteroData:
        if idx not in (0, -1):
            raise IndexError(f"HeCoDataset holds one graph; index {idx} is out of range")
        return self.data

    def get(self, idx: int = 0) -> HeteroData:
        """The graph (``idx`` must be 0)."""
        return self[idx]

    def __repr__(self) -> str:
        return f"HeCoDataset({self.spec.name!r})"


__all__ = [
    "HECO_COMMIT", "HECO_SPECS", "HECO_FILES", "HeCoSpec", "HeCoDataset", "MissingChecksumError",
    "UnsafePickleError",
    "load_heco", "heco_spec", "metapath_from_relations", "regenerate_metapath", "read_sha256sums",
]
