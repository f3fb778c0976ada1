"""Inputs, training (BPR with sampled negatives, early stopping on validation
Recall@20) and evaluation of every evidence-recommendation model."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from graphcl.datasets.evidence import (EvidenceTask, TextFeatures, build_coreference_graph,
                                       build_text_graph, fit_text_features,
                                       text_graph_query_edges)
from graphcl.eval import ranking_metrics
from graphcl.methods.evidence.config import (CHANNELS, GNN_MODELS, RETRIEVAL_MODELS,
                                             EvidenceConfig)
from graphcl.methods.evidence.model import (ChannelGraph, EvidenceRecommender,
                                            LightGCNRecommender, MatrixFactorization)
from graphcl.methods.evidence.retrieval import (BM25, bm25_scores, popularity_scores,
                                                tfidf_scores)
from graphcl.nn import bpr_loss

KS = (5, 10, 20)
METRICS = ("recall", "ndcg", "mrr")
#: The validation metric early stopping watches.
STOP_METRIC = "recall@20"


@dataclass
class EvidenceInputs:
    """The task, its text features, both graphs and their channel views."""
    task: EvidenceTask
    features: TextFeatures
    coref: object  # HeteroData
    text: object   # HeteroData
    channels: Dict[str, ChannelGraph]
    train_mask: Tensor  # [P, E] bool, the training links
    graph_seconds: Dict[str, float] = field(default_factory=dict)
    config: Optional[EvidenceConfig] = None
    bm25: Optional[object] = None  # the fitted BM25 of the lexical path


def channel_graph(data) -> ChannelGraph:
    """A HeteroData with ``problem`` and ``evidence`` nodes as one node
    numbering (``problem``, ``evidence``, then the other types sorted) with
    every relation's edges and weights."""
    types = ["problem", "evidence"] + sorted(t for t in data.node_types
                                             if t not in ("problem", "evidence"))
    offsets, start = {}, 0
    for t in types:
        offsets[t] = start
        start += data[t].x.size(0)
    indices, weights, links = [], [], []
    for (src, rel, dst), store in zip(data.edge_types, data.edge_stores):
        shift = torch.tensor([[offsets[src]], [offsets[dst]]])
        indices.append(store.edge_index + shift)
        weights.append(store.edge_weight)
        carries = rel in ("addresses", "rev_addresses")
        # Both relations list the training links in task.train's (sorted) order.
        links.append(torch.arange(store.edge_index.size(1)) if carries else
                     torch.full((store.edge_index.size(1),), -1, dtype=torch.long))
    link_id = torch.cat(links)
    return ChannelGraph(types, [data[t].x for t in types], torch.cat(indices, 1),
                        torch.cat(weights), lexical_scores(data),
                        link_id if bool((link_id >= 0).any()) else None)


def lexical_scores(data) -> Optional[Tensor]:
    """``[P, E]``: problem and article TF-IDF word edges' inner products, for a
    graph with ``(problem|evidence, contains, word)`` relations; else ``None``."""
    relations = [("problem", "contains", "word"), ("evidence", "contains", "word")]
    if not all(r in data.edge_types for r in relations):
        return None
    import scipy.sparse as sp
    words = data["word"].x.size(0)
    p, e = (sp.csr_matrix((data[r].edge_weight.numpy(), tuple(data[r].edge_index.numpy())),
                          shape=(data[r[0]].x.size(0), words)) for r in relations)
    return torch.from_numpy((p @ e.T).toarray().astype(np.float32))


