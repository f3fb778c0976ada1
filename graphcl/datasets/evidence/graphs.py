"""The two evidence graphs, as PyG ``HeteroData``, and the text features they share.

* :func:`build_coreference_graph` (ECG): evidence, problem, intervention and
  comparator nodes; evidence-element edges; evidence-evidence co-reference
  edges where normalised elements are shared; problem-evidence training links.
  Outcomes are elements too, but an article-outcome edge is a link: the only
  ones allowed are the training links, so outcomes enter as the problem nodes
  (``addresses``) and as ``co_outcome`` edges between two articles that share
  a training problem.
* :func:`build_text_graph` (ETG): TextGCN (Yao et al., AAAI 2019) with
  document nodes (evidence title + abstract, problem strings) and word nodes;
  doc-word TF-IDF weights and word-word positive PMI over sliding windows.
  No problem-evidence edge at all.

Both use :class:`TextFeatures` (a TF-IDF fitted on the article texts, the
§2.4 baseline's settings, reduced by a truncated SVD) for node features, so an
unseen problem string has features, and, in the ETG, edges to its words.
Everything is vectorised (scikit-learn, scipy.sparse): seconds, not minutes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from graphcl.datasets.evidence.loader import EvidenceTask

ELEMENTS = ("intervention", "comparator")


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


@dataclass
class TextFeatures:
    """TF-IDF (``sublinear_tf=True, stop_words='english'``) fitted on the
    article texts, and a truncated SVD of it for dense node features."""
    vectorizer: object
    components: np.ndarray  # [dim, vocabulary]

    def tfidf(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.vectorizer.transform(list(texts)).tocsr()

    def embed(self, texts: Sequence[str]) -> Tensor:
        """``[len(texts), dim]`` float32: the SVD of the TF-IDF rows, L2-normalised
        (a text with no known word gets zeros)."""
        z = np.asarray(self.tfidf(texts) @ self.components.T, dtype=np.float32)
        return _row_normalized(torch.from_numpy(z))

    def word_vectors(self) -> Tensor:
        """``[vocabulary, dim]``: each word's SVD loadings, L2-normalised."""
        return _row_normalized(torch.from_numpy(np.ascontiguousarray(self.components.T, dtype=np.float32)))

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])


def _row_normalized(z: Tensor) -> Tensor:
    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)


def truncated_svd_components(matrix: sp.spmatrix, dim: int) -> np.ndarray:
    """The top-``dim`` right singular vectors (``[dim, columns]``) of a matrix
    with few rows, exactly, from the eigenvectors of ``M Mᵀ`` (rows x rows;
    deterministic, unlike a randomised SVD); each sign fixed so that its
    largest-magnitude loading is positive."""
    from scipy.linalg import eigh
    gram = np.asarray((matrix @ matrix.T).todense(), dtype=np.float64)
    n = gram.shape[0]
    values, vectors = eigh(gram, subset_by_index=[n - dim, n - 1])
    top = np.argsort(values)[::-1]
    sigma = np.sqrt(np.clip(values[top], 1e-24, None))
    components = np.asarray(matrix.T @ (vectors[:, top] / sigma)).T  # [dim, columns]
    signs = np.sign(components[np.arange(dim), np.abs(components).argmax(axis=1)])
    return components * signs[:, None]


def fit_text_features(task: EvidenceTask, dim: int = 128) -> TextFeatures:
    """Fit the TF-IDF on the article texts only (never on problems or links)
    and its rank-``dim`` SVD."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    _check_positive_int(dim, "dim")
    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english")
    matrix = vectorizer.fit_transform(task.article_texts())
    if dim >= min(matrix.shape):
        raise ValueError(f"dim must be below {min(matrix.shape)} (articles, vocabulary), got {dim}")
    return TextFeatures(vectorizer, truncated_svd_components(matrix, dim))


def _edge_index(matrix: sp.spmatrix) -> Tuple[Tensor, Tensor]:
    """``(edge_index [2, nnz], weight [nnz])`` of a sparse matrix, row-major."""
    coo = sp.coo_matrix(matrix)
    order = np.lexsort((coo.col, coo.row))
    index = np.vstack([coo.row[order], coo.col[order]]).astype(np.int64)
    return torch.from_numpy(index), torch.from_numpy(coo.data[order].astype(np.float32))


def _add_relation(data, src: str, rel: str, dst: str, matrix: sp.spmatrix,
                  reverse: bool = True) -> None:
    index, weight = _edge_index(matrix)
    data[src, rel, dst].edge_index = index
    data[src, rel, dst].edge_weight = weight
    if reverse:
        data[dst, f"rev_{rel}", src].edge_index = index.flip(0)
        data[dst, f"rev_{rel}", src].edge_weight = weight


def _incidence(rows: int, items: Sequence[Sequence[str]]) -> Tuple[sp.csr_matrix, List[str]]:
    """Binary ``rows x vocabulary`` matrix of each row's strings."""
    vocabulary = sorted({s for strings in items for s in strings})
    index = {s: i for i, s in enumerate(vocabulary)}
    r = np.fromiter((i for i, strings in enumerate(items) for _ in strings), dtype=np.int64)
    c = np.fromiter((index[s] for strings in items for s in strings), dtype=np.int64)
    m = sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(rows, len(vocabulary)))
    return m, vocabulary


