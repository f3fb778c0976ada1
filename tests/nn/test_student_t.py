"""StudentTAssignment and target_distribution against their formulas, with
far-away embeddings, empty clusters and bad input."""
import math

import pytest
import torch
from torch.nn import functional as F

from graphcl.nn import StudentTAssignment, target_distribution


def test_student_t_and_target_distribution_formulas():
    g = torch.Generator().manual_seed(4)
    z = torch.randn(25, 6, generator=g, dtype=torch.float64)
    assign = StudentTAssignment(4, 6, v=1.0).double()
    centers = torch.randn(4, 6, generator=g, dtype=torch.float64)
    assign.set_centers(centers)
    q = assign(z)
    kernel = 1.0 / (1.0 + ((z[:, None, :] - centers[None]) ** 2).sum(-1))
    torch.testing.assert_close(q, kernel / kernel.sum(1, keepdim=True))
    p = target_distribution(q)
    weight = q ** 2 / q.sum(0)
    torch.testing.assert_close(p, weight / weight.sum(1, keepdim=True))
    # v != 1 uses the exponent -(v+1)/2
    assign2 = StudentTAssignment(4, 6, v=3.0).double()
    assign2.set_centers(centers)
    kernel2 = (1.0 + ((z[:, None, :] - centers[None]) ** 2).sum(-1) / 3.0) ** -2.0
    torch.testing.assert_close(assign2(z), kernel2 / kernel2.sum(1, keepdim=True))
    with pytest.raises(ValueError, match="centers"):
        assign.set_centers(torch.zeros(3, 6))
    with pytest.raises(ValueError, match="z must"):
        assign(torch.zeros(5, 7))


def log_domain_assignment(z, centers, v, scale):
    """q in float64 from distances of z / scale and centers / scale:
    softmax_j of -(v+1)/2 log(1 + scale^2 d'^2 / v), written with logs."""
    d2 = ((z.double()[:, None] / scale - centers.double()[None] / scale) ** 2).sum(-1)
    log_ratio = d2.log() + 2 * math.log(scale) - math.log(v)
    return torch.softmax(-(v + 1) / 2 * F.softplus(log_ratio), 1)


@pytest.mark.parametrize("dtype,scale,v", [(torch.float32, 1e20, 1.0), (torch.float32, 1e5, 20.0),
                                           (torch.float64, 1e200, 3.0)])
def test_student_t_with_far_away_embeddings(dtype, scale, v):
    """Distances whose kernels all round to 0 (or whose squares overflow)
    gave NaN rows; q must still be the t-kernel's assignment."""
    g = torch.Generator().manual_seed(1)
    assign = StudentTAssignment(3, 4, v=v).to(dtype)
    centers = torch.randn(3, 4, generator=g, dtype=dtype) * scale
    assign.set_centers(centers)
    z = (torch.randn(6, 4, generator=g, dtype=dtype) * scale).requires_grad_()
    q = assign(z)
    torch.testing.assert_close(q.double(), log_domain_assignment(z.detach(), centers, v, scale),
                               rtol=1e-5, atol=1e-6)
    grad = torch.autograd.grad((q * torch.arange(3.0, dtype=dtype)).sum(), z)[0]
    assert torch.isfinite(grad).all()


def test_student_t_bad_inputs_name_the_argument():
    assign = StudentTAssignment(3, 4)
    with pytest.raises(TypeError, match="z has dtype torch.float64 but the cluster centres are "
                                        "torch.float32"):
        assign(torch.randn(5, 4, dtype=torch.float64))
    with pytest.raises(TypeError, match="z must be floating point"):
        assign(torch.ones(5, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="z must be a torch.Tensor"):
        assign([[0.0] * 4])
    with pytest.raises(ValueError, match="z contains NaN or Inf"):
        assign(torch.full((5, 4), math.nan))
    with pytest.raises(ValueError, match="z is on meta"):
        assign(torch.randn(5, 4, device="meta"))
    with pytest.raises(ValueError, match="centers contains NaN or Inf"):
        assign.set_centers(torch.full((3, 4), math.nan))
    with pytest.raises(TypeError, match="centers must be an array of numbers"):
        assign.set_centers("centres")
    with pytest.raises(TypeError, match="num_clusters must be an int >= 1, got 2.5"):
        StudentTAssignment(2.5, 4)
    with pytest.raises(ValueError, match="v must be a finite number > 0, got inf"):
        StudentTAssignment(2, 4, v=math.inf)  # every kernel would be 1: a uniform q
    with pytest.raises(TypeError, match="v must be a number > 0"):
        StudentTAssignment(2, 4, v="1")


def target_distribution_float64(q):
    """p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'), f_j = sum_i q_ij, written
    out entry by entry in float64 with 0/0 := 0 for an empty cluster."""
    q = q.double()
    n, k = q.shape
    freq = [float(q[:, j].sum()) for j in range(k)]
    weight = torch.tensor([[float(q[i, j]) ** 2 / freq[j] if freq[j] > 0 else 0.0
                            for j in range(k)] for i in range(n)], dtype=torch.float64)
    return weight / weight.sum(1, keepdim=True)


def test_target_distribution_matches_the_formula():
    g = torch.Generator().manual_seed(2)
    q = torch.softmax(torch.randn(12, 4, generator=g), 1)
    torch.testing.assert_close(target_distribution(q).double(), target_distribution_float64(q),
                               rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(target_distribution(q.double()), target_distribution_float64(q))


def test_target_distribution_with_an_empty_cluster():
    """A column of q summing to 0 made every row NaN; it must get 0 mass and
    leave the other clusters' targets as without it."""
    g = torch.Generator().manual_seed(3)
    q = torch.softmax(torch.randn(10, 4, generator=g), 1)
    q[:, 2] = 0.0
    q = q / q.sum(1, keepdim=True)
    p = target_distribution(q)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p.double(), target_distribution_float64(q), rtol=1e-6, atol=1e-7)
    assert bool((p[:, 2] == 0).all())
    kept = [0, 1, 3]
    torch.testing.assert_close(p[:, kept], target_distribution(q[:, kept]))
    torch.testing.assert_close(p.sum(1), torch.ones(10))


def test_target_distribution_bad_inputs():
    with pytest.raises(ValueError, match=r"q must be 2-D, got shape \[2\]"):
        target_distribution(torch.tensor([0.5, 0.5]))
    with pytest.raises(TypeError, match="q must be floating point"):
        target_distribution(torch.ones(3, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="q must be a torch.Tensor"):
        target_distribution([[0.5, 0.5]])
    with pytest.raises(ValueError, match="q contains NaN or Inf"):
        target_distribution(torch.tensor([[math.nan, 1.0], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="q has negative entries"):
        target_distribution(torch.tensor([[-0.5, 1.5], [0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"q has a row without any assignment mass \(first: "
                                         r"row 1\)"):
        target_distribution(torch.tensor([[0.5, 0.5], [0.0, 0.0]]))
    assert target_distribution(torch.zeros(0, 3)).shape == (0, 3)
