"""The examples run end to end on small inputs."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cluster_vectors_on_gaussian_blobs(tmp_path, capsys):
    rng = np.random.default_rng(0)
    centers = 4 * rng.standard_normal((4, 12))
    y = np.repeat(np.arange(4), 50)
    x = (centers[y] + rng.standard_normal((200, 12))).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.savetxt(tmp_path / "y.txt", y, fmt="%d")
    example = load_example("cluster_vectors")
    out = tmp_path / "clusters.npy"
    example.main([str(tmp_path / "x.npy"), "--clusters", "4", "--labels", str(tmp_path / "y.txt"),
                  "--epochs", "5", "--out", str(out)])
    clusters = np.load(out)
    assert clusters.shape == (200,) and set(clusters.tolist()) <= {0, 1, 2, 3}
    printed = capsys.readouterr().out
    assert "final epoch: acc" in printed
    from graphcl.eval import clustering_metrics
    assert clustering_metrics(y, clusters)["acc"] > 0.9  # four well-separated blobs

    # without labels: clusters only; bad inputs name the file
    example.main([str(tmp_path / "x.npy"), "--clusters", "4", "--epochs", "2",
                  "--out", str(out)])
    assert "final epoch" not in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        example.main([str(tmp_path / "missing.npy"), "--clusters", "4"])
    np.savetxt(tmp_path / "short.txt", y[:10], fmt="%d")
    with pytest.raises(ValueError, match="short.txt has 10 labels for 200"):
        example.main([str(tmp_path / "x.npy"), "--clusters", "4", "--labels",
                      str(tmp_path / "short.txt")])
