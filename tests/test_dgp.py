"""DGP method: the loss, the Python API on a synthetic hierarchy whose class
vectors are known, brief training beating the identity row, the reference rows,
the experiment-layer entry (metric groups) and bad input."""
import argparse

import pytest
import torch
import torch.nn.functional as F

from graphcl.datasets.dgp import GlossProtocol, GlossSamples
from graphcl.eval import hits_at_k, ranks
from graphcl.methods.dgp import (DGPConfig, ZeroShotTask, dgp_loss, evaluate_predictions,
                                 propagate_class_vectors, reference_predictions, ridge_fit_predict)
from graphcl.methods.dgp import spec


def synthetic_hierarchy(seed: int = 0, dim: int = 16):
    """A 101-node tree (branching 4, 4, 5). Latent class vectors z drift from
    parent to child; the inputs are z in a rotated basis plus noise, so the
    identity row (prediction = input) is useless and the rotation must be
    learned from the known leaves. Returns edges, x, truth, known, held-out."""
    g = torch.Generator().manual_seed(seed)
    edges, frontier, n = [], [0], 1
    for branch in (4, 4, 5):
        nxt = []
        for parent in frontier:
            for _ in range(branch):
                edges.append((n, parent))
                nxt.append(n)
                n += 1
        frontier = nxt
    z = torch.zeros(n, dim)
    z[0] = torch.randn(dim, generator=g)
    for child, parent in edges:
        z[child] = z[parent] + 0.6 * torch.randn(dim, generator=g)
    rotation = torch.linalg.qr(torch.randn(dim, dim, generator=g))[0]
    x = z @ rotation + 0.3 * torch.randn(n, dim, generator=g)
    leaves = torch.tensor(frontier)[torch.randperm(len(frontier), generator=g)]
    return torch.tensor(edges).t(), x, F.normalize(z, dim=1), leaves[:50], leaves[50:]


def mean_cosine(pred, truth, nodes):
    return float((pred[nodes] * truth[nodes]).sum(1).mean())


def test_loss_is_sum_of_squares_over_2n():
    pred, target = torch.randn(7, 3), torch.randn(7, 3)
    assert torch.isclose(dgp_loss(pred, target), ((pred - target) ** 2).sum() / 14)


def test_api_recovers_known_answer_and_beats_identity():
    torch.set_num_threads(1)
    edges, x, truth, known, held = synthetic_hierarchy()
    pred = propagate_class_vectors(edges, x, known, truth[known], model="dgp", epochs=100,
                                   hidden=32)
    assert pred.shape == truth.shape
    assert torch.allclose(pred.norm(dim=1), torch.ones(len(pred)))
    identity = reference_predictions(
        ZeroShotTask(F.normalize(x, dim=1), edges, known, truth[known]), "identity")
    # The held-out classes' true vectors are known: DGP lands near them, the identity row not.
    assert mean_cosine(pred, truth, held) > 0.6 > mean_cosine(identity, truth, held) + 0.6
    hit = lambda p: hits_at_k(ranks(truth[held], held, p, held), (5,))["hit@5"]
    assert hit(pred) > hit(identity)


def test_ridge_is_closed_form():
    torch.manual_seed(0)
    x, y = torch.randn(20, 4), torch.randn(6, 3)
    known = torch.arange(6)
    w = torch.linalg.solve(x[:6].t() @ x[:6] + torch.eye(4), x[:6].t() @ y)
    assert torch.allclose(ridge_fit_predict(x, known, y), F.normalize(x @ w, dim=1), atol=1e-5)


def test_experiment_entry_reports_every_metric_group():
    edges, x, truth, known, held = synthetic_hierarchy(1)
    task = ZeroShotTask(F.normalize(x, dim=1), edges, known, truth[known])
    sets = {"2-hops": held[:10], "3-hops": held, "all": held, "awa2": held[:5]}
    samples = {name: GlossSamples(classes=c, vectors=truth[c], labels=c) for name, c in sets.items()}
    gloss = GlossProtocol(train=known, targets=truth[known], samples=samples, tokens={})
    record = spec.run_seed((task, gloss), DGPConfig(epochs=3, hidden=8, eval_every=1), 0, False)
    assert set(record["metrics"]) == {"2-hops/general", "2-hops/plus1k", "3-hops/general",
                                      "3-hops/plus1k", "all/general", "awa2"}
    assert list(record["metrics"]["2-hops/general"]) == ["hit@1", "hit@2", "hit@5", "hit@10",
                                                         "hit@20"]
    assert list(record["metrics"]["awa2"]) == ["top1"]
    assert record["epochs"] == 3 and len(record["history"]["hit@1_2hops"]) == 3
    weights = record["distance_weights"]["descendant"]
    assert len(weights) == 5 and sum(weights) == pytest.approx(1.0)
    direct = evaluate_predictions(record["artifacts"]["embeddings"], gloss)
    assert direct == record["metrics"]


def test_cli_options_make_the_config():
    args = argparse.Namespace(model="sgcn", epochs=10, hidden=64, eval_every=None)
    config = spec.make_config("imagenet", args)
    assert (config.model, config.epochs, config.hidden, config.eval_every) == ("sgcn", 10, 64, 0)
    assert spec.make_config("imagenet") == DGPConfig()
    assert DGPConfig().gcnz_hidden == (2048, 2048, 1024, 1024, 512)


def test_bad_input_is_named():
    edges, x, truth, known, _ = synthetic_hierarchy()
    with pytest.raises(ValueError, match="model"):
        DGPConfig(model="gat")
    with pytest.raises(ValueError, match="known_vectors.*no target"):
        bad = truth[known].clone()
        bad[3] = 0
        propagate_class_vectors(edges, x, known, bad, epochs=1, hidden=4)
    with pytest.raises(ValueError, match="known_vectors"):
        propagate_class_vectors(edges, x, known, truth[known][:-1], epochs=1, hidden=4)
    with pytest.raises(ValueError, match="known repeats"):
        propagate_class_vectors(edges, x, torch.tensor([1, 1]), truth[:2], epochs=1, hidden=4)
    with pytest.raises(ValueError, match="edge_index.*cycle"):
        cyclic = torch.cat([edges, torch.tensor([[0], [100]])], 1)
        propagate_class_vectors(cyclic, x, known, truth[known], epochs=1, hidden=4)
    with pytest.raises(ValueError, match="gcnz"):
        propagate_class_vectors(edges, x, known, truth[known], model="gcnz", epochs=1, hidden=4)


def test_cli_parses_without_dataset_and_rejects_a_bad_model(capsys):
    from graphcl.cli import build_parser, main
    args = build_parser().parse_args(["train", "dgp", "--model", "sgcn", "--epochs", "5",
                                      "--hidden", "32", "--seeds", "2"])
    assert (args.dataset, args.model, args.epochs, args.hidden, args.seeds) == (
        "imagenet", "sgcn", 5, 32, 2)
    with pytest.raises(SystemExit):
        main(["train", "dgp", "--model", "gat"])
    assert "invalid choice" in capsys.readouterr().err
