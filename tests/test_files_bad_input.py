"""Files and runs under bad conditions (issue 11): streaming verification,
atomic writes with a full disk, concurrent cache writers, mirror messages.

Nothing here touches the internet; downloads are refused or served by nothing.
"""
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest
import torch

from graphcl.datasets import ChecksumError, DownloadError, fetch_file, read_verified_bytes
from graphcl.datasets import _files

pytestmark = pytest.mark.usefixtures("fresh_verification_cache")

REPO = Path(__file__).resolve().parents[1]


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


@pytest.fixture
def no_network(monkeypatch):
    def refuse(url, *args, **kwargs):
        raise OSError(f"no network in tests (asked for {url})")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# ---------------------------------------------------------------------------
# read_verified_bytes hashes in a streaming pass before reading the file
# ---------------------------------------------------------------------------

class _ReadLog:
    """Wraps ``open`` in graphcl.datasets._files and records every read size."""

    def __init__(self):
        self.sizes = []

    def open(self, *args, **kwargs):
        log = self

        class Tracked:
            def __init__(self, f):
                self._f = f

            def read(self, size=-1):
                data = self._f.read(size)
                log.sizes.append((size, len(data)))
                return data

            def __getattr__(self, name):
                return getattr(self._f, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self._f.close()

        return Tracked(open(*args, **kwargs))


@pytest.fixture
def small_chunks(monkeypatch, tmp_path):
    """Chunks of 1 KiB, a data root in tmp_path, and a log of every read."""
    monkeypatch.setattr(_files, "_CHUNK_BYTES", 1024)
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("GRAPHCL_MIRROR", raising=False)
    log = _ReadLog()
    monkeypatch.setattr(_files, "open", log.open, raising=False)
    # Reading the whole file some other way would bypass the log: forbid it.
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read_bytes({self})"))
    return tmp_path / "data", log


def _whole_reads(log: _ReadLog):
    """Reads that asked for more than one chunk (or for everything)."""
    return [size for size, _ in log.sizes if size is None or size < 0 or size > 1024]


def test_wrong_file_is_rejected_without_reading_it_whole(small_chunks):
    root, log = small_chunks
    payload = os.urandom(50 * 1024 + 17)  # 50 chunks and a bit
    path = root / "x" / "big.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    with pytest.raises(ChecksumError) as error:
        read_verified_bytes("x/big.bin", _sha256(b"something else"), "http://unused")
    assert str(path) in str(error.value) and _sha256(payload) in str(error.value)
    assert sum(n for _, n in log.sizes) == len(payload)  # hashed in full...
    assert _whole_reads(log) == []                       # ...one chunk at a time


def test_truncated_file_is_rejected_naming_it(small_chunks):
    root, log = small_chunks
    payload = os.urandom(10 * 1024)
    path = root / "x" / "cut.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(payload[:4000])
    with pytest.raises(ChecksumError, match="cut.bin.*corrupt or truncated"):
        read_verified_bytes("x/cut.bin", _sha256(payload), "http://unused")
    assert _whole_reads(log) == []


def test_good_file_larger_than_a_chunk_is_returned_exactly(small_chunks):
    root, log = small_chunks
    payload = os.urandom(20 * 1024 + 5)
    path = root / "x" / "good.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    assert read_verified_bytes("x/good.bin", _sha256(payload), "http://unused") == payload
    # The streaming hash came first, in chunks; only then was the file read whole.
    first_whole = next(i for i, (size, _) in enumerate(log.sizes) if size is None or size < 0)
    assert sum(n for _, n in log.sizes[:first_whole]) == len(payload)
    assert all(0 < size <= 1024 for size, _ in log.sizes[:first_whole])
    # A second read of the unchanged file skips the streaming pass but still verifies.
    log.sizes.clear()
    assert read_verified_bytes("x/good.bin", _sha256(payload), "http://unused") == payload
    assert [size for size, _ in log.sizes if size is not None and size > 0] == []


def test_file_changed_between_hash_and_read_is_rejected(small_chunks, monkeypatch):
    root, _ = small_chunks
    payload = os.urandom(3000)
    path = root / "x" / "racy.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    real = _files._sha256_of_stream

    def hash_then_change(stream):
        digest = real(stream)
        with open(path, "r+b") as f:  # another process rewrites the file in place
            f.write(b"\0" * 10)
        return digest

    monkeypatch.setattr(_files, "_sha256_of_stream", hash_then_change)
    with pytest.raises(ChecksumError, match="racy.bin.*changed while it was read"):
        read_verified_bytes("x/racy.bin", _sha256(payload), "http://unused")


# ---------------------------------------------------------------------------
# GRAPHCL_MIRROR set but wrong: the message names the path searched
# ---------------------------------------------------------------------------

def test_missing_mirror_directory_is_named(tmp_path, monkeypatch, no_network):
    mirror = tmp_path / "no-such-mirror"
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GRAPHCL_MIRROR", str(mirror))
    with pytest.raises(DownloadError) as error:
        fetch_file("heco/acm/labels.npy", "0" * 64, "https://example.invalid/labels.npy")
    message = str(error.value)
    assert str(mirror) in message and "does not exist" in message
    assert str(mirror / "heco" / "acm" / "labels.npy") in message  # where to put it
    assert "heco/acm/labels.npy" in message


def test_mirror_holding_a_directory_for_a_file_is_named(tmp_path, monkeypatch, no_network):
    mirror = tmp_path / "mirror"
    (mirror / "heco" / "acm" / "labels.npy").mkdir(parents=True)
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GRAPHCL_MIRROR", str(mirror))
    with pytest.raises(DownloadError) as error:
        fetch_file("heco/acm/labels.npy", "0" * 64, "https://example.invalid/labels.npy")
    message = str(error.value)
    assert f"directory at {mirror / 'heco' / 'acm' / 'labels.npy'}" in message
    assert "heco/acm/labels.npy" in message


def test_mirror_without_the_file_is_named(tmp_path, monkeypatch, no_network):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GRAPHCL_MIRROR", str(mirror))
    with pytest.raises(DownloadError, match=f"has no file {mirror / 'a' / 'b.bin'}"):
        fetch_file("a/b.bin", "0" * 64, "https://example.invalid/b.bin")


def test_mirror_that_is_a_regular_file_is_named(tmp_path, monkeypatch, no_network):
    mirror = tmp_path / "mirror.txt"
    mirror.write_text("not a directory")
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GRAPHCL_MIRROR", str(mirror))
    with pytest.raises(DownloadError, match=f"mirror {mirror} .*is not a directory"):
        fetch_file("a/b.bin", "0" * 64, "https://example.invalid/b.bin")


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
    assert len(files) == rounds and all(f.startswith("ae-") and f.endswith(".pt") for f in files)
    # Every cached file loads and holds the weights a fresh, uncached run gives.
    x = _ae_input()
    for seed in range(rounds):
        cached = pretrain_autoencoder(x, seed=seed, cache_dir=cache, progress=False, **_AE)
        fresh = pretrain_autoencoder(x, seed=seed, cache_dir=None, progress=False, **_AE)
        for (name, a), (_, b) in zip(cached.state_dict().items(), fresh.state_dict().items()):
            assert torch.equal(a, b), (seed, name)
    assert sorted(p.name for p in cache.iterdir()) == files  # nothing else left behind
