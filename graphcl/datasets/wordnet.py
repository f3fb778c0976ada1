"""WordNet 3.0 noun synsets and the GloVe 6B-50d vectors of their vocabulary.

Shared by the zero-shot (DGP) and few-shot (GPN) protocols, which both build
their class hierarchies and word inputs from these two files.

* :func:`load_wordnet_nouns`: the 82,115 noun synsets (lemmas, ``@`` hypernyms,
  ``@i`` instance hypernyms and gloss of each).
* :func:`load_glove_vocab`: the 54,988 GloVe 6B-50d rows whose word occurs in a
  noun lemma or gloss.

Both files were derived from PyPI packages by the data mirror's preparation
(see ``datasets/wordnet.md``): they have no upstream URL of their own, so they
are read from the data root or copied from ``$GRAPHCL_MIRROR``.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from graphcl.datasets._files import MIRROR_ONLY, FileTable, read_verified_bytes

WORDNET_NOUNS = "wordnet/wordnet30_nouns.json.gz"
GLOVE_VOCAB = "wordnet/glove6b50d_wordnet_noun_vocab.npz"

#: ``{"wordnet": {relative path: (sha256, url)}}``; the card ``datasets/wordnet.md`` repeats it.
WORDNET_FILES: Dict[str, FileTable] = {"wordnet": {
    WORDNET_NOUNS: ("79cbe003c0151a571ca8a9ca4e88910d7d22aa50f7f9e94351002d60c0506f18", MIRROR_ONLY),
    GLOVE_VOCAB: ("259ff699cfeeae3382cb8782252752742790c3552c78eb9ace4bb0a1c4802101", MIRROR_ONLY),
}}

_WNID = re.compile(r"n\d{8}")
_SYNSET_KEYS = ("lemmas", "hypernyms", "instance_hypernyms", "gloss")

Root = Union[str, os.PathLike, None]


@dataclass(frozen=True)
class WordNetNouns:
    """The WordNet 3.0 noun synsets, keyed by wnid (``"n%08d"``).

    Attributes:
        wnids: Every noun synset, in the file's (offset) order.
        lemmas: ``{wnid: lemma names as written, case and underscores kept}``.
        hypernyms: ``{wnid: its @ (class) hypernyms}``.
        instance_hypernyms: ``{wnid: its @i (instance) hypernyms}``.
        glosses: ``{wnid: definition, then examples after ';'}``.
    """
    wnids: List[str]
    lemmas: Dict[str, List[str]] = field(repr=False)
    hypernyms: Dict[str, List[str]] = field(repr=False)
    instance_hypernyms: Dict[str, List[str]] = field(repr=False)
    glosses: Dict[str, str] = field(repr=False)

    def check_wnids(self, wnids: Sequence[str], argument: str = "wnids") -> None:
        """Raise ``KeyError`` naming ``argument`` and the first unknown wnid."""
        unknown = [w for w in wnids if w not in self.lemmas]
        if unknown:
            raise KeyError(f"{argument}: {len(unknown)} wnid(s) are not WordNet 3.0 noun synsets, "
                           f"e.g. {unknown[0]!r}")


@dataclass(frozen=True)
class GloveVocab:
    """GloVe 6B-50d vectors of the WordNet noun vocabulary.

    Attributes:
        words: The vocabulary (lower case, as GloVe 6B).
        vectors: ``[len(words), 50]`` float32, not normalised.
        index: ``{word: row}``.
    """
    words: List[str]
    vectors: Tensor = field(repr=False)
    index: Dict[str, int] = field(repr=False)

    def lookup(self, words: Sequence[str]) -> Tensor:
        """The ``[len(words), 50]`` vectors of known words (``KeyError`` names an unknown one)."""
        missing = [w for w in words if w not in self.index]
        if missing:
            raise KeyError(f"words: {missing[0]!r} is not in the GloVe vocabulary")
        return self.vectors[[self.index[w] for w in words]]


def load_wordnet_nouns(root: Root = None) -> WordNetNouns:
    """Read ``wordnet/wordnet30_nouns.json.gz`` (sha256-verified).

    Args:
        root: Data root override (default ``$GRAPHCL_DATA`` or ``~/.cache/graphcl``).

    Returns:
        The :class:`WordNetNouns`.

    Raises:
        ValueError: The file is not the documented JSON layout.
    """
    sha256, url = WORDNET_FILES["wordnet"][WORDNET_NOUNS]
    payload = read_verified_bytes(WORDNET_NOUNS, sha256, url, root)
    try:
        document = json.loads(gzip.decompress(payload))
        wnids, synsets = document["wnids"], document["synsets"]
        records = [synsets[w] for w in wnids]
        columns = {key: {w: r[key] for w, r in zip(wnids, records)} for key in _SYNSET_KEYS}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{WORDNET_NOUNS}: not the expected {{'wnids', 'synsets': {{wnid: "
                         f"{list(_SYNSET_KEYS)}}}}} JSON ({exc!r})") from exc
    bad = next((w for w in wnids if not (isinstance(w, str) and _WNID.fullmatch(w))), None)
    if bad is not None:
        raise ValueError(f"{WORDNET_NOUNS}: {bad!r} is not a noun wnid")
    return WordNetNouns(wnids=list(wnids), lemmas=columns["lemmas"], hypernyms=columns["hypernyms"],
                        instance_hypernyms=columns["instance_hypernyms"], glosses=columns["gloss"])


def load_glove_vocab(root: Root = None) -> GloveVocab:
    """Read ``wordnet/glove6b50d_wordnet_noun_vocab.npz`` (sha256-verified, no pickles).

    Args:
        root: Data root override.

    Returns:
        The :class:`GloveVocab`.

    Raises:
        ValueError: The arrays are missing or have the wrong shapes.
    """
    sha256, url = WORDNET_FILES["wordnet"][GLOVE_VOCAB]
    payload = read_verified_bytes(GLOVE_VOCAB, sha256, url, root)
    with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
        if not {"words", "vectors"} <= set(arrays.files):
            raise ValueError(f"{GLOVE_VOCAB}: expected arrays 'words' and 'vectors', got {arrays.files}")
        words, vectors = arrays["words"].tolist(), arrays["vectors"]
    if vectors.ndim != 2 or vectors.shape[0] != len(words) or vectors.dtype != np.float32:
        raise ValueError(f"{GLOVE_VOCAB}: 'vectors' must be float32 [len(words), dim], got "
                         f"{vectors.dtype} {vectors.shape} for {len(words)} words")
    return GloveVocab(words=words, vectors=torch.from_numpy(vectors.copy()),
                      index={w: i for i, w in enumerate(words)})


__all__ = ["WORDNET_FILES", "WordNetNouns", "GloveVocab", "load_wordnet_nouns", "load_glove_vocab"]