def prepare_inputs(task: EvidenceTask, config: EvidenceConfig,
                   graphs: Optional[bool] = None) -> EvidenceInputs:
    """Text features, the co-reference and text graphs (timed), channel views.
    ``graphs=False`` (the default for the retrieval baselines, which read only
    the text features) skips the graphs."""
    graphs = config.model not in RETRIEVAL_MODELS if graphs is None else graphs
    timings = {}
    tic = time.perf_counter()
    features = fit_text_features(task, config.feature_dim)
    timings["features_seconds"] = time.perf_counter() - tic
    mask = torch.zeros(task.num_problems, task.num_articles, dtype=torch.bool)
    mask[task.train[0], task.train[1]] = True
    if not graphs:
        return EvidenceInputs(task, features, None, None, {}, mask, timings, config)
    tic = time.perf_counter()
    coref = build_coreference_graph(task, features, config.max_group, config.outcome_coref)
    timings["coref_graph_seconds"] = time.perf_counter() - tic
    tic = time.perf_counter()
    text = build_text_graph(task, features, config.window, config.min_df, config.min_count,
                            config.pmi_top_k)
    timings["text_graph_seconds"] = time.perf_counter() - tic
    inputs = EvidenceInputs(task, features, coref, text,
                            {"coref": channel_graph(coref), "text": channel_graph(text)}, mask,
                            timings, config)
    inputs.channels["text"].lexical = lexical_path(inputs, config, task.problems,
                                                   inputs.channels["text"].lexical)
    return inputs


#: Config fields the inputs (features, graphs, lexical path) depend on.
INPUT_FIELDS = ("split_seed", "feature_dim", "max_group", "outcome_coref", "window", "min_df",
                "min_count", "pmi_top_k", "lexical", "bm25_k1", "bm25_b")
_INPUTS: Dict[tuple, EvidenceInputs] = {}  # one process builds them once for all its models


def cached_inputs(config: EvidenceConfig, root=None) -> EvidenceInputs:
    """:func:`prepare_inputs` of the task at ``root``, kept for the next
    config with the same input fields (the graphs are built on first need)."""
    from graphcl.datasets.evidence import load_evidence
    graphs = config.model not in RETRIEVAL_MODELS
    key = (str(root),) + tuple(getattr(config, f) for f in INPUT_FIELDS)
    cached = _INPUTS.get(key)
    if cached is None or (graphs and cached.coref is None):
        _INPUTS.clear()
        _INPUTS[key] = prepare_inputs(load_evidence(root, split_seed=config.split_seed), config,
                                      graphs=graphs)
    return _INPUTS[key]


def lexical_path(inputs: EvidenceInputs, config: EvidenceConfig, problem_texts: Sequence[str],
                 tfidf_path: Optional[Tensor]) -> Optional[Tensor]:
    """The text channel's lexical scores ``[len(problem_texts), E]``:
    ``'tfidf'`` = the ETG's own doc-word path (``tfidf_path``), ``'bm25'`` =
    BM25 of the problem against title + abstract, each row divided by its
    maximum (so gamma's scale is that of TF-IDF cosines), ``'none'``."""
    if config.lexical == "none":
        return None
    if config.lexical == "tfidf":
        return tfidf_path
    if inputs.bm25 is None:  # fitted once per inputs
        inputs.bm25 = BM25(inputs.task.article_texts(), inputs.features.vectorizer.build_analyzer(),
                           config.bm25_k1, config.bm25_b)
    scores = torch.from_numpy(inputs.bm25.scores(problem_texts)).float()
    return scores / scores.max(dim=1, keepdim=True).values.clamp_min(1e-12)


def with_query_problems(inputs: EvidenceInputs, texts: Sequence[str]) -> Dict[str, ChannelGraph]:
    """Channel views with ``len(texts)`` new problem nodes appended after the
    known ones: features from the text features; in the text graph TF-IDF
    edges to their words; no co-reference edge (no link is known)."""
    extra = inputs.features.embed(texts)
    coref, text = copy.copy(inputs.coref), copy.copy(inputs.text)
    p = inputs.task.num_problems
    for data in (coref, text):
        data["problem"].x = torch.cat([data["problem"].x, extra])
    index, weight = text_graph_query_edges(inputs.features, inputs.text, texts)
    index = index + torch.tensor([[p], [0]])
    for rel, idx in ((("problem", "contains", "word"), index),
                     (("word", "rev_contains", "problem"), index.flip(0))):
        text[rel].edge_index = torch.cat([inputs.text[rel].edge_index, idx], 1)
        text[rel].edge_weight = torch.cat([inputs.text[rel].edge_weight, weight])
    channels = {"coref": channel_graph(coref), "text": channel_graph(text)}
    known = inputs.channels["text"].lexical
    if known is not None:
        new = lexical_path(inputs, inputs.config, texts, channels["text"].lexical[p:])
        channels["text"].lexical = torch.cat([known, new])
    return channels


