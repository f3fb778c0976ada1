"""cross_view_infonce (both directions from one pass over the tiles) against
two independent dense formulas, gradcheck of its autograd Function, and its
fallbacks."""
import pytest
import torch

from graphcl.nn import cross_view_infonce
from graphcl.nn.contrast._fused_directions import CrossViewFunction

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta state")]


def dense_directions(z1, z2, pos, tau):
    """Written out on the full matrix: the 2->1 direction uses s^T with the rows of P."""
    cos = torch.nn.functional.normalize(z1, dim=1) @ torch.nn.functional.normalize(z2, dim=1).t()
    s = cos / tau
    log_p = pos.to(s.dtype).log()
    l12 = torch.logsumexp(s, 1) - torch.logsumexp(s + log_p, 1)
    l21 = torch.logsumexp(s.t(), 1) - torch.logsumexp(s.t() + log_p, 1)
    return l12, l21


def random_positives(n, density, generator, weighted=True):
    mask = (torch.rand(n, n, generator=generator) < density).double()
    mask[torch.arange(n), torch.randint(0, n, (n,), generator=generator)] = 1.0
    if weighted:
        mask = mask * (0.1 + 2.9 * torch.rand(n, n, generator=generator, dtype=torch.float64))
    return mask


def as_layout(mask, layout):
    return {"float": mask, "bool": mask > 0, "coo": mask.to_sparse(),
            "csr": mask.to_sparse_csr()}[layout]


