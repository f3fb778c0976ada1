"""The SDCN / SCGC clustering datasets (usps, hhar, reut, acm, cite, dblp) as PyG ``Data``.

SDCN (bdy9527/SDCN, pinned to one commit) ships kNN graphs for USPS, HHAR and
Reuters (``<name><k>_graph.txt``, k in {1, 3, 5, 10}), the ACM, CiteSeer and
DBLP graphs (``<name>_graph.txt``) and the label files, but not all feature
matrices. The features come from elsewhere:

- usps: ``train/data`` and ``test/data`` of ``usps.h5`` (niuers/Learning-From-Data-A-Short-Course),
  stacked; SDCN's own graph script reads that file, and :func:`graphcl.knn.knn_graph`
  reproduces ``usps{1,3,5,10}_graph.txt`` exactly from it.
- acm: ``feature`` of ``ACM3025.mat`` (googlebaba/WWW2020-O2MAC); ``argmax(label)``
  equals ``acm_label.txt`` and ``PAP`` without its diagonal equals ``acm_graph.txt``.
- cite: the Planetoid CiteSeer features in Kipf/PyG node order (:func:`load_planetoid`);
  ``cite_label.txt - 1`` equals its labels.
- dblp: SDCN's feature order is not available, so the HeCo DBLP author graph is
  used (``a_feat.npz``, ``labels.npy``, APA without its diagonal): the same
  dataset up to a node permutation (same label histogram and edge count).
- hhar, reut: no features are available; pass them with ``features=``.

Every file is sha256-verified before it is parsed (see :mod:`graphcl.datasets._files`).
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np
import scipy.io
import torch
from torch_geometric.data import Data

from graphcl.datasets._files import FileTable, read_verified_bytes
from graphcl.datasets._readers import load_npy, load_sparse
from graphcl.datasets.heco import HECO_FILES, HECO_SPECS
from graphcl.datasets.planetoid import PLANETOID_FILES, load_planetoid
from graphcl.knn import symmetrize

PathLike = Union[str, os.PathLike]

SDCN_COMMIT = "da6bb007b7d07362ac04db3e146b4944e2acb883"
_SDCN_URL = f"https://raw.githubusercontent.com/bdy9527/SDCN/{SDCN_COMMIT}/{{}}/{{}}"
USPS_H5_URL = ("https://raw.githubusercontent.com/niuers/Learning-From-Data-A-Short-Course/"
               "879a698b960e5867f7c2b11f8938fa89c3d21839/data/usps.h5")
ACM3025_URL = ("https://raw.githubusercontent.com/googlebaba/WWW2020-O2MAC/"
               "f663628eddd253c23c5c60f5a098c1ad38e92e6d/data/ACM3025.mat")

KNN_KS = (1, 3, 5, 10)


class MissingFeaturesError(ValueError):
    """A dataset's feature matrix is not distributed and was not passed with ``features=``."""


def _sdcn_entry(name: str, file: str, sha256: str) -> Tuple[str, Tuple[str, str]]:
    folder = "graph" if file.endswith("_graph.txt") else "data"
    return f"sdcn/{name}/{file}", (sha256, _SDCN_URL.format(folder, file))


def _sdcn_table(name: str, sha256_by_file: Dict[str, str]) -> Dict[str, Tuple[str, str]]:
    return dict(_sdcn_entry(name, f, sha) for f, sha in sha256_by_file.items())


_HECO_DBLP = HECO_SPECS["dblp"]
_DBLP_HECO_FILES = ("a_feat.npz", "labels.npy", "apa.npz")

