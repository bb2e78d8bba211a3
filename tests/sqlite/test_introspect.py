"""Introspection of the rich fixture: each object kind comes out with the details SQLite keeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.sqlite.introspect import build, query
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import CheckConstraint, ForeignKey, IndexKey, Schema, Table, View
from dbarchitect.sources import load_schema
from tests.conftest import FIXTURES

RICH = FIXTURES / "sqlite" / "rich.sql"
DIALECT = get_dialect("sqlite")


@pytest.fixture(scope="module")
def rich() -> Schema:
    return load_schema([str(RICH)], dialect="sqlite")


def _table(schema: Schema, name: str) -> Table:
    table = schema.table(name)
    assert table is not None, name
    return table


def _view(schema: Schema, name: str) -> View:
    view = schema.view(name)
    assert view is not None, name
    return view


def test_objects_listed_without_shadow_or_internal_tables(rich: Schema) -> None:
    assert rich.dialect == "sqlite"
    assert [t.name for t in rich.tables] == [
        "Order Line",
        "audit_log",
        "customer",
        "note_fts",
        "order",
        "product",
        "product_search",
        "setting",
        "shop_area",
    ]
    assert [v.name for v in rich.views] == ["Big Spender", "customer_order", "vip_email"]
    assert all(t.schema == "" and t.qualified == t.name for t in rich.tables)


def test_columns_types_defaults_collations(rich: Schema) -> None:
    customer = _table(rich, "customer")
    cols = {c.name: c for c in customer.columns}
    assert [c.name for c in customer.columns][:4] == ["id", "email", "Größe", "select"]
    assert cols["score"].type == "NUMERIC (10, 2)"  # the declared text, spacing kept
    assert cols["score"].logical == "decimal"
    assert cols["score"].default == "0 + 0"  # as SQLite stores DEFAULT (0 + 0)
    assert cols["select"].type == "VARCHAR(20)" and cols["select"].default == "'it''s'"
    assert cols["created_at"].default == "CURRENT_TIMESTAMP"
    assert cols["created_at"].logical == "timestamp" and not cols["created_at"].nullable
    assert cols["flags"].default == "x'00ff'" and cols["flags"].logical == "binary"
    assert cols["nick"].type == "" and cols["nick"].default == "-1"
    assert cols["email"].collation == "NOCASE" and cols["email"].type == "TEXT"
    assert cols['weird "name"'].type == "TEXT"
    assert _table(rich, "order").column("note") is not None
    assert _table(rich, "order").columns[-1].collation == "RTRIM"


def test_generated_columns(rich: Schema) -> None:
    line = _table(rich, "Order Line")
    amount, label = line.column("amount"), line.column("label")
    assert amount is not None and label is not None
    assert amount.generated == "qty * unit_price" and amount.generated_stored
    assert label.generated == "printf('%s-%d-%d', region, order_number, line)"
    assert not label.generated_stored
    assert [c.name for c in line.columns if c.generated is not None] == ["amount", "label"]


def test_primary_keys_and_table_options(rich: Schema) -> None:
    customer = _table(rich, "customer")
    assert customer.primary_key is not None
    assert (customer.primary_key.name, customer.primary_key.columns) == ("customer_pk", ("id",))
    assert dict(customer.options) == {"autoincrement": "true"}
    order = _table(rich, "order")
    assert order.primary_key is not None and order.primary_key.columns == ("region", "number")
    assert dict(_table(rich, "product").options) == {"strict": "true"}
    assert dict(_table(rich, "setting").options) == {"without_rowid": "true"}
    assert dict(_table(rich, "audit_log").options) == {"strict": "true", "without_rowid": "true"}


def test_unique_constraints_are_not_indexes(rich: Schema) -> None:
    customer = _table(rich, "customer")
    assert [(u.name, u.columns) for u in customer.uniques] == [("customer_email_key", ("email",))]
    assert "customer_lower_email" in {i.name for i in customer.indexes}
    order = _table(rich, "order")
    assert [(u.name, u.columns) for u in order.uniques] == [("", ("customer_id", "number"))]
    assert [(u.name, u.columns) for u in _table(rich, "setting").uniques] == [
        ("", ("value", "key"))
    ]
    every_index = [i.name for t in rich.tables for i in t.indexes]
    assert not any(n.startswith("sqlite_autoindex") for n in every_index)


def test_checks_from_the_create_text(rich: Schema) -> None:
    assert _table(rich, "customer").checks == (
        CheckConstraint(name="", expression='"Größe" > 0'),
        CheckConstraint(name="customer_email_format", expression="email LIKE '%@%'"),
    )
    assert [c.expression for c in _table(rich, "order").checks] == [
        "total >= 0",
        "status IN ('new', 'paid', 'shipped')",
    ]


def test_foreign_keys(rich: Schema) -> None:
    (composite,) = _table(rich, "Order Line").foreign_keys
    assert composite == ForeignKey(
        name="order_line_order_fk",
        columns=("region", "order_number"),
        ref_schema="",
        ref_table="order",
        ref_columns=("region", "number"),
        on_delete="CASCADE",
        on_update="RESTRICT",
        deferrable=True,
        initially_deferred=True,
    )
    (implicit,) = _table(rich, "order").foreign_keys
    # REFERENCES customer (no columns) means the parent's primary key.
    assert (implicit.ref_table, implicit.ref_columns) == ("customer", ("id",))
    assert (implicit.on_delete, implicit.on_update) == ("SET NULL", "CASCADE")
    assert not implicit.deferrable
    (self_ref,) = _table(rich, "product").foreign_keys
    assert self_ref.deferrable and not self_ref.initially_deferred  # plain DEFERRABLE


def test_indexes(rich: Schema) -> None:
    idx = {i.name: i for t in rich.tables for i in t.indexes}
    assert idx["customer_lower_email"].unique
    assert idx["customer_lower_email"].keys == (IndexKey(column="lower(email)", expression=True),)
    recent = idx["customer_recent"]
    assert recent.keys == (IndexKey(column="created_at", descending=True), IndexKey(column="id"))
    assert recent.where == '"Größe" IS NOT NULL' and not recent.unique
    assert idx["order_status_open"].where == "status <> 'shipped'"
    assert idx["Order Line by amount"].keys == (
        IndexKey(column="amount", descending=True),
        IndexKey(column="qty * unit_price", expression=True),
    )
    assert idx["product_name_nocase"].keys == (
        IndexKey(column="name", collation="NOCASE"),
        IndexKey(column="Größe"),
    )
    assert idx["setting_value"].keys == (
        IndexKey(column="value", collation="NOCASE", descending=True),
    )
    assert idx["setting_value"].where is None


def test_views_and_their_dependencies(rich: Schema) -> None:
    customer_order = _view(rich, "customer_order")
    assert customer_order.definition.startswith("SELECT c.id AS customer_id, c.email")
    assert customer_order.depends_on == ("customer", "order")
    assert [c.name for c in customer_order.columns] == [
        "customer_id",
        "email",
        "region",
        "number",
        "total",
    ]
    big = _view(rich, "Big Spender")
    assert big.depends_on == ("customer_order",)
    assert [c.name for c in big.columns] == ["customer_id", "total spent"]
    assert dict(big.options) == {"column_list": 'customer_id, "total spent"'}
    vip = _view(rich, "vip_email")
    assert vip.definition.startswith("WITH big AS")
    assert vip.depends_on == ("Big Spender", "customer_order")  # the CTE "big" is not a table


def test_triggers(rich: Schema) -> None:
    order = _table(rich, "order")
    triggers = {t.name: t for t in order.triggers}
    audit = triggers["order_audit"]
    assert (audit.timing, audit.events, audit.for_each_row, audit.when) == (
        "AFTER",
        ("INSERT",),
        True,
        None,
    )
    assert audit.definition.startswith('CREATE TRIGGER order_audit AFTER INSERT ON "order"\nBEGIN')
    assert audit.definition.endswith("END")
    guard = triggers["order_total_guard"]
    assert (guard.timing, guard.events) == ("BEFORE", ("UPDATE",))
    assert guard.when == "NEW.total < OLD.total AND OLD.status = 'paid'"
    (instead,) = _view(rich, "customer_order").triggers
    assert (instead.name, instead.timing, instead.events) == (
        "customer_order_delete",
        "INSTEAD OF",
        ("DELETE",),
    )
    (reserved,) = _table(rich, "customer").triggers
    assert (reserved.name, reserved.timing, reserved.events) == ("select", "BEFORE", ("DELETE",))


def test_virtual_tables(rich: Schema) -> None:
    fts4 = _table(rich, "product_search")
    assert dict(fts4.options) == {"virtual": "fts4", "virtual_args": "sku, name, tokenize=porter"}
    assert [c.name for c in fts4.columns] == ["sku", "name"]  # hidden columns left out
    fts5 = _table(rich, "note_fts")
    assert dict(fts5.options)["virtual_args"] == "body, title UNINDEXED, tokenize = 'unicode61'"
    rtree = _table(rich, "shop_area")
    assert dict(rtree.options)["virtual"] == "rtree"
    assert [c.name for c in rtree.columns] == ["id", "min_x", "max_x", "min_y", "max_y"]
    assert all(not t.indexes and not t.primary_key for t in (fts4, fts5, rtree))


@pytest.fixture
def broken_view_db(sqlite_url: DatabaseURL) -> Iterator[DatabaseURL]:
    engine = DIALECT.engine()
    engine.run_script(
        sqlite_url,
        "CREATE TABLE base (a INTEGER);"
        "CREATE VIEW fine AS SELECT a FROM base;"
        "CREATE TABLE gone (b);"
        "CREATE VIEW broken AS SELECT b FROM gone;"
        "PRAGMA legacy_alter_table = ON;"
        "DROP TABLE gone;",
    )
    yield sqlite_url


def test_a_view_over_a_dropped_table_does_not_stop_introspection(
    broken_view_db: DatabaseURL,
) -> None:
    with DIALECT.engine().connect(broken_view_db) as session:
        schema = DIALECT.introspect(session)
    assert [t.name for t in schema.tables] == ["base"]
    assert _view(schema, "fine").columns[0].name == "a"
    broken = _view(schema, "broken")
    assert broken.definition == "SELECT b FROM gone" and broken.columns == ()


def test_without_pragma_table_list_the_same_schema_comes_out(sqlite_url: DatabaseURL) -> None:
    """SQLite before 3.37 has no pragma_table_list: shadow tables are then found by name."""
    engine = DIALECT.engine()
    engine.load_files(sqlite_url, [RICH])
    with engine.connect(sqlite_url) as session, session.transaction():
        rows = [
            session.fetch(query(name))
            for name in ("objects", "objects_legacy", "columns", "indexes", "foreign_keys")
        ]
    current, legacy, columns, indexes, foreign_keys = rows
    assert {r["kind"] for r in legacy} == {None}
    assert build(legacy, columns, indexes, foreign_keys) == build(
        current, columns, indexes, foreign_keys
    )
