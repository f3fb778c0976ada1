"""Dataset files under bad conditions (issue 11): streaming verification and mirror messages.

Nothing here touches the internet; downloads are refused or served by nothing.
"""
import os
import urllib.request
from pathlib import Path

import pytest

from datasets_support import sha256_hex
from graphcl.datasets import ChecksumError, DownloadError, fetch_file, read_verified_bytes
from graphcl.datasets import _files

pytestmark = pytest.mark.usefixtures("fresh_verification_cache")

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
        read_verified_bytes("x/big.bin", sha256_hex(b"something else"), "http://unused")
    assert str(path) in str(error.value) and sha256_hex(payload) in str(error.value)
    assert sum(n for _, n in log.sizes) == len(payload)  # hashed in full...
    assert _whole_reads(log) == []                       # ...one chunk at a time


def test_truncated_file_is_rejected_naming_it(small_chunks):
    root, log = small_chunks
    payload = os.urandom(10 * 1024)
    path = root / "x" / "cut.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(payload[:4000])
    with pytest.raises(ChecksumError, match="cut.bin.*corrupt or truncated"):
        read_verified_bytes("x/cut.bin", sha256_hex(payload), "http://unused")
    assert _whole_reads(log) == []


def test_good_file_larger_than_a_chunk_is_returned_exactly(small_chunks):
    root, log = small_chunks
    payload = os.urandom(20 * 1024 + 5)
    path = root / "x" / "good.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    assert read_verified_bytes("x/good.bin", sha256_hex(payload), "http://unused") == payload
    # The streaming hash came first, in chunks; only then was the file read whole.
    first_whole = next(i for i, (size, _) in enumerate(log.sizes) if size is None or size < 0)
    assert sum(n for _, n in log.sizes[:first_whole]) == len(payload)
    assert all(0 < size <= 1024 for size, _ in log.sizes[:first_whole])
    # A second read of the unchanged file skips the streaming pass but still verifies.
    log.sizes.clear()
    assert read_verified_bytes("x/good.bin", sha256_hex(payload), "http://unused") == payload
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
        read_verified_bytes("x/racy.bin", sha256_hex(payload), "http://unused")


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