@pytest.mark.parametrize("layout", ["float", "bool", "coo", "csr"])
@pytest.mark.parametrize("block", [1, (3, 5), 7, 64])
@pytest.mark.parametrize("tau", [0.05, 0.5, 1.3])
def test_matches_dense_formula_values_and_gradients(layout, block, tau):
    g = torch.Generator().manual_seed(3)
    n = 23  # not a multiple of any block
    z1 = torch.randn(n, 5, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(n, 5, generator=g, dtype=torch.float64, requires_grad=True)
    mask = random_positives(n, 0.2, g, weighted=layout != "bool")
    w = torch.randn(2, n, generator=g, dtype=torch.float64)
    got = cross_view_infonce(z1, z2, as_layout(mask, layout), tau, block_size=block)
    exp = dense_directions(z1, z2, mask, tau)
    for x, y in zip(got, exp):
        torch.testing.assert_close(x, y)
    grads_got = torch.autograd.grad((w[0] * got[0] + w[1] * got[1]).sum(), (z1, z2))
    grads_exp = torch.autograd.grad((w[0] * exp[0] + w[1] * exp[1]).sum(), (z1, z2))
    for x, y in zip(grads_got, grads_exp):
        torch.testing.assert_close(x, y)


def test_float32_against_float64():
    g = torch.Generator().manual_seed(4)
    z1, z2 = torch.randn(300, 16, generator=g), torch.randn(300, 16, generator=g)
    mask = random_positives(300, 0.1, g, weighted=False)
    got = cross_view_infonce(z1, z2, mask.float(), 0.5, block_size=(64, 100))
    exp = dense_directions(z1.double(), z2.double(), mask, 0.5)
    for x, y in zip(got, exp):
        assert x.dtype == torch.float32
        torch.testing.assert_close(x.double(), y, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("blocks", [(1, 1), (3, 4), (64, 64)])
def test_gradcheck_autograd_function(kind, blocks):
    g = torch.Generator().manual_seed(6)
    a = torch.nn.functional.normalize(torch.randn(8, 3, generator=g, dtype=torch.float64), dim=1)
    b = torch.nn.functional.normalize(torch.randn(8, 3, generator=g, dtype=torch.float64), dim=1)
    a, b = (a / 0.6).requires_grad_(), b.requires_grad_()
    mask = random_positives(8, 0.3, g)
    if kind == "dense":
        args = (mask, None, None, None)
    else:
        rows, cols = mask.nonzero(as_tuple=True)
        args = (None, rows, cols, mask[rows, cols])
    # gradcheck perturbs a and b off the unit sphere; the fixed shift only
    # needs to keep exp() in range, which it does for these small inputs.
    assert torch.autograd.gradcheck(lambda x, y: CrossViewFunction.apply(x, y, *args, *blocks, 1 / 0.6),
                                    (a, b))


def test_tensor_tau_gets_the_same_gradient_as_two_calls():
    from graphcl.nn import multi_positive_infonce
    g = torch.Generator().manual_seed(8)
    z1 = torch.randn(20, 4, generator=g, dtype=torch.float64)
    z2 = torch.randn(20, 4, generator=g, dtype=torch.float64)
    mask = random_positives(20, 0.2, g)
    tau = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    l12, l21 = cross_view_infonce(z1, z2, mask, tau)
    (got,) = torch.autograd.grad((l12 + 2 * l21).sum(), tau)
    r12 = multi_positive_infonce(z1, z2, mask, tau, reduction="none")
    r21 = multi_positive_infonce(z2, z1, mask, tau, reduction="none")
    (exp,) = torch.autograd.grad((r12 + 2 * r21).sum(), tau)
    torch.testing.assert_close(got, exp)


def test_tiny_weights_fall_back_instead_of_underflowing():
    """Weights ~1e-40 underflow a float32 positive sum under the fixed shift;
    the function must still return the finite, correct loss."""
    g = torch.Generator().manual_seed(9)
    z1, z2 = torch.randn(10, 4, generator=g), torch.randn(10, 4, generator=g)
    mask = torch.eye(10) * 1e-40
    got = cross_view_infonce(z1, z2, mask, 0.05)
    exp = dense_directions(z1.double(), z2.double(), mask.double(), 0.05)
    for x, y in zip(got, exp):
        assert torch.isfinite(x).all()
        torch.testing.assert_close(x.double(), y, rtol=1e-4, atol=1e-4)


def test_errors_name_the_argument():
    z = torch.randn(5, 3)
    with pytest.raises(ValueError, match="same number of rows"):
        cross_view_infonce(z, torch.randn(6, 3), torch.eye(5), 0.5)
    with pytest.raises(ValueError, match="pos_mask must have shape"):
        cross_view_infonce(z, torch.randn(5, 3), torch.eye(4), 0.5)
    with pytest.raises(ValueError, match="tau"):
        cross_view_infonce(z, torch.randn(5, 3), torch.eye(5), 0.0)
    with pytest.raises(ValueError, match="NaN"):
        cross_view_infonce(z, torch.full((5, 3), float("nan")), torch.eye(5), 0.5)
    with pytest.raises(ValueError, match="without any positive"):
        cross_view_infonce(z, torch.randn(5, 3), torch.zeros(5, 5), 0.5)


def test_errors_name_z1_and_z2():
    """The messages name cross_view_infonce's own arguments, not anchor/sample."""
    z, mask = torch.randn(5, 3), torch.eye(5)
    nan = torch.randn(5, 3)
    nan[2, 1] = float("nan")
    with pytest.raises(ValueError, match="z1 contains NaN"):
        cross_view_infonce(nan, z, mask, 0.5)
    with pytest.raises(ValueError, match="z2 contains NaN"):
        cross_view_infonce(z, nan, mask, 0.5)
    with pytest.raises(TypeError, match="z1 and z2 must have the same dtype, got torch.float32 "
                                        "and torch.float64"):
        cross_view_infonce(z, z.double(), mask, 0.5)
    with pytest.raises(ValueError, match="z1 and z2 must have the same number of channels, "
                                         "got 3 and 4"):
        cross_view_infonce(z, torch.randn(5, 4), mask, 0.5)
    with pytest.raises(ValueError, match="z1 and z2 must be on the same device"):
        cross_view_infonce(z, torch.randn(5, 3, device="meta"), mask, 0.5)
    with pytest.raises(TypeError, match="z2 must be a torch.Tensor"):
        cross_view_infonce(z, z.tolist(), mask, 0.5)
    with pytest.raises(ValueError, match=r"z1 must have shape \[num_nodes, channels\]"):
        cross_view_infonce(torch.randn(5), z, mask, 0.5)
    with pytest.raises(TypeError, match="z2 must be a floating-point tensor"):
        cross_view_infonce(z, torch.ones(5, 3, dtype=torch.long), mask, 0.5)
    with pytest.raises(ValueError, match="pos_mask is on meta but z1 is on cpu"):
        cross_view_infonce(z, z, torch.eye(5, device="meta"), 0.5)
    with pytest.raises(ValueError, match=r"pos_mask must have shape \[N, M\] = \[5, 5\]"):
        cross_view_infonce(z, z, torch.eye(5)[:4], 0.05)  # also on the two-call path
    with pytest.raises(TypeError, match="pos_mask must be a torch.Tensor"):
        cross_view_infonce(z, z, mask.tolist(), 0.5)


@pytest.mark.parametrize("scale", [1e30, 1e-30])
@pytest.mark.parametrize("layout", ["float", "coo"])
def test_huge_and_tiny_embeddings_match_float64(scale, layout):
    """F.normalize of float32 rows with entries ~1e30 gives 0 (an Inf norm):
    every cosine would be 0. Both directions must be float64's."""
    g = torch.Generator().manual_seed(10)
    z1 = (torch.randn(20, 4, generator=g) * scale).requires_grad_()
    z2 = (torch.randn(20, 4, generator=g) * scale).requires_grad_()
    mask = random_positives(20, 0.2, g)
    got = cross_view_infonce(z1, z2, as_layout(mask.float(), layout), 0.5, block_size=7)
    z1_64, z2_64 = z1.detach().double().requires_grad_(), z2.detach().double().requires_grad_()
    # divide by the norm (F.normalize's eps = 1e-12 would clamp norms of 1e-30)
    exp = dense_directions(z1_64 / z1_64.norm(dim=1, keepdim=True),
                           z2_64 / z2_64.norm(dim=1, keepdim=True), mask, 0.5)
    for x, y in zip(got, exp):
        torch.testing.assert_close(x.double(), y, rtol=1e-5, atol=1e-5)
    grads = torch.autograd.grad(got[0].sum() + 2 * got[1].sum(), (z1, z2))
    expected = torch.autograd.grad(exp[0].sum() + 2 * exp[1].sum(), (z1_64, z2_64))
    for x, y in zip(grads, expected):
        torch.testing.assert_close(x.double(), y, rtol=1e-4, atol=1e-4 * float(y.abs().max()))


def test_tiny_tau_is_finite_and_correct_or_refused():
    g = torch.Generator().manual_seed(11)
    z1 = torch.randn(30, 5, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(30, 5, generator=g, dtype=torch.float64, requires_grad=True)
    mask = random_positives(30, 0.2, g)
    for tau in (1e-20, 1e-39):
        got = cross_view_infonce(z1, z2, mask, tau)
        exp = dense_directions(z1, z2, mask, tau)
        for x, y in zip(got, exp):
            torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12 * float(y.detach().abs().max()))
        grads = torch.autograd.grad(got[0].sum() + got[1].sum(), (z1, z2))
        expected = torch.autograd.grad(exp[0].sum() + exp[1].sum(), (z1, z2))
        for x, y in zip(grads, expected):
            assert torch.isfinite(x).all()
            torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12 * float(y.abs().max()))
    with pytest.raises(ValueError, match="tau = 1e-39 is too small for torch.float32"):
        cross_view_infonce(z1.detach().float(), z2.detach().float(), mask, 1e-39)
