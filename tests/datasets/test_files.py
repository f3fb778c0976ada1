"""Tests for graphcl.datasets._files: the data root, the mirror, downloads and sha256 checks.

The Planetoid files are the vehicle: they come from the local mirror (or a
local HTTP server) into a temporary data root; nothing is downloaded.
"""
import http.server
import os
import pickle
import shutil
import threading
import urllib.request
from functools import partial
from pathlib import Path

import pytest

from datasets_support import sha256_hex
from datasets_support import mirrored_root, no_network  # noqa: F401 (fixture)
from datasets_support import planetoid_mirror as mirror  # noqa: F401 (fixture)
from graphcl.datasets import (
    ChecksumError,
    DownloadError,
    data_root,
    fetch_all,
    fetch_file,
    load_planetoid,
    read_verified_bytes,
)
from graphcl.datasets import _files
from graphcl.datasets.planetoid import PLANETOID_COMMIT, PLANETOID_FILES

pytestmark = pytest.mark.usefixtures("fresh_verification_cache")

ORIGINAL_URL_PREFIX = f"https://raw.githubusercontent.com/kimiyoung/planetoid/{PLANETOID_COMMIT}/data/"


@pytest.fixture
def no_unpickling(monkeypatch):
    """Make every way of unpickling fail the test."""
    def forbidden(*args, **kwargs):
        raise AssertionError("a file was unpickled before its checksum was verified")
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path):
    """Serves tmp_path/served on 127.0.0.1; yields (served dir, base URL)."""
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def download_root(tmp_path, monkeypatch) -> Path:
    """An empty data root with no mirror, so missing files must be downloaded."""
    root = tmp_path / "data"
    monkeypatch.setenv("GRAPHCL_DATA", str(root))
    monkeypatch.delenv("GRAPHCL_MIRROR", raising=False)
    return root


def _leftovers(directory: Path):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# ---------------------------------------------------------------------------
# Data root and mirror
# ---------------------------------------------------------------------------

def test_data_root_from_env_default_and_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRAPHCL_DATA", raising=False)
    assert data_root() == tmp_path / "home" / ".cache" / "graphcl"
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "explicit") == tmp_path / "explicit"


def test_missing_files_are_copied_from_the_mirror(mirrored_root, mirror):
    paths = fetch_all(PLANETOID_FILES["cora"])
    assert sorted(paths) == sorted(PLANETOID_FILES["cora"])
    for rel, path in paths.items():
        assert path == mirrored_root / rel
        assert path.read_bytes() == (mirror / rel).read_bytes()
    # Only the eight files, no temporary files left behind.
    assert _leftovers(mirrored_root / "planetoid") == sorted(Path(rel).name for rel in paths)


def test_paths_outside_the_data_root_are_rejected(tmp_path):
    for bad in ["../escape", "/etc/passwd", ""]:
        with pytest.raises(ValueError, match="relative"):
            fetch_file(bad, "0" * 64, "http://127.0.0.1:9/", root=tmp_path)


# ---------------------------------------------------------------------------
# Corrupt and truncated files
# ---------------------------------------------------------------------------

def _flip_byte(path: Path, offset: int) -> None:
    payload = bytearray(path.read_bytes())
    payload[offset] ^= 0xFF
    path.write_bytes(bytes(payload))


def _assert_checksum_message(error: pytest.ExceptionInfo, path: Path, expected: str) -> None:
    message = str(error.value)
    actual = _files.sha256_of_file(path)
    assert str(path) in message
    assert expected in message and actual in message and actual != expected
    assert "delete" in message and "GRAPHCL_MIRROR" in message


def test_corrupted_file_raises_before_unpickling(mirrored_root, no_unpickling):
    fetch_all(PLANETOID_FILES["cora"])
    rel = "planetoid/ind.cora.graph"
    path = mirrored_root / rel
    _flip_byte(path, path.stat().st_size // 2)
    with pytest.raises(ChecksumError) as error:
        load_planetoid("cora")
    assert isinstance(error.value, ValueError)
    _assert_checksum_message(error, path, PLANETOID_FILES["cora"][rel][0])


def test_truncated_file_raises_before_unpickling(mirrored_root, no_unpickling):
    fetch_all(PLANETOID_FILES["citeseer"])
    rel = "planetoid/ind.citeseer.allx"
    path = mirrored_root / rel
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ChecksumError) as error:
        load_planetoid("citeseer")
    _assert_checksum_message(error, path, PLANETOID_FILES["citeseer"][rel][0])


