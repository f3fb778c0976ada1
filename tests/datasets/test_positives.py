"""Tests for graphcl.datasets.positives: the metapath-count top-T rule, on HeCo's shipped
positives and on small examples.

Data come from the local mirror (../shared/data/heco, or $GRAPHCL_MIRROR) into a
temporary data root; nothing is downloaded. Each real dataset is loaded once
per test session (datasets_support.load_heco_once).
"""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from datasets_support import csr
from datasets_support import heco, module_env  # noqa: F401 (fixture)
from datasets_support import heco_mirror as mirror  # noqa: F401 (fixture)
from graphcl.datasets.positives import (
    HECO_POSITIVE_T,
    determined_rows,
    is_valid_topt_selection,
    topt_positives,
    topt_violations,
)

PROVIDED = ["acm", "dblp", "aminer"]


def _metapaths(data):
    t = data.target_type
    return [data[t, m, t].edge_index for m in data.metapaths]


# ---------------------------------------------------------------------------
# Positives: the metapath-count top-T rule
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", PROVIDED)
def test_shipped_positives_are_a_valid_top_t_selection(heco, name):
    data = heco(name)
    target, n, t = data.target_type, data[data.target_type].num_nodes, HECO_POSITIVE_T[name]
    mps = [csr(ei, n) for ei in _metapaths(data)]
    shipped = csr(data[target].positive_index, n)
    assert topt_violations(shipped, mps, t).size == 0

    built = topt_positives(mps, t)
    assert is_valid_topt_selection(built, mps, t)
    assert built.nnz == shipped.nnz  # row sizes are determined: min(T, #candidates)
    # Where no tie straddles the cut, the selection is unique: equal to the file.
    determined = determined_rows(mps, t)
    assert determined.any()
    assert (built[determined] != shipped[determined]).nnz == 0


def test_topt_builder_on_a_small_example():
    # Counts of row 0: j=0 -> 2, j=1 -> 1, j=2 -> 2, j=3 -> 1 (4 candidates).
    a = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]])
    b = np.array([[1, 0, 1, 1], [0, 1, 0, 0], [1, 0, 1, 0], [1, 0, 0, 1]])
    pos = topt_positives([a, b], 2).toarray()
    assert pos[0].tolist() == [1, 0, 1, 0]  # the two count-2 candidates
    assert pos[1].tolist() == [1, 1, 0, 0] and pos[3].tolist() == [1, 0, 0, 1]
    assert is_valid_topt_selection(pos, [a, b], 2)
    assert topt_positives([a, b], 3).toarray()[0].tolist() == [1, 1, 1, 0]  # tie at the cut: lowest ids
    ei = torch.from_numpy(np.stack(np.nonzero(a)).astype(np.int64))
    assert (topt_positives([ei], 4, num_nodes=4) != sp.csr_matrix(a)).nnz == 0


def test_violations_are_detected(heco):
    data = heco("acm")
    n = data["paper"].num_nodes
    mps = [csr(ei, n) for ei in _metapaths(data)]
    counts = (mps[0].astype(int) + mps[1].astype(int)).tocsr()
    good = csr(data["paper"].positive_index, n).tolil()

    # Row with more than T candidates where a count-2 candidate is kept and a
    # count-1 candidate is dropped: swapping them breaks the count order.
    for i in range(n):
        row = counts.getrow(i)
        kept = set(good.rows[i])
        twos = [j for j, c in zip(row.indices, row.data) if c == 2 and j in kept]
        ones = [j for j, c in zip(row.indices, row.data) if c == 1 and j not in kept]
        if twos and ones:
            break
    swapped = good.copy()
    swapped[i, twos[0]] = 0
    swapped[i, ones[0]] = 1
    assert topt_violations(swapped.tocsr(), mps, 5).tolist() == [i]

    missing = good.copy()
    missing[i, twos[0]] = 0  # one positive too few
    assert topt_violations(missing.tocsr(), mps, 5).tolist() == [i]

    stranger = good.copy()
    j = int(np.setdiff1d(np.arange(n), counts.getrow(7).indices)[0])
    stranger[7, j] = 1  # a positive no metapath connects
    assert 7 in topt_violations(stranger.tocsr(), mps, 5).tolist()
    assert not is_valid_topt_selection(stranger.tocsr(), mps, 5)
