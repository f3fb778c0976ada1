"""Files that are never left half-written: every results file, cache and
downloaded data file graphcl writes goes through :func:`atomic_writer`;
:func:`exclusive_lock` lets processes that would compute the same cache file
take turns instead of repeating the work."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Union


@contextlib.contextmanager
def exclusive_lock(path: Union[str, os.PathLike]) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the
    body: a second process asking for the same path waits until the first
    leaves. The lock goes with the process, so a killed holder never leaves
    it stuck. Where ``fcntl`` is missing (Windows) the body runs unlocked,
    which is still safe for writers that go through :func:`atomic_writer`.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def atomic_writer(path: Union[str, os.PathLike]) -> Iterator[BinaryIO]:
    """Write a file so that ``path`` holds either its old or its complete new contents.

    The body writes to a binary file object on a temporary file with a unique
    name in the same directory (so that the final rename is atomic and two
    writers never share a temporary file). When the body returns, the file is
    flushed, fsync'ed and renamed over ``path`` with :func:`os.replace`; if the
    body or any of these steps fails (a full disk, a file-size limit), the
    temporary file is removed and ``path`` is left as it was.

    Args:
        path: The final path; its directory must exist.

    Yields:
        The temporary file, opened for binary writing.

    Example:
        >>> with atomic_writer("results.json") as f:  # doctest: +SKIP
        ...     f.write(json.dumps(results).encode())
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        # mkstemp creates the file private (0600); data and results files are
        # not secret and should be readable like any other file the user writes.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform or file system can
    # open a directory, and the file's contents are already safe, so best effort.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_json_atomic(obj: Any, path: Union[str, os.PathLike]) -> Path:
    """Write ``obj`` as indented JSON to ``path`` through :func:`atomic_writer`.

    The JSON text is built first, so a value JSON cannot hold fails before the
    file is touched; missing parent folders are created. A full disk, a crash
    or Ctrl-C leaves the previous file intact, never a truncated one.
    """
    path = Path(path)
    text = json.dumps(obj, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as f:
        f.write(text.encode("utf-8"))
    return path


__all__ = ["atomic_writer", "write_json_atomic"]
