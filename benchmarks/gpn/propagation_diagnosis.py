"""Why GPN loses to ProtoNet at 5-shot: on the reproduction's trained models
(the checkpoints of ``test_modes.py``), how far propagation moves a test
task's prototypes, whether the move brings them nearer the class's true mean
embedding (the mean over all its words, support included, so it leans
towards the support mean; a diagnostic only: nothing is chosen with it), and the message gates at the task classes.

    python benchmarks/gpn/propagation_diagnosis.py --seeds 2 --tasks 100

Writes ``results/propagation_diagnosis.json``: per shots and split, the mean
over ``--tasks`` Close/Far test tasks per seed (global sampler) of ``|base - true|``,
``|propagated - true|``, ``|propagated - base|`` (Euclidean, embedding
space) and the mean message gate of each step.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_modes import train_or_load  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=6000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--checkpoints", default="/tmp/graphcl-gpn-checkpoints")
    parser.add_argument("--out", default="benchmarks/gpn/results/propagation_diagnosis.json")
    args = parser.parse_args(argv)
    import numpy as np
    import torch
    torch.set_num_threads(1)
    from graphcl.experiment import get_method
    from graphcl.io import write_json_atomic
    import importlib
    loop = importlib.import_module("graphcl.methods.gpn.train")
    method = get_method("gpn")
    report = {"protocol": __doc__.split("\n\n")[2].replace("\n", " "), "rows": {}}
    for shots in (1, 5):
        config = method.make_config("wordnet", argparse.Namespace(
            model="gpn", shots=shots, episodes=args.episodes))
        data = method.load_data(config, {})
        for split in ("close", "far"):
            rows = []
            for seed in range(args.seeds):
                result = train_or_load(data, config, seed, Path(args.checkpoints))
                model = result.model.eval()
                tasks = loop.test_tasks(data, config, split, "global", seed, args.tasks)
                with torch.no_grad():
                    for task in tasks:
                        support = model(data.features[torch.from_numpy(task.support.ravel())])
                        base = support.view(*task.support.shape, -1).mean(1)
                        true = torch.stack([model(data.features[torch.from_numpy(
                            np.asarray(data.benchmark.class_instances[c]))]).mean(0)
                            for c in task.classes])
                        prop, parts = loop.propagated_prototypes(
                            model, result.memory, base.unsqueeze(0), [task.classes],
                            [loop.test_graph(data, task.classes)], config, random.Random(seed),
                            return_parts=True)
                        prop = prop[0]
                        gates = parts["gates"][:, parts["positions"][0]].mean((1, 2))
                        rows.append([(base - true).norm(dim=1).mean().item(),
                                     (prop - true).norm(dim=1).mean().item(),
                                     (prop - base).norm(dim=1).mean().item(),
                                     *gates.tolist()])
            mean = np.mean(rows, 0)
            key = f"{shots}shot/{split}"
            report["rows"][key] = {"base_to_true": mean[0], "propagated_to_true": mean[1],
                                   "move": mean[2], "gates": mean[3:].tolist(),
                                   "seeds": args.seeds, "tasks_per_seed": args.tasks}
            print(key, {k: np.round(v, 3) for k, v in report["rows"][key].items()}, flush=True)
    write_json_atomic(report, Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
