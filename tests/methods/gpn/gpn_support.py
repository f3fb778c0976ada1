"""A small synthetic class hierarchy for the GPN tests: a root, ``groups``
coarse classes, ``leaves`` leaves under each; a leaf's instances scatter
around its centre, which lies near its group's centre."""
import numpy as np


def synthetic_hierarchy(groups=4, leaves=6, per_class=12, dim=16, spread=1.0, noise=0.35, seed=0):
    rng = np.random.default_rng(seed)
    parents, instances, centres = {}, {}, {}
    for g in range(groups):
        group = f"g{g}"
        parents[group] = ["root"]
        centre = rng.normal(0, 3.0, dim)
        for k in range(leaves):
            leaf = f"g{g}l{k}"
            parents[leaf] = [group]
            centres[leaf] = centre + rng.normal(0, spread, dim)
            instances[leaf] = centres[leaf] + rng.normal(0, noise, (per_class, dim))
    return parents, instances
