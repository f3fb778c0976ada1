"""Cluster your own feature vectors with SCGC*: vectors -> kNN graph -> clusters.

    python examples/cluster_vectors.py features.npy --clusters 10 --out clusters.npy
    python examples/cluster_vectors.py features.txt --labels labels.txt --clusters 10

Features are an [N, d] matrix (.npy, or whitespace-separated text), e.g. image
or text embeddings. The graph is SDCN's kNN construction (`graphcl.knn`), the
model SCGC* with the USPS hyperparameters as a starting point (change them with
--alpha/--tau/--order/--lr). With --labels the run is also scored (ACC, NMI,
ARI, F1 of the final epoch); without, nothing uses labels at all.
"""
import argparse
from pathlib import Path

import numpy as np


def read_matrix(path: Path, ndim: int) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    array = (np.load(path, allow_pickle=False) if path.suffix == ".npy"
             else np.loadtxt(path, ndmin=ndim))
    if array.ndim != ndim:
        raise ValueError(f"{path} must be {ndim}-D, got shape {array.shape}")
    return array


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("features", type=Path)
    parser.add_argument("--clusters", type=int, required=True)
    parser.add_argument("--labels", type=Path, default=None)
    parser.add_argument("--k", type=int, default=3, help="neighbours per node")
    parser.add_argument("--knn", choices=["heat", "cos", "ncos"], default="heat")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--alpha", type=float, default=None)
    parser.add_argument("--tau", type=float, default=None)
    parser.add_argument("--order", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("clusters.npy"))
    args = parser.parse_args(argv)

    from graphcl.knn import knn_graph_data
    from graphcl.methods.scgc import paper_config, train_scgc

    x = read_matrix(args.features, 2)
    y = read_matrix(args.labels, 1).astype(np.int64) if args.labels else None
    if y is not None and len(y) != len(x):
        raise ValueError(f"{args.labels} has {len(y)} labels for {len(x)} feature rows")
    data = knn_graph_data(x, args.k, args.knn, y=y)
    overrides = {name: getattr(args, name) for name in ("alpha", "tau", "order", "lr")
                 if getattr(args, name) is not None}
    config = paper_config("usps", star=True).with_overrides(dataset=args.features.stem,
                                                            knn_k=args.k, **overrides)
    print(f"{len(x)} vectors of dimension {x.shape[1]}, kNN graph ({args.knn}, k={args.k}) "
          f"with {data.edge_index.size(1)} directed edges; SCGC* alpha={config.alpha} "
          f"tau={config.tau} r={config.order} lr={config.lr}")
    run = train_scgc(data, config, seed=args.seed, epochs=args.epochs,
                     num_clusters=args.clusters)
    np.save(args.out, run.predictions)
    sizes = np.bincount(run.predictions, minlength=args.clusters)
    print(f"wrote {args.out}: cluster sizes {sizes.tolist()}")
    if run.honest:
        print("final epoch: " + ", ".join(f"{m} {100 * v:.2f}" for m, v in run.honest.items()))


if __name__ == "__main__":
    main()
