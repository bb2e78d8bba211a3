"""Every bad spec in tests/fixtures/design/bad/ fails with one line naming the exact line.

Each fixture's first line is `# expect: <line>: <part of the message>`; the offending line is
also marked `# <-` in the file for a reader.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from dbarchitect.design.load import load_spec
from dbarchitect.errors import InputError

BAD = Path(__file__).parent.parent / "fixtures" / "design" / "bad"
CASES = sorted(BAD.glob("*.yaml"))
DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _expectation(path: Path) -> tuple[int, str]:
    head = path.read_bytes().splitlines()[0].decode()
    tag, line, fragment = head.split(":", 2)
    assert tag == "# expect", path
    return int(line), fragment.strip()


def test_there_are_bad_specs_for_each_required_kind() -> None:
    names = {p.stem for p in CASES}
    required = {
        "unknown_type",
        "relationship_missing_entity",
        "duplicate_entity",
        "duplicate_field",
        "required_fk_cycle",
        "required_self_reference",
        "clash_timestamps",
        "yaml_syntax_error",
        "unknown_key",
    }
    assert required <= names
    assert len(CASES) >= 50


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_bad_spec_names_its_line(path: Path) -> None:
    line, fragment = _expectation(path)
    with pytest.raises(InputError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert fragment in message, message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(InputError, match=r"nope\.yaml: no such file$"):
        load_spec(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        load_spec(tmp_path)


def test_first_problem_in_file_order_is_reported(tmp_path: Path) -> None:
    # pydantic validates `entities` before `relationships`; the earlier line wins anyway.
    path = tmp_path / "two.yaml"
    path.write_text(
        "name: two\n"
        "relationships:\n"
        "  - {from: a, to: b, type: sideways}\n"
        "entities:\n"
        "  a:\n"
        "    fields: {x: strng}\n"
    )
    with pytest.raises(InputError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}:3: relationships[0].type: unknown type ")
    assert "(known: many_to_one, one_to_many, one_to_one, many_to_many)" in str(caught.value)


def test_union_default_names_every_accepted_type(tmp_path: Path) -> None:
    path = tmp_path / "default.yaml"
    path.write_text(
        "name: d\nentities:\n  a:\n    fields:\n      x:\n        type: text\n"
        "        default: [1, 2]\n"
    )
    with pytest.raises(InputError) as caught:
        load_spec(path)
    assert str(caught.value) == (
        f"{path}:7: entities.a.fields.x.default: expected a string or an integer or a number "
        "or true or false, got a list"
    )


def test_cycle_reported_once_where_it_closes(tmp_path: Path) -> None:
    path = tmp_path / "cycle.yaml"
    path.write_text(
        "name: c\ntargets: [postgres]\nentities: {a: {}, b: {}, c: {}}\nrelationships:\n"
        "  - {from: a, to: b}\n"  # line 5
        "  - {from: b, to: a}\n"  # line 6: closes a → b → a
        "  - {from: c, to: a}\n"
    )
    with pytest.raises(InputError) as caught:
        load_spec(path)
    assert str(caught.value) == (
        f"{path}:6: relationships[1]: required foreign keys form a cycle that no INSERT can "
        "start: b → a → b (make one nullable or deferrable)"
    )


ODD_VALUES: list[object] = [None, 5, True, "Bad Name", [None], {"a": None}]


@pytest.mark.parametrize("example", ["social", "saas", "milestones"])
def test_odd_values_anywhere_give_one_line_errors(example: str, tmp_path: Path) -> None:
    """Replace every value of an example, one at a time, by values of other shapes: the
    loader accepts the result or raises a one-line InputError, never anything else."""
    source = Path(__file__).parent.parent.parent / "examples" / f"{example}.yaml"
    places = [p for p in load_spec(source).lines if p]
    data = yaml.safe_load(source.read_text())
    path = tmp_path / "odd.yaml"
    tried = 0
    for place in places:
        if len(place) > 2 and place[0] == "entities" and "mixins" in data["entities"][place[1]]:
            continue  # fields merged from a mixin have lines but no place in the file
        for value in ODD_VALUES:
            mutated = copy.deepcopy(data)
            parent = mutated
            for part in place[:-1]:
                parent = parent[part]
            parent[place[-1]] = value
            path.write_text(yaml.dump(mutated, Dumper=DUMPER, sort_keys=False))
            tried += 1
            try:
                load_spec(path)
            except InputError as exc:
                assert "\n" not in str(exc) and str(exc).startswith(f"{path}:"), str(exc)
    assert tried > 300