#: ``{dataset name: {relative path: (sha256, url)}}`` for the SDCN datasets; the
#: cards ``datasets/<name>.md`` repeat these tables and a test keeps them equal.
#: ``sdcn_cite`` and ``sdcn_dblp`` include the Planetoid / HeCo files they read
#: (taken from those registries, not repeated here).
SDCN_FILES: Dict[str, FileTable] = {
    "sdcn_usps": {
        "sdcn/usps/usps.h5": ("734f88c541104a956d88be2c95d03b4a463ffd74ccc2ba9c80841fb98e3fcb36", USPS_H5_URL),
        **_sdcn_table("usps", {
            "usps1_graph.txt": "0330292f32d8fbaa104b4d494447684d9ba4715e7caf631e441f9695c37653bd",
            "usps3_graph.txt": "4bd79c7777ac7ce884794713feea3bd61e67d2581a8df218019182132ff77bb0",
            "usps5_graph.txt": "0c62cd6c8f8579d9a98f56281fefd724c0b4ac68b099f8c0aa006236151ef13c",
            "usps10_graph.txt": "db0b1f038f838c1cec153ba48127951a1465f3bf40c7a7a2033ffdc6ca581053",
            "usps_label.txt": "40e1e201b590cff58953314463591499f72831426073a77483fee648b9c98e91",
        }),
    },
    "sdcn_hhar": _sdcn_table("hhar", {
        "hhar1_graph.txt": "8c513af72ad633a4c6b4ed73c068640a628455d881cde4dfc46a52d410cb45ea",
        "hhar3_graph.txt": "045014715d7d1686813e5126ac3c2ac2ae40b105e8146cae1da2386d83d4d064",
        "hhar5_graph.txt": "6f511313e8b7adc9c363bad86b0bb4929cda5632c0bc0fdbcbc2c07fad85f44b",
        "hhar10_graph.txt": "0180cac69e014807c584c8b890c02263ce8b0a4ead7d4349ef682f4afc001f48",
        "hhar_label.txt": "5a88e22e6aa7fc975dedf551eb32cf394f3181ebaa921567f85e6b09b8a8df67",
    }),
    "sdcn_reut": _sdcn_table("reut", {
        "reut1_graph.txt": "6dcaef98d940617ef0107d24e89f79562d4775eb021d570a2b8a424dd3752762",
        "reut3_graph.txt": "26838b1aa912991f33d044556dfba880eff5ba52eeafec5944fead2f9ffb33f6",
        "reut5_graph.txt": "05b674c2af0760fb5899a21e155cd06f5ad5c439e88b4b1e181a1a770e0fa2a2",
        "reut10_graph.txt": "9a3620080fc9f5e68bfa0d9900677f83411561bf9a454304d8c52884cb4437da",
        "reut_label.txt": "389bb6aecf89a54552336b3b6fe41477fd16ce06848761d173f8b691a6a92874",
    }),
    "sdcn_acm": {
        "sdcn/acm/ACM3025.mat": ("b10e486a49892307a56a3d9ad48128a948d2bf2da19db9e6e7f79c6622529fdc", ACM3025_URL),
        **_sdcn_table("acm", {
            "acm_graph.txt": "54529a64f7b2cd373b3cee450afec900bcf34de3dfb87fe436552efe48b15c87",
            "acm_label.txt": "a1637c25de4e946d027f131cc02a2f8cae268ac8488fc12fa22e9b275603ead3",
        }),
    },
    "sdcn_cite": {
        **_sdcn_table("cite", {
            "cite_graph.txt": "29da9311f1b3060f564263ca6f15e98af459b45f13bee0a6979beb4c41ba6494",
            "cite_label.txt": "877820efe71f99632dffc43a74503ec84e26ad08c1f6df8bc7ae0ed7554c6cd5",
        }),
        **PLANETOID_FILES["citeseer"],
    },
    "sdcn_dblp": {
        **_sdcn_table("dblp", {
            "dblp_graph.txt": "cadb495a8810b48866ee9a2c92b2b10a7137406476c94eb4ebee642f268df984",
            "dblp_label.txt": "31c369e801d7c6891b2d7b31d4c1f2718d69aca498d23a8c48945061fcdc0da6",
        }),
        **{_HECO_DBLP.relative_path(f): HECO_FILES["heco_dblp"][_HECO_DBLP.relative_path(f)]
           for f in _DBLP_HECO_FILES},
    },
}


