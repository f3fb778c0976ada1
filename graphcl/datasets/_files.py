"""Fetching and verifying the raw files every graphcl dataset is built from.

Each dataset declares its files as ``{relative path: (sha256, url)}``; the
relative path is the same under the data root, under a local mirror and in
``../shared/data`` (for example ``planetoid/ind.cora.x``).

Where a file comes from, in order:

1. ``<data root>/<relative path>`` if it is already there. The data root is
   ``$GRAPHCL_DATA``, defaulting to ``~/.cache/graphcl``.
2. ``$GRAPHCL_MIRROR/<relative path>``, copied into the data root.
3. The file's original URL, downloaded into the data root.

Every file's sha256 is checked before anything parses it, because the raw
files are Python pickles: unpickling an unverified file could run arbitrary
code. New files are written to a temporary file in the target directory and
renamed into place only once their sha256 matches, so an interrupted or bad
transfer never leaves a partial file at the final path (:func:`atomic_writer`,
which graphcl's results and cache writers use as well).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Dict, Mapping, Optional, Set, Tuple, Union

from tqdm.auto import tqdm

from graphcl.io import atomic_writer

#: ``{relative path: (sha256, url)}``: how a dataset declares its raw files.
FileTable = Mapping[str, Tuple[str, str]]

DATA_ENV = "GRAPHCL_DATA"
MIRROR_ENV = "GRAPHCL_MIRROR"
DEFAULT_DATA_ROOT = "~/.cache/graphcl"

#: The URL of a file that has no upstream copy of its own (one the data
#: mirror's preparation derived from upstream packages, e.g. the WordNet noun
#: table): it can only be copied from ``$GRAPHCL_MIRROR`` or placed in the data
#: root by hand; its card says how it was derived.
MIRROR_ONLY = "mirror-only"

_CHUNK_BYTES = 1 << 20
_DOWNLOAD_TIMEOUT_S = 60

# Files already verified in this process, keyed by what would change if the
# file were rewritten; a changed file gets a new key and is hashed again.
_verified: Set[tuple] = set()


class ChecksumError(ValueError):
    """A data file's sha256 differs from the one its dataset declares."""


class DownloadError(OSError):
    """A data file is missing and could be neither copied nor downloaded."""


def data_root(root: Union[str, os.PathLike, None] = None) -> Path:
    """The directory that holds the verified data files.

    Args:
        root: An explicit directory; when ``None``, ``$GRAPHCL_DATA`` or,
            if that is unset or empty, ``~/.cache/graphcl``.

    Returns:
        The data root as an absolute path (it need not exist yet).
    """
    if root is None:
        root = os.environ.get(DATA_ENV) or DEFAULT_DATA_ROOT
    return Path(root).expanduser().resolve()


def mirror_root() -> Optional[Path]:
    """The local mirror named by ``$GRAPHCL_MIRROR``, or ``None`` if unset.

    Returns:
        The mirror directory as an absolute path, or ``None``.
    """
    mirror = os.environ.get(MIRROR_ENV)
    return Path(mirror).expanduser().resolve() if mirror else None


def sha256_of_file(path: Union[str, os.PathLike]) -> str:
    """Hex sha256 of a file's contents, read in chunks.

    Args:
        path: The file to hash.

    Returns:
        The lower-case hex digest.
    """
    with open(path, "rb") as f:
        return _sha256_of_stream(f)


def _sha256_of_stream(stream: BinaryIO) -> str:
    # Chunks of _CHUNK_BYTES: memory stays constant whatever the file's size.
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(_CHUNK_BYTES), b""):
        digest.update(chunk)
    return digest.hexdigest()


