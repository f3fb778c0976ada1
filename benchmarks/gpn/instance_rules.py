"""Which instance-assignment rule gives reference section 5's counts?

Section 5 item 4: "seeded shuffle (seed 0) of the leaves, each takes up to 20
of its words not yet taken; then a seeded shuffle of the coarse classes, each
takes up to 20 of the remaining words of its descendant leaves. Result: 804
leaves and 192 coarse classes with >= 10 words (555 leaves with 20); 1,211
words unused", and item 5: Close 274 / Far 78 classes with >= 10 words.

Every rule below is run on the real benchmark and reported as (leaves >= 10,
leaves = 20, coarse >= 10, unused words of the leaves' pools, Close >= 10,
Far >= 10); the target is (804, 555, 192, 1211, 274, 78). Rules vary one
thing of the rule graphcl uses (``wordnet_benchmark._assign_instances``):
the generator and order of each shuffle, which words a class picks, the
coarse pool, whether the root or the leaves' claims are excluded, and the
order of the two passes; two seed scans give the spread of a random coarse
order.

    python benchmarks/gpn/instance_rules.py            # ~5 min on one contended core
"""
from __future__ import annotations

import argparse
import random
from functools import lru_cache
from pathlib import Path

import numpy as np

TARGET = (804, 555, 192, 1211, 274, 78)
FIELDS = ("leaves>=10", "leaves=20", "coarse>=10", "unused", "close>=10", "far>=10")


class Setup:
    """The classes, their word pools and the split of every class."""

    def __init__(self, root):
        from graphcl.datasets.gpn import load_wordnet_fewshot
        from graphcl.datasets.gpn import wordnet_benchmark as wb
        from graphcl.datasets.wordnet import load_glove_vocab, load_wordnet_nouns
        nouns, glove = load_wordnet_nouns(root), load_glove_vocab(root)
        self.parents = {s: list(dict.fromkeys(nouns.hypernyms[s] + nouns.instance_hypernyms[s]))
                        for s in nouns.wnids}
        self.own = {s: wb._lemma_words(nouns.lemmas[s], glove.index) for s in nouns.wnids}
        self.below, self.children = wb._descendant_words(self.parents, self.own)
        big = {s for s in nouns.wnids if len(self.below[s]) >= 20}
        self.leaves = sorted(s for s in big if not any(c in big for c in self.children[s]))
        self.coarse = sorted(wb._ancestors(self.parents, self.leaves))
        self.leaf_set = set(self.leaves)
        self.file_position = {s: i for i, s in enumerate(nouns.wnids)}
        self.desc_leaves = {c: [] for c in self.coarse}
        for leaf in self.leaves:
            for a in wb._ancestors(self.parents, [leaf]):
                self.desc_leaves[a].append(leaf)
        self.universe = set().union(*(self.below[leaf] for leaf in self.leaves))
        bench = load_wordnet_fewshot(root)
        names = bench.hierarchy.names
        self.split_of = {names[c]: s for s, cs in bench.splits.items() for c in cs}
        self.code_words = dict(zip(names, np.split(np.array(bench.names_of_instances, dtype=object),
                                                   np.cumsum(bench.counts())[:-1])))
        self.nouns, self.glove = nouns, glove

    @lru_cache(maxsize=None)
    def depth(self, s):
        return 0 if not self.parents[s] else 1 + min(self.depth(p) for p in self.parents[s])

    def counts(self, words):
        n = {s: len(words.get(s, ())) for s in self.leaves + self.coarse}
        used = set().union(*(set(w) for w in words.values()))
        return (sum(n[s] >= 10 for s in self.leaves), sum(n[s] == 20 for s in self.leaves),
                sum(n[s] >= 10 for s in self.coarse), len(self.universe - used),
                sum(n[s] >= 10 for s in n if self.split_of[s] == "close"),
                sum(n[s] >= 10 for s in n if self.split_of[s] == "far"))