@dataclass(frozen=True)
class SDCNSpec:
    """Facts of one dataset (SDCN Table 1 and the shipped files)."""

    name: str
    num_nodes: int
    num_classes: int
    num_features: int
    label_offset: int = 0          # hhar and cite labels are 1-based
    default_k: Optional[int] = None  # kNN datasets only
    knn_method: Optional[str] = None
    features_source: str = ""


SDCN_SPECS: Dict[str, SDCNSpec] = {
    "usps": SDCNSpec("usps", 9298, 10, 256, default_k=3, knn_method="heat"),
    "hhar": SDCNSpec("hhar", 10299, 6, 561, label_offset=1, default_k=5, knn_method="heat",
                     features_source=("the UCI HAR dataset (Human Activity Recognition Using "
                                      "Smartphones): the 561 features of X_train (7,352 rows) "
                                      "followed by X_test (2,947 rows), 10299x561")),
    "reut": SDCNSpec("reut", 10000, 4, 2000, default_k=3, knn_method="ncos",
                     features_source=("DEC's reutersidf10k (Xie et al. 2016; made by DEC's "
                                      "make_reuters_data): 10,000 documents x 2,000 tf-idf features, "
                                      "10000x2000")),
    "acm": SDCNSpec("acm", 3025, 3, 1870),
    "cite": SDCNSpec("cite", 3327, 6, 3703, label_offset=1),
    "dblp": SDCNSpec("dblp", 4057, 4, 334),
    "cora": SDCNSpec("cora", 2708, 7, 1433),
    "citeseer": SDCNSpec("citeseer", 3327, 6, 3703),
}

#: Names accepted by :func:`load_sdcn`.
SDCN_NAMES = tuple(SDCN_SPECS)

FeaturesLike = Union[PathLike, np.ndarray, torch.Tensor, None]


