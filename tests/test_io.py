"""graphcl.io's atomic writes under bad conditions (issue 11): a full disk, a failing
write, and concurrent writers of one SCGC autoencoder cache key.
"""
import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------
# Atomic writes: a full disk never destroys the previous file
# ---------------------------------------------------------------------------

_FULL_DISK = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path
    import torch
    from graphcl.io import atomic_writer
    from graphcl.experiment import write_json_atomic as write_heco
    from graphcl.io import write_json_atomic as write_scgc

    def write_torch(obj, path):
        with atomic_writer(path) as f:
            torch.save(obj, f)

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    big = {"per_seed": ["x" * 100] * 1000}          # ~100 kB of JSON: over the limit
    tensor = {"x": torch.zeros(100000)}             # 400 kB checkpoint
    for kind, write, obj in [("heco", write_heco, big), ("scgc", write_scgc, big),
                             ("torch", write_torch, tensor)]:
        try:
            write(obj, Path(sys.argv[1]) / kind / "results.json")
            print(kind, "written")
        except Exception as exc:  # torch.save reports the OSError as a RuntimeError
            print(kind, "failed", getattr(exc, "errno", None) or type(exc).__name__)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE semantics")
def test_full_disk_keeps_the_old_results(tmp_path):
    """A file-size limit (what a full disk looks like to a writer) in a subprocess:
    every writer fails, and each previous results.json is still intact."""
    kinds = ["heco", "scgc", "torch"]
    old = {}
    for kind in kinds:
        (tmp_path / kind).mkdir()
        old[kind] = {"method": kind, "metrics": {"acc": 0.5}}
        (tmp_path / kind / "results.json").write_text(json.dumps(old[kind]))
    proc = subprocess.run([sys.executable, "-c", _FULL_DISK, str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split("\n")
    assert lines[:2] == ["heco failed 27", "scgc failed 27"], proc.stdout  # 27 = EFBIG
    assert lines[2].startswith("torch failed"), proc.stdout
    for kind in kinds:
        path = tmp_path / kind / "results.json"
        assert json.loads(path.read_text()) == old[kind]      # the old results survive intact
        assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temp left


def test_atomic_writer_failure_leaves_target_and_no_temp(tmp_path):
    from graphcl.io import atomic_writer
    target = tmp_path / "results.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_writer(target) as f:
            f.write(b"new, partial")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["results.json"]
    with atomic_writer(target) as f:
        f.write(b"new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["results.json"]
    assert (target.stat().st_mode & 0o777) == 0o644


def test_results_writers_are_atomic_against_a_failing_write(tmp_path, monkeypatch):
    """A failure in the middle of the write (monkeypatched) keeps the old file."""
    from graphcl.experiment import write_json_atomic as write_heco
    from graphcl.io import write_json_atomic as write_scgc
    for write in (write_heco, write_scgc):
        path = tmp_path / "results.json"
        path.write_text('{"old": true}')
        with monkeypatch.context() as mp:
            def fail_fsync(fd):
                raise OSError(28, "No space left on device")
            mp.setattr(os, "fsync", fail_fsync)
            with pytest.raises(OSError, match="No space"):
                write({"new": list(range(1000))}, path)
        assert json.loads(path.read_text()) == {"old": True}
        assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
        write({"new": 1}, path)
        assert json.loads(path.read_text()) == {"new": 1}


# ---------------------------------------------------------------------------
# SCGC autoencoder cache: concurrent writers of one key
# ---------------------------------------------------------------------------

_AE = dict(hidden=(8,), n_z=2, epochs=1, lr=1e-3, batch_size=16)


def _ae_input() -> torch.Tensor:
    return torch.randn(48, 5, generator=torch.Generator().manual_seed(0))


def _pretrain_worker(cache_dir: str, barrier, rounds: int, errors) -> None:
    torch.set_num_threads(1)
    from graphcl.methods.scgc.autoencoder import pretrain_autoencoder
    x = _ae_input()
    for seed in range(rounds):
        barrier.wait()  # every process reaches the same key at the same time
        try:
            pretrain_autoencoder(x, seed=seed, cache_dir=Path(cache_dir), progress=False, **_AE)
        except Exception as exc:  # reported to the parent, which fails the test
            errors.put(f"seed {seed}: {type(exc).__name__}: {exc}")


def test_concurrent_autoencoder_cache_writers_all_succeed(tmp_path):
    from graphcl.methods.scgc.autoencoder import pretrain_autoencoder
    processes, rounds = 4, 8
    # fork: the children start at once, without importing torch again; their
    # tensors are too small for any op to use an intra-op thread pool.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    barrier, errors = ctx.Barrier(processes), ctx.Queue()
    cache = tmp_path / "cache"
    workers = [ctx.Process(target=_pretrain_worker, args=(str(cache), barrier, rounds, errors))
               for _ in range(processes)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        if w.is_alive():
            w.terminate()
    assert all(w.exitcode == 0 for w in workers), [w.exitcode for w in workers]
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == []
    files = sorted(p.name for p in cache.iterdir())
    weights = [f for f in files if f.endswith(".pt")]
    locks = [f for f in files if f.endswith(".lock")]  # one per key (exclusive_lock)
    assert len(weights) == rounds and all(f.startswith("ae-") for f in weights)
    assert sorted(f[:-5] for f in locks) == sorted(f[:-3] for f in weights)
    # Every cached file loads and holds the weights a fresh, uncached run gives.
    x = _ae_input()
    for seed in range(rounds):
        cached = pretrain_autoencoder(x, seed=seed, cache_dir=cache, progress=False, **_AE)
        fresh = pretrain_autoencoder(x, seed=seed, cache_dir=None, progress=False, **_AE)
        for (name, a), (_, b) in zip(cached.state_dict().items(), fresh.state_dict().items()):
            assert torch.equal(a, b), (seed, name)
    assert sorted(p.name for p in cache.iterdir()) == files  # nothing else left behind


def test_exclusive_lock_makes_a_second_process_wait(tmp_path):
    from graphcl.io import exclusive_lock
    lock, marker, done = tmp_path / "k.lock", tmp_path / "held", tmp_path / "done"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from graphcl.io import exclusive_lock
        with exclusive_lock({str(lock)!r}):
            Path({str(marker)!r}).touch()
            time.sleep(1.5)
            Path({str(done)!r}).touch()  # the last thing done while holding it
    """)])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert holder.poll() is None and time.monotonic() < deadline, "the holder never locked"
            time.sleep(0.02)
        start = time.monotonic()
        with exclusive_lock(lock):
            waited = time.monotonic() - start
            assert done.exists()  # we got it only once the holder was done
        assert waited > 0.5
        with exclusive_lock(lock):  # released again, and re-entrant across calls
            pass
    finally:
        holder.wait(timeout=60)
    assert holder.returncode == 0