class _Payload:
    """Unpickling this runs os.mkdir(marker): a stand-in for malicious code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_malicious_replacement_is_never_executed(mirrored_root, tmp_path):
    # Sanity: the payload really executes when unpickled.
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(probe)))
    assert probe.is_dir()

    fetch_all(PLANETOID_FILES["cora"])
    marker = tmp_path / "pwned"
    (mirrored_root / "planetoid" / "ind.cora.x").write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    with pytest.raises(ChecksumError, match="ind.cora.x"):
        load_planetoid("cora")
    assert not marker.exists()


def test_changed_file_is_verified_again(mirrored_root):
    rel = "planetoid/ind.cora.y"
    sha256, url = PLANETOID_FILES["cora"][rel]
    path = fetch_file(rel, sha256, url)
    assert fetch_file(rel, sha256, url) == path  # cached verification still passes
    before = path.stat()
    _flip_byte(path, 10)
    # Same size, explicitly different mtime: the per-process cache must not hide the change.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ChecksumError, match="ind.cora.y"):
        fetch_file(rel, sha256, url)
    # Even with the original mtime restored, reading always hashes the bytes it returns.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(ChecksumError, match="ind.cora.y"):
        read_verified_bytes(rel, sha256, url)


def test_corrupt_mirror_file_is_not_installed(tmp_path, monkeypatch, mirror, no_network):
    bad_mirror = tmp_path / "mirror"
    (bad_mirror / "planetoid").mkdir(parents=True)
    rel = "planetoid/ind.cora.x"
    payload = bytearray((mirror / rel).read_bytes())
    payload[100] ^= 0x01
    (bad_mirror / rel).write_bytes(bytes(payload))
    root = tmp_path / "data"
    monkeypatch.setenv("GRAPHCL_DATA", str(root))
    monkeypatch.setenv("GRAPHCL_MIRROR", str(bad_mirror))
    sha256, url = PLANETOID_FILES["cora"][rel]
    with pytest.raises(ChecksumError) as error:
        fetch_file(rel, sha256, url)
    message = str(error.value)
    assert str(root / rel) in message and str(bad_mirror / rel) in message
    assert sha256 in message and sha256_hex(bytes(payload)) in message and "GRAPHCL_MIRROR" in message
    assert _leftovers(root / "planetoid") == []


# ---------------------------------------------------------------------------
# Downloads (local HTTP server only)
# ---------------------------------------------------------------------------

def test_download_from_url(download_root, http_server, capsys):
    served, base = http_server
    payload = os.urandom(3 * 1024 * 1024 + 17)  # several chunks
    (served / "blob.bin").write_bytes(payload)
    path = fetch_file("extra/blob.bin", sha256_hex(payload), base + "blob.bin")
    assert path == download_root / "extra" / "blob.bin"
    assert path.read_bytes() == payload
    assert _leftovers(path.parent) == ["blob.bin"]
    assert "blob.bin" in capsys.readouterr().err  # the tqdm progress bar


def test_download_from_file_url(download_root, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"graphcl" * 100)
    path = fetch_file("f/source.bin", sha256_hex(source.read_bytes()), source.as_uri())
    assert path.read_bytes() == source.read_bytes()


def test_bad_download_leaves_no_file(download_root, http_server):
    served, base = http_server
    good = b"the real contents\n" * 1000
    (served / "blob.bin").write_bytes(good[:-1] + b"?")
    url = base + "blob.bin"
    with pytest.raises(ChecksumError) as error:
        fetch_file("extra/blob.bin", sha256_hex(good), url)
    message = str(error.value)
    assert "blob.bin" in message and url in message and sha256_hex(good) in message
    assert _leftovers(download_root / "extra") == []


class _TruncatingHandler(http.server.BaseHTTPRequestHandler):
    """Promises 10,000 bytes, sends 1,000, then drops the connection."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(b"x" * 1000)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_truncated_download_leaves_no_file(download_root):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TruncatingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/blob.bin"
        with pytest.raises(DownloadError, match=r"blob\.bin.*1000 of 10000 bytes"):
            fetch_file("extra/blob.bin", sha256_hex(b"x" * 10000), url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert _leftovers(download_root / "extra") == []


def test_failed_download_names_file_and_url(download_root, http_server):
    _, base = http_server
    url = base + "does-not-exist.bin"
    with pytest.raises(DownloadError) as error:
        fetch_file("extra/does-not-exist.bin", "0" * 64, url)
    message = str(error.value)
    assert str(download_root / "extra" / "does-not-exist.bin") in message and url in message
    assert "GRAPHCL_MIRROR" in message
    assert not (download_root / "extra" / "does-not-exist.bin").exists()


def test_mirror_without_the_file_falls_back_to_download(tmp_path, monkeypatch, http_server):
    served, base = http_server
    (served / "only-online.bin").write_bytes(b"online")
    empty_mirror = tmp_path / "empty-mirror"
    empty_mirror.mkdir()
    monkeypatch.setenv("GRAPHCL_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GRAPHCL_MIRROR", str(empty_mirror))
    path = fetch_file("x/only-online.bin", sha256_hex(b"online"), base + "only-online.bin")
    assert path.read_bytes() == b"online"


def test_load_planetoid_downloads_from_the_registry_urls(download_root, http_server, mirror,
                                                          monkeypatch):
    served, base = http_server
    for rel in PLANETOID_FILES["cora"]:
        shutil.copyfile(mirror / rel, served / Path(rel).name)
    requested = []
    real_urlopen = urllib.request.urlopen

    # Redirect the pinned GitHub URLs to the local server; nothing else is allowed.
    def local_urlopen(url, *args, **kwargs):
        assert url.startswith(ORIGINAL_URL_PREFIX), url
        requested.append(url)
        return real_urlopen(base + url[len(ORIGINAL_URL_PREFIX):], *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", local_urlopen)
    data = load_planetoid("cora")
    assert data.num_nodes == 2708 and data.edge_index.size(1) == 10556
    assert sorted(requested) == sorted(url for _, url in PLANETOID_FILES["cora"].values())
    # A second load uses the verified files in the data root.
    load_planetoid("cora")
    assert len(requested) == 8
