"""The HeCo loader: :func:`load_heco` and :class:`HeCoDataset`.

Every file is sha256-verified before any of them is parsed (see
:mod:`graphcl.datasets._files`); the layout comes from the dataset's
:class:`~graphcl.datasets.heco.specs.HeCoSpec`.
"""
from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch
from torch_geometric.data import HeteroData

from graphcl.datasets._files import data_root, read_verified_bytes
from graphcl.datasets._readers import load_npy, load_sparse
from graphcl.datasets.heco._parse import check_ids, neighbour_edges
from graphcl.datasets.heco.checksums import Checksums, pinned_hashes
from graphcl.datasets.heco.metapaths import needs_regeneration, regenerate_metapath
from graphcl.datasets.heco.specs import SPLIT_RATIOS, HeCoSpec, heco_spec
from graphcl.datasets.positives import csr_to_edge_index

PathLike = Union[str, os.PathLike]


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
    pinned = pinned_hashes(spec, checksums, root)
    payloads, regenerate = _verified_payloads(spec, pinned, root)

    data = HeteroData()
    for t, _, count in spec.node_types:
        data[t].num_nodes = count
    _add_features(data, spec, payloads)
    _add_metapaths(data, spec, payloads, regenerate, root, pinned)
    _add_schema_edges(data, spec, payloads, root)
    _add_labels_and_splits(data, spec, payloads)

    data.name = spec.name
    data.target_type = spec.target
    data.metapaths = list(spec.metapaths)
    data.schema_types = list(spec.schema_types)
    data.num_classes = spec.num_classes
    return data


def _verified_payloads(spec: HeCoSpec, pinned: Dict[str, str],
                       root: Optional[PathLike]) -> Tuple[Dict[str, bytes], List[str]]:
    """The verified bytes of every file, and the metapaths to rebuild instead.

    Every file is verified first, so that a bad file fails before any parsing.
    """
    payloads: Dict[str, bytes] = {}
    regenerate = []
    for file in spec.required_files():
        if needs_regeneration(spec, file, root):
            regenerate.append(file[: -len(".npz")])
            continue
        payloads[file] = read_verified_bytes(spec.relative_path(file), pinned[file],
                                             spec.url(file), root)
    return payloads, regenerate


def _add_features(data: HeteroData, spec: HeCoSpec, payloads: Mapping[str, bytes]) -> None:
    """``x`` of the types with raw features, ``one_hot`` of every type."""
    num_nodes = spec.num_nodes
    for t, file in spec.features.items():
        x = load_sparse(payloads[file])
        if x.shape[0] != num_nodes[t]:
            raise ValueError(f"{file}: {x.shape[0]} rows for {num_nodes[t]} {t} nodes")
        data[t].x = torch.from_numpy(x.toarray().astype(np.float32))
    model_types = (spec.target,) + spec.schema_types
    for t, _, _ in spec.node_types:
        data[t].one_hot = t in model_types and t not in spec.features


def _add_metapaths(data: HeteroData, spec: HeCoSpec, payloads: Mapping[str, bytes],
                   regenerate: List[str], root: Optional[PathLike],
                   pinned: Dict[str, str]) -> None:
    """One ``(target, metapath, target)`` edge type per metapath, in the spec's order."""
    target, n = spec.target, spec.num_nodes[spec.target]
    for m in spec.metapaths:
        file = f"{m}.npz"
        adj = (regenerate_metapath(spec, m, root, pinned) if m in regenerate
               else load_sparse(payloads[file]))
        if adj.shape != (n, n):
            raise ValueError(f"{file}: shape {adj.shape}, expected ({n}, {n})")
        data[target, m, target].edge_index = csr_to_edge_index(adj)


def _add_schema_edges(data: HeteroData, spec: HeCoSpec, payloads: Mapping[str, bytes],
                      root: Optional[PathLike]) -> None:
    """One ``(type, "schema", target)`` edge type per network-schema neighbour type."""
    target, num_nodes, letters = spec.target, spec.num_nodes, spec.letters
    for t in spec.schema_types:
        file = f"nei_{letters[t]}.npy"
        where = str(data_root(root).joinpath(*PurePosixPath(spec.relative_path(file)).parts))
        data[t, "schema", target].edge_index = neighbour_edges(payloads[file], where,
                                                               num_nodes[target], num_nodes[t])


def _add_labels_and_splits(data: HeteroData, spec: HeCoSpec,
                           payloads: Mapping[str, bytes]) -> None:
    """``y``, ``positive_index`` and the ``{train,val,test}_idx_{r}`` of the target type."""
    target, n = spec.target, spec.num_nodes[spec.target]
    labels = load_npy(payloads["labels.npy"]).reshape(-1)
    if labels.shape[0] != n or not np.array_equal(labels, np.round(labels)):
        raise ValueError(f"labels.npy: expected {n} integer labels, got {labels.dtype} {labels.shape}")
    labels = labels.astype(np.int64)  # ACM stores float64
    check_ids(labels, spec.num_classes, "labels.npy")
    data[target].y = torch.from_numpy(labels)

    pos = load_sparse(payloads["pos.npz"])
    if pos.shape != (n, n):
        raise ValueError(f"pos.npz: shape {pos.shape}, expected ({n}, {n})")
    data[target].positive_index = csr_to_edge_index(pos)

    for r in SPLIT_RATIOS:
        for kind in ("train", "val", "test"):
            file = f"{kind}_{r}.npy"
            idx = load_npy(payloads[file]).reshape(-1).astype(np.int64)
            check_ids(idx, n, file)
            data[target][f"{kind}_idx_{r}"] = torch.from_numpy(idx)


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



__all__ = ["load_heco", "HeCoDataset"]
