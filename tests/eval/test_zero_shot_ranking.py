"""graphcl.eval.zero_shot: DGP's hit@k (ties against) against a brute-force loop."""
import pytest
import torch

from graphcl.eval import hits_at_k, per_class_top1, ranks


def brute_force_ranks(samples, labels, vectors, candidates):
    out = []
    for s, y in zip(samples, labels):
        true = float(s @ vectors[y])
        out.append(sum(float(s @ vectors[c]) >= true for c in candidates.tolist()))
    return torch.tensor(out)


def test_ranks_equal_brute_force_with_repeats_and_ties():
    torch.manual_seed(0)
    words = torch.randn(15, 4)
    samples = words[torch.randint(0, 15, (120,))]     # repeated rows are scored once
    vectors = torch.randn(40, 4)
    vectors[[3, 7, 8]] = 0.0                           # zero vectors tie with each other
    candidates = torch.randperm(40)[:25]
    labels = candidates[torch.randint(0, 25, (120,))]
    got = ranks(samples, labels, vectors, candidates, chunk_size=4)
    assert torch.equal(got, brute_force_ranks(samples, labels, vectors, candidates))


def test_ties_count_against():
    vectors = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    rank = ranks(torch.tensor([[1.0, 0.0]]), torch.tensor([0]), vectors, torch.tensor([0, 1, 2]))
    assert rank.tolist() == [2]                        # class 1 scores the same: rank 2
    assert hits_at_k(rank, (1, 2)) == {"hit@1": 0.0, "hit@2": 1.0}


def test_per_class_top1_weighs_classes_equally():
    rank = torch.tensor([1, 1, 1, 2, 1])
    labels = torch.tensor([0, 0, 0, 0, 1])             # class 0: 3/4, class 1: 1/1
    assert per_class_top1(rank, labels) == pytest.approx((0.75 + 1.0) / 2)


def test_bad_input():
    v = torch.randn(5, 3)
    with pytest.raises(ValueError, match="not among the candidates"):
        ranks(torch.randn(2, 3), torch.tensor([0, 4]), v, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="dims"):
        ranks(torch.randn(2, 2), torch.tensor([0, 1]), v, torch.tensor([0, 1]))
    with pytest.raises(IndexError, match="candidates"):
        ranks(torch.randn(2, 3), torch.tensor([0, 1]), v, torch.tensor([0, 9]))
    with pytest.raises(ValueError, match="repeats"):
        ranks(torch.randn(2, 3), torch.tensor([0, 1]), v, torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="empty"):
        hits_at_k(torch.zeros(0, dtype=torch.long))
