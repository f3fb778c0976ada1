"""Metapath adjacencies rebuilt from HeCo's relation lists (and DBLP's ``aptpa`` regeneration).

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
import warnings
from pathlib import PurePosixPath
from typing import Mapping, Optional, Union

import numpy as np
import scipy.sparse as sp

from graphcl.datasets._files import DownloadError, data_root, mirror_root, read_verified_bytes
from graphcl.datasets.heco._parse import check_ids, load_relation
from graphcl.datasets.heco.specs import HeCoSpec, MissingChecksumError
from graphcl.io import atomic_writer

PathLike = Union[str, os.PathLike]


def _incidence(spec: HeCoSpec, src: str, dst: str, relations: Mapping[str, np.ndarray]) -> sp.csr_matrix:
    """Boolean src x dst incidence from ``<src><dst>.txt`` or, transposed, ``<dst><src>.txt``."""
    by_letter = {letter: n for _, letter, n in spec.node_types}
    if src + dst in relations:
        pairs = relations[src + dst]
    elif dst + src in relations:
        pairs = relations[dst + src][:, ::-1]
    else:
        raise ValueError(f"heco/{spec.name} has no relation list between {src!r} and {dst!r}")
    check_ids(pairs[:, 0], by_letter[src], f"relation {src}{dst} ({src} ids)")
    check_ids(pairs[:, 1], by_letter[dst], f"relation {src}{dst} ({dst} ids)")
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


def needs_regeneration(spec: HeCoSpec, file: str, root: Optional[PathLike] = None) -> bool:
    """Whether the loader rebuilds ``file`` instead of fetching it.

    True for a regenerable metapath file (``spec.regenerable``, e.g. DBLP's
    ``aptpa.npz``) that neither the data root nor the mirror has: its pinned
    hash is that of a regenerated file, so the upstream URL cannot provide it.

    Args:
        spec: The dataset's spec.
        file: A file name of the dataset folder, e.g. ``"aptpa.npz"``.
        root: Data root override (default: ``None``, the usual data root).
    """
    stem = file[: -len(".npz")] if file.endswith(".npz") else None
    return stem in spec.regenerable and not _present(spec, file, root)


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
        relations[stem] = load_relation(payload, file)
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



__all__ = ["metapath_from_relations", "regenerate_metapath"]
