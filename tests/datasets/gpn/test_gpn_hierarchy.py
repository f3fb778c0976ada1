"""ClassHierarchy: cycle errors, distances against networkx, bypassing
(restrict, the lazy view and the bypass index against a brute-force
reachability), the propagation subgraph, and the attached view of the
"no hierarchy" test."""
import random

import networkx as nx
import numpy as np
import pytest

from graphcl.datasets.gpn import UNREACHABLE, AttachedView, BypassIndex, ClassHierarchy


def random_dag(n=40, seed=0):
    rng = np.random.default_rng(seed)
    parents = {0: []}
    for c in range(1, n):
        k = 1 + int(rng.random() < 0.25)
        parents[c] = sorted(set(rng.integers(0, c, k).tolist()))
    return ClassHierarchy.from_parent_map(parents, names=list(range(n)))


def brute_force_parents(h, keep, c):
    """Kept classes reachable upwards from c through removed classes only."""
    out, stack, seen = set(), list(h.parents[c]), set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        if keep[p]:
            out.add(p)
        else:
            stack.extend(h.parents[p])
    return tuple(sorted(out))


def test_from_parent_map_orders_and_links():
    h = ClassHierarchy.from_parent_map({"b": ["a"], "c": ["a", "b"]})
    assert h.names == ["a", "b", "c"]
    assert h.parents == [(), (0,), (0, 1)]
    assert h.children == [(1, 2), (2,), ()]
    assert h.roots() == [0]


def test_cycle_is_named():
    with pytest.raises(ValueError, match="cycle: .*'a'"):
        ClassHierarchy.from_parent_map({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]})
    with pytest.raises(ValueError, match="own parent"):
        ClassHierarchy.from_parent_map({"a": ["a"]})
    with pytest.raises(TypeError, match="parents"):
        ClassHierarchy.from_parent_map([("a", "b")])
    with pytest.raises(TypeError, match=r"parents\['a'\]"):
        ClassHierarchy.from_parent_map({"a": "b"})


def test_distances_match_networkx():
    h = random_dag()
    g = nx.Graph()
    g.add_nodes_from(range(len(h)))
    g.add_edges_from(h.edges().T.tolist())
    g.add_node(len(h))  # not part of h: just checks nothing leaks
    d = h.distances()
    lengths = dict(nx.all_pairs_shortest_path_length(g))
    for a in range(len(h)):
        for b in range(len(h)):
            assert d[a, b] == lengths[a].get(b, UNREACHABLE)
    split = ClassHierarchy.from_parent_map({"b": ["a"], "d": ["c"]})
    assert split.distances()[0, 2] == UNREACHABLE


@pytest.mark.parametrize("seed", [0, 1])
def test_restrict_view_and_index_bridge_removed_classes(seed):
    h = random_dag(seed=seed)
    rng = np.random.default_rng(seed)
    keep = rng.random(len(h)) < 0.5
    keep[0] = True
    full = h.restrict(keep)
    view = h.restricted_view(keep)
    for c in range(len(h)):
        expected = brute_force_parents(h, keep, c) if keep[c] else ()
        assert full.parents[c] == expected == view.parents[c]
        assert set(view.children[c]) == {k for k in range(len(h)) if c in full.parents[k]}
    index = BypassIndex(h, keep)
    for _ in range(5):  # adding classes to the kept set reuses the cache exactly
        extra = rng.choice(np.flatnonzero(~keep), 3, replace=False)
        both = keep.copy()
        both[extra] = True
        exact, fast = h.restrict(both), index.view(extra)
        for c in range(len(h)):
            assert exact.parents[c] == fast.parents[c]
            assert exact.children[c] == fast.children[c]


def test_propagation_subgraph_two_rounds_and_link_cap():
    # root -> 8 children -> grandchildren; task = one grandchild
    parents = {f"c{i}": ["root"] for i in range(8)}
    parents.update({f"g{i}": [f"c{i}"] for i in range(8)})
    h = ClassHierarchy.from_parent_map(parents)
    idx = h.index()
    nodes, edges = h.propagation_subgraph([idx["g0"]], rounds=2, max_links=5, keep_ratio=0.5,
                                          rng=random.Random(0))
    assert nodes[0] == idx["g0"]
    assert set(nodes.tolist()) == {idx["g0"], idx["c0"], idx["root"]}
    nodes, edges = h.propagation_subgraph([idx["c0"]], rounds=2, rng=random.Random(0))
    # c0 -> root (round 1) -> 8 children capped at round(0.5 * 8) = 4 (round 2)
    names = {h.names[c] for c in nodes}
    assert {"c0", "g0", "root"} <= names
    assert len([n for n in names if n.startswith("c")]) <= 1 + 4
    for child, parent in edges.T.tolist():
        assert nodes[parent] in h.parents[nodes[child]]
    with pytest.raises(ValueError, match="distinct"):
        h.propagation_subgraph([1, 1])


def test_attached_view_links_new_classes_and_expands_from_their_children():
    # GPN's "no hierarchy" test: new classes x, y become parents of chosen classes
    h = ClassHierarchy.from_parent_map({"a": ["r"], "b": ["r"], "a1": ["a"], "a2": ["a"],
                                        "b1": ["b"], "x": [], "y": []})
    idx = h.index()
    view = AttachedView(h, {idx["x"]: [idx["a1"], idx["b1"]], idx["y"]: [idx["a2"]]})
    assert view.parents[idx["x"]] == () and view.children[idx["x"]] == (idx["a1"], idx["b1"])
    assert set(view.parents[idx["a1"]]) == {idx["a"], idx["x"]}
    assert view.children[idx["a"]] == h.children[idx["a"]]  # the rest is the base graph
    nodes, edges = view.propagation_subgraph([idx["x"], idx["y"]], rounds=1)
    names = [h.names[c] for c in nodes]
    assert names[:2] == ["x", "y"] and set(names) == {"x", "y", "a1", "a2", "b1", "a", "b"}
    pairs = {(names[c], names[p]) for c, p in edges.T.tolist()}
    assert pairs == {("a1", "a"), ("a1", "x"), ("a2", "a"), ("a2", "y"), ("b1", "b"),
                     ("b1", "x")}
    nodes, _ = view.propagation_subgraph([idx["x"], idx["y"]], rounds=2)
    assert {h.names[c] for c in nodes} == set(names) | {"r"}
    with pytest.raises(ValueError, match="not attached"):
        view.propagation_subgraph([idx["x"], idx["a"]])
