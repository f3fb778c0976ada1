"""The base of every method's config: a frozen dataclass with
``with_overrides`` and a JSON round trip."""
from __future__ import annotations

import dataclasses
import numbers
import typing
from typing import Any, Dict, Type, TypeVar

C = TypeVar("C", bound="ExperimentConfig")


def _is_tuple_type(annotation) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Union:  # Optional[Tuple[...]]
        return any(_is_tuple_type(arg) for arg in typing.get_args(annotation))
    return annotation is tuple or origin is tuple


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """Everything one run of a method needs besides the data and the seed.

    Subclasses are frozen dataclasses whose fields are JSON values (numbers,
    strings, booleans, None, lists or tuples of them). ``to_json`` and
    ``from_json`` round-trip exactly: tuples become lists in JSON and tuples
    again when read back, so a resumed run compares equal to the one it resumes.
    """

    def _check_positive_int(self, name: str) -> None:
        """Raise unless field ``name`` is an int >= 1 (for subclasses' ``__post_init__``)."""
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be a positive integer, got {type(value).__name__} "
                            f"{value!r}")
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")

    def _check_choice(self, name: str, choices) -> None:
        """Raise ``ValueError`` unless field ``name`` is one of ``choices``."""
        value = getattr(self, name)
        if value not in choices:
            raise ValueError(f"{name} must be one of {choices}, got {value!r}")

    def with_overrides(self: C, **overrides) -> C:
        """A copy with some fields replaced; unknown names raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(f"unknown {type(self).__name__} options: {unknown} "
                             f"(known: {sorted(names)})")
        return dataclasses.replace(self, **overrides)

    def to_json(self) -> Dict[str, Any]:
        """The fields as a JSON-ready dictionary (tuples as lists)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls: Type[C], values: Dict[str, Any]) -> C:
        """Inverse of :meth:`to_json`; unknown or missing required keys raise."""
        if not isinstance(values, dict):
            raise TypeError(f"{cls.__name__}.from_json needs a dict, got {type(values).__name__}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ValueError(f"unknown {cls.__name__} options in JSON: {unknown}")
        kwargs = {}
        for name, value in values.items():
            if isinstance(value, list) and _is_tuple_type(hints.get(name)):
                value = tuple(value)
            kwargs[name] = value
        return cls(**kwargs)


def _jsonable(value):
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value
