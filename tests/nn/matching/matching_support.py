"""Independent references for the graph-matching tests: brute-force QAP and
LAP by enumerating permutations (n <= 6), dense loop affinities, random problems."""
import itertools

import torch


def permutation_matrices(n, dtype=torch.float64):
    """All n! permutation matrices, [n!, n, n]."""
    perms = torch.tensor(list(itertools.permutations(range(n))))
    out = torch.zeros(len(perms), n, n, dtype=dtype)
    out.scatter_(2, perms.unsqueeze(-1), 1.0)
    return out


def brute_force_qap(unary, quadratic=None):
    """(best matching [n, n], best value, second-best value) of one problem, by scoring
    every permutation: sum_ia u_ia v_ia + vec(v)^T Q vec(v) (row-major pair index)."""
    n = unary.size(0)
    perms = permutation_matrices(n, unary.dtype)
    flat = perms.reshape(len(perms), n * n)
    values = flat @ unary.reshape(-1)
    if quadratic is not None:
        values = values + ((flat @ quadratic) * flat).sum(-1)
    top = torch.topk(values, 2)
    return perms[top.indices[0]], float(top.values[0]), float(top.values[1])


def dense_edge_affinity_loop(z_s, adj_s, z_t, adj_t):
    """Q[(i,a),(j,b)] = A_s[i,j] A_t[a,b] cos(z_i - z_j, z_a - z_b), one entry at a time."""
    n = z_s.size(0)
    q = torch.zeros(n * n, n * n, dtype=z_s.dtype)
    for i, j, a, b in itertools.product(range(n), repeat=4):
        if adj_s[i, j] and adj_t[a, b]:
            q[i * n + a, j * n + b] = torch.nn.functional.cosine_similarity(
                z_s[i] - z_s[j], z_t[a] - z_t[b], dim=0, eps=1e-12)
    return q


def random_problem(batch, n, dim=6, noise=0.5, density=0.5, seed=0, dtype=torch.float64):
    """Embeddings of two noisy copies of the same nodes and random directed adjacencies."""
    g = torch.Generator().manual_seed(seed)
    z_s = torch.randn(batch, n, dim, generator=g, dtype=dtype)
    z_t = z_s + noise * torch.randn(batch, n, dim, generator=g, dtype=dtype)
    eye = torch.eye(n, dtype=torch.bool)
    adj_s = (torch.rand(batch, n, n, generator=g) < density) & ~eye
    adj_t = (torch.rand(batch, n, n, generator=g) < density) & ~eye
    return z_s, adj_s, z_t, adj_t
