"""Planetoid citation graphs (Cora, CiteSeer) in the standard Kipf/PyG form.

The raw files are the ``ind.<name>.*`` files of kimiyoung/planetoid, pinned to
one commit. They are Python 2 pickles, so they are sha256-verified (see
:mod:`graphcl.datasets._files`) before PyG's reader unpickles them.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path, PurePosixPath
from typing import Dict, Union

from torch_geometric.data import Data
from torch_geometric.io import read_planetoid_data

from graphcl.datasets._files import FileTable, read_verified_bytes

PLANETOID_COMMIT = "af6abf468a772cc055bec88c52e4d6f51b7c37e3"
_PLANETOID_URL = f"https://raw.githubusercontent.com/kimiyoung/planetoid/{PLANETOID_COMMIT}/data/{{}}"


def _planetoid_table(name: str, sha256_by_suffix: Dict[str, str]) -> Dict[str, tuple]:
    return {f"planetoid/ind.{name}.{suffix}": (sha, _PLANETOID_URL.format(f"ind.{name}.{suffix}"))
            for suffix, sha in sha256_by_suffix.items()}


#: ``{dataset name: {relative path: (sha256, url)}}``; ``datasets/<name>.md``
#: repeats these tables and a test keeps the two equal.
PLANETOID_FILES: Dict[str, FileTable] = {
    "cora": _planetoid_table("cora", {
        "x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
        "y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
        "tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
        "ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
        "allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
        "ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
        "graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
        "test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    }),
    "citeseer": _planetoid_table("citeseer", {
        "x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
        "y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
        "tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
        "ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
        "allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
        "ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
        "graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
        "test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
    }),
}


def load_planetoid(name: str, root: Union[str, os.PathLike, None] = None) -> Data:
    """Load Cora or CiteSeer exactly as PyG's ``Planetoid`` (public split) does.

    All eight raw files are fetched and verified before any of them is parsed.

    Args:
        name: ``"cora"`` or ``"citeseer"`` (case-insensitive).
        root: Data root override; defaults to ``$GRAPHCL_DATA`` or
            ``~/.cache/graphcl``.

    Returns:
        A ``Data`` with ``x`` (float32 bag of words), ``y`` (long class ids),
        ``edge_index`` (undirected, no self loops, duplicates removed and
        sorted by target then source, as PyG leaves it) and boolean
        ``train_mask`` / ``val_mask`` / ``test_mask``, in the standard node
        order. For CiteSeer, the 15 ids missing from the test index are
        isolated nodes with zero features and label 0, as in PyG.

    Raises:
        ValueError: ``name`` is not a known Planetoid dataset.
        graphcl.datasets.ChecksumError: a raw file is corrupt or truncated.
        graphcl.datasets.DownloadError: a raw file could not be fetched.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in PLANETOID_FILES:
        raise ValueError(f"unknown Planetoid dataset {name!r}; expected one of "
                         f"{sorted(PLANETOID_FILES)} (case-insensitive)")
    # Every file is verified first, so a bad one fails before any unpickling.
    payloads = {rel: read_verified_bytes(rel, sha, url, root)
                for rel, (sha, url) in PLANETOID_FILES[key].items()}
    # PyG's reader opens files by path; it gets a private copy of the exact
    # bytes that were hashed, so nothing can swap a file between check and parse.
    with tempfile.TemporaryDirectory(prefix="graphcl-planetoid-") as staging:
        for rel, payload in payloads.items():
            Path(staging, PurePosixPath(rel).name).write_bytes(payload)
        # The reader installs a global warnings filter; keep it from leaking.
        with warnings.catch_warnings():
            data = read_planetoid_data(staging, key)
    return data


__all__ = ["PLANETOID_COMMIT", "PLANETOID_FILES", "load_planetoid"]