def coreference(incidence: sp.csr_matrix, max_group: int) -> sp.csr_matrix:
    """Evidence-evidence co-reference: ``C[i, j]`` = the number of elements
    articles i != j share, counting only elements held by 2..``max_group``
    articles (a "placebo" shared by hundreds of trials says little and would
    add a dense block)."""
    sizes = np.asarray(incidence.sum(axis=0)).ravel()
    keep = np.flatnonzero((sizes >= 2) & (sizes <= max_group))
    m = incidence[:, keep]
    shared = (m @ m.T).tocsr()
    shared.setdiag(0)
    shared.eliminate_zeros()
    return shared


def build_coreference_graph(task: EvidenceTask, features: TextFeatures,
                            max_group: int = 50, outcome_coreference: bool = True):
    """The Evidence Co-reference Graph (see the module docstring).

    Node types ``evidence`` (``task.articles`` order), ``problem``
    (``task.problems``), ``intervention``, ``comparator`` (their normalised
    strings, ``.names``); every type has ``x`` from ``features.embed``.
    Edge types (each with ``edge_weight`` and a ``rev_`` reverse, except the
    symmetric co-reference ones): ``(evidence, has_intervention, intervention)``,
    ``(evidence, has_comparator, comparator)``, ``(problem, addresses,
    evidence)`` = the training links only (in ``task.train`` order), and
    ``(evidence, co_<element>, evidence)`` for intervention, comparator and,
    with ``outcome_coreference``, outcome (= a shared training problem).
    """
    from torch_geometric.data import HeteroData
    max_group = _check_positive_int(max_group, "max_group")
    data = HeteroData()
    n = task.num_articles
    data["evidence"].x = features.embed(task.article_texts())
    data["problem"].x = features.embed(task.problems)
    for element in ELEMENTS:
        incidence, names = _incidence(n, getattr(task, f"{element}s"))
        data[element].x = features.embed(names)
        data[element].names = names
        _add_relation(data, "evidence", f"has_{element}", element, incidence)
        _add_relation(data, "evidence", f"co_{element}", "evidence",
                      coreference(incidence, max_group), reverse=False)
    links = training_link_matrix(task)
    _add_relation(data, "problem", "addresses", "evidence", links)
    if outcome_coreference:
        _add_relation(data, "evidence", "co_outcome", "evidence",
                      coreference(links.T.tocsr(), max_group), reverse=False)
    return data


def training_link_matrix(task: EvidenceTask) -> sp.csr_matrix:
    """Binary ``problems x articles`` matrix of the training links."""
    p, a = task.train.numpy()
    return sp.csr_matrix((np.ones(len(p), dtype=np.float32), (p, a)),
                         shape=(task.num_problems, task.num_articles))


def _window_incidence(sequences: Sequence[np.ndarray], window: int) -> sp.csr_matrix:
    """Binary ``windows x words``: which words each sliding window holds
    (a document shorter than ``window`` is one window)."""
    rows, cols, start = [], [], 0
    for seq in sequences:
        n = len(seq)
        if n == 0:
            continue
        width = min(window, n)
        count = n - width + 1
        positions = np.arange(count)[:, None] + np.arange(width)[None, :]
        rows.append(np.repeat(np.arange(start, start + count), width))
        cols.append(seq[positions].ravel())
        start += count
    if start == 0:
        return sp.csr_matrix((0, 0), dtype=np.float32)
    r, c = np.concatenate(rows), np.concatenate(cols)
    m = sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)))
    m.data[:] = 1.0  # a word twice in a window counts once
    return m


