"""HeCo's heterogeneous graphs (ACM, DBLP, AMiner, Freebase) as PyG ``HeteroData``.

The raw files are those of liun-online/HeCo (``data/<dataset>/``), pinned to
one commit. Each dataset is described by a small declarative
:class:`HeCoSpec` (node types, metapaths, schema neighbour types, feature
files, file hashes), and one loader, :func:`load_heco`, handles all four.
Every file is sha256-verified before it is parsed, and the pickled
``nei_*.npy`` files are read with a restricted unpickler, so no dataset file
can run code.

Modules, one job each:

* :mod:`~graphcl.datasets.heco.specs`: the layouts and pinned hashes
  (:class:`HeCoSpec`, :data:`HECO_SPECS`, :data:`HECO_FILES`).
* :mod:`~graphcl.datasets.heco.checksums`: hashes the user pins for files
  whose sha256 is unknown in this release (Freebase), ``SHA256SUMS`` files.
* :mod:`~graphcl.datasets.heco.metapaths`: metapath adjacencies rebuilt from
  the relation lists (DBLP's ``aptpa.npz``).
* :mod:`~graphcl.datasets.heco.loader`: :func:`load_heco` and :class:`HeCoDataset`.
* ``_parse`` (private): parsing of verified relation lists and neighbour files.
"""
from graphcl.datasets._npy import UnsafePickleError
from graphcl.datasets.heco.checksums import SHA256SUMS, read_sha256sums
from graphcl.datasets.heco.loader import HeCoDataset, load_heco
from graphcl.datasets.heco.metapaths import metapath_from_relations, regenerate_metapath
from graphcl.datasets.heco.specs import (HECO_COMMIT, HECO_FILES, HECO_SPECS, SPLIT_RATIOS,
                                         HeCoSpec, MissingChecksumError, heco_spec)

__all__ = [
    "HECO_COMMIT", "HECO_SPECS", "HECO_FILES", "SPLIT_RATIOS", "SHA256SUMS", "HeCoSpec",
    "HeCoDataset", "MissingChecksumError", "UnsafePickleError",
    "load_heco", "heco_spec", "metapath_from_relations", "regenerate_metapath", "read_sha256sums",
]
