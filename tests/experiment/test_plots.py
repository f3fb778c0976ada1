import numpy as np
import pytest
import torch

from graphcl.experiment import run_seeds
from graphcl.experiment.plots import plot_embedding_projection, plot_results

from toy_method import toy_method  # noqa: F401 (fixture)


def _png_size(path):
    import matplotlib.image
    return matplotlib.image.imread(path).shape


def test_plot_results_writes_a_png(toy_method, tmp_path):
    results = run_seeds("toy", "toy", [0, 1], progress=False)
    path = plot_results(results, tmp_path / "r.png")
    h, w, _ = _png_size(path)
    assert h > 100 and w > 400  # one curve panel beside the metrics chart


def test_embedding_projection_and_bad_input(tmp_path):
    z = torch.cat([torch.randn(20, 5), torch.randn(20, 5) + 5])
    labels = torch.tensor([0] * 20 + [1] * 20)
    path = plot_embedding_projection(z, labels, tmp_path / "z.png")
    assert path.exists() and _png_size(path)[0] > 100
    with pytest.raises(ValueError, match="embeddings must be"):
        plot_embedding_projection(np.zeros(3), None, tmp_path / "bad.png")
    with pytest.raises(ValueError, match="method must be"):
        plot_embedding_projection(z, labels, tmp_path / "bad.png", method="umap")