def top_k_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The ``k`` largest entries of every row (ties: lower column first),
    symmetrised by the union (``max(M_k, M_kᵀ)``) for a symmetric input."""
    coo = matrix.tocoo()
    order = np.lexsort((coo.col, -coo.data, coo.row))
    rows = coo.row[order]
    starts = np.searchsorted(rows, np.arange(matrix.shape[0]))
    keep = order[(np.arange(len(order)) - starts[rows]) < k]
    kept = sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape)
    return kept.maximum(kept.T).tocsr()


def positive_pmi(sequences: Sequence[np.ndarray], vocabulary_size: int, window: int = 20,
                 min_count: int = 1, top_k: Optional[int] = None) -> sp.csr_matrix:
    """TextGCN's word-word weights: ``PMI(i, j) = log(#W(i, j) #W / (#W(i) #W(j)))``
    over sliding windows, positive entries only, no diagonal; pairs seen in
    fewer than ``min_count`` windows are dropped; with ``top_k``, only each
    word's ``top_k`` highest-PMI partners are kept (then symmetrised), which
    keeps the graph sparse (TextGCN keeps every positive pair)."""
    w = _window_incidence(sequences, window)
    if w.shape[0] == 0:
        return sp.csr_matrix((vocabulary_size, vocabulary_size), dtype=np.float32)
    w = sp.csr_matrix(w, shape=(w.shape[0], vocabulary_size)) if w.shape[1] < vocabulary_size \
        else w
    w.resize((w.shape[0], vocabulary_size))
    together = (w.T @ w).tocoo()
    alone = np.asarray(w.sum(axis=0)).ravel()
    keep = (together.row != together.col) & (together.data >= min_count)
    i, j, c = together.row[keep], together.col[keep], together.data[keep].astype(np.float64)
    pmi = np.log(c * w.shape[0] / (alone[i] * alone[j]))
    positive = pmi > 0
    out = sp.csr_matrix((pmi[positive].astype(np.float32), (i[positive], j[positive])),
                        shape=(vocabulary_size, vocabulary_size))
    return out if top_k is None else top_k_per_row(out, _check_positive_int(top_k, "top_k"))


def _token_ids(analyzer, texts: Sequence[str], index: dict) -> List[np.ndarray]:
    return [np.fromiter((index[t] for t in analyzer(text) if t in index), dtype=np.int64)
            for text in texts]


def build_text_graph(task: EvidenceTask, features: TextFeatures, window: int = 20,
                     min_df: int = 2, min_count: int = 2, top_k: Optional[int] = 16):
    """The Evidence Text Graph (TextGCN style; see the module docstring).

    Node types ``evidence``, ``problem`` (documents) and ``word`` (the TF-IDF
    vocabulary words in >= ``min_df`` articles, ``.names``). Edge types, with
    ``edge_weight``: ``(evidence, contains, word)`` and ``(problem, contains,
    word)`` = TF-IDF, with ``rev_contains`` reverses; ``(word, cooccurs,
    word)`` = positive PMI over windows of ``window`` words of every document,
    pairs co-occurring in >= ``min_count`` windows, each word's ``top_k``
    strongest (``None``: all), symmetric.
    """
    from torch_geometric.data import HeteroData
    window = _check_positive_int(window, "window")
    min_df = _check_positive_int(min_df, "min_df")
    min_count = _check_positive_int(min_count, "min_count")
    article_tfidf = features.tfidf(task.article_texts())
    df = np.asarray((article_tfidf > 0).sum(axis=0)).ravel()
    words = np.flatnonzero(df >= min_df)
    names = features.vectorizer.get_feature_names_out()[words].tolist()
    data = HeteroData()
    data["evidence"].x = features.embed(task.article_texts())
    data["problem"].x = features.embed(task.problems)
    data["word"].x = features.word_vectors()[torch.from_numpy(words)]
    data["word"].names = names
    data["word"].vocabulary_index = torch.from_numpy(words)
    _add_relation(data, "evidence", "contains", "word", article_tfidf[:, words])
    _add_relation(data, "problem", "contains", "word", features.tfidf(task.problems)[:, words])
    index = {w: i for i, w in enumerate(names)}
    analyzer = features.vectorizer.build_analyzer()
    sequences = _token_ids(analyzer, task.article_texts() + list(task.problems), index)
    _add_relation(data, "word", "cooccurs", "word",
                  positive_pmi(sequences, len(names), window, min_count, top_k),
                  reverse=False)
    return data


def text_graph_query_edges(features: TextFeatures, text_graph, texts: Sequence[str]
                           ) -> Tuple[Tensor, Tensor]:
    """``(edge_index [2, E], edge_weight [E])`` from new problem documents
    (rows 0..len(texts)-1) to the ETG's word nodes, TF-IDF weighted as the
    graph's own ``(problem, contains, word)`` edges."""
    words = text_graph["word"].vocabulary_index.numpy()
    return _edge_index(features.tfidf(texts)[:, words])
