"""LVM-Med step time split into views, encoder, graph construction, solver and
backward, and the batched IPFP against solving the graphs one at a time
(pygmtools' IPFP per graph when installed, and our IPFP per graph), measured
in one run with the candidates interleaved round by round.

    python benchmarks/lvmmed/speed.py --rounds 5 --out benchmarks/lvmmed/results/speed.json
"""
from __future__ import annotations

import argparse
import time
from statistics import median

import torch


def lawler(unary, quadratic):
    """pygmtools' column-major affinity matrix of our (unary, quadratic) problem."""
    b, n, _ = unary.shape
    k = quadratic.view(b, n, n, n, n).permute(0, 2, 1, 4, 3).reshape(b, n * n, n * n)
    return k + torch.diag_embed(unary.transpose(1, 2).reshape(b, n * n))


def step_split(model, images, generator):
    """Seconds of each part of one LVM-Med training step (forward and backward)."""
    from graphcl.nn.matching import blackbox_matching, hamming_loss
    from graphcl.nn.matching.ipfp import ipfp_unchecked
    views, loss_fn = model["views"], model["ssl"].objective
    times, solves = {}, []

    def solver(u, q):
        tic = time.perf_counter()
        out = ipfp_unchecked(u, q, loss_fn.solver_iterations)
        solves.append(time.perf_counter() - tic)
        return out

    tic = time.perf_counter()
    v_s, v_t = views(images, generator), views(images, generator)
    times["views"] = time.perf_counter() - tic
    tic = time.perf_counter()
    ssl = model["ssl"]
    z = ssl.projector(ssl.encoder(torch.cat([v_s, v_t])))
    times["encoder forward"] = time.perf_counter() - tic
    tic = time.perf_counter()
    problems = loss_fn.problems(z[:len(images)], z[len(images):], generator)
    unary, quadratic = problems.noisy_unary, problems.quadratic
    times["graph construction (kNN, GCN, affinities)"] = time.perf_counter() - tic
    matching = blackbox_matching(unary, quadratic, loss_fn.lam, solver)
    times["solver forward"] = solves[0]
    loss = hamming_loss(matching)
    tic = time.perf_counter()
    loss.backward()
    backward = time.perf_counter() - tic
    times["solver in backward (re-solve)"] = solves[1]
    times["backward (rest)"] = backward - solves[1]
    return times


def solver_race(unary, quadratic, rounds):
    from graphcl.nn.matching import ipfp
    candidates = {"batched IPFP (ours)": lambda: ipfp(unary, quadratic),
                  "batched IPFP (ours), rtol 1e-3 as pygmtools stops":
                      lambda: ipfp(unary, quadratic, rtol=1e-3),
                  "per-graph loop, our IPFP": lambda: [ipfp(unary[b:b + 1], quadratic[b:b + 1])
                                                       for b in range(len(unary))]}
    try:
        import pygmtools as pygm
        pygm.set_backend("pytorch")
        k = lawler(unary, quadratic)
        n = torch.full((1,), unary.size(1))
        candidates["per-graph loop, pygmtools IPFP"] = lambda: [pygm.ipfp(k[b:b + 1], n, n)
                                                                for b in range(len(k))]
        candidates["batched pygmtools IPFP"] = lambda: pygm.ipfp(
            k, n.expand(len(k)), n.expand(len(k)))
    except ImportError:
        pass
    times = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            tic = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - tic)
    return {name: median(t) for name, t in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/lvmmed/results/speed.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from graphcl.datasets import load_pneumoniamnist
    from graphcl.io import write_json_atomic
    from graphcl.methods.lvmmed import LVMMedConfig, SelfSupervisedModel
    from graphcl.nn.vision import RandomViews
    config = LVMMedConfig(batch_size=args.batch_size)
    torch.manual_seed(0)
    model = {"ssl": SelfSupervisedModel(config), "views": RandomViews()}
    images = load_pneumoniamnist().train_images[:args.batch_size]
    generator = torch.Generator().manual_seed(0)
    splits = [step_split(model, images, generator) for _ in range(args.rounds + 1)][1:]
    step = {name: median(s[name] for s in splits) for name in splits[0]}
    total = sum(step.values())
    solver = step["solver forward"] + step["solver in backward (re-solve)"]
    # the solver race on the affinities of one real batch
    with torch.no_grad():
        loss_fn = model["ssl"].objective
        z = model["ssl"].projector(model["ssl"].encoder(torch.cat([
            model["views"](images, generator), model["views"](images, generator)])))
        # the problems training solves: Gumbel-perturbed affinities
        problems = loss_fn.problems(z[:args.batch_size], z[args.batch_size:], generator)
        unary, quadratic = problems.noisy_unary, problems.quadratic
        g, n = unary.size(0), loss_fn.nodes_per_graph
    race = solver_race(unary, quadratic, args.rounds)
    batched = race["batched IPFP (ours)"]
    result = {"batch_size": args.batch_size, "graphs": g, "nodes_per_graph": n,
              "threads": torch.get_num_threads(), "rounds": args.rounds,
              "step_seconds": step, "step_total_seconds": total,
              "solver_fraction_of_step": solver / total,
              "solver_seconds": race,
              "speedup_vs_batched": {name: t / batched for name, t in race.items()},
              "note": "medians over rounds; 2-core machine shared with other jobs (contended)"}
    write_json_atomic(result, args.out)
    for name, t in step.items():
        print(f"{name:<45} {1000 * t:8.1f} ms  ({100 * t / total:4.1f} %)")
    print(f"solver share of the step: {100 * solver / total:.1f} %")
    for name, t in race.items():
        print(f"{name:<35} {1000 * t:8.1f} ms  ({t / batched:.1f}x the batched time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