def split_queries(task: EvidenceTask, split: str) -> Tuple[Tensor, Tensor]:
    """``(problems [Q], target articles [Q])``: one query per link of the split."""
    links = task.split(split)
    return links[0], links[1]


def evaluate_scores(scores: Tensor, inputs: EvidenceInputs, split: str,
                    ks: Sequence[int] = KS) -> Dict[str, float]:
    """§2.4: each link of ``split`` is a query; its problem's training articles
    are excluded; ties broken by PMCID (= article index) order. ``scores`` is
    ``[P, E]`` (every problem) or ``[Q, E]`` (the split's queries, in order)."""
    problems, targets = split_queries(inputs.task, split)
    if scores.size(0) == inputs.task.num_problems and scores.size(0) != problems.numel():
        scores = scores[problems]
    relevant = torch.zeros(problems.numel(), inputs.task.num_articles, dtype=torch.bool)
    relevant[torch.arange(problems.numel()), targets] = True
    return ranking_metrics(scores, relevant, exclude=inputs.train_mask[problems], ks=ks,
                           metrics=METRICS)


def retrieval_scores(inputs: EvidenceInputs, config: EvidenceConfig,
                     queries: Sequence[str]) -> Tensor:
    """``[len(queries), E]`` scores of a non-learned model."""
    if config.model == "popularity":
        return popularity_scores(inputs.task, len(queries))
    if config.model == "tfidf":
        return tfidf_scores(inputs.features, inputs.task, queries)
    if config.model == "bm25":
        return bm25_scores(inputs.features, inputs.task, queries, config.bm25_k1, config.bm25_b)
    raise ValueError(f"{config.model!r} is not a retrieval model")


def build_model(inputs: EvidenceInputs, config: EvidenceConfig) -> torch.nn.Module:
    task = inputs.task
    if config.model in GNN_MODELS:
        channels = {c: inputs.channels[c] for c in CHANNELS[config.model]}
        return EvidenceRecommender(channels, config.hidden, config.layers, config.dropout,
                                   config.conv,
                                   fusion="concat" if config.model == "concat" else "attention",
                                   lexical_init=config.lexical_init)
    if config.model == "mf":
        return MatrixFactorization(task.num_problems, task.num_articles, config.hidden)
    if config.model == "lightgcn":
        return LightGCNRecommender(task.num_problems, task.num_articles, task.train,
                                   config.hidden, config.lightgcn_layers)
    raise ValueError(f"{config.model!r} is not a learned model")


def embed(model: torch.nn.Module, inputs: EvidenceInputs, config: EvidenceConfig,
          channels: Optional[Dict[str, ChannelGraph]] = None, hidden: Optional[Tensor] = None
          ) -> Tuple[Tensor, Tensor, Tensor, Optional[Tensor]]:
    """``(z_problem, z_evidence, beta, lexical)``: beta is empty for MF and
    LightGCN; lexical (``gamma * lex`` ``[P, E]``) is ``None`` without a text channel."""
    if config.model in GNN_MODELS:
        graphs = inputs.channels if channels is None else channels
        graphs = {c: graphs[c] if hidden is None else graphs[c].without_links(hidden)
                  for c in CHANNELS[config.model]}
        return (*model(graphs), model.lexical(graphs))
    zp, ze = model()
    return zp, ze, torch.empty(0), None


def full_scores(zp: Tensor, ze: Tensor, lexical: Optional[Tensor]) -> Tensor:
    scores = zp @ ze.T
    return scores if lexical is None else scores + lexical


def sample_negatives(train_mask: Tensor, problems: Tensor, count: int,
                     generator: torch.Generator) -> Tensor:
    """``[B, count]`` articles drawn uniformly, redrawn where one is a
    training article of its problem."""
    num_articles = train_mask.size(1)
    neg = torch.randint(num_articles, (problems.numel(), count), generator=generator)
    for _ in range(100):
        clash = train_mask[problems.view(-1, 1).expand_as(neg), neg]
        if not bool(clash.any()):
            break
        neg[clash] = torch.randint(num_articles, (int(clash.sum()),), generator=generator)
    return neg


