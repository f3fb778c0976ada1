"""The offline WordNet-gloss zero-shot protocol for DGP (reference §4).

The images of DGP's ImageNet evaluation are replaced by the words of each
class's WordNet gloss: a train class's regression target is the mean GloVe
vector of its gloss tokens, and every token occurrence of a test class is one
test "image" scored against the predicted class vectors. The token rule is
fixed here, in code, because a different tokenisation moves hit@1 by up to
half a point.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

import torch
from torch import Tensor

from graphcl.datasets.dgp.loader import DGPData
from graphcl.datasets.wordnet import GloveVocab, WordNetNouns

#: A token: letters/digits, optionally joined by ``-`` or ``'`` (``x-ray``, ``o'clock``).
TOKEN_PATTERN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_LEMMA_SPLIT = re.compile(r"[_ \-]")


def _stop_words() -> frozenset:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # 318 words
    return frozenset(ENGLISH_STOP_WORDS)


def gloss_tokens(gloss: str, lemmas: Sequence[str], vocab: GloveVocab,
                 stop_words: frozenset = None) -> List[str]:
    """The tokens of one class under the protocol's rule, repeats kept, in order.

    The definition is the gloss before its first ``;`` (the rest are usage
    examples), lower-cased; stop words, the parts of the class's own lemma names
    (which would make the task a lookup) and words outside the GloVe
    vocabulary are dropped.
    """
    stop_words = _stop_words() if stop_words is None else stop_words
    own = {part for lemma in lemmas for part in _LEMMA_SPLIT.split(lemma.lower()) if part}
    definition = gloss.split(";", 1)[0].lower()
    return [t for t in TOKEN_PATTERN.findall(definition)
            if t not in stop_words and t not in own and t in vocab.index]


@dataclass(frozen=True)
class GlossSamples:
    """The test "images" of one test set.

    Attributes:
        classes: Node indices of the set's classes (the general-setting candidates).
        vectors: ``[S, 50]`` GloVe vector of every token occurrence.
        labels: ``[S]`` node index of the class each sample belongs to.
    """
    classes: Tensor
    vectors: Tensor = field(repr=False)
    labels: Tensor = field(repr=False)

    @property
    def num_samples(self) -> int:
        return self.labels.numel()


@dataclass(frozen=True)
class GlossProtocol:
    """Targets and test samples of the offline protocol.

    Attributes:
        train: Node indices of the train classes.
        targets: ``[n_train, 50]`` L2-normalised gloss-mean vectors (zero for a
            class without tokens).
        samples: ``{"2-hops", "3-hops", "all", "awa2": GlossSamples}``.
        tokens: ``{node index: its tokens}`` for every train and test class.
    """
    train: Tensor
    targets: Tensor = field(repr=False)
    samples: Dict[str, GlossSamples] = field(repr=False)
    tokens: Dict[int, List[str]] = field(repr=False)


def build_gloss_protocol(data: DGPData, nouns: WordNetNouns, vocab: GloveVocab) -> GlossProtocol:
    """Build the targets and samples of reference §4 from the loaded files.

    Args:
        data: :func:`~graphcl.datasets.dgp.load_dgp`'s graph and splits.
        nouns: :func:`~graphcl.datasets.load_wordnet_nouns`.
        vocab: :func:`~graphcl.datasets.load_glove_vocab`.

    Raises:
        ValueError: A train or test class is not a WordNet 3.0 noun synset.
    """
    stop_words = _stop_words()
    needed = sorted({int(i) for i in data.train} | {int(i) for s in data.test_sets.values() for i in s})
    unknown = [data.wnids[i] for i in needed if data.wnids[i] not in nouns.glosses]
    if unknown:
        raise ValueError(f"data: {len(unknown)} class wnid(s) have no WordNet gloss, e.g. {unknown[0]!r}")
    tokens = {i: gloss_tokens(nouns.glosses[data.wnids[i]], nouns.lemmas[data.wnids[i]], vocab,
                              stop_words) for i in needed}
    targets = torch.stack([_mean_or_zero(vocab, tokens[int(i)]) for i in data.train])
    targets = torch.nn.functional.normalize(targets, dim=1)
    samples = {name: _samples_of(classes, tokens, vocab) for name, classes in data.test_sets.items()}
    return GlossProtocol(train=data.train.clone(), targets=targets, samples=samples, tokens=tokens)


def _mean_or_zero(vocab: GloveVocab, words: List[str]) -> Tensor:
    if not words:
        return torch.zeros(vocab.vectors.size(1))
    return vocab.lookup(words).mean(0)


def _samples_of(classes: Tensor, tokens: Dict[int, List[str]], vocab: GloveVocab) -> GlossSamples:
    words = [w for c in classes.tolist() for w in tokens[c]]
    labels = [c for c in classes.tolist() for _ in tokens[c]]
    vectors = vocab.lookup(words) if words else torch.zeros(0, vocab.vectors.size(1))
    return GlossSamples(classes=classes.clone(), vectors=vectors,
                        labels=torch.tensor(labels, dtype=torch.long))
