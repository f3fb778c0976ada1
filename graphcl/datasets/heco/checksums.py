"""Pinning the sha256 of HeCo files: the registry's hashes, filled in by the user's.

Freebase's files are not part of this release's data, so their hashes are
unknown: the user pins them (``checksums=`` of
:func:`~graphcl.datasets.heco.load_heco`, or a ``SHA256SUMS`` file in
``<data root>/heco/<dataset>/``), and nothing is read until they are pinned.
"""
from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Dict, Mapping, Optional, Union

from graphcl.datasets._files import data_root
from graphcl.datasets.heco.specs import HeCoSpec, MissingChecksumError

#: Name of the optional checksum file in ``<data root>/heco/<dataset>/``.
SHA256SUMS = "SHA256SUMS"

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

PathLike = Union[str, os.PathLike]
#: What ``checksums=`` accepts: ``{file name: sha256}``, a ``sha256sum`` file, or None.
Checksums = Union[Mapping[str, str], PathLike, None]


def read_sha256sums(path: PathLike) -> Dict[str, str]:
    """Parse a ``sha256sum`` output file (``<hex>  <name>`` per line).

    Args:
        path: The file.

    Returns:
        ``{file name: sha256}``; the names' directories are dropped.
    """
    out = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or not _SHA256.match(parts[0]):
            raise ValueError(f"{path}:{number}: expected '<sha256>  <file name>', got {line!r}")
        # sha256sum marks binary-mode entries with a leading '*'.
        out[PurePosixPath(parts[1].strip().lstrip("*")).name] = parts[0].lower()
    return out


def pinned_hashes(spec: HeCoSpec, checksums: Checksums,
                  root: Optional[PathLike] = None) -> Dict[str, str]:
    """The sha256 of every file the loader reads, from the registry or the user.

    ``checksums`` only fills hashes the registry lacks; a user hash that
    disagrees with a registry hash is an error rather than an override, so a
    typo cannot silently weaken verification of a pinned file.

    Args:
        spec: The dataset's spec.
        checksums: ``{file name: sha256}`` (names may carry their
            ``heco/<dataset>/`` prefix) or the path of a ``sha256sum`` file.
            When ``None``, ``<data root>/heco/<dataset>/SHA256SUMS`` is read
            if it exists and the registry lacks a hash.
        root: Data root override (default: ``None``, the usual data root).

    Returns:
        ``{file name: sha256}`` for every file of :meth:`HeCoSpec.required_files`.

    Raises:
        ValueError: A malformed hash, a file that is not in the dataset, or a
            hash that disagrees with the registry's.
        MissingChecksumError: A needed file has neither a registry nor a user hash.
    """
    source = None
    if checksums is None:
        sums = data_root(root) / "heco" / spec.name / SHA256SUMS
        if sums.is_file() and any(sha is None for sha in spec.files.values()):
            checksums, source = read_sha256sums(sums), str(sums)
    elif isinstance(checksums, (str, os.PathLike)):
        source = str(checksums)
        checksums = read_sha256sums(checksums)
    user = {}
    for key, sha in dict(checksums or {}).items():
        file = PurePosixPath(key).name  # accept "labels.npy" or "heco/freebase/labels.npy"
        if not isinstance(sha, str) or not _SHA256.match(sha):
            raise ValueError(f"checksum for {key!r} must be 64 hex digits, got {sha!r}")
        if file not in spec.files:
            raise ValueError(f"checksum given for {key!r}, which is not a file of heco/{spec.name} "
                             f"(files: {sorted(spec.files)})")
        known = spec.files[file]
        if known is not None and known != sha.lower():
            raise ValueError(f"checksum for {file} ({sha}) disagrees with the pinned sha256 {known} "
                             f"of heco/{spec.name}; checksums= only fills unknown hashes")
        user[file] = sha.lower()

    pinned, missing = {}, []
    for file in spec.required_files():
        sha = spec.files[file] or user.get(file)
        if sha is None:
            missing.append(file)
        else:
            pinned[file] = sha
    if missing:
        where = f" ({source} does not list them)" if source else ""
        raise MissingChecksumError(
            f"the sha256 of heco/{spec.name} files {missing} is unknown in this release{where}, and "
            f"graphcl never parses an unverified file (nei_*.npy are pickles). Obtain the files from "
            f"{spec.url('<file>')}, check them by a means you trust, then pin their hashes: pass "
            f"checksums={{'labels.npy': '<sha256>', ...}} or checksums='/path/to/SHA256SUMS', or "
            f"write `sha256sum {' '.join(missing)} > {SHA256SUMS}` output to "
            f"{data_root(root) / 'heco' / spec.name / SHA256SUMS}.")
    return pinned



__all__ = ["SHA256SUMS", "Checksums", "read_sha256sums", "pinned_hashes"]
