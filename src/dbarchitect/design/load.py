"""Read a design spec from YAML, keeping the line of every value for error messages.

PyYAML's constructed data has no line numbers and silently keeps the last of two equal
keys, so the spec is composed into YAML's node tree and walked here: the walk builds the
plain data pydantic validates and a map from each value's place to its line, and refuses
duplicate keys. Validation errors and the cross-checks of design/load_checks.py are then
reported as one line, `file:line: place: what is wrong`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from dbarchitect.design.load_checks import Place, check_spec, dotted, line_of
from dbarchitect.design.naming import singular
from dbarchitect.design.spec import Spec
from dbarchitect.errors import InputError

Path_ = Place  # a value's place in the document: ("entities", "users", "fields")

_TAG = "tag:yaml.org,2002:"
# libyaml's parser is some twenty times faster and gives nodes the same marks.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec, the file it came from, and where each value was written."""

    spec: Spec
    path: Path
    lines: Mapping[Path_, int] = field(default_factory=dict)

    def where(self, *place: str | int) -> str:
        """`file:line` of the deepest written value on `place` (the file alone if unknown)."""
        line = line_of(self.lines, tuple(place))
        return f"{self.path}:{line}" if line else str(self.path)


def load_spec(path: Path) -> LoadedSpec:
    """Parse, validate and cross-check the spec at `path`.

    Every problem raises InputError as one line, `file:line: what is wrong`."""
    root = _compose(path, _read(path))
    lines: dict[Path_, int] = {}
    data = _Walk(path, lines).value(root, ())
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"the value {data!r}"
        raise InputError(
            f"{path}:{lines[()]}: a spec is a mapping with `name:` and `entities:` at the top, "
            f"not {kind}"
        )
    problem = check_mixins(data, lines)  # the Spec merges mixins; this finds bad ones
    if problem is not None:
        place, message = problem
        raise InputError(f"{path}:{line_of(lines, place)}: {dotted(place)}: {message}")
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise InputError(_validation_message(path, data, lines, exc)) from None
    loaded = LoadedSpec(spec=spec, path=path, lines=lines)
    check_spec(loaded)
    return loaded


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a spec file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte {exc.start})") from None


def _compose(path: Path, text: str) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        context = exc.context
        if context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
            context += f" (line {exc.context_mark.line + 1})"
        what = " ".join(part for part in (context, exc.problem) if part)
        raise InputError(f"{path}:{line}: YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}:1: YAML error: {' '.join(str(exc).split())}") from None
    if root is None:
        raise InputError(f"{path}:1: the spec is empty")
    return root


class _Walk:
    """Turns composed nodes into plain data, recording lines and refusing duplicate keys."""

    def __init__(self, path: Path, lines: dict[Path_, int]) -> None:
        self.path = path
        self.lines = lines
        self.active: set[int] = set()  # nodes on the current path: a recursive alias loops

    def fail(self, node: yaml.Node, message: str) -> InputError:
        return InputError(f"{self.path}:{node.start_mark.line + 1}: {message}")

    def value(self, node: yaml.Node, place: Path_, line: int | None = None) -> Any:
        """The data of `node` at `place`; `line` is where its key was written, if any."""
        self.lines.setdefault(place, line if line is not None else node.start_mark.line + 1)
        if id(node) in self.active:
            where = line if line is not None else node.start_mark.line + 1
            message = f"{dotted(place)}: an alias refers to a value containing it"
            raise InputError(f"{self.path}:{where}: {message}")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, place)
            if isinstance(node, yaml.SequenceNode):
                return [self.value(item, (*place, i)) for i, item in enumerate(node.value)]
            return self.scalar(node, place)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: yaml.Node, place: Path_) -> Any:
        tag = node.tag
        if tag == _TAG + "str":
            return node.value
        if tag == _TAG + "timestamp":
            return node.value  # dates stay as written (partition `start`, defaults)
        if tag in (_TAG + "null", _TAG + "bool", _TAG + "int", _TAG + "float"):
            constructor = _SCALARS.yaml_constructors[tag]
            return constructor(_SCALARS, node)
        raise self.fail(node, f"{dotted(place)}: unsupported YAML tag {tag}")

    def mapping(self, node: yaml.MappingNode, place: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, f"{dotted(place)}: a key must be a plain word")
            key = self.scalar(key_node, place)
            if key in out:
                raise self.fail(key_node, _duplicate(place, key))
            line = key_node.start_mark.line + 1
            out[key] = self.value(value_node, (*place, key), line)
        # `<<: *anchor` merges: keys written here win, then earlier merged mappings.
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise self.fail(source, f"{dotted(place)}: `<<` merges only mappings")
                for key, item in self.mapping(source, place).items():
                    out.setdefault(key, item)
        return out


