"""Tests for graphcl.eval.linear_probe (and its engine, eval._batched_probe): the
batched linear probe against a plain loop of independent probes scored with
sklearn (the HeCo/DMGI protocol as written)."""
import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, roc_auc_score

from eval_support import one_thread  # noqa: F401 (autouse fixture)
from graphcl.eval import ProbeResult, batched_f1_scores, linear_probe
from graphcl.eval._batched_probe import select_macro
from graphcl.eval.f1 import class_counts


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def _problem(n=300, d=16, c=4, per_class=10, n_val=80, n_test=100, sep=0.8, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    x = rng.normal(size=(c, d))[y] * sep + rng.normal(size=(n, d))
    train = np.concatenate([np.flatnonzero(y == k)[:per_class] for k in range(c)])
    rest = rng.permutation(np.setdiff1d(np.arange(n), train))
    return (torch.tensor(x, dtype=torch.float32), torch.tensor(y), train,
            rest[:n_val], rest[n_val:n_val + n_test])


def _loop_reference(x, y, train, val, test, *, lr, wd, repeats, iterations, seed):
    """The reference evaluate.py, written out: one nn.Linear probe per repeat,
    sklearn scores after every step, list.index(max(...)) selection."""
    gen = torch.Generator().manual_seed(seed)
    c = int(y[np.concatenate([train, val, test])].max()) + 1
    xt, xv, xs = x[train], x[val], x[test]
    yt, yv, ys = y[train], y[val].numpy(), y[test].numpy()
    out = {k: [] for k in ("macro", "micro", "auc", "it_macro", "it_micro", "loss")}
    for _ in range(repeats):
        probe = torch.nn.Linear(x.shape[1], c)
        torch.nn.init.xavier_uniform_(probe.weight, generator=gen)
        probe.bias.data.fill_(0.0)
        opt = torch.optim.Adam(probe.parameters(), lr=lr, weight_decay=wd)
        vma, vmi, tma, tmi, logits_list, losses = [], [], [], [], [], []
        for _ in range(iterations):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(probe(xt), yt)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            with torch.no_grad():
                pv = probe(xv).argmax(1).numpy()
                lt = probe(xs)
                pt = lt.argmax(1).numpy()
            vma.append(f1_score(yv, pv, average="macro"))
            vmi.append(f1_score(yv, pv, average="micro"))
            tma.append(f1_score(ys, pt, average="macro"))
            tmi.append(f1_score(ys, pt, average="micro"))
            logits_list.append(lt)
        i = vma.index(max(vma))
        out["macro"].append(tma[i])
        out["it_macro"].append(i)
        i = vmi.index(max(vmi))
        out["micro"].append(tmi[i])
        out["it_micro"].append(i)
        proba = torch.softmax(logits_list[i], dim=1).numpy()
        out["auc"].append(roc_auc_score(ys, proba, multi_class="ovr"))
        out["loss"].append(losses)
    return {k: np.asarray(v) for k, v in out.items()}


# ---------------------------------------------------------------------------
# linear probe
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("lr,wd", [(0.05, 0.0), (0.01, 1e-3)])
def test_batched_probe_equals_independent_loop(lr, wd):
    x, y, tr, va, te = _problem()
    ref = _loop_reference(x, y, tr, va, te, lr=lr, wd=wd, repeats=5, iterations=60, seed=3)
    res = linear_probe(x, y, tr, va, te, lr=lr, weight_decay=wd, repeats=5, iterations=60, seed=3)
    # same init and the same Adam trajectory, up to matmul rounding
    np.testing.assert_allclose(res.curves["train_loss"], ref["loss"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(res.macro_f1_iteration, ref["it_macro"])
    np.testing.assert_array_equal(res.micro_f1_iteration, ref["it_micro"])
    np.testing.assert_allclose(res.macro_f1, ref["macro"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.micro_f1, ref["micro"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.auc, ref["auc"], rtol=0, atol=1e-5)


def test_probe_curves_match_sklearn_and_reported_values():
    x, y, tr, va, te = _problem(c=5, seed=1)
    res = linear_probe(x, y, tr, va, te, lr=0.05, repeats=4, iterations=40, seed=0)
    rr = np.arange(4)
    # the reported (sklearn) values are the vectorised curves at the chosen iterations
    np.testing.assert_allclose(res.macro_f1, res.curves["test_macro_f1"][rr, res.macro_f1_iteration],
                               atol=1e-12)
    np.testing.assert_allclose(res.micro_f1, res.curves["test_micro_f1"][rr, res.micro_f1_iteration],
                               atol=1e-12)
    assert np.all(res.val_macro_f1 == res.curves["val_macro_f1"].max(1))
    assert np.all(res.val_micro_f1 == res.curves["val_micro_f1"].max(1))
    for name in ("val_macro_f1", "val_micro_f1", "test_macro_f1", "test_micro_f1", "train_loss"):
        assert res.curves[name].shape == (4, 40)


def test_probe_summary_and_defaults():
    x, y, tr, va, te = _problem(n=200, d=8, c=3, n_val=50, n_test=50)
    res = linear_probe(x, y, tr, va, te, lr=0.05)   # the full 50 x 200 protocol
    assert isinstance(res, ProbeResult) and res.repeats == 50
    s = res.summary()
    assert set(s) == {"macro_f1", "micro_f1", "auc"}
    for m in s:
        vals = getattr(res, m)
        assert vals.shape == (50,) and np.all((vals >= 0) & (vals <= 1))
        assert s[m]["mean"] == pytest.approx(np.mean(vals))
        assert s[m]["std"] == pytest.approx(np.std(vals))   # population std, like the reference
    assert "Ma-F1" in str(res)
    # deterministic given the seed, and the seed matters
    again = linear_probe(x, y, tr, va, te, lr=0.05, repeats=3, iterations=20, seed=7)
    same = linear_probe(x, y, tr, va, te, lr=0.05, repeats=3, iterations=20, seed=7)
    other = linear_probe(x, y, tr, va, te, lr=0.05, repeats=3, iterations=20, seed=8)
    np.testing.assert_array_equal(again.curves["train_loss"], same.curves["train_loss"])
    assert not np.array_equal(again.curves["train_loss"], other.curves["train_loss"])


def test_probe_accepts_numpy_onehot_float_labels_and_masks():
    x, y, tr, va, te = _problem(n=150, d=6, c=3, n_val=40, n_test=40)
    base = linear_probe(x, y, tr, va, te, lr=0.05, repeats=2, iterations=15)
    onehot = np.eye(3)[y.numpy()]
    mask = np.zeros(150, dtype=bool)
    mask[te] = True
    alt = linear_probe(x.numpy().astype(np.float64), onehot, tr, va, mask, lr=0.05,
                       repeats=2, iterations=15)
    # a mask reorders test nodes, which does not change any metric
    np.testing.assert_allclose(alt.macro_f1, base.macro_f1)
    np.testing.assert_allclose(alt.auc, base.auc)
    acm_style = linear_probe(x, y.numpy().astype(np.float64), tr, va, te, lr=0.05,
                             repeats=2, iterations=15)
    np.testing.assert_allclose(acm_style.micro_f1, base.micro_f1)


def test_probe_binary_and_missing_test_class():
    x, y, tr, va, te = _problem(n=200, d=6, c=2, n_val=50, n_test=50)
    res = linear_probe(x, y, tr, va, te, lr=0.05, repeats=2, iterations=20)
    assert np.all(np.isfinite(res.auc))
    x, y, tr, va, te = _problem(n=200, d=6, c=3, n_val=50, n_test=80)
    te = te[y.numpy()[te] != 2]            # class 2 absent from the test set
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = linear_probe(x, y, tr, va, te, lr=0.05, repeats=2, iterations=20)
    assert np.all(np.isnan(res.auc))       # OvR AUC undefined for the missing class
    assert np.all(np.isfinite(res.macro_f1))


def _same_probe_results(a: ProbeResult, b: ProbeResult) -> None:
    for name in ("macro_f1", "micro_f1", "auc", "macro_f1_iteration", "micro_f1_iteration",
                 "val_macro_f1", "val_micro_f1"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name, curve in a.curves.items():
        np.testing.assert_array_equal(curve, b.curves[name], err_msg=name)


def test_probe_large_sparse_class_ids_cost_and_score_as_dense_ones(monkeypatch):
    """Ids {0, 50000, 100000} are 3 classes: same metrics and curves as {0, 1, 2},
    and no table sized by the largest id (that was 8 GB at the reference size)."""
    x, y, tr, va, te = _problem(n=200, d=6, c=3, n_val=50, n_test=60)
    dense = linear_probe(x, y, tr, va, te, lr=0.05, repeats=3, iterations=25)
    sparse_ids = torch.tensor([0, 50000, 100000])[y]
    largest = []
    real_empty = torch.empty

    def recording_empty(*size, **kwargs):
        out = real_empty(*size, **kwargs)
        largest.append(out.numel())
        return out

    monkeypatch.setattr(torch, "empty", recording_empty)
    sparse = linear_probe(x, sparse_ids, tr, va, te, lr=0.05, repeats=3, iterations=25)
    monkeypatch.undo()
    _same_probe_results(sparse, dense)
    # the biggest buffer is the [T, R, |test|] prediction history, not [T, R, 100001]
    assert max(largest) <= 25 * 3 * 60


def test_probe_classes_are_the_labels_at_the_split_indices():
    x, y, tr, va, te = _problem(n=200, d=6, c=3, n_val=50, n_test=60)
    gapped = torch.tensor([0, 2, 5])[y]  # ids 1, 3, 4 unused: still 3 classes
    _same_probe_results(linear_probe(x, gapped, tr, va, te, lr=0.05, repeats=2, iterations=10),
                        linear_probe(x, y, tr, va, te, lr=0.05, repeats=2, iterations=10))
    # An explicit num_classes keeps the ids as they are (C = 6 outputs here).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OvR AUC is undefined for the 3 absent classes
        wide = linear_probe(x, gapped, tr, va, te, lr=0.05, repeats=2, iterations=10,
                            num_classes=6)
    assert np.all(np.isnan(wide.auc))
    assert wide.curves["train_loss"][0, 0] > linear_probe(
        x, gapped, tr, va, te, lr=0.05, repeats=2, iterations=10).curves["train_loss"][0, 0]
    with pytest.raises(ValueError, match="num_classes=5"):
        linear_probe(x, gapped, tr, va, te, lr=0.05, repeats=1, iterations=2, num_classes=5)


def test_probe_thread_setting_is_restored():
    x, y, tr, va, te = _problem(n=100, d=4, c=3, n_val=20, n_test=20)
    before = torch.get_num_threads()
    a = linear_probe(x, y, tr, va, te, lr=0.05, repeats=2, iterations=5, num_threads=2)
    assert torch.get_num_threads() == before
    b = linear_probe(x, y, tr, va, te, lr=0.05, repeats=2, iterations=5, num_threads=None)
    np.testing.assert_allclose(a.curves["train_loss"], b.curves["train_loss"], rtol=1e-5)
    with pytest.raises(ValueError, match="num_threads"):
        linear_probe(x, y, tr, va, te, lr=0.05, num_threads=0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_probe_cuda_matches_cpu():
    x, y, tr, va, te = _problem()
    cpu = linear_probe(x, y, tr, va, te, lr=0.05, repeats=4, iterations=50)
    gpu = linear_probe(x.cuda(), y, tr, va, te, lr=0.05, repeats=4, iterations=50)
    np.testing.assert_allclose(gpu.curves["train_loss"], cpu.curves["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(gpu.micro_f1, cpu.micro_f1, atol=0.02)


def test_probe_input_errors():
    x, y, tr, va, te = _problem(n=100, d=4, c=3, n_val=20, n_test=20)
    ok = dict(lr=0.05, repeats=1, iterations=2)
    bad = x.clone()
    bad[5, 1] = float("nan")
    with pytest.raises(ValueError, match="embeddings"):
        linear_probe(bad, y, tr, va, te, **ok)
    with pytest.raises(ValueError, match="embeddings"):
        linear_probe(x[:, 0], y, tr, va, te, **ok)
    with pytest.raises(ValueError, match="labels"):
        linear_probe(x, y[:-1], tr, va, te, **ok)
    with pytest.raises(ValueError, match="val_idx"):
        linear_probe(x, y, tr, np.array([0, 100]), te, **ok)
    with pytest.raises(ValueError, match="test_idx"):
        linear_probe(x, y, tr, va, np.array([-1, 3]), **ok)
    with pytest.raises(ValueError, match="train_idx"):
        linear_probe(x, y, np.array([], dtype=np.int64), va, te, **ok)
    with pytest.raises(TypeError, match="train_idx"):
        linear_probe(x, y, tr.astype(np.float64), va, te, **ok)
    with pytest.raises(ValueError, match="lr"):
        linear_probe(x, y, tr, va, te, lr=0.0)
    with pytest.raises(ValueError, match="weight_decay"):
        linear_probe(x, y, tr, va, te, lr=0.1, weight_decay=-1.0)
    with pytest.raises(ValueError, match="repeats"):
        linear_probe(x, y, tr, va, te, lr=0.1, repeats=0)
    with pytest.raises(ValueError, match="num_classes"):
        linear_probe(x, y, tr, va, te, num_classes=2, **ok)
    neg = y.clone()
    neg[tr[0]] = -1
    with pytest.raises(ValueError, match="labels"):
        linear_probe(x, neg, tr, va, te, **ok)


# ---------------------------------------------------------------------------
# iteration selection (eval._batched_probe)
# ---------------------------------------------------------------------------

def test_macro_selection_breaks_ties_like_list_index():
    """Permuting class roles gives mathematically equal macro-F1 whose float sums
    can differ in the last bit; selection must follow sklearn's own floats."""
    rng = np.random.default_rng(0)
    c, n, t_len, r_len = 9, 90, 60, 6
    y = np.repeat(np.arange(c), n // c)
    base = np.where(rng.random(n) < 0.6, y, rng.integers(0, c, n))
    preds = np.empty((t_len, r_len, n), dtype=np.int64)
    for t in range(t_len):
        for r in range(r_len):
            # renaming classes keeps the multiset of per-class F1 values
            perm = rng.permutation(c) if rng.random() < 0.5 else np.arange(c)
            p = base.copy()
            if rng.random() < 0.3:
                p = np.where(rng.random(n) < 0.1, rng.integers(0, c, n), p)
            preds[t, r] = _permute_roles(p, y, perm)
    tp = np.empty((t_len, r_len, c), dtype=np.int64)
    pc = np.empty_like(tp)
    for t in range(t_len):
        a, b = class_counts(torch.as_tensor(preds[t]), torch.as_tensor(y), c)
        tp[t], pc[t] = a.numpy(), b.numpy()
    true = np.bincount(y, minlength=c)
    vm, _ = batched_f1_scores(y, preds.reshape(-1, n), num_classes=c)
    chosen = select_macro(vm.view(t_len, r_len), tp, pc, true)
    for r in range(r_len):
        scores = [f1_score(y, preds[t, r], average="macro") for t in range(t_len)]
        assert chosen[r] == scores.index(max(scores))


def _permute_roles(p, y, perm):
    """Predictions whose confusion matrix is the one of (y, p) with classes renamed
    by perm, against the same y (y is balanced, so this is a valid prediction)."""
    out = np.empty_like(p)
    for k in range(perm.size):
        src = np.flatnonzero(y == k)
        dst = np.flatnonzero(y == perm[k])
        out[dst] = perm[p[src]]
    return out
