"""Why the matching loss does (not) fall: a short LVM-Med pretraining run that
logs, per step, the trained (noisy) Hamming loss, the Hamming loss of the
noise-free matching, the affinity scales against the noise, how much the GCN
smooths each graph, how often the IMLE re-solve reaches the identity, and the
gradient norm of each parameter group.

    python benchmarks/lvmmed/diagnose.py --steps 100 --set noise_scale=0.05 gcn_layers=2 --out log.json
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from graphcl.io import write_json_atomic


def offdiag_mean(m):
    n = m.size(-1)
    mask = ~torch.eye(n, dtype=torch.bool)
    return float(m[:, mask].mean())


def diag_mean(m):
    return float(torch.diagonal(m, dim1=1, dim2=2).mean())


def within_graph_cos(h):
    """mean cosine between distinct nodes of one graph (1 = all alike)."""
    hn = F.normalize(h, dim=-1)
    return offdiag_mean(hn @ hn.transpose(1, 2))


def step_stats(model, view_s, view_t, generator):
    from graphcl.nn.matching import blackbox_matching, edge_affinity, hamming_loss
    from graphcl.nn.matching.affinity import DEGENERATE_EDGE
    loss_fn = model.objective
    z = model.projector(model.encoder(torch.cat([view_s, view_t])))
    z_s, z_t = z[:len(view_s)], z[len(view_s):]
    p = loss_fn.problems(z_s, z_t, generator)
    matching = blackbox_matching(p.noisy_unary, p.quadratic, loss_fn.lam, loss_fn._solve)
    loss = hamming_loss(matching)
    stats = {"loss": float(loss.detach())}
    with torch.no_grad():
        n = loss_fn.nodes_per_graph
        g = p.unary.size(0)
        zz = torch.stack([z_s[:g * n], z_t[:g * n]]).view(2 * g, n, -1)
        h = loss_fn.refine(zz, torch.cat([p.adjacency_s, p.adjacency_t]))
        raw = F.normalize(zz[:g], dim=-1) @ F.normalize(zz[g:], dim=-1).transpose(1, 2)
        stats.update(
            cos_before_gcn_diag=diag_mean(raw), cos_before_gcn_off=offdiag_mean(raw),
            unary_diag=diag_mean(p.unary), unary_off=offdiag_mean(p.unary),
            unary_off_std=float(p.unary[:, ~torch.eye(n, dtype=torch.bool)].std()),
            within_graph_cos_before=within_graph_cos(zz), within_graph_cos_after=within_graph_cos(h))
        adjacency = torch.cat([p.adjacency_s, p.adjacency_t])
        graph, src, dst = adjacency.nonzero(as_tuple=True)
        length = (h[graph, src] - h[graph, dst]).norm(dim=-1)
        relative = length / torch.maximum(h[graph, src].norm(dim=-1), h[graph, dst].norm(dim=-1))
        degenerate = relative <= DEGENERATE_EDGE
        stats["degenerate_edges"] = float(degenerate.float().mean())
        real = relative[~degenerate]
        stats["shortest_real_edge"] = float(real.min()) if len(real) else 0.0
        clean_q = None
        if loss_fn.order == "second":
            clean_q = edge_affinity(h[:g], p.adjacency_s, h[g:], p.adjacency_t)
            q_ident = (clean_q.view(g, n, n, n, n).diagonal(dim1=1, dim2=2)
                       .diagonal(dim1=1, dim2=2))   # Q[(i,i),(j,j)]
            stats["quad_identity_pairs_mean"] = float(q_ident[q_ident != 0].mean()) \
                if bool((q_ident != 0).any()) else 0.0
            stats["quad_nonzero_mean"] = float(clean_q[clean_q != 0].mean())
        clean = loss_fn._solve(p.unary.detach(), clean_q)
        stats["clean_loss"] = float(hamming_loss(clean))
        grad_v = (1 - 2 * torch.eye(n)).expand(g, n, n) / g
        target = loss_fn._solve(p.noisy_unary.detach() - loss_fn.lam * grad_v,
                                None if p.quadratic is None else p.quadratic.detach())
        stats["resolve_is_identity"] = float(hamming_loss(target)) == 0.0
        stats["resolve_loss"] = float(hamming_loss(target))
    return loss, stats


def grad_norms(model):
    groups = {"encoder": model.encoder, "projector": model.projector, "gcn": model.objective}
    out = {}
    for name, module in groups.items():
        sq = [p.grad.pow(2).sum() for p in module.parameters() if p.grad is not None]
        out[f"grad_{name}"] = float(torch.stack(sq).sum().sqrt()) if sq else 0.0
    return out


def parse_value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", nargs="*", default=[], help="config overrides name=value")
    parser.add_argument("--every", type=int, default=10, help="print every N steps")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from graphcl.datasets import load_pneumoniamnist
    from graphcl.methods.lvmmed import LVMMedConfig, SelfSupervisedModel
    from graphcl.nn.vision import RandomViews
    overrides = dict(item.split("=", 1) for item in args.set)
    config = LVMMedConfig().with_overrides(**{k: parse_value(v) for k, v in overrides.items()})
    torch.manual_seed(args.seed)
    model = SelfSupervisedModel(config).train()
    images = load_pneumoniamnist().train_images
    generator = torch.Generator().manual_seed(args.seed)
    views = RandomViews()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    log, order, pos = [], torch.randperm(len(images), generator=generator), 0
    tic = time.perf_counter()
    for step in range(args.steps):
        if pos + config.batch_size > len(images):
            order, pos = torch.randperm(len(images), generator=generator), 0
        batch = images[order[pos:pos + config.batch_size]]
        pos += config.batch_size
        loss, stats = step_stats(model, views(batch, generator), views(batch, generator), generator)
        optimizer.zero_grad()
        loss.backward()
        stats.update(grad_norms(model))
        optimizer.step()
        stats["step"] = step
        log.append(stats)
        if step % args.every == 0 or step == args.steps - 1:
            window = log[-args.every:]
            mean = lambda key: sum(s[key] for s in window) / len(window)
            print(f"step {step:4d} loss {mean('loss'):6.2f} clean {mean('clean_loss'):6.2f} "
                  f"diag {stats['unary_diag']:.3f} off {stats['unary_off']:.3f} "
                  f"(std {stats['unary_off_std']:.3f}) raw {stats['cos_before_gcn_diag']:.3f}/"
                  f"{stats['cos_before_gcn_off']:.3f} within {stats['within_graph_cos_before']:.3f}"
                  f"->{stats['within_graph_cos_after']:.3f} resolveI {mean('resolve_is_identity'):.2f} "
                  f"rl {mean('resolve_loss'):.1f} degen {stats['degenerate_edges']:.2f} "
                  f"short {stats['shortest_real_edge']:.1e} g enc {stats['grad_encoder']:.1e} "
                  f"proj {stats['grad_projector']:.1e} "
                  f"gcn {stats['grad_gcn']:.1e} [{time.perf_counter() - tic:.0f}s]", flush=True)
    if args.out:
        write_json_atomic({"config": overrides, "steps": args.steps, "seed": args.seed, "log": log},
                          args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
