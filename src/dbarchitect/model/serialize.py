"""The canonical JSON form of a `Schema`: `to_dict` / `from_dict`, stable and lossless.

Fields equal to their default are left out, so the form stays small and adding a field with a
default does not change existing snapshots. Keys come out in field order, collections in the
model's canonical order, so `json.dumps(to_dict(s))` is deterministic.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from functools import cache
from typing import Any

from dbarchitect.errors import InputError
from dbarchitect.model.schema import Schema

FORMAT_VERSION = 1


def to_dict(schema: Schema) -> dict[str, Any]:
    """The schema as plain JSON-ready data (dicts, lists, strings, numbers, booleans)."""
    out = _encode(schema)
    assert isinstance(out, dict)
    return {"format": "dbarchitect-schema", "version": FORMAT_VERSION, **out}


def to_json(schema: Schema) -> str:
    """Canonical JSON text: two-space indent, UTF-8 characters kept, trailing newline."""
    return json.dumps(to_dict(schema), indent=2, ensure_ascii=False) + "\n"


def from_dict(data: dict[str, Any]) -> Schema:
    """Rebuild a `Schema` from `to_dict` output; raises InputError on unknown shapes."""
    body = {k: v for k, v in data.items() if k not in ("format", "version")}
    result = _decode(Schema, body, "schema")
    assert isinstance(result, Schema)
    return result


def from_json(text: str, where: str = "<json>") -> Schema:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("format") != "dbarchitect-schema":
        raise InputError(f"{where}: not a dbarchitect schema JSON file")
    try:
        return from_dict(data)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if _is_default(f, v):
                continue
            out[f.name] = _encode(v)
        return out
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _is_default(f: dataclasses.Field[Any], v: Any) -> bool:
    if f.default is not dataclasses.MISSING:
        return bool(v == f.default and type(v) is type(f.default))
    return False


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, data: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if data is None:
            return None
        return _decode(args[0], data, path)
    if origin is tuple:
        items = typing.get_args(tp)
        if not isinstance(data, list):
            raise InputError(f"{path}: expected a list")
        if len(items) == 2 and items[1] is Ellipsis:
            return tuple(_decode(items[0], v, f"{path}[{i}]") for i, v in enumerate(data))
        if len(items) != len(data):
            raise InputError(f"{path}: expected {len(items)} items")
        return tuple(
            _decode(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(items, data, strict=True))
        )
    if origin is typing.Literal:
        if data not in typing.get_args(tp):
            raise InputError(f"{path}: {data!r} is not one of {typing.get_args(tp)}")
        return data
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected an object")
        hints = _hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = set(data) - names
        if unknown:
            raise InputError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}")
        kwargs = {k: _decode(hints[k], v, f"{path}.{k}") for k, v in data.items()}
        try:
            return tp(**kwargs)
        except TypeError as exc:
            raise InputError(f"{path}: {exc}") from None
    if tp is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if isinstance(tp, type) and not isinstance(data, tp):
        raise InputError(f"{path}: expected {tp.__name__}, got {type(data).__name__}")
    return data
