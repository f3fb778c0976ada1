"""Seconds per HeCo training epoch (forward, backward, Adam step) with the
cross-view loss as one fused pass (``cross_view_infonce``, the default) against
two ``multi_positive_infonce`` calls, one per direction, on the real datasets.

    python benchmarks/heco_epoch_speed.py --datasets acm dblp aminer --threads 2

Both variants train the same model in the same process; the variants
alternate round by round (so that load from other processes hits both alike)
and the table gives the median epoch time of each and their ratio. It also
checks that the two variants give the same loss on the same weights and
dropout draws.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch


def one_dataset(name: str, rounds: int, epochs_per_round: int) -> dict:
    from graphcl.datasets import load_heco
    from graphcl.methods.heco import model as heco_model
    from graphcl.methods.heco import paper_config, prepare_inputs
    from graphcl.methods.heco.train import seed_everything
    from graphcl.nn.cross_view_infonce import _two_calls, cross_view_infonce

    inputs = prepare_inputs(load_heco(name))
    cfg = paper_config(name)
    generator = seed_everything(cfg.seed)
    model = heco_model.HeCo(inputs.in_channels, inputs.num_nodes, len(inputs.metapaths), cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    variants = {"fused": cross_view_infonce, "two calls": _two_calls}

    def loss_with(variant):
        heco_model.cross_view_infonce = variants[variant]
        try:
            return model.loss(inputs.features, inputs.metapaths, inputs.neighbors,
                              inputs.positives, generator)
        finally:
            heco_model.cross_view_infonce = cross_view_infonce

    # Same weights, same dropout and sampling draws: the two losses must agree.
    values = []
    for variant in variants:
        torch.manual_seed(0)
        generator.manual_seed(0)
        with torch.no_grad():
            values.append(float(loss_with(variant)))
    if abs(values[0] - values[1]) > 1e-4 * max(1.0, abs(values[1])):
        raise AssertionError(f"{name}: fused loss {values[0]} != two-call loss {values[1]}")

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
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"threads": args.threads, "torch": torch.__version__,
                                              "results": rows}, indent=2))


if __name__ == "__main__":
    main()