def fetch_file(relative_path: str, sha256: str, url: str,
               root: Union[str, os.PathLike, None] = None) -> Path:
    """Make sure a verified copy of a data file is in the data root.

    Args:
        relative_path: The file's path under the data root, e.g.
            ``"planetoid/ind.cora.x"``.
        sha256: Its expected hex sha256.
        url: Where to download it from when neither the data root nor the
            mirror has it.
        root: Data root override (see :func:`data_root`).

    Returns:
        The path of the verified file.

    Raises:
        ChecksumError: The file (already present, copied or downloaded) does
            not have the expected sha256.
        DownloadError: The file is missing and the download failed.
    """
    path = _ensure_present(relative_path, sha256, url, root)
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino, sha256)
    if key not in _verified:
        _raise_if_mismatch(path, sha256, sha256_of_file(path))
        _verified.add(key)
    return path


def read_verified_bytes(relative_path: str, sha256: str, url: str,
                        root: Union[str, os.PathLike, None] = None) -> bytes:
    """Fetch a data file if needed and return its contents, verified.

    The file is first hashed in a streaming pass (constant memory), so a wrong
    file fails with :class:`ChecksumError` whatever its size, before it is read
    into memory. The bytes returned are then hashed again, so nothing can
    change the file between the check and the parse.

    Args:
        relative_path: The file's path under the data root.
        sha256: Its expected hex sha256.
        url: Its original URL (used only if the file must be downloaded).
        root: Data root override (see :func:`data_root`).

    Returns:
        The file's contents.

    Raises:
        ChecksumError: The contents do not have the expected sha256.
        DownloadError: The file is missing and the download failed.
    """
    path = _ensure_present(relative_path, sha256, url, root)
    changed = None  # the advice when the bytes read differ from those just hashed
    with open(path, "rb") as f:
        stat = os.fstat(f.fileno())
        key = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino, sha256)
        if key not in _verified:
            _raise_if_mismatch(path, sha256, _sha256_of_stream(f))
            _verified.add(key)
            f.seek(0)
            changed = (f"The file changed while it was read: make sure nothing else writes "
                       f"{path}, or delete it so that it is fetched again.")
        payload = f.read()
    _raise_if_mismatch(path, sha256, hashlib.sha256(payload).hexdigest(), fix=changed)
    return payload


def fetch_all(files: FileTable, root: Union[str, os.PathLike, None] = None) -> Dict[str, Path]:
    """Fetch and verify every file of a dataset.

    Args:
        files: The dataset's ``{relative path: (sha256, url)}`` table.
        root: Data root override (see :func:`data_root`).

    Returns:
        ``{relative path: verified local path}``.
    """
    return {rel: fetch_file(rel, sha, url, root) for rel, (sha, url) in files.items()}


def _ensure_present(relative_path: str, sha256: str, url: str,
                    root: Union[str, os.PathLike, None]) -> Path:
    """Copy or download the file into the data root unless it is there.

    A file that is already present is returned unchecked; the callers verify it.
    """
    rel = _checked_relative_path(relative_path)
    target = data_root(root).joinpath(*rel.parts)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    mirror = mirror_root()
    if mirror is not None and mirror.joinpath(*rel.parts).is_file():
        source = mirror.joinpath(*rel.parts)
        with open(source, "rb") as src:
            _write_verified(target, sha256, src, fix=(
                f"It was copied from the mirror file {source} and not saved: check that "
                f"${MIRROR_ENV} points to an intact copy (compare with the dataset card)."))
        return target
    if url == MIRROR_ONLY:
        raise DownloadError(f"{target} is missing and has no download URL (it is derived from "
                            f"upstream packages; its dataset card says how). "
                            f"{_offline_advice(rel, mirror)}")
    _download(url, target, sha256, _offline_advice(rel, mirror))
    return target


