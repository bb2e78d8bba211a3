"""Loading good specs: the examples, line numbers, shorthand, mixins, merge keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbarchitect.design.load import load_spec
from dbarchitect.design.naming import holder, join_table, key_columns
from dbarchitect.errors import InputError

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
SPECS = sorted(EXAMPLES.glob("*.yaml"))


def test_the_five_examples_exist() -> None:
    assert {p.stem for p in SPECS} >= {
        "ecommerce",
        "social",
        "marketplace_chat",
        "milestones",
        "saas",
    }


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_example_loads(path: Path) -> None:
    loaded = load_spec(path)
    spec = loaded.spec
    assert spec.name == path.stem
    assert spec.entities
    for i, rel in enumerate(spec.relationships):
        assert rel.from_ in spec.entities and rel.to in spec.entities
        # Every relationship has a written line inside the file.
        where = loaded.where("relationships", i)
        assert where.startswith(f"{path}:") and int(where.rsplit(":", 1)[1]) > 1


def test_examples_exercise_the_features() -> None:
    specs = {p.stem: load_spec(p).spec for p in SPECS}
    eco, social, chat = specs["ecommerce"], specs["social"], specs["marketplace_chat"]
    mile, saas = specs["milestones"], specs["saas"]
    assert any(r.type == "many_to_many" and r.fields for r in eco.relationships)
    assert any(ix.where for e in eco.entities.values() for ix in e.indexes)
    assert any(len(ix.columns) > 1 for e in eco.entities.values() for ix in e.indexes)
    assert eco.entities["products"].fields["price"].type == "decimal"
    follows = [r for r in social.relationships if join_table(r) == "follows"]
    assert follows and follows[0].from_ == follows[0].to == "users"
    parent = [r for r in social.relationships if r.from_ == r.to == "comments"]
    assert parent and parent[0].nullable
    assert social.conventions.soft_delete
    assert any(ix.method == "gin" for e in social.entities.values() for ix in e.indexes)
    assert "is_flagged" in social.entities["posts"].fields  # from the mixin
    assert chat.conventions.id == "uuid"
    messages = chat.entities["messages"]
    assert messages.partition is not None and messages.partition.interval == "month"
    assert not any(
        "messages" in ((r.from_, r.to) if r.type == "many_to_many" else holder(r)[1:])
        for r in chat.relationships
    )
    deps = [r for r in mile.relationships if r.type == "many_to_many"]
    assert deps and deps[0].from_ == deps[0].to and "kind" in deps[0].fields
    assert any(r.type == "one_to_one" for r in mile.relationships)
    statuses = mile.entities["statuses"]
    assert statuses.id == "natural" and statuses.primary_key == ("code",)
    status_rel = next(r for r in mile.relationships if r.to == "statuses")
    assert key_columns(status_rel, statuses.primary_key) == ("status_code",)
    assert saas.conventions.tenancy is not None and saas.conventions.audit is not None
    assert saas.entities["tenants"].tenant is False
    assert saas.conventions.soft_delete


def test_lines_point_at_the_key(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\n"  # 1
        "entities:\n"  # 2
        "  users:\n"  # 3
        "    fields:\n"  # 4
        "      email:\n"  # 5
        "        type: string\n"  # 6
        "      name: string(10)?\n"  # 7
        "relationships:\n"  # 8
        "  - from: users\n"  # 9
        "    to: users\n"  # 10
        "    nullable: true\n"  # 11
    )
    loaded = load_spec(path)
    assert loaded.lines[("entities", "users", "fields", "email")] == 5
    assert loaded.lines[("entities", "users", "fields", "email", "type")] == 6
    assert loaded.where("entities", "users", "fields", "name", "type") == f"{path}:7"
    assert loaded.where("relationships", 0) == f"{path}:9"
    assert loaded.where("relationships", 0, "to") == f"{path}:10"
    assert loaded.where("nowhere") == f"{path}:1"
    name = loaded.spec.entities["users"].fields["name"]
    assert (name.type, name.length, name.nullable) == ("string", 10, True)


def test_merge_keys_and_mixins(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "name: m\n"  # 1
        "mixins:\n"  # 2
        "  address:\n"  # 3
        "    street: string(200)\n"  # 4
        "    city: string(100)\n"  # 5
        "entities:\n"  # 6
        "  shops:\n"  # 7
        "    mixins: address\n"  # 8
        "    fields: &base\n"  # 9
        "      name: string(100)\n"  # 10
        "      email: string unique\n"  # 11
        "  clubs:\n"  # 12
        "    fields:\n"  # 13
        "      <<: *base\n"  # 14
        "      email: text?\n"  # 15  (written here: wins over the merged one)
    )
    loaded = load_spec(path)
    shops = loaded.spec.entities["shops"]
    assert list(shops.fields) == ["name", "email", "street", "city"]
    assert loaded.where("entities", "shops", "fields", "city") == f"{path}:5"
    clubs = loaded.spec.entities["clubs"]
    assert set(clubs.fields) == {"name", "email"}
    assert clubs.fields["email"].type == "text" and clubs.fields["email"].nullable


def test_dates_stay_text_and_nullable_cycles_load(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        "name: d\n"
        "targets: [postgres, sqlite]\n"
        "entities:\n"
        "  events:\n"
        "    partition: {column: created_at, start: 2025-03-01}\n"
        "  a: {}\n"
        "  b: {}\n"
        "  c: {}\n"
        "relationships:\n"
        "  - {from: a, to: b}\n"
        "  - {from: b, to: a, deferrable: true}\n"  # deferrable: inserts can start
        "  - {from: c, to: c, nullable: true}\n"  # a nullable self-reference
    )
    loaded = load_spec(path)
    part = loaded.spec.entities["events"].partition
    assert part is not None and part.start == "2025-03-01"


def test_deferrable_cycle_fails_only_with_mysql(tmp_path: Path) -> None:
    body = (
        "name: d\ntargets: [{targets}]\nentities: {{a: {{}}, b: {{}}}}\nrelationships:\n"
        "  - {{from: a, to: b, deferrable: true}}\n  - {{from: b, to: a, deferrable: true}}\n"
    )
    path = tmp_path / "d.yaml"
    path.write_text(body.format(targets="postgres, sqlite"))
    load_spec(path)
    path.write_text(body.format(targets="postgres, mysql"))
    with pytest.raises(InputError, match=r"d\.yaml:6: relationships\[1\]: required"):
        load_spec(path)


def test_natural_key_may_use_a_relationship_key(tmp_path: Path) -> None:
    path = tmp_path / "n.yaml"
    path.write_text(
        "name: n\n"
        "entities:\n"
        "  orders: {}\n"
        "  order_lines:\n"
        "    id: natural\n"
        "    primary_key: [order_id, line_no]\n"
        "    fields: {line_no: smallint}\n"
        "  shipments: {}\n"
        "relationships:\n"
        "  - {from: order_lines, to: orders}\n"
        "  - {from: shipments, to: order_lines}\n"
    )
    loaded = load_spec(path)
    rel = loaded.spec.relationships[1]
    target = loaded.spec.entities["order_lines"].primary_key
    assert key_columns(rel, target) == ("order_line_order_id", "order_line_line_no")
