"""graphcl.datasets.dgp on the real files: DGP's graph and splits, the dense
grouped graphs built from it, and the offline gloss protocol's exact counts
(reference dgp_gpn.md §1 and §4)."""
import pytest
import torch

from datasets_support import dgp_mirror as mirror  # noqa: F401 (fixture)
from datasets_support import module_env  # noqa: F401 (fixture)
from graphcl.datasets import load_glove_vocab, load_wordnet_nouns
from graphcl.datasets.dgp import (build_gloss_protocol, gloss_tokens, load_dgp, load_gcnz_graph)
from graphcl.graph.hierarchy import ancestor_distance_groups


@pytest.fixture(scope="module")
def data(module_env):
    return load_dgp()


@pytest.fixture(scope="module")
def glove(module_env):
    return load_glove_vocab()


@pytest.fixture(scope="module")
def protocol(data, glove):
    return build_gloss_protocol(data, load_wordnet_nouns(), glove)


def test_induced_graph_and_splits(data):
    assert data.num_nodes == 32324 and data.edges.shape == (32544, 2)
    assert data.x.shape == (32324, 50) and int((data.x.abs().sum(1) == 0).sum()) == 3636
    assert torch.equal(data.train, torch.arange(1000))
    assert data.wnids[:1000] == sorted(data.wnids[:1000])
    sizes = {name: s.numel() for name, s in data.test_sets.items()}
    assert sizes == {"2-hops": 1549, "3-hops": 7860, "all": 20842, "awa2": 10}
    # 3-hops contains 2-hops; no test class is a train class.
    assert set(data.test_sets["2-hops"].tolist()) <= set(data.test_sets["3-hops"].tolist())
    assert not set(data.test_sets["all"].tolist()) & set(range(1000))


def test_dense_grouped_graph_sizes(data):
    groups = ancestor_distance_groups(data.edges.t(), data.num_nodes)
    assert groups.sizes == [32324, 32544, 32629, 30750, 71835]
    assert int(groups.distance.max()) == 13
    graph, group = groups.stacked("descendants")
    assert graph.num_edges == sum(groups.sizes)
    assert torch.bincount(group).tolist() == groups.sizes


def test_protocol_sample_counts(protocol):
    counts = {name: s.num_samples for name, s in protocol.samples.items()}
    assert counts["2-hops"] == 8019 and counts["3-hops"] == 41331 and counts["all"] == 116260
    empty = {name: sum(1 for c in s.classes.tolist() if not protocol.tokens[c])
             for name, s in protocol.samples.items()}
    assert (empty["2-hops"], empty["3-hops"], empty["all"]) == (9, 62, 126)
    train_tokens = [len(protocol.tokens[i]) for i in range(1000)]
    assert round(sum(train_tokens) / 1000, 2) == 5.75  # reference: "mean 5.74" (5.745)
    norms = protocol.targets.norm(dim=1)
    assert int((norms == 0).sum()) == 3 and torch.allclose(norms[norms > 0], torch.ones(997))


def test_target_is_gloss_mean(protocol, glove, data):
    i = next(i for i in range(1000) if protocol.tokens[i])
    expected = torch.nn.functional.normalize(glove.lookup(protocol.tokens[i]).mean(0), dim=0)
    assert torch.allclose(protocol.targets[i], expected)


def test_token_rule(glove):
    # Definition only (before ';'), lower-cased, stop words and own lemma parts dropped,
    # hyphenated tokens kept whole, repeats kept, out-of-vocabulary words dropped.
    gloss = "a Large-bodied shark with white fins; the white shark of warm seas"
    tokens = gloss_tokens(gloss, ["great_white_shark", "white-pointer"], glove)
    assert tokens == ["large-bodied", "fins"] or tokens == ["fins"]
    assert "large-bodied" not in glove.index or tokens[0] == "large-bodied"
    assert gloss_tokens("fish fish qzxqzx", ["cod"], glove) == ["fish", "fish"]


def test_unknown_wnid_is_named(data):
    with pytest.raises(ValueError, match="wnids.*n99999999"):
        data.nodes(["n01440764", "n99999999"])


def test_gcnz_graph(data):
    wnids, edge_index = load_gcnz_graph()
    assert len(wnids) == 32297 and edge_index.shape == (2, 2 * 34872)
    assert {"fall11", "fa11misc"} <= set(wnids)
    # Every train and 2-hops class is a GCNZ node; 29 of All's are not (zero predictions).
    present = set(wnids)
    assert all(w in present for w in data.wnids[:1000])
    assert all(data.wnids[i] in present for i in data.test_sets["2-hops"].tolist())
    assert sum(data.wnids[i] not in present for i in data.test_sets["all"].tolist()) == 29
