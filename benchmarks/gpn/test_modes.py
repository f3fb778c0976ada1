"""Other test protocols on the models of the reproduction: every (model,
shots, seed) run of ``reproduce.py`` is trained again with the same config and
seed (training is deterministic on one thread, checked by re-evaluating the
reproduction's own protocol), saved as a checkpoint, and evaluated with

* ``queries_k``: queries = shots, the reproduction's protocol (must give the
  numbers of ``<model>_<shots>shot.json`` again);
* ``queries_15``: 15 queries per class (reference section 5 item 7; only the
  classes with at least shots + 15 words can be task classes);
* ``no_hierarchy``: GPN without the class graph of the test classes: each
  test class becomes the parent of its 2 nearest training prototypes, then 2
  rounds of expansion from them (the reference's "no hierarchy" test,
  ``graph_nohier_test.py``);
* ``no_propagation``: GPN's backbone with the support means as prototypes.

    python benchmarks/gpn/test_modes.py --episodes 6000 --seeds 3 --resume --commit

Results go to ``<out>/test_modes.json`` after every (setting, seed); with
``--resume`` the modes a file already holds are kept. Checkpoints (about
0.2 MB each) go to ``--checkpoints`` (outside the repository by default).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reproduce import commit, results_path, selected_runs  # noqa: E402

#: mode -> (test queries per class or None for = shots, the graph GPN propagates over)
MODES = {"queries_k": (None, "hierarchy"), "queries_15": (15, "hierarchy"),
         "no_hierarchy": (None, "nearest"), "no_propagation": (None, "none")}
GPN_ONLY = ("no_hierarchy", "no_propagation")


def mode_config(config, mode: str):
    queries = MODES[mode][0]
    return config if queries is None else config.with_overrides(test_queries=queries)


def train_or_load(data, config, seed: int, directory: Path):
    """The trained model of one run, from ``directory`` or trained and saved there."""
    import torch

    from graphcl.methods.gpn.model import GPN
    from graphcl.methods.gpn.train import TrainResult, train
    path = directory / f"{config.model}_{config.shots}shot_{config.episodes}_seed{seed}.pt"
    if path.is_file():
        saved = torch.load(path, weights_only=True)
        model = GPN(config, data.num_head_classes)
        model.load_state_dict(saved["state"])
        return TrainResult(model, saved["memory"], {}, float(saved["train_seconds"]),
                           int(saved["few"]), int(saved["many"]), seed)
    result = train(data, config, seed=seed, progress=False)
    directory.mkdir(parents=True, exist_ok=True)
    torch.save({"state": result.model.state_dict(), "memory": result.memory,
                "train_seconds": result.train_seconds, "few": result.few_shot_episodes,
                "many": result.many_shot_batches}, path)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=6000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--shots", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--models", nargs="+", default=["gpn", "protonet"])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/gpn/results")
    parser.add_argument("--checkpoints", default="/tmp/graphcl-gpn-checkpoints")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--commit", action="store_true")
    args = parser.parse_args(argv)

    import torch
    torch.set_num_threads(args.threads)
    from graphcl.experiment import get_method
    from graphcl.io import write_json_atomic
    from graphcl.methods.gpn.train import evaluate
    method = get_method("gpn")
    out = Path(args.out) / "test_modes.json"
    table = json.loads(out.read_text()) if args.resume and out.is_file() else {
        "protocol": __doc__.split("\n\n")[0].replace("\n", " "), "episodes": args.episodes,
        "runs": {}}
    for seed, model, shots, config in selected_runs(method, args):
        key = f"{model}_{shots}shot/seed{seed}"
        run = table["runs"].setdefault(key, {})
        todo = [m for m in args.modes if m not in run
                and not (m in GPN_ONLY and model == "protonet")]
        if not todo:
            continue
        data = method.load_data(config, {})
        result = train_or_load(data, config, seed, Path(args.checkpoints))
        for mode in todo:
            tic = time.perf_counter()
            metrics = evaluate(result, data, mode_config(config, mode), graph=MODES[mode][1])
            run[mode] = {"metrics": metrics, "eval_seconds": time.perf_counter() - tic}
            print(key, mode, {g: round(100 * m["acc"], 2) for g, m in metrics.items()},
                  flush=True)
        reproduced = results_path(Path(args.out), model, shots)
        stored = [s for s in json.loads(reproduced.read_text())["per_seed"]
                  if s["seed"] == seed] if reproduced.is_file() else []
        if stored and "queries_k" in run:
            run["stored_queries_k"] = {g: m["acc"] for g, m in stored[0]["metrics"].items()}
        write_json_atomic(table, out)
        if args.commit:
            commit(out, f"benchmarks/gpn: test modes of {key} ({', '.join(todo)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
