"""The blackbox / IMLE gradient against finite differences of its defining
interpolation, on tiny problems where the solver is exact (brute force checks it)."""
import math

import pytest
import torch

from graphcl.nn.matching import (blackbox_matching, edge_affinity, gumbel_like, hamming_loss,
                                 ipfp, linear_assignment, node_affinity)
from matching_support import brute_force_qap, random_problem


def optimal_value(unary, quadratic):
    return brute_force_qap(unary, quadratic)[1]


@pytest.mark.parametrize("lam", [1.5, 80.0])
@pytest.mark.parametrize("order", ["second", "first"])
def test_gradient_is_the_finite_difference_of_the_interpolation(lam, order):
    n = 4
    z_s, adj_s, z_t, adj_t = random_problem(1, n, noise=1.2, seed=7)
    unary = (node_affinity(z_s, z_t) + gumbel_like(z_s[..., :n], 0.5,
                                                    torch.Generator().manual_seed(1))).detach()
    quadratic = edge_affinity(z_s, adj_s, z_t, adj_t).detach() if order == "second" else None
    unary.requires_grad_()
    if quadratic is not None:
        quadratic.requires_grad_()
    v = blackbox_matching(unary, quadratic, lam)
    assert not torch.equal(v[0], torch.eye(n, dtype=v.dtype))   # a non-trivial gradient
    hamming_loss(v).backward()
    g = (1 - 2 * torch.eye(n, dtype=unary.dtype))              # dL/dv of the Hamming loss
    q0 = None if quadratic is None else quadratic.detach()[0]

    def interpolation(u, q):
        # f = (phi(u, Q) - phi(u - lam g, Q)) / lam, phi = the exact optimal value
        return (optimal_value(u, q) - optimal_value(u - lam * g, q)) / lam

    # the solver is exact at both points, so the estimator is the exact gradient of f
    for point in (unary.detach()[0], unary.detach()[0] - lam * g):
        got = linear_assignment(point[None]) if q0 is None else ipfp(point[None], q0[None])
        torch.testing.assert_close(got[0], brute_force_qap(point, q0)[0])
    h = 1e-6
    u0 = unary.detach()[0]
    for i in range(n):
        for a in range(n):
            e = torch.zeros_like(u0)
            e[i, a] = h
            fd = (interpolation(u0 + e, q0) - interpolation(u0 - e, q0)) / (2 * h)
            assert float(unary.grad[0, i, a]) == pytest.approx(fd, abs=1e-6)
    if quadratic is not None:
        entries = torch.randperm(n ** 4, generator=torch.Generator().manual_seed(2))[:40]
        for flat in entries.tolist():
            e = torch.zeros(n * n, n * n, dtype=q0.dtype)
            e.view(-1)[flat] = h
            fd = (interpolation(u0, q0 + e) - interpolation(u0, q0 - e)) / (2 * h)
            assert float(quadratic.grad[0].view(-1)[flat]) == pytest.approx(fd, abs=1e-6)


def test_gradient_descent_on_the_affinities_moves_to_the_target():
    unary = torch.randn(3, 5, 5, generator=torch.Generator().manual_seed(3), requires_grad=True)
    for _ in range(20):
        loss = hamming_loss(blackbox_matching(unary, None, 10.0))
        unary.grad = None
        loss.backward()
        with torch.no_grad():
            unary -= 5.0 * unary.grad
    assert float(hamming_loss(blackbox_matching(unary.detach(), None, 10.0))) == 0.0


def test_gumbel_noise_moments_and_seed():
    x = torch.zeros(200_000, dtype=torch.float64)
    a = gumbel_like(x, 2.0, torch.Generator().manual_seed(0))
    b = gumbel_like(x, 2.0, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and bool(torch.isfinite(a).all())
    mean_se = 2.0 * math.pi / math.sqrt(6) / math.sqrt(len(x))
    assert float(a.mean()) == pytest.approx(2.0 * 0.5772156649, abs=4 * mean_se)
    assert float(a.var()) == pytest.approx(4.0 * math.pi ** 2 / 6, rel=0.03)


def test_bad_lambda():
    with pytest.raises(ValueError, match="lam"):
        blackbox_matching(torch.zeros(1, 3, 3), None, 0.0)
