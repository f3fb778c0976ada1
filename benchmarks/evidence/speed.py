"""Evidence recommender speed: graph construction time, seconds per training
epoch and peak memory of the multi-channel model built from graphcl's fused
GCN layers against the same model built from PyG's stock ``GCNConv``.

    python benchmarks/evidence/speed.py --threads 2 --rounds 2 --epochs 20 \
        --out benchmarks/evidence/results/speed.json

One run: the parent builds the task's inputs once (timed: text features, the
co-reference graph, the text graph) and saves them; then every round runs one
child process per candidate, alternating fused / pyg (so load from other
processes hits both alike), each loading the inputs, training ``--epochs``
epochs (forward, backward, Adam step; no evaluation in the timing) and
reporting its median epoch time and its peak RSS (``ru_maxrss``) above the RSS
after loading. Both candidates share seed, weights' shapes and inputs; the
script checks that their first-epoch losses agree (same maths).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rss_gb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2 ** 20
    return float("nan")


def child(inputs_path: str, conv: str, epochs: int, threads: int) -> dict:
    import torch

    from graphcl.methods.evidence import EvidenceConfig
    from graphcl.methods.evidence.train import train
    torch.set_num_threads(threads)
    inputs = torch.load(inputs_path, weights_only=False)
    base = _rss_gb()
    config = EvidenceConfig(conv=conv, max_epochs=epochs, eval_every=10 ** 6, patience=10 ** 6)
    times = []
    tic = time.perf_counter()
    run = train(inputs, config, seed=0, max_epochs=epochs)
    wall = time.perf_counter() - tic
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    return {"conv": conv, "seconds_per_epoch": run.seconds_per_epoch, "wall_seconds": wall,
            "first_loss": run.losses[0], "peak_rss_gb": peak, "rss_after_load_gb": base,
            "peak_above_load_gb": peak - base, "epochs": run.epochs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "speed.json")
    parser.add_argument("--child", nargs=2, metavar=("INPUTS", "CONV"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.epochs, args.threads)))
        return 0
    import torch

    from graphcl.datasets.evidence import load_evidence
    from graphcl.io import write_json_atomic
    from graphcl.methods.evidence import EvidenceConfig
    from graphcl.methods.evidence.train import prepare_inputs
    torch.set_num_threads(args.threads)
    tic = time.perf_counter()
    task = load_evidence()
    load_seconds = time.perf_counter() - tic
    inputs = prepare_inputs(task, EvidenceConfig())
    sizes = {name: {"nodes": sum(x.size(0) for x in g.features), "edges": g.edge_index.size(1)}
             for name, g in inputs.channels.items()}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "inputs.pt")
        torch.save(inputs, path)
        for r in range(args.rounds):
            for conv in ("fused", "pyg"):
                out = subprocess.run([sys.executable, __file__, "--child", path, conv,
                                      "--epochs", str(args.epochs), "--threads",
                                      str(args.threads)], capture_output=True, text=True,
                                     check=True)
                runs.append({"round": r, **json.loads(out.stdout.strip().splitlines()[-1])})
                print(runs[-1], flush=True)
    summary = {}
    for conv in ("fused", "pyg"):
        mine = [x for x in runs if x["conv"] == conv]
        summary[conv] = {"seconds_per_epoch": statistics.median(x["seconds_per_epoch"] for x in mine),
                         "peak_rss_gb": max(x["peak_rss_gb"] for x in mine),
                         "peak_above_load_gb": max(x["peak_above_load_gb"] for x in mine)}
    first = {conv: [x["first_loss"] for x in runs if x["conv"] == conv][0] for conv in summary}
    results = {
        "threads": args.threads, "rounds": args.rounds, "epochs": args.epochs,
        "load_seconds": load_seconds, "graph_seconds": inputs.graph_seconds,
        "channel_sizes": sizes, "runs": runs, "summary": summary,
        "speedup_fused_vs_pyg": summary["pyg"]["seconds_per_epoch"] /
        summary["fused"]["seconds_per_epoch"],
        "first_loss": first, "same_first_loss": abs(first["fused"] - first["pyg"]) < 1e-4,
        "note": "2 shared CPU cores, contended by other processes (load average ~8-10 "
                "during the run): absolute times are not speed measurements, the ratio is",
    }
    write_json_atomic(results, args.out)
    print(json.dumps({k: results[k] for k in ("graph_seconds", "summary",
                                               "speedup_fused_vs_pyg", "same_first_loss")},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