# ------------------------------------------------------------------ orders and picks
def shuffled(items, how, rng, setup):
    items = list(items)
    if how == "numpy":        # numpy.random.RandomState permutation (= np.random.shuffle)
        return [items[i] for i in rng["numpy"].permutation(len(items))]
    if how == "python":       # random.Random.shuffle
        rng["python"].shuffle(items)
        return items
    if how == "generator":    # numpy.random.default_rng permutation
        return [items[i] for i in rng["generator"].permutation(len(items))]
    if how == "numpy_all":    # a permutation of all 1,570 classes, other kind skipped
        every = sorted(setup.leaves + setup.coarse)
        keep = set(items)
        return [every[i] for i in rng["numpy"].permutation(len(every)) if every[i] in keep]
    keys = {"wnid": lambda s: s, "file": setup.file_position.get,
            "shallow_first": lambda s: (setup.depth(s), s),
            "deep_first": lambda s: (-setup.depth(s), s),
            "few_leaves_first": lambda s: (len(setup.desc_leaves.get(s, [s])), s),
            "many_leaves_first": lambda s: (-len(setup.desc_leaves.get(s, [s])), s)}
    return sorted(items, key=keys[how])


def generators(seed=0):
    return {"numpy": np.random.RandomState(seed), "python": random.Random(seed),
            "generator": np.random.default_rng(seed)}


def pick(pool, how, rng, cap=20):
    pool = sorted(pool)
    if how == "first":
        return pool[:cap]
    if how == "python_sample":
        return rng["python"].sample(pool, min(cap, len(pool)))
    if how == "numpy_sample":
        return [pool[i] for i in rng["numpy"].permutation(len(pool))[:cap]]
    raise KeyError(how)


def rule(setup, leaf_order="numpy", leaf_pick="first", coarse_order="numpy",
         coarse_pick="first", coarse_pool="descendant_leaves", fresh_seed=None,
         skip_root=False, coarse_first=False, disjoint=True, leaf_major_key=None):
    """One assignment; the defaults are graphcl's rule."""
    rng = generators(0)
    taken, words = set(), {}

    def leaf_pass():
        for leaf in shuffled(setup.leaves, leaf_order, rng, setup):
            words[leaf] = pick(setup.below[leaf] - taken, leaf_pick, rng)
            taken.update(words[leaf])

    def pool_of(c):
        if coarse_pool == "descendant_leaves":
            return set().union(*(setup.below[x] for x in setup.desc_leaves[c]))
        if coarse_pool == "descendant_leaves_and_their_lemmas":
            return set().union(*(setup.below[x] | setup.own[x] for x in setup.desc_leaves[c]))
        if coarse_pool == "child_leaves":
            return set().union(*(setup.below[x] for x in setup.children[c] if x in setup.leaf_set))
        if coarse_pool == "all_descendants":
            return setup.below[c]
        raise KeyError(coarse_pool)

    def coarse_pass():
        nonlocal rng
        if fresh_seed is not None:
            rng = generators(fresh_seed)
        claimed = set() if not disjoint else taken
        for c in shuffled(setup.coarse, coarse_order, rng, setup):
            if skip_root and not setup.parents[c]:
                words[c] = []
                continue
            if leaf_major_key is None:
                words[c] = pick(pool_of(c) - claimed, coarse_pick, rng)
            else:  # descendant leaf by descendant leaf, each leaf's remaining words in order
                got = []
                for leaf in sorted(setup.desc_leaves[c], key=leaf_major_key):
                    got += sorted(setup.below[leaf] - claimed - set(got))[:20 - len(got)]
                    if len(got) == 20:
                        break
                words[c] = got
            claimed.update(words[c])
            if not disjoint:
                taken.update(words[c])

    if coarse_first:
        coarse_pass()
        leaf_pass()
    else:
        leaf_pass()
        coarse_pass()
    return words


