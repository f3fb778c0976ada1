"""Datasets: sha256-verified raw files and loaders that return PyG ``Data``.

Files are kept under ``$GRAPHCL_DATA`` (default ``~/.cache/graphcl``), copied
from ``$GRAPHCL_MIRROR`` when set, else downloaded from their original URLs.

* :mod:`~graphcl.datasets.planetoid`: Cora and CiteSeer (``Data``).
* :mod:`~graphcl.datasets.heco`: HeCo's ACM, DBLP, AMiner, Freebase (``HeteroData``),
  and :mod:`~graphcl.datasets.positives`, their metapath-count positives.
* :mod:`~graphcl.datasets.sdcn`: the SDCN / SCGC clustering datasets (``Data``).
* :mod:`~graphcl.datasets.wordnet`: WordNet 3.0 nouns and their GloVe 6B-50d vectors.
* :mod:`~graphcl.datasets.evidence`: Evidence Inference's problem -> trial task and its graphs.
* :mod:`~graphcl.datasets.pneumoniamnist`: PneumoniaMNIST chest X-rays (image tensors, LVM-Med).
* :mod:`~graphcl.datasets.dgp`: DGP's ImageNet zero-shot graph, splits and gloss protocol.
* Private: ``_files`` (fetching and sha256 verification), ``_npy`` (the
  restricted unpickler), ``_readers`` (``.npy`` / ``.npz`` readers).
"""
from typing import Dict

from graphcl.datasets._files import (
    ChecksumError,
    DownloadError,
    FileTable,
    data_root,
    fetch_all,
    fetch_file,
    mirror_root,
    read_verified_bytes,
)
from graphcl.datasets._npy import UnsafePickleError
from graphcl.datasets.planetoid import PLANETOID_FILES, load_planetoid
from graphcl.datasets.heco import HECO_FILES, HeCoDataset, MissingChecksumError, load_heco
from graphcl.datasets.positives import is_valid_topt_selection, topt_positives
from graphcl.datasets.sdcn import SDCN_FILES, SDCN_NAMES, MissingFeaturesError, load_sdcn
from graphcl.datasets.wordnet import (WORDNET_FILES, GloveVocab, WordNetNouns, load_glove_vocab,
                                     load_wordnet_nouns)
from graphcl.datasets.evidence import EVIDENCE_FILES, EvidenceTask, load_evidence
from graphcl.datasets.pneumoniamnist import PNEUMONIAMNIST_FILES, PneumoniaMNIST, load_pneumoniamnist
from graphcl.datasets.dgp import DGP_FILES

#: Every dataset's raw files, ``{dataset name: {relative path: (sha256, url)}}``.
#: Each entry must have a card ``datasets/<name>.md`` with the same table.
DATASET_FILES: Dict[str, FileTable] = {**PLANETOID_FILES, **HECO_FILES, **SDCN_FILES,
                                       **WORDNET_FILES, **EVIDENCE_FILES,
                                       **PNEUMONIAMNIST_FILES, **DGP_FILES}

__all__ = [
    # files: where they live, how they are fetched and verified
    "data_root", "mirror_root", "fetch_file", "fetch_all", "read_verified_bytes", "DATASET_FILES",
    "ChecksumError", "DownloadError", "MissingChecksumError", "UnsafePickleError",
    # loaders
    "load_planetoid",
    "load_heco", "HeCoDataset", "HECO_FILES", "topt_positives", "is_valid_topt_selection",
    "load_sdcn", "SDCN_FILES", "SDCN_NAMES", "MissingFeaturesError",
    "load_wordnet_nouns", "load_glove_vocab", "WordNetNouns", "GloveVocab", "WORDNET_FILES",
    "load_evidence", "EvidenceTask", "EVIDENCE_FILES",
    "load_pneumoniamnist", "PneumoniaMNIST", "PNEUMONIAMNIST_FILES",
]