def _offline_advice(rel: PurePosixPath, mirror: Optional[Path]) -> str:
    """What to do without internet access, naming where the mirror was searched."""
    if mirror is None:
        return (f"Without internet access, set {MIRROR_ENV} to a directory laid out like the "
                f"data root that contains this file ({rel}).")
    source = mirror.joinpath(*rel.parts)
    setting = f"{MIRROR_ENV}={os.environ.get(MIRROR_ENV)!r}"
    if not mirror.exists():
        problem = f"the mirror directory {mirror} ({setting}) does not exist"
    elif not mirror.is_dir():
        problem = f"the mirror {mirror} ({setting}) is not a directory"
    elif source.is_dir():
        problem = f"the mirror ({setting}) holds a directory at {source}, where the file {rel} should be"
    else:
        problem = f"the mirror ({setting}) has no file {source}"
    return (f"The file was not copied from the mirror: {problem}. Without internet access, put a "
            f"verified copy of {rel} at {source}, or point {MIRROR_ENV} at a directory laid out "
            f"like the data root that contains it.")


def _checked_relative_path(relative_path: str) -> PurePosixPath:
    # The registry is code, but a path escaping the data root would make a
    # typo overwrite an unrelated file, so reject it early.
    rel = PurePosixPath(relative_path)
    if rel.is_absolute() or not rel.parts or ".." in rel.parts:
        raise ValueError(f"data file path must be relative and stay inside the data root, "
                         f"got {relative_path!r}")
    return rel


def _download(url: str, target: Path, sha256: str, advice: str) -> None:
    try:
        response = urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise DownloadError(f"{target} is missing and downloading it from {url} failed: {exc}. "
                            f"{advice}") from exc
    with response:
        length = response.headers.get("Content-Length")
        size = int(length) if length and length.isdigit() else None
        with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024,
                  desc=target.name, leave=False) as bar:
            try:
                _write_verified(target, sha256, response, expected_size=size, progress=bar.update,
                                fix=(f"It was downloaded from {url} and not saved: retry, or put "
                                     f"a verified copy under ${MIRROR_ENV}."))
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                raise DownloadError(f"downloading {url} to {target} failed: {exc}") from exc


def _write_verified(target: Path, sha256: str, source: BinaryIO, fix: str,
                    expected_size: Optional[int] = None,
                    progress: Optional[Callable[[int], object]] = None) -> None:
    """Stream ``source`` into ``target``, renaming it into place only if it verifies.

    Args:
        target: Final path of the file.
        sha256: Expected hex sha256 of the contents.
        source: Binary stream to copy from.
        fix: What the user should do if the contents do not verify.
        expected_size: Bytes the source announced (a download's Content-Length);
            fewer or more means the transfer broke off.
        progress: Called with the size of every chunk written.

    Raises:
        ChecksumError: The contents do not have the expected sha256.
        DownloadError: The source delivered a different number of bytes
            than announced.
    """
    digest = hashlib.sha256()
    received = 0
    # Raising inside atomic_writer discards the temporary file: only verified
    # contents ever reach the target path.
    with atomic_writer(target) as out:
        for chunk in iter(lambda: source.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
            out.write(chunk)
            received += len(chunk)
            if progress is not None:
                progress(len(chunk))
        if expected_size is not None and received != expected_size:
            raise DownloadError(f"incomplete transfer for {target}: received {received} of "
                                f"{expected_size} bytes. {fix}")
        _raise_if_mismatch(target, sha256, digest.hexdigest(), fix)


def _raise_if_mismatch(path: Path, expected: str, actual: str, fix: Optional[str] = None) -> None:
    if actual == expected.lower():
        return
    if fix is None:
        fix = (f"The file is corrupt or truncated: delete {path} so that it is fetched again "
               f"(from ${MIRROR_ENV} if set, else from its original URL).")
    raise ChecksumError(f"sha256 mismatch for {path}: expected {expected}, got {actual}. {fix}")


def _reset_verification_cache() -> None:
    """Forget which files were verified (for tests)."""
    _verified.clear()


__all__ = [
    "ChecksumError", "DownloadError", "FileTable", "data_root", "mirror_root", "sha256_of_file",
    "fetch_file", "fetch_all", "read_verified_bytes", "DATA_ENV", "MIRROR_ENV",
]