def check_mixins(data: dict[str, Any], lines: dict[Place, int]) -> tuple[Place, str] | None:
    """Find an unknown mixin or a field both written and mixed in, before validation (the
    Spec merges mixins itself); give the merged fields the lines where the mixin wrote them."""
    mixins = data.get("mixins") or {}
    entities = data.get("entities")
    if not isinstance(entities, dict) or not isinstance(mixins, dict):
        return None
    for name, entity in entities.items():
        if not isinstance(entity, dict):
            continue
        used, fields = entity.get("mixins"), entity.get("fields") or {}
        if not isinstance(used, str | list) or not isinstance(fields, dict):
            continue  # nothing to merge, or a type error pydantic reports
        for i, mixin in enumerate([used] if isinstance(used, str) else used):
            at: Place = ("entities", name, "mixins")
            if isinstance(used, list):
                at = (*at, i)
            if not isinstance(mixin, str) or not isinstance(mixins.get(mixin), dict):
                known = ", ".join(mixins) or "none defined under `mixins:`"
                return at, f"unknown mixin {mixin!r} (known: {known})"
            for field_name in mixins[mixin]:
                if field_name in fields:
                    return ("entities", name, "fields", field_name), (
                        f"field {field_name!r} is also given by mixin {mixin!r}"
                    )
                source: Place = ("mixins", mixin, field_name)
                for place, line in list(lines.items()):
                    if place[:3] == source:
                        lines.setdefault(("entities", name, "fields", field_name, *place[3:]), line)
    return None


def _duplicate(place: Path_, key: Any) -> str:
    """The message for a key written twice in the mapping at `place`."""
    named = {
        ("entities",): "entity",
        ("enums",): "enum",
        ("mixins",): "mixin",
    }
    if place in named:
        return f"duplicate {named[place]} {key!r}"
    if len(place) == 3 and place[0] == "entities" and place[2] == "fields":
        return f"duplicate field {key!r} in {place[1]}"
    if len(place) == 3 and place[0] == "entities" and place[2] == "checks":
        return f"duplicate check {key!r} in {place[1]}"
    if len(place) == 2 and place[0] == "mixins":
        return f"duplicate field {key!r} in mixin {place[1]}"
    if len(place) == 3 and place[0] == "relationships" and place[2] == "fields":
        return f"duplicate field {key!r} in {dotted(place[:2])}"
    return f"duplicate key {key!r}" + (f" in {dotted(place)}" if place else "")


def _validation_message(
    path: Path, data: dict[str, Any], lines: Mapping[Path_, int], exc: ValidationError
) -> str:
    """One line for a pydantic error: the earliest written place among the errors."""
    errors = exc.errors(include_url=False)
    located = []
    for order, error in enumerate(errors):
        place = _written_place(data, tuple(error["loc"]))
        line = line_of(lines, place)
        located.append((line, order, place, error))
    line, _, place, first = min(located, key=lambda item: (item[0], item[1]))
    # A union (a field `default`) fails once per member: name every member in one message.
    siblings = [e for _, _, p, e in located if p == place]
    message = describe(first, siblings, place)
    if first["type"] == "missing":  # name the mapping the key is missing from
        place = place[:-1]
    prefix = f"{path}:{line}" if line else str(path)
    return f"{prefix}: {dotted(place)}: {message}" if place else f"{prefix}: {message}"


