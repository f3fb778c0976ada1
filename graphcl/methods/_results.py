"""Helpers shared by the methods' results.json writers."""
import json
import os
from pathlib import Path
from typing import Any, Dict, Union

from graphcl.datasets._files import atomic_writer


def config_as_json(config: Any) -> Dict[str, Any]:
    """A config dataclass as a results.json dictionary; tuples become lists, as
    they do in a results.json read back, so a resumed run compares equal."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(config).items()}


def write_json(results: Dict[str, Any], path: Union[str, os.PathLike]) -> None:
    """Write a results dictionary as indented JSON, atomically.

    The JSON is serialised first (a value JSON cannot hold fails before the
    file is touched), then written through
    :func:`graphcl.datasets._files.atomic_writer`: a full disk or a crash
    leaves the previous file at ``path`` intact, never a truncated one.

    Args:
        results: The dictionary to write.
        path: The file; missing parent directories are created.
    """
    path = Path(path)
    text = json.dumps(results, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as f:
        f.write(text.encode("utf-8"))
