"""Frozen dataclasses to and from JSON fields: the one helper behind every config and options object."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def to_fields(obj: Any) -> dict[str, Any]:
    """The dataclass as JSON-ready fields (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(obj).items()}


def from_fields(cls: type[T], fields: dict[str, Any], what: str) -> T:
    """An instance of `cls` from JSON fields; fields left out keep their defaults. Unknown names and values of
    the wrong type are refused with a ValueError that names them (`what` says whose fields they are)."""
    if not isinstance(fields, dict):
        raise ValueError(f"{what}: expected an object of fields, got {type(fields).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise ValueError(f"unknown {what} keys: {', '.join(unknown)}")
    return cls(**{name: _value(value, hints[name], f"{what} {name}") for name, value in fields.items()})


def _value(value: Any, kind: Any, where: str) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"{where}: fields of type {kind} cannot be read from JSON")
        return _value(value, inner[0], where)
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        return tuple(_value(v, args[0], where) for v in value)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and number and float(value).is_integer():
        return int(value)
    if kind is float and number:
        return float(value)
    if kind is str and isinstance(value, str):
        return value
    if kind in (bool, int, float, str):
        raise ValueError(f"{where}: expected {kind.__name__}, got {value!r}")
    raise TypeError(f"{where}: fields of type {kind} cannot be read from JSON")
