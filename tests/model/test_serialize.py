"""The canonical JSON form: lossless, deterministic, and clear about what is wrong with bad input.

Random schemas come from strategies derived from the model's own type hints, so every dataclass
in model/schema.py (and every field added later) is exercised without editing this file.
"""

from __future__ import annotations

import dataclasses
import json
import random
import types
import typing
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbarchitect.errors import InputError
from dbarchitect.model import from_dict, from_json, to_dict, to_json
from dbarchitect.model import schema as model
from dbarchitect.model.schema import Schema

# Small values keep examples small: names from a short alphabet (with characters JSON must
# escape or that are not ASCII), at most two items per collection.
NAMES = st.text(alphabet='ab_"\\\nIı€', min_size=1, max_size=4)
TEXTS = st.text(alphabet="ab '\"\\\n|ı€", max_size=6)
MAX_ITEMS = 2

_cache: dict[Any, st.SearchStrategy[Any]] = {}


def strategy_for(tp: Any, field_name: str = "") -> st.SearchStrategy[Any]:
    """A strategy for a value of type `tp` as the model annotates it."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return st.none() | st.one_of(*(strategy_for(a, field_name) for a in options))
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(tp))
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = strategy_for(args[0], field_name)
            if dataclasses.is_dataclass(args[0]) and "name" in _field_names(args[0]):
                # Real catalogs never hold two objects of one kind with the same name; the
                # model sorts by name, so duplicates would make the order input-dependent.
                return st.lists(item, max_size=MAX_ITEMS, unique_by=_identity).map(tuple)
            return st.lists(item, max_size=MAX_ITEMS).map(tuple)
        return st.tuples(*(strategy_for(a, field_name) for a in args))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return dataclass_strategy(tp)
    if tp is str:
        return NAMES if field_name in ("name", "schema", "column") else TEXTS
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(min_value=-(2**63), max_value=2**63 - 1)
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    raise TypeError(f"no strategy for {tp!r}")


def dataclass_strategy(cls: type) -> st.SearchStrategy[Any]:
    """st.builds over every field of `cls`, defaulted ones included."""
    if cls not in _cache:
        hints = typing.get_type_hints(cls)
        fields = {f.name: strategy_for(hints[f.name], f.name) for f in dataclasses.fields(cls)}
        _cache[cls] = st.builds(cls, **fields)
    return _cache[cls]


def _field_names(cls: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _identity(obj: Any) -> Any:
    # Unique by name (and overload) regardless of schema: stricter than any sort key the
    # model uses (some sort by name alone, e.g. extensions), so the order never depends on input.
    return (getattr(obj, "name", None), getattr(obj, "identity", ""))


MODEL_CLASSES = [
    obj
    for obj in vars(model).values()
    if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == model.__name__
]

# The collections the model puts in canonical order; every other tuple's order is meaningful.
UNORDERED = {
    "Schema": (
        "namespaces",
        "extensions",
        "collations",
        "text_search_configs",
        "enums",
        "domains",
        "composite_types",
        "ranges",
        "sequences",
        "tables",
        "views",
        "functions",
        "grants",
        "default_privileges",
        "options",
    ),
    "Table": (
        "foreign_keys",
        "uniques",
        "checks",
        "exclusions",
        "indexes",
        "triggers",
        "policies",
        "options",
        "depends_on",
    ),
    "View": ("indexes", "triggers", "options", "depends_on"),
    "DomainType": ("checks",),
    "Function": ("depends_on",),
    "Policy": ("roles",),
    "TextSearchConfig": ("mappings",),
}


def shuffled(value: Any, rnd: random.Random) -> Any:
    """The same value rebuilt from its parts with every unordered collection shuffled."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        unordered = UNORDERED.get(type(value).__name__, ())
        kwargs = {}
        for f in dataclasses.fields(value):
            v = shuffled(getattr(value, f.name), rnd)
            if f.name in unordered:
                items = list(v)
                rnd.shuffle(items)
                v = tuple(items)
            kwargs[f.name] = v
        return type(value)(**kwargs)
    if isinstance(value, tuple):
        return tuple(shuffled(v, rnd) for v in value)
    return value


