"""Batched linear assignment against enumeration of all permutations."""
import pytest
import torch

from graphcl.nn.matching import linear_assignment
from matching_support import brute_force_qap


def test_linear_assignment_is_the_best_permutation():
    scores = torch.randn(12, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = linear_assignment(scores)
    assert out.dtype == scores.dtype and out.shape == scores.shape
    for b in range(12):
        best, value, second = brute_force_qap(scores[b])
        assert value - second > 1e-9  # unique optimum, so the matching must be equal
        torch.testing.assert_close(out[b], best)


def test_single_problem_and_bad_input():
    eye = torch.eye(4)
    torch.testing.assert_close(linear_assignment(eye), eye)
    with pytest.raises(ValueError, match="scores"):
        linear_assignment(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="NaN"):
        linear_assignment(torch.full((1, 3, 3), float("nan")))
    with pytest.raises(TypeError, match="scores"):
        linear_assignment(torch.zeros(1, 3, 3, dtype=torch.long))
