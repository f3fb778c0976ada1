"""The SDCN / SCGC loader: :func:`load_sdcn` and one private reader per dataset.

Each reader verifies all its files before it parses any (see
:mod:`graphcl.datasets._files`).
"""
from __future__ import annotations

import io
import os
from typing import Dict, Optional, Union

import numpy as np
import scipy.io
import torch
from torch_geometric.data import Data

from graphcl.datasets._files import read_verified_bytes
from graphcl.datasets._readers import load_npy, load_sparse
from graphcl.datasets.heco import HECO_SPECS
from graphcl.datasets.planetoid import load_planetoid
from graphcl.datasets.sdcn._parse import (FeaturesLike, check_label_range, check_shape,
                                          parse_edges, parse_labels, user_features)
from graphcl.datasets.sdcn.specs import (DBLP_HECO_FILES, KNN_KS, SDCN_FILES, SDCN_NAMES,
                                         SDCN_SPECS, SDCNSpec)
from graphcl.knn import symmetrize

PathLike = Union[str, os.PathLike]

_HECO_DBLP = HECO_SPECS["dblp"]


class MissingFeaturesError(ValueError):
    """A dataset's feature matrix is not distributed and was not passed with ``features=``."""


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
    check_shape(x, spec, "sdcn/usps/usps.h5 (train/data, test/data)")
    y = parse_labels(payloads[labels], "sdcn/usps/usps_label.txt", spec)
    if not np.array_equal(targets.astype(np.int64), y):
        raise ValueError("sdcn/usps/usps.h5 targets differ from sdcn/usps/usps_label.txt")
    edges = parse_edges(payloads[graph], f"sdcn/usps/{graph}", spec.num_nodes)
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
    y = parse_labels(payloads[labels], f"sdcn/{name}/{labels}", spec)
    edges = parse_edges(payloads[graph], f"sdcn/{name}/{graph}", spec.num_nodes)
    x = user_features(features, spec)
    return _make_data(spec, x, y, edges)


def _load_acm(spec: SDCNSpec, root, k, features) -> Data:
    payloads = _read_all("acm", ["ACM3025.mat", "acm_graph.txt", "acm_label.txt"], root)
    mat = scipy.io.loadmat(io.BytesIO(payloads["ACM3025.mat"]))
    x = np.asarray(mat["feature"], dtype=np.float32)
    check_shape(x, spec, "sdcn/acm/ACM3025.mat (feature)")
    onehot = np.asarray(mat["label"])
    if onehot.shape != (spec.num_nodes, spec.num_classes):
        raise ValueError(f"sdcn/acm/ACM3025.mat: label has shape {onehot.shape}, expected "
                         f"({spec.num_nodes}, {spec.num_classes})")
    y = onehot.argmax(axis=1).astype(np.int64)
    if not np.array_equal(y, parse_labels(payloads["acm_label.txt"], "sdcn/acm/acm_label.txt", spec)):
        raise ValueError("argmax of label in sdcn/acm/ACM3025.mat differs from sdcn/acm/acm_label.txt")
    edges = parse_edges(payloads["acm_graph.txt"], "sdcn/acm/acm_graph.txt", spec.num_nodes)
    return _make_data(spec, x, y, edges)


def _load_cite(spec: SDCNSpec, root, k, features) -> Data:
    payloads = _read_all("cite", ["cite_graph.txt", "cite_label.txt"], root)
    planetoid = load_planetoid("citeseer", root)  # verifies its own eight files
    y = parse_labels(payloads["cite_label.txt"], "sdcn/cite/cite_label.txt", spec)
    if not np.array_equal(y, planetoid.y.numpy()):
        raise ValueError("sdcn/cite/cite_label.txt - 1 differs from the Planetoid CiteSeer labels; "
                         "the feature rows would not match the SDCN node order")
    edges = parse_edges(payloads["cite_graph.txt"], "sdcn/cite/cite_graph.txt", spec.num_nodes)
    return _make_data(spec, planetoid.x, y, edges)


def _load_dblp(spec: SDCNSpec, root, k, features) -> Data:
    # Option B: HeCo's DBLP authors (SDCN's feature order is not available).
    sdcn_labels = _read("sdcn_dblp", "sdcn/dblp/dblp_label.txt", root)
    heco = {f: _read("sdcn_dblp", _HECO_DBLP.relative_path(f), root) for f in DBLP_HECO_FILES}
    x = load_sparse(heco["a_feat.npz"]).toarray().astype(np.float32)
    check_shape(x, spec, "heco/dblp/a_feat.npz")
    y = load_npy(heco["labels.npy"]).reshape(-1)
    if y.shape != (spec.num_nodes,) or not np.array_equal(y, np.round(y)):
        raise ValueError(f"heco/dblp/labels.npy: expected {spec.num_nodes} integer labels, "
                         f"got {y.dtype} {y.shape}")
    y = y.astype(np.int64)
    check_label_range(y, spec, "heco/dblp/labels.npy")
    reference = parse_labels(sdcn_labels, "sdcn/dblp/dblp_label.txt", spec)
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


__all__ = ["MissingFeaturesError", "load_sdcn"]
