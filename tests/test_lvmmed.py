"""LVM-Med method: config and CLI checks, the encoder's input checks, the saved
encoder round trip, and a fast pretraining run whose loss falls and whose probe
beats the random encoder."""
import argparse

import pytest
import torch

from graphcl.experiment import get_method
from graphcl.methods.lvmmed import (ImageEncoder, LVMMedConfig, SelfSupervisedModel, load_encoder,
                                    pretrain, probe, save_encoder, train_lvmmed)


@pytest.fixture(scope="module")
def data():
    from graphcl.datasets import load_pneumoniamnist
    return load_pneumoniamnist()


def test_config_checks():
    with pytest.raises(ValueError, match="model"):
        LVMMedConfig(model="byol")
    with pytest.raises(ValueError, match="encoder"):
        LVMMedConfig(encoder="vit")
    with pytest.raises(ValueError, match="knn_k must be smaller than nodes_per_graph"):
        LVMMedConfig(knn_k=16)
    with pytest.raises(ValueError, match="batch_size 8 holds no graph"):
        LVMMedConfig(batch_size=8)
    assert LVMMedConfig(model="simclr", batch_size=8).batch_size == 8   # no graphs needed
    config = LVMMedConfig(model="first-order")
    assert LVMMedConfig.from_json(config.to_json()) == config


def test_cli_options_make_the_config():
    method = get_method("lvmmed")
    args = argparse.Namespace(model="vicreg", encoder="resnet18", epochs=2, batch_size=64,
                              max_train_images=None)
    config = method.make_config("pneumoniamnist", args)
    assert (config.model, config.encoder, config.epochs, config.batch_size) == \
        ("vicreg", "resnet18", 2, 64)
    with pytest.raises(ValueError, match="no dataset"):
        method.make_config("cifar10", None)


def test_cli_rejects_bad_arguments(capsys):
    from graphcl.cli import main
    for argv, message in ((["--model", "byol"], "invalid choice"), (["--epochs", "0"], "at least 1"),
                          (["--batch-size", "8"], "holds no graph")):
        with pytest.raises(SystemExit):
            main(["train", "lvmmed", "--dataset", "pneumoniamnist", *argv])
        assert message in capsys.readouterr().err


def test_encoder_input_checks_and_round_trip(tmp_path, data):
    torch.manual_seed(0)
    encoder = ImageEncoder("cnn", (4, 8, 16)).eval()
    images = data.test_images[:5]
    expected = encoder(images)
    assert expected.shape == (5, 16)
    torch.testing.assert_close(encoder(images.unsqueeze(1).float() / 255), expected)
    for bad, error in ((images.float(), ValueError), (images.int(), TypeError),
                       (torch.zeros(2, 1, 32, 32), ValueError)):
        with pytest.raises(error, match="images"):
            encoder(bad)
    path = save_encoder(encoder, tmp_path / "e.pt", LVMMedConfig(cnn_widths=(4, 8, 16)), seed=3)
    loaded = load_encoder(path)
    assert not loaded.training
    torch.testing.assert_close(loaded(images), expected)
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an encoder"):
        load_encoder(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_encoder(tmp_path / "missing.pt")


def noise_free_loss(model, images, seed=7):
    """Hamming loss of the matching of one fixed pair of views without Gumbel noise."""
    from graphcl.nn.vision import RandomViews
    generator = torch.Generator().manual_seed(seed)
    views = RandomViews()
    noise, model.objective.noise_scale = model.objective.noise_scale, 0.0
    with torch.no_grad():
        loss = float(model.loss(views(images, generator), views(images, generator)))
    model.objective.noise_scale = noise
    return loss


def test_fast_run_the_loss_falls_and_the_probe_beats_random(data, one_thread):
    # The method's own settings (Gumbel(0, 1), lambda = 80, no message passing:
    # see LVMMedConfig.gcn_layers) on a smaller CNN, 512 images, batches of 128
    # (8 graphs), 10 epochs = 40 steps, about 15 s on 1 thread with both probes.
    # Measured on seeds 0-3: the trained (noisy) loss, mean of the first 2
    # epochs -> last 3 epochs, 28.56 -> 27.40, 28.60 -> 27.21, 28.53 -> 27.36,
    # 29.25 -> 27.09 (drops 1.2-2.2; epoch means fluctuate by about 0.5 (std)
    # after the first epoch, so the std of this difference is about 0.45): the
    # test asks for a drop of 0.5. The noise-free matching of a fixed batch
    # shows the learning without the Gumbel noise's floor (seed 0 28.50 -> 23.75,
    # seed 1 28.25 -> 24.00): the test asks for a drop of 3. Probe against the
    # random encoder of the same CNN: this run (seed 0) test AUC 92.59 vs 92.07,
    # val AUC 97.87 vs 94.78; seeds 1, 2 (train_lvmmed) test 93.97, 94.04 vs
    # 92.28, 90.47, val 98.27, 97.74 vs 98.08, 96.33.
    config = LVMMedConfig(epochs=10, batch_size=128, cnn_widths=(8, 16, 32),
                          max_train_images=512)
    torch.manual_seed(0)
    model = SelfSupervisedModel(config)
    images = data.train_images[torch.randperm(len(data.train_images),
                                              generator=torch.Generator().manual_seed(0))[:512]]
    before = noise_free_loss(model, images[:128])
    history = pretrain(model, images, config, seed=0)
    after = noise_free_loss(model, images[:128])
    first, last = sum(history[:2]) / 2, sum(history[-3:]) / 3
    assert len(history) == 10 and all(0 < loss <= 32 for loss in history)
    assert last < first - 0.5, history
    assert after < before - 3.0, (before, after)
    metrics = probe(model.encoder, data, config)
    random = train_lvmmed(data, config.with_overrides(model="random"), seed=0).metrics
    assert set(metrics) == {"val", "test"} and set(metrics["val"]) == {"acc", "auc"}
    for split in ("val", "test"):
        assert metrics[split]["auc"] > random[split]["auc"], (metrics, random)


def test_pretrain_needs_a_batch(data):
    config = LVMMedConfig(epochs=1, max_train_images=100)
    with pytest.raises(ValueError, match="fewer than one batch"):
        pretrain(SelfSupervisedModel(config), data.train_images[:100], config, seed=0)
