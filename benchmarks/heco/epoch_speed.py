"""Seconds per HeCo training epoch (forward, backward, Adam step) with the
cross-view loss as one fused pass (``cross_view_infonce``, the default) against
two ``multi_positive_infonce`` calls, one per direction, on the real datasets.

    python benchmarks/heco/epoch_speed.py --datasets acm dblp aminer --threads 2

Both variants train the same model in the same process; the variants
alternate round by round (so that load from other processes hits both alike)
and the table gives the median epoch time of each and their ratio. It also
checks that the two variants give the same loss on the same weights and
dropout draws.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from graphcl.io import write_json_atomic


def two_calls(z1, z2, pos_mask, tau, block_size):
    """Both directions of the cross-view loss as two ``multi_positive_infonce``
    calls, one per direction (what HeCo ran before the fused pass)."""
    from graphcl.nn import multi_positive_infonce
    kwargs = dict(block_size=block_size, reduction="none")
    return (multi_positive_infonce(z1, z2, pos_mask, tau, **kwargs),
            multi_positive_infonce(z2, z1, pos_mask, tau, **kwargs))


def fused(z1, z2, pos_mask, tau, block_size):
    """Both directions from one pass over the similarity tiles (the default)."""
    from graphcl.nn import cross_view_infonce
    return cross_view_infonce(z1, z2, pos_mask, tau, block_size=block_size)


def one_dataset(name: str, rounds: int, epochs_per_round: int) -> dict:
    from graphcl.datasets import load_heco
    from graphcl.experiment import seed_everything
    from graphcl.methods.heco import HeCo, paper_config, prepare_inputs

    inputs = prepare_inputs(load_heco(name))
    cfg = paper_config(name)
    generator = seed_everything(cfg.seed)
    model = HeCo.from_config(inputs.in_channels, inputs.num_nodes, len(inputs.metapaths), cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    variants = {"fused": fused, "two calls": two_calls}

    def loss_with(variant):
        # HeCo's loss (the paper config has no hard negatives): both views, the
        # shared projection head, lambda-weighted directions of the cross-view loss.
        z_mp, z_sc = model.views(inputs.features, inputs.metapaths, inputs.neighbors, generator)
        loss_mp, loss_sc = variants[variant](model.head(z_mp), model.head(z_sc),
                                             inputs.positives, cfg.tau, cfg.loss_block_size)
        return cfg.lam * loss_mp.mean() + (1 - cfg.lam) * loss_sc.mean()

    # Same weights, same dropout and sampling draws: the two losses must agree,
    # and agree with the model's own loss.
    values = []
    for variant in [*variants, "model"]:
        torch.manual_seed(0)
        generator.manual_seed(0)
        with torch.no_grad():
            values.append(float(model.loss(inputs.features, inputs.metapaths, inputs.neighbors,
                                           inputs.positives, generator)
                                if variant == "model" else loss_with(variant)))
    for label, value in zip(("two-call", "model"), values[1:]):
        if abs(values[0] - value) > 1e-4 * max(1.0, abs(value)):
            raise AssertionError(f"{name}: fused loss {values[0]} != {label} loss {value}")

    times = {variant: [] for variant in variants}
    for _ in range(rounds):
        for variant in variants:
            start = time.perf_counter()
            for _ in range(epochs_per_round):
                optimizer.zero_grad()
                loss_with(variant).backward()
                optimizer.step()
            times[variant].append((time.perf_counter() - start) / epochs_per_round)
    medians = {variant: statistics.median(t) for variant, t in times.items()}
    return {"dataset": name, "num_nodes": inputs.num_nodes[0],
            "positives": "dense" if not inputs.positives.is_sparse else "sparse",
            "loss_fused": values[0], "loss_two_calls": values[1],
            "s_per_epoch": medians, "speedup": medians["two calls"] / medians["fused"],
            "rounds": rounds, "epochs_per_round": epochs_per_round}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["acm", "dblp", "aminer"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs-per-round", type=int, default=3)
    parser.add_argument("--out", default=None, help="optional JSON file for the results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [one_dataset(name, args.rounds, args.epochs_per_round) for name in args.datasets]
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.rounds} rounds x "
          f"{args.epochs_per_round} epochs")
    print("| dataset | N | positives | s/epoch fused | s/epoch two calls | speed-up |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['dataset']} | {r['num_nodes']} | {r['positives']} | "
              f"{r['s_per_epoch']['fused']:.3f} | {r['s_per_epoch']['two calls']:.3f} | "
              f"{r['speedup']:.2f}x |")
    if args.out:
        write_json_atomic({"threads": args.threads, "torch": torch.__version__, "results": rows},
                          args.out)


if __name__ == "__main__":
    main()
