"""Ranking metrics against a hand-computed ranking, tie-breaking and bad input."""
import math

import pytest
import torch

from graphcl.eval import candidate_ranks, ranking_metrics, target_ranks


def test_hand_computed_ranking_with_ties_and_exclusion():
    # items 0..5; query 0: item 4 excluded; scores tie between 1 and 3 (1 ranks first)
    scores = torch.tensor([[0.1, 0.7, 0.2, 0.7, 0.9, 0.5],
                           [0.3, 0.3, 0.3, 0.3, 0.3, 0.3]])
    exclude = torch.zeros(2, 6, dtype=torch.bool)
    exclude[0, 4] = True
    ranks = candidate_ranks(scores, exclude)
    assert ranks[0].tolist() == [5, 1, 4, 2, 0, 3]
    assert ranks[1].tolist() == [1, 2, 3, 4, 5, 6]  # all tied: index (PMCID) order
    assert target_ranks(scores, torch.tensor([3, 2]), exclude).tolist() == [2, 3]
    relevant = torch.zeros(2, 6, dtype=torch.bool)
    relevant[0, 3] = relevant[1, 2] = True
    m = ranking_metrics(scores, relevant, exclude, ks=(1, 2, 3))
    assert m["recall@1"] == 0.0 and m["recall@2"] == 0.5 and m["recall@3"] == 1.0
    assert m["hit@2"] == m["recall@2"]
    assert m["ndcg@2"] == pytest.approx((1 / math.log2(3)) / 2)
    assert m["ndcg@3"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / 2)
    assert m["mrr@3"] == pytest.approx((1 / 2 + 1 / 3) / 2)


def test_several_relevant_items():
    scores = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0]])
    relevant = torch.tensor([[False, True, False, True, True]])
    m = ranking_metrics(scores, relevant, ks=(2, 4))
    assert m["recall@2"] == pytest.approx(1 / 3) and m["hit@2"] == 1.0
    assert m["recall@4"] == pytest.approx(2 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg@4"] == pytest.approx(dcg / idcg)
    assert m["mrr@2"] == 0.5


def test_matches_a_plain_loop_on_random_scores():
    torch.manual_seed(0)
    scores = torch.randint(0, 4, (30, 12)).double()  # many ties
    exclude = torch.rand(30, 12) < 0.2
    targets = torch.randint(0, 12, (30,))
    exclude[torch.arange(30), targets] = False
    relevant = torch.zeros(30, 12, dtype=torch.bool)
    relevant[torch.arange(30), targets] = True
    m = ranking_metrics(scores, relevant, exclude, ks=(5,))
    recall = ndcg = mrr = 0.0
    for q in range(30):
        t = int(targets[q])
        rank = 1 + sum(1 for j in range(12) if not exclude[q, j] and
                       (scores[q, j] > scores[q, t] or (scores[q, j] == scores[q, t] and j < t)))
        if rank <= 5:
            recall, ndcg, mrr = recall + 1, ndcg + 1 / math.log2(rank + 1), mrr + 1 / rank
    assert m["recall@5"] == pytest.approx(recall / 30)
    assert m["ndcg@5"] == pytest.approx(ndcg / 30)
    assert m["mrr@5"] == pytest.approx(mrr / 30)


def test_bad_input_names_the_argument():
    scores = torch.rand(2, 4)
    relevant = torch.eye(2, 4, dtype=torch.bool)
    with pytest.raises(ValueError, match="K = 5 is larger than the catalogue"):
        ranking_metrics(scores, relevant, ks=(5,))
    with pytest.raises(ValueError, match="at least one relevant"):
        ranking_metrics(scores, torch.zeros(2, 4, dtype=torch.bool), ks=(2,))
    with pytest.raises(ValueError, match="relevant item is also excluded"):
        ranking_metrics(scores, relevant, exclude=relevant, ks=(2,))
    with pytest.raises(TypeError, match="exclude must be a bool tensor"):
        candidate_ranks(scores, exclude=torch.zeros(2, 4))
    with pytest.raises(ValueError, match="NaN"):
        candidate_ranks(torch.tensor([[float("nan"), 1.0]]))
    with pytest.raises(IndexError, match="targets must lie in"):
        target_ranks(scores, torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="metrics must be"):
        ranking_metrics(scores, relevant, ks=(1,), metrics=("auc",))
