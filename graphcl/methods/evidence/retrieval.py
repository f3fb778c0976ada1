"""Non-learned baselines: popularity, TF-IDF and BM25 retrieval of the article
title + abstract with the problem string as the query."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from graphcl.datasets.evidence import EvidenceTask, TextFeatures


def popularity_scores(task: EvidenceTask, num_queries: int) -> Tensor:
    """Every query scores an article by its number of training links."""
    degree = torch.bincount(task.train[1], minlength=task.num_articles).double()
    return degree.expand(num_queries, -1).clone()


def tfidf_scores(features: TextFeatures, task: EvidenceTask, queries: Sequence[str]) -> Tensor:
    """Cosine of TF-IDF vectors (the vectorizer's rows are L2-normalised)."""
    docs = features.tfidf(task.article_texts())
    return torch.from_numpy((features.tfidf(queries) @ docs.T).toarray())


class BM25:
    """Okapi BM25 over a fixed collection (Robertson & Zaragoza 2009), with
    Lucene's non-negative idf:

    .. math::
        s(q, d) = \\sum_{t \\in q} \\log\\Big(1 + \\frac{N - n_t + 0.5}{n_t + 0.5}\\Big)
        \\frac{f_{t,d}(k_1 + 1)}{f_{t,d} + k_1 (1 - b + b\\, |d| / \\overline{|d|})}

    (a query term counts once per occurrence in the query). Tokens come from
    ``analyzer`` (the TF-IDF baseline's: lower case, English stop words removed).

    Args:
        documents (list of str): the collection.
        analyzer (callable): ``str -> list of tokens``.
        k1 (float): term-frequency saturation (default 1.2).
        b (float): length normalisation in [0, 1] (default 0.75).
    """

    def __init__(self, documents: Sequence[str], analyzer, k1: float = 1.2, b: float = 0.75):
        from sklearn.feature_extraction.text import CountVectorizer
        if not k1 > 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 > 0 and b in [0, 1], got k1={k1}, b={b}")
        self.counter = CountVectorizer(analyzer=analyzer)
        tf = self.counter.fit_transform(list(documents)).tocsr().astype(np.float64)
        n = tf.shape[0]
        df = np.bincount(tf.indices, minlength=tf.shape[1])
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5))
        length = np.asarray(tf.sum(axis=1)).ravel()
        norm = k1 * (1 - b + b * length / max(length.mean(), 1e-12))
        rows = np.repeat(np.arange(n), np.diff(tf.indptr))
        weights = tf.data * (k1 + 1) / (tf.data + norm[rows])
        # The document side of the sum, once: W[d, t] = idf_t * saturated tf.
        self.weights = sp.csr_matrix((weights * self.idf[tf.indices], tf.indices, tf.indptr),
                                     shape=tf.shape)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """``[len(queries), documents]`` BM25 scores."""
        q = self.counter.transform(list(queries)).astype(np.float64)
        return np.asarray((q @ self.weights.T).todense())


def bm25_scores(features: TextFeatures, task: EvidenceTask, queries: Sequence[str],
                k1: float = 1.2, b: float = 0.75) -> Tensor:
    bm25 = BM25(task.article_texts(), features.vectorizer.build_analyzer(), k1, b)
    return torch.from_numpy(bm25.scores(queries))
