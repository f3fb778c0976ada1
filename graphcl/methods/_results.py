"""Helpers shared by the methods' results.json writers."""
from typing import Any, Dict


def config_as_json(config: Any) -> Dict[str, Any]:
    """A config dataclass as a results.json dictionary; tuples become lists, as
    they do in a results.json read back, so a resumed run compares equal."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(config).items()}