SCHEMAS = dataclass_strategy(Schema)
FAST = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FAST
@given(SCHEMAS)
def test_round_trip_is_lossless(schema: Schema) -> None:
    data = to_dict(schema)
    assert from_dict(data) == schema
    assert from_json(to_json(schema)) == schema
    # Through real JSON text too: tuples come back from lists, floats stay floats.
    assert from_dict(json.loads(json.dumps(data))) == schema


@FAST
@given(SCHEMAS, st.randoms(use_true_random=False))
def test_json_is_deterministic(schema: Schema, rnd: random.Random) -> None:
    text = to_json(schema)
    assert to_json(schema) == text
    other = shuffled(schema, rnd)
    assert other == schema
    assert to_json(other) == text


def test_strategies_reach_every_model_class() -> None:
    """Every dataclass in model/schema.py is part of a Schema, so SCHEMAS generates it."""
    reached: set[type] = set()
    todo: list[Any] = [Schema]
    while todo:
        tp = todo.pop()
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            if tp in reached:
                continue
            reached.add(tp)
            todo.extend(typing.get_type_hints(tp).values())
        todo.extend(typing.get_args(tp))
    assert set(MODEL_CLASSES) <= reached, set(MODEL_CLASSES) - reached
    assert len(MODEL_CLASSES) >= 25


# --- bad input -----------------------------------------------------------------------------


def test_broken_json_names_the_line() -> None:
    text = '{\n  "format": "dbarchitect-schema",\n  "dialect": "postgres",\n  "tables": [,]\n}\n'
    with pytest.raises(InputError) as exc:
        from_json(text, where="snap.json")
    message = str(exc.value)
    assert message.startswith("snap.json:4:")
    assert "not valid JSON" in message
    assert "\n" not in message


def test_unknown_field_is_named_with_its_path() -> None:
    schema = Schema(dialect="postgres", tables=(model.Table(schema="public", name="t"),))
    data = to_dict(schema)
    data["tables"][0]["colour"] = "blue"
    with pytest.raises(InputError) as exc:
        from_json(json.dumps(data), where="snap.json")
    message = str(exc.value)
    assert "colour" in message
    assert "schema.tables[0]" in message
    assert message.startswith("snap.json:")


def test_wrong_types_and_values_are_refused() -> None:
    base = to_dict(Schema(dialect="postgres", tables=(model.Table(schema="s", name="t"),)))
    cases = [
        (["tables", 0, "name"], 5, "schema.tables[0].name: expected str, got int"),
        (["tables", 0, "columns"], {"a": 1}, "schema.tables[0].columns: expected a list"),
        (["tables", 0, "rls_enabled"], "yes", "expected bool"),
    ]
    for path, bad, expected in cases:
        data = json.loads(json.dumps(base))
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = bad
        with pytest.raises(InputError, match=expected.replace("[", r"\[").replace("]", r"\]")):
            from_dict(data)
    policy = {"name": "p", "command": "MERGE"}
    data = json.loads(json.dumps(base))
    data["tables"][0]["policies"] = [policy]
    with pytest.raises(InputError, match="'MERGE' is not one of"):
        from_dict(data)


def test_missing_required_field_is_named() -> None:
    data = {"format": "dbarchitect-schema", "dialect": "postgres", "tables": [{"schema": "s"}]}
    with pytest.raises(InputError) as exc:
        from_json(json.dumps(data), where="x.json")
    assert "schema.tables[0]" in str(exc.value)
    assert "name" in str(exc.value)


def test_other_json_is_not_taken_for_a_schema() -> None:
    with pytest.raises(InputError, match="not a dbarchitect schema JSON file"):
        from_json('{"dialect": "postgres"}', where="other.json")
    with pytest.raises(InputError, match="not a dbarchitect schema JSON file"):
        from_json("[1, 2]", where="other.json")