@dataclass
class EvidenceRun:
    """A trained model, restored to its best validation checkpoint."""
    model: torch.nn.Module
    config: EvidenceConfig
    epochs: int
    best_epoch: int
    best_val: float
    train_seconds: float
    losses: List[float]
    val_history: List[Tuple[int, float]]
    beta: List[float]

    @property
    def seconds_per_epoch(self) -> float:
        return self.train_seconds / max(self.epochs, 1)


def _val_recall(model, inputs, config) -> float:
    model.eval()
    with torch.no_grad():
        zp, ze, _, lex = embed(model, inputs, config)
        metric = evaluate_scores(full_scores(zp, ze, lex), inputs, "val", ks=(20,))["recall@20"]
    model.train()
    return metric


def train(inputs: EvidenceInputs, config: EvidenceConfig, seed: int = 0,
          progress: bool = False, max_epochs: Optional[int] = None) -> EvidenceRun:
    """BPR training of a learned model (full batch: every training link with
    ``config.negatives`` sampled negatives per epoch), early stopping on
    validation Recall@20, best checkpoint restored."""
    torch.manual_seed(seed)
    model = build_model(inputs, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(seed)
    all_problems, all_articles = inputs.task.train
    epochs_cap = config.max_epochs if max_epochs is None else max_epochs
    best = (_val_recall(model, inputs, config), 0, copy.deepcopy(model.state_dict()))
    history = [(0, best[0])]
    losses, waited, epoch = [], 0, 0
    train_seconds = 0.0
    bar = tqdm(range(1, epochs_cap + 1), desc=f"evidence {config.model}", disable=not progress,
               leave=False)
    model.train()
    for epoch in bar:
        tic = time.perf_counter()
        # Supervise on a random part of the links, pass messages over the rest.
        supervised = torch.rand(all_problems.numel(), generator=generator) < config.supervised_fraction
        zp, ze, _, lex = embed(model, inputs, config, hidden=supervised)
        problems, articles = all_problems[supervised], all_articles[supervised]
        neg = sample_negatives(inputs.train_mask, problems, config.negatives, generator)
        zq = zp[problems]
        pos_scores = (zq * ze[articles]).sum(-1)
        neg_scores = torch.einsum("bd,bmd->bm", zq, ze[neg])
        if lex is not None:
            pos_scores = pos_scores + lex[problems, articles]
            neg_scores = neg_scores + lex[problems.view(-1, 1), neg]
        loss = bpr_loss(pos_scores, neg_scores)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_seconds += time.perf_counter() - tic
        losses.append(float(loss.detach()))
        if epoch % config.eval_every == 0 or epoch == epochs_cap:
            value = _val_recall(model, inputs, config)
            history.append((epoch, value))
            bar.set_postfix(loss=f"{losses[-1]:.4f}", val_r20=f"{value:.3f}")
            if value > best[0]:
                best, waited = (value, epoch, copy.deepcopy(model.state_dict())), 0
            else:
                waited += 1
                if waited >= config.patience:
                    break
    bar.close()
    model.load_state_dict(best[2])
    model.eval()
    with torch.no_grad():
        beta = embed(model, inputs, config)[2].tolist()
    return EvidenceRun(model, config, epoch, best[1], best[0], train_seconds, losses, history,
                       beta)


def score_matrix(run_or_model, inputs: EvidenceInputs, config: EvidenceConfig) -> Tensor:
    """``[P, E]`` scores of every known problem."""
    if config.model in ("popularity", "tfidf", "bm25"):
        return retrieval_scores(inputs, config, inputs.task.problems)
    model = run_or_model.model if isinstance(run_or_model, EvidenceRun) else run_or_model
    model.eval()
    with torch.no_grad():
        zp, ze, _, lex = embed(model, inputs, config)
    return full_scores(zp, ze, lex)


def evaluate(scores: Tensor, inputs: EvidenceInputs) -> Dict[str, Dict[str, float]]:
    """``{"val": {...}, "test": {...}}`` with ``recall@K``, ``ndcg@K``, ``mrr@K``."""
    return {split: evaluate_scores(scores, inputs, split) for split in ("val", "test")}
