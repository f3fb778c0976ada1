"""GPN vs ProtoNet on the WordNet-GloVe Close/Far benchmark: both models,
5-way 1-shot and 5-shot, seeds 0, 1, 2, the same episodes per seed.

    python benchmarks/gpn/reproduce.py --episodes 6000 --seeds 3 --resume --commit

Runs go seed by seed (seed 0 of all four settings first), so a stopped run
leaves balanced results; every finished seed rewrites
``<out>/<model>_<shots>shot.json`` (schema 2) and, with ``--commit``, commits
it. ``--resume`` keeps the seeds a file already holds. Afterwards regenerate
the README with ``python benchmarks/make_readmes.py``.
"""
from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

SETTINGS = [(model, shots) for shots in (1, 5) for model in ("gpn", "protonet")]


def selected_runs(method, args):
    """(seed, model, shots, config) of every run args selects, seed by seed, so
    an interrupted sweep has finished whole seeds (also used by test_modes.py)."""
    for seed in range(args.seeds):
        for model, shots in SETTINGS:
            if model in args.models and shots in args.shots:
                yield seed, model, shots, method.make_config("wordnet", argparse.Namespace(
                    model=model, shots=shots, episodes=args.episodes))


def results_path(out: Path, model: str, shots: int) -> Path:
    return out / f"{model}_{shots}shot.json"


def commit(path: Path, message: str, attempts: int = 5) -> None:
    """Commit one results file; another git process holding the index lock
    only delays it (a failed commit never stops the run)."""
    import time
    for _ in range(attempts):
        added = subprocess.run(["git", "add", str(path)], capture_output=True)
        done = added.returncode == 0 and subprocess.run(
            ["git", "commit", "-q", "-m", message, "--", str(path)],
            capture_output=True).returncode == 0
        if done:
            return
        time.sleep(3)
    print(f"could not commit {path}; it is written and will be committed later", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=6000,
                        help="training iterations T per run (the paper: 350000)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--shots", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--models", nargs="+", default=["gpn", "protonet"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/gpn/results")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--commit", action="store_true", help="git-commit every finished seed")
    args = parser.parse_args(argv)

    import torch
    torch.set_num_threads(args.threads)
    from graphcl.experiment import get_method, run_seeds
    method = get_method("gpn")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for seed, model, shots, config in selected_runs(method, args):
        path = results_path(out, model, shots)
        results = run_seeds(method, "wordnet", list(range(seed + 1)), config=config,
                            out=path, resume=args.resume or seed > 0, progress=False,
                            seed_progress=True)
        print(method.table(results), flush=True)
        if args.commit:
            commit(path, f"benchmarks/gpn: {model} {shots}-shot seed {seed} "
                         f"({args.episodes} iterations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