def _written_place(data: Any, loc: tuple[Any, ...]) -> Path_:
    """The part of pydantic's `loc` that names written values, plus a key the model knows
    (a missing one, or `type` inside a shorthand string); union member tags are dropped."""
    place: list[str | int] = []
    current = data
    for part in loc:
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_list or (isinstance(current, dict) and part in current):
            current = current[part]
        else:
            if isinstance(part, str) and part in model_keys(tuple(place)):
                place.append(part)
            break
        place.append(part)
    return tuple(place)


# What pydantic's type errors expect, in words.
_EXPECTED = {
    "string": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "dict": "a mapping",
    "model": "a mapping",
    "tuple": "a list",
    "list": "a list",
}


def describe(error: Any, siblings: list[Any], place: Path_) -> str:
    """A pydantic error in plain words: allowed values for a literal, known keys for an
    unknown one, and what was expected for a value of the wrong type."""
    kind: str = error["type"]
    given = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        values = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"unknown {_noun(place)} {_show(given)} (known: {', '.join(values)})"
    if kind == "extra_forbidden":
        known = ", ".join(model_keys(place[:-1]))
        return f"unknown key {place[-1]!r} (known: {known})"
    if kind == "missing":
        return f"missing required key {place[-1]!r}" if place else "missing required key"
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        word = "at least" if kind == "too_short" else "at most"
        return f"needs {word} {bound} item{'s' if bound != 1 else ''}"
    bounds = {
        "greater_than": "greater than",
        "greater_than_equal": "at least",
        "less_than": "less than",
        "less_than_equal": "at most",
    }
    if kind in bounds:
        limit = next(iter(ctx.values()), "?")
        return f"must be {bounds[kind]} {limit}, got {_show(given)}"
    nouns = [_EXPECTED[e] for e in (_family(s["type"]) for s in siblings) if e in _EXPECTED]
    if _family(kind) in _EXPECTED and nouns:
        text = f"expected {' or '.join(dict.fromkeys(nouns))}, got {_show(given)}"
        if isinstance(given, bool) and "a string" in nouns:
            text += " (quote it: YAML reads yes/no/on/off/true/false as booleans)"
        elif isinstance(given, int | float) and nouns == ["a string"]:
            text += " (quote it to make it text)"
        return text
    message = str(error["msg"])
    return f"{message[:1].lower()}{message[1:]}, got {_show(given)}"


def _family(kind: str) -> str:
    """`string_type` → `string`, `bool_parsing` → `bool`."""
    return kind.removesuffix("_type").removesuffix("_parsing").removesuffix("_attributes")


def _noun(place: Path_) -> str:
    """What a literal value is: the key's name, or a list's name in the singular."""
    if place and isinstance(place[-1], str):
        return place[-1]
    if len(place) > 1 and isinstance(place[-2], str):
        return singular(place[-2])
    return "value"


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _annotation_at(place: Path_) -> Any:
    """The type a value at `place` is validated as (None when the place leaves the model)."""
    current: Any = Spec
    for part in place:
        current = _optional_member(current)
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            found = [
                f.annotation for name, f in current.model_fields.items() if part in (name, f.alias)
            ]
            if not found:
                return None
            current = found[0]
        elif origin is dict:
            current = get_args(current)[1]
        elif origin is tuple:
            current = get_args(current)[0]
        else:
            return None
    return _optional_member(current)


def _optional_member(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def model_keys(place: Path_) -> tuple[str, ...]:
    """The keys the mapping at `place` accepts, as written in YAML (`from`, not `from_`)."""
    model = _annotation_at(place)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return ()
    return tuple(f.alias or name for name, f in model.model_fields.items())


__all__ = ["LoadedSpec", "load_spec"]