def load_sdcn(name: str, root: Optional[PathLike] = None, *, k: Optional[int] = None,
              features: FeaturesLike = None) -> Data:
    """Load an SDCN / SCGC clustering dataset.

    Args:
        name: ``"usps"``, ``"hhar"``, ``"reut"`` (kNN graphs), ``"acm"``,
            ``"cite"``, ``"dblp"``, or ``"cora"`` / ``"citeseer"`` (Planetoid,
            via :func:`load_planetoid`); case-insensitive.
        root: Data root override; defaults to ``$GRAPHCL_DATA`` or ``~/.cache/graphcl``.
        k: kNN graph ``<name><k>_graph.txt`` to use, one of 1, 3, 5, 10
            (usps, hhar, reut only). Defaults to SCGC's choice: usps 3, hhar 5, reut 3.
        features: hhar and reut only (their features are not distributed): a
            path to a ``.npy`` file or to a whitespace-delimited text file
            (SDCN's ``data/<name>.txt``), or an array / tensor, with one row per
            node in SDCN's order.

    Returns:
        ``Data`` with ``x`` float32 ``[N, d]`` (raw, not normalised), ``y``
        long ``[N]`` (0-based), ``edge_index`` long ``[2, E]`` (the graph
        symmetrised as the union of both directions, equal to SDCN's
        ``max(A, A^T)``; coalesced row-major; no self loops), ``name`` and
        ``num_clusters`` (number of classes); kNN datasets also carry ``knn_k``.

    Raises:
        ValueError: unknown name, bad ``k``, ``features`` given for a dataset
            that has its own, features with the wrong number of rows, or files
            inconsistent with each other (e.g. an edge id out of range).
        MissingFeaturesError: hhar or reut without ``features`` (a ValueError).
        ImportError: usps without h5py installed.
        graphcl.datasets.ChecksumError: a raw file is corrupt or truncated.
        graphcl.datasets.DownloadError: a raw file could not be fetched.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in SDCN_SPECS:
        raise ValueError(f"unknown SDCN dataset {name!r}; expected one of {list(SDCN_NAMES)} "
                         f"(case-insensitive)")
    spec = SDCN_SPECS[key]
    if spec.default_k is None:
        if k is not None:
            raise ValueError(f"k applies only to the kNN datasets usps, hhar and reut; "
                             f"{key} has a fixed graph (got k={k!r})")
    else:
        k = spec.default_k if k is None else k
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) not in KNN_KS:
            raise ValueError(f"k must be one of {list(KNN_KS)} for {key} (the shipped "
                             f"{key}<k>_graph.txt files), got {k!r}")
        k = int(k)
    if features is not None and key not in ("hhar", "reut"):
        raise ValueError(f"features= is only for hhar and reut, whose features are not "
                         f"distributed; {key} has its own")

    if key in ("cora", "citeseer"):
        planetoid = load_planetoid(key, root)
        return _make_data(spec, planetoid.x, planetoid.y.numpy(), planetoid.edge_index)
    loader = {"usps": _load_usps, "hhar": _load_featureless, "reut": _load_featureless,
              "acm": _load_acm, "cite": _load_cite, "dblp": _load_dblp}[key]
    data = loader(spec, root, k, features)
    if spec.default_k is not None:
        data.knn_k = k
    return data


# ---------------------------------------------------------------------------
# Per-dataset loaders (each verifies all its files before parsing any)
# ---------------------------------------------------------------------------

def _read(spec_key: str, rel: str, root: Optional[PathLike]) -> bytes:
    sha256, url = SDCN_FILES[spec_key][rel]
    return read_verified_bytes(rel, sha256, url, root)


def _read_all(name: str, files, root: Optional[PathLike]) -> Dict[str, bytes]:
    return {f: _read(f"sdcn_{name}", f"sdcn/{name}/{f}", root) for f in files}


def _load_usps(spec: SDCNSpec, root, k, features) -> Data:
    h5py = _import_h5py()
    graph, labels = f"usps{k}_graph.txt", "usps_label.txt"
    payloads = _read_all("usps", ["usps.h5", graph, labels], root)
    with h5py.File(io.BytesIO(payloads["usps.h5"]), "r") as f:
        x = np.vstack([np.asarray(f["train/data"]), np.asarray(f["test/data"])])
        targets = np.concatenate([np.asarray(f["train/target"]), np.asarray(f["test/target"])])
    _check_shape(x, spec, "sdcn/usps/usps.h5 (train/data, test/data)")
    y = _parse_labels(payloads[labels], "sdcn/usps/usps_label.txt", spec)
    if not np.array_equal(targets.astype(np.int64), y):
        raise ValueError("sdcn/usps/usps.h5 targets differ from sdcn/usps/usps_label.txt")
    edges = _parse_edges(payloads[graph], f"sdcn/usps/{graph}", spec.num_nodes)
    return _make_data(spec, x, y, edges)


def _load_featureless(spec: SDCNSpec, root, k, features) -> Data:
    name = spec.name
    if features is None:
        raise MissingFeaturesError(
            f"the {name} feature matrix is not distributed with SDCN's graphs and labels, so "
            f"load_sdcn({name!r}) needs features=. It is {spec.features_source}, one row per node "
            f"in the order of {name}_label.txt ({spec.num_nodes} rows). Pass "
            f"features='/path/to/{name}.txt' (SDCN's data/{name}.txt, whitespace-delimited), a "
            f".npy file, or an array of shape ({spec.num_nodes}, {spec.num_features}).")
    graph, labels = f"{name}{k}_graph.txt", f"{name}_label.txt"
    payloads = _read_all(name, [graph, labels], root)
    y = _parse_labels(payloads[labels], f"sdcn/{name}/{labels}", spec)
    edges = _parse_edges(payloads[graph], f"sdcn/{name}/{graph}", spec.num_nodes)
    x = _user_features(features, spec)
    return _make_data(spec, x, y, edges)


def _load_acm(spec: SDCNSpec, root, k, features) -> Data:
    payloads = _read_all("acm", ["ACM3025.mat", "acm_graph.txt", "acm_label.txt"], root)
    mat = scipy.io.loadmat(io.BytesIO(payloads["ACM3025.mat"]))
    x = np.asarray(mat["feature"], dtype=np.float32)
    _check_shape(x, spec, "sdcn/acm/ACM3025.mat (feature)")
    onehot = np.asarray(mat["label"])
    if onehot.shape != (spec.num_nodes, spec.num_classes):
        raise ValueError(f"sdcn/acm/ACM3025.mat: label has shape {onehot.shape}, expected "
                         f"({spec.num_nodes}, {spec.num_classes})")
    y = onehot.argmax(axis=1).astype(np.int64)
    if not np.array_equal(y, _parse_labels(payloads["acm_label.txt"], "sdcn/acm/acm_label.txt", spec)):
        raise ValueError("argmax of label in sdcn/acm/ACM3025.mat differs from sdcn/acm/acm_label.txt")
    edges = _parse_edges(payloads["acm_graph.txt"], "sdcn/acm/acm_graph.txt", spec.num_nodes)
    return _make_data(spec, x, y, edges)


def _load_cite(spec: SDCNSpec, root, k, features) -> Data:
    payloads = _read_all("cite", ["cite_graph.txt", "cite_label.txt"], root)
    planetoid = load_planetoid("citeseer", root)  # verifies its own eight files
    y = _parse_labels(payloads["cite_label.txt"], "sdcn/cite/cite_label.txt", spec)
    if not np.array_equal(y, planetoid.y.numpy()):
        raise ValueError("sdcn/cite/cite_label.txt - 1 differs from the Planetoid CiteSeer labels; "
                         "the feature rows would not match the SDCN node order")
    edges = _parse_edges(payloads["cite_graph.txt"], "sdcn/cite/cite_graph.txt", spec.num_nodes)
    return _make_data(spec, planetoid.x, y, edges)


def _load_dblp(spec: SDCNSpec, root, k, features) -> Data:
    # Option B: HeCo's DBLP authors (SDCN's feature order is not available).
    sdcn_labels = _read("sdcn_dblp", "sdcn/dblp/dblp_label.txt", root)
    heco = {f: _read("sdcn_dblp", _HECO_DBLP.relative_path(f), root) for f in _DBLP_HECO_FILES}
    x = load_sparse(heco["a_feat.npz"]).toarray().astype(np.float32)
    _check_shape(x, spec, "heco/dblp/a_feat.npz")
    y = load_npy(heco["labels.npy"]).reshape(-1)
    if y.shape != (spec.num_nodes,) or not np.array_equal(y, np.round(y)):
        raise ValueError(f"heco/dblp/labels.npy: expected {spec.num_nodes} integer labels, "
                         f"got {y.dtype} {y.shape}")
    y = y.astype(np.int64)
    _check_label_range(y, spec, "heco/dblp/labels.npy")
    reference = _parse_labels(sdcn_labels, "sdcn/dblp/dblp_label.txt", spec)
    if not np.array_equal(np.bincount(y, minlength=spec.num_classes),
                          np.bincount(reference, minlength=spec.num_classes)):
        raise ValueError("heco/dblp/labels.npy and sdcn/dblp/dblp_label.txt have different label "
                         "histograms: they are not the same DBLP dataset")
    apa = load_sparse(heco["apa.npz"]).tocoo()
    if apa.shape != (spec.num_nodes, spec.num_nodes):
        raise ValueError(f"heco/dblp/apa.npz: shape {apa.shape}, expected "
                         f"({spec.num_nodes}, {spec.num_nodes})")
    edges = np.stack([apa.row, apa.col]).astype(np.int64)
    return _make_data(spec, x, y, edges)  # the diagonal is dropped there


# ---------------------------------------------------------------------------
# Parsing and checks (only ever called on verified bytes or user input)
# ---------------------------------------------------------------------------

def _parse_edges(payload: bytes, rel: str, num_nodes: int) -> np.ndarray:
    """``[2, E]`` int64 from an ``i j`` per line file; every id must lie in ``[0, N)``."""
    try:
        pairs = np.loadtxt(io.BytesIO(payload), dtype=np.int64, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{rel}: expected one 'i j' pair of integer node ids per line: {exc}") from exc
    if pairs.size == 0 or pairs.shape[1] != 2:
        raise ValueError(f"{rel}: expected one 'i j' pair of node ids per line, got "
                         f"{pairs.shape[1] if pairs.size else 0} columns")
    low, high = int(pairs.min()), int(pairs.max())
    if low < 0 or high >= num_nodes:
        raise ValueError(f"{rel}: node ids must lie in [0, {num_nodes}), got [{low}, {high}]")
    return np.ascontiguousarray(pairs.T)


def _parse_labels(payload: bytes, rel: str, spec: SDCNSpec) -> np.ndarray:
    """0-based int64 labels from a one-int-per-line file."""
    try:
        y = np.loadtxt(io.BytesIO(payload), dtype=np.int64, ndmin=1)
    except ValueError as exc:
        raise ValueError(f"{rel}: expected one integer label per line: {exc}") from exc
    if y.shape != (spec.num_nodes,):
        raise ValueError(f"{rel}: expected {spec.num_nodes} labels, got {y.shape[0] if y.ndim else 0}")
    y = y - spec.label_offset
    _check_label_range(y, spec, rel)
    return y


def _check_label_range(y: np.ndarray, spec: SDCNSpec, what: str) -> None:
    if y.min() < 0 or y.max() >= spec.num_classes:
        raise ValueError(f"{what}: labels must lie in [{spec.label_offset}, "
                         f"{spec.label_offset + spec.num_classes}), got "
                         f"[{y.min() + spec.label_offset}, {y.max() + spec.label_offset}]")


def _check_shape(x: np.ndarray, spec: SDCNSpec, what: str) -> None:
    expected = (spec.num_nodes, spec.num_features)
    if x.shape != expected:
        raise ValueError(f"{what}: features have shape {x.shape}, expected {expected}")


def _user_features(features: FeaturesLike, spec: SDCNSpec) -> np.ndarray:
    if isinstance(features, (str, os.PathLike)):
        path = Path(features).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"features: no such file {str(path)!r}")
        if path.suffix == ".npy":
            x = np.load(path, allow_pickle=False)
        else:
            try:
                x = np.loadtxt(path, dtype=np.float32, ndmin=2)
            except ValueError as exc:
                raise ValueError(f"features: {path} is not a whitespace-delimited numeric "
                                 f"matrix: {exc}") from exc
        what = f"features ({path})"
    elif isinstance(features, torch.Tensor):
        x, what = features.detach().cpu().numpy(), "features"
    elif isinstance(features, np.ndarray):
        x, what = features, "features"
    else:
        raise TypeError(f"features must be a path, a numpy array or a tensor, "
                        f"got {type(features).__name__}")
    if x.ndim != 2:
        raise ValueError(f"{what} must be 2-D [N, d], got shape {x.shape}")
    if x.shape[0] != spec.num_nodes:
        raise ValueError(f"{what} has {x.shape[0]} rows, but {spec.name} has {spec.num_nodes} "
                         f"nodes ({spec.name}_label.txt); expected shape ({spec.num_nodes}, "
                         f"{spec.num_features})")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or np.iscomplexobj(x):
        raise ValueError(f"{what} must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or Inf")
    return x


def _make_data(spec: SDCNSpec, x, y: np.ndarray, edges) -> Data:
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).float().contiguous()
    edge_index = symmetrize(torch.as_tensor(np.asarray(edges), dtype=torch.long), spec.num_nodes)
    data = Data(x=x, y=torch.as_tensor(y, dtype=torch.long), edge_index=edge_index)
    data.name = spec.name
    data.num_clusters = spec.num_classes
    return data


def _import_h5py():
    try:
        import h5py
    except ImportError as exc:
        raise ImportError("reading sdcn/usps/usps.h5 needs h5py: pip install h5py "
                          "(or pip install graphcl[sdcn])") from exc
    return h5py


__all__ = ["SDCN_COMMIT", "SDCN_FILES", "SDCN_NAMES", "SDCN_SPECS", "SDCNSpec", "KNN_KS",
           "MissingFeaturesError", "load_sdcn"]