def named_rules(setup):
    leaf_position = {leaf: i for i, leaf in enumerate(shuffled(setup.leaves, "numpy",
                                                               generators(0), setup))}
    yield "graphcl (RandomState(0): leaves, then coarse; first 20 sorted)", {}
    for order in ("python", "generator", "wnid", "file", "shallow_first", "deep_first"):
        yield f"leaf order {order}", {"leaf_order": order}
    for how in ("python_sample", "numpy_sample"):
        yield f"leaf pick {how}", {"leaf_pick": how}
    for order in ("python", "generator", "numpy_all", "wnid", "file", "shallow_first",
                  "deep_first", "few_leaves_first", "many_leaves_first"):
        yield f"coarse order {order}", {"coarse_order": order}
    yield "coarse order: a fresh RandomState(0)", {"fresh_seed": 0}
    yield "coarse order: a fresh random.Random(0)", {"fresh_seed": 0, "coarse_order": "python"}
    for how in ("python_sample", "numpy_sample"):
        yield f"coarse pick {how}", {"coarse_pick": how}
    yield "coarse pick leaf by leaf (leaves by wnid)", {"leaf_major_key": str}
    yield "coarse pick leaf by leaf (leaves in shuffle order)", {
        "leaf_major_key": leaf_position.get}
    yield "coarse pick leaf by leaf, fresh RandomState(0)", {"leaf_major_key": str,
                                                             "fresh_seed": 0}
    for pool in ("descendant_leaves_and_their_lemmas", "child_leaves", "all_descendants"):
        yield f"coarse pool {pool}", {"coarse_pool": pool}
    yield "root takes no words", {"skip_root": True}
    yield "coarse pass first", {"coarse_first": True}
    yield "coarse classes may reuse the leaves' words", {"disjoint": False}


def case_sensitive_leaves(setup):
    """Leaves when the vocabulary lookup keeps the lemma's case (GloVe is lower case)."""
    from graphcl.datasets.gpn import wordnet_benchmark as wb
    own = {s: {w.lower() for w in setup.nouns.lemmas[s] if "_" not in w and " " not in w
               and w in setup.glove.index} for s in setup.nouns.wnids}
    below, children = wb._descendant_words(setup.parents, own)
    big = {s for s in setup.nouns.wnids if len(below[s]) >= 20}
    return sum(not any(c in big for c in children[s]) for s in big)


def seed_scan(setup, seeds, **kw):
    rows = np.array([setup.counts(rule(setup, fresh_seed=s, **kw)) for s in seeds])
    hits = [int(s) for s, r in zip(seeds, rows) if tuple(r) == TARGET]
    return {"mean": rows.mean(0).round(1).tolist(), "std": rows.std(0).round(1).tolist(),
            "seeds_with_192": [int(s) for s, r in zip(seeds, rows) if r[2] == 192],
            "seeds_matching_all": hits}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=None)
    parser.add_argument("--seeds", type=int, default=100, help="coarse-order seeds to scan")
    parser.add_argument("--out", default="benchmarks/gpn/results/instance_rules.json")
    args = parser.parse_args(argv)
    from graphcl.datasets._files import data_root
    from graphcl.io import write_json_atomic
    setup = Setup(data_root(args.root))
    ours = rule(setup)
    assert all(list(ours[s]) == list(setup.code_words[s]) for s in ours), \
        "the default rule here is not the one graphcl's benchmark uses"
    report = {"target": dict(zip(FIELDS, TARGET)), "rules": {}}
    for name, kw in named_rules(setup):
        counts = setup.counts(rule(setup, **kw))
        report["rules"][name] = dict(zip(FIELDS, map(int, counts)))
        print(f"{name:<58} {counts}{'  MATCH' if counts == TARGET else ''}", flush=True)
    report["case_sensitive_lookup_leaves"] = case_sensitive_leaves(setup)
    print("leaves with a case-sensitive vocabulary lookup:",
          report["case_sensitive_lookup_leaves"], "(812 as written)", flush=True)
    seeds = range(args.seeds)
    for name, kw in (("RandomState(seed) coarse order, first 20", {}),
                     ("RandomState(seed) coarse order, leaf by leaf", {"leaf_major_key": str})):
        report[f"seed scan: {name}"] = scan = seed_scan(setup, seeds, **kw)
        print(name, scan, flush=True)
    write_json_atomic(report, Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
