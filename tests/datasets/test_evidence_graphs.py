"""The co-reference and text graphs: their pieces against brute force, and the
leakage rule (no val/test link in any graph or channel)."""
import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from evidence_support import fast_inputs, needs_evidence
from graphcl.datasets.evidence.graphs import (coreference, positive_pmi, top_k_per_row,
                                              truncated_svd_components)


def test_coreference_counts_shared_elements_below_the_cap():
    incidence = sp.csr_matrix(np.array([[1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1],
                                        [0, 0, 0, 1]], dtype=np.float32))
    shared = coreference(incidence, max_group=3).toarray()
    # column 3 is held by 4 articles > max_group: ignored; the others by two each
    assert shared.tolist() == [[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]]
    assert coreference(incidence, max_group=4)[0, 3] == 1


def _brute_force_pmi(sequences, vocabulary, window):
    windows = []
    for seq in sequences:
        if len(seq) == 0:  # an empty document has no window
            continue
        if len(seq) <= window:
            windows.append(set(seq))
        else:
            windows += [set(seq[i:i + window]) for i in range(len(seq) - window + 1)]
    n = len(windows)
    out = np.zeros((vocabulary, vocabulary))
    for i, j in itertools.permutations(range(vocabulary), 2):
        both = sum(1 for w in windows if i in w and j in w)
        if both:
            value = math.log(both * n / (sum(i in w for w in windows) * sum(j in w for w in windows)))
            out[i, j] = max(value, 0.0)
    return out


def test_positive_pmi_matches_brute_force():
    rng = np.random.default_rng(0)
    sequences = [rng.integers(0, 7, size=n) for n in (12, 3, 9, 0, 15)]
    expected = _brute_force_pmi(sequences, 7, 4)
    np.testing.assert_allclose(positive_pmi(sequences, 7, window=4).toarray(), expected,
                               rtol=1e-5, atol=1e-6)


def test_top_k_per_row_keeps_the_strongest_and_is_symmetric():
    m = sp.csr_matrix(np.array([[0, 3, 1, 2], [3, 0, 5, 0], [1, 5, 0, 4], [2, 0, 4, 0]],
                               dtype=np.float32))
    kept = top_k_per_row(m, 1).toarray()
    # row 0 keeps (0,1)=3, row 1 (1,2)=5, row 2 (2,1)=5, row 3 (3,2)=4; then the union
    assert kept.tolist() == [[0, 3, 0, 0], [3, 0, 5, 0], [0, 5, 0, 4], [0, 0, 4, 0]]


def test_truncated_svd_matches_numpy():
    rng = np.random.default_rng(1)
    dense = rng.random((9, 20)) * (rng.random((9, 20)) < 0.3)
    components = truncated_svd_components(sp.csr_matrix(dense), 4)
    _, sigma, vt = np.linalg.svd(dense, full_matrices=False)
    # same subspace, each vector up to sign
    for c, v in zip(components, vt[:4]):
        assert abs(abs(c @ v) - 1) < 1e-8


def _keys(edge_index, src_offset=0, dst_offset=0, width=1 << 20):
    """Each (src, dst) pair as one int64, for vectorised set tests."""
    return (edge_index[0] - src_offset) * width + (edge_index[1] - dst_offset)


def _pairs(edge_index):
    return set(_keys(edge_index).tolist())


@needs_evidence
def test_no_val_or_test_link_reaches_any_graph_or_channel():
    inputs = fast_inputs()
    task = inputs.task
    held_out = _keys(torch.cat([task.val, task.test], 1))
    train = _keys(task.train)
    assert held_out.numel() == 312 and not bool(torch.isin(held_out, train).any())
    ecg, etg = inputs.coref, inputs.text
    # the only problem-evidence edges anywhere are the training links
    for data in (ecg, etg):
        for (src, rel, dst) in data.edge_types:
            if {src, dst} == {"problem", "evidence"}:
                index = data[src, rel, dst].edge_index
                index = index if src == "problem" else index.flip(0)
                assert torch.equal(torch.sort(_keys(index)).values, torch.sort(train).values)
    assert not any({s, d} == {"problem", "evidence"} for s, _, d in etg.edge_types)
    # in the channels' one node numbering: problems 0..P-1, evidence P..P+E-1
    p = task.num_problems
    for name, channel in inputs.channels.items():
        forward, backward = _keys(channel.edge_index, 0, p), _keys(channel.edge_index.flip(0), 0, p)
        assert not bool(torch.isin(held_out, forward).any()), name
        assert not bool(torch.isin(held_out, backward).any()), name
    # nor through outcomes: co_outcome (when built) joins articles of a shared training problem
    from graphcl.datasets.evidence import build_coreference_graph
    with_outcomes = build_coreference_graph(task, inputs.features, outcome_coreference=True)
    co = _pairs(with_outcomes["evidence", "co_outcome", "evidence"].edge_index)
    by_problem = {}
    for q, a in task.train.t().tolist():
        by_problem.setdefault(q, set()).add(a)
    allowed = {a * (1 << 20) + b for arts in by_problem.values() for a in arts for b in arts
               if a != b}
    assert co and co <= allowed


@needs_evidence
def test_graph_shapes_and_types():
    inputs = fast_inputs()
    ecg, etg = inputs.coref, inputs.text
    assert set(ecg.node_types) == {"evidence", "problem", "intervention", "comparator"}
    assert ecg["evidence"].x.shape == (1163, 32) and ecg["problem"].x.shape == (479, 32)
    assert ecg["evidence", "co_intervention", "evidence"].edge_index.size(1) > 0
    assert set(etg.node_types) == {"evidence", "problem", "word"}
    pmi = etg["word", "cooccurs", "word"]
    assert bool((pmi.edge_weight > 0).all())
    idx = pmi.edge_index
    assert torch.equal(torch.sort(_keys(idx)).values, torch.sort(_keys(idx.flip(0))).values)
    assert inputs.graph_seconds["text_graph_seconds"] < 120
