"""Round trip: load → introspect → render → load the DDL into a fresh database → introspect."""

from __future__ import annotations

import sqlite3

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.sqlite.ddl import view_order
from dbarchitect.model import Column, Schema, Table, View, to_json
from dbarchitect.sources import load_schema
from tests.conftest import FIXTURES

RICH = FIXTURES / "sqlite" / "rich.sql"
DIALECT = get_dialect("sqlite")


def reload(schema: Schema) -> tuple[str, Schema]:
    """Render `schema`, load the DDL into a new scratch database, read it back."""
    ddl = DIALECT.render(schema)
    engine = DIALECT.engine()
    with engine.scratch() as url:
        engine.run_script(url, ddl, where="<rendered DDL>")
        with engine.connect(url) as session:
            return ddl, DIALECT.introspect(session)


@pytest.fixture(scope="module")
def rich() -> Schema:
    return load_schema([str(RICH)], dialect="sqlite")


def test_rich_round_trip_is_equal(rich: Schema) -> None:
    ddl, again = reload(rich)
    assert again == rich
    assert to_json(again) == to_json(rich)
    # and a second lap renders the very same DDL
    assert DIALECT.render(again) == ddl


def test_rendered_ddl_quotes_only_what_needs_it(rich: Schema) -> None:
    ddl = DIALECT.render(rich)
    assert 'CREATE TABLE "order" (' in ddl
    assert 'CREATE TABLE "Order Line" (' in ddl
    assert '"Größe" REAL DEFAULT 1.5' in ddl
    assert '"select" VARCHAR(20)' in ddl
    assert '"weird ""name""" TEXT' in ddl
    assert "CREATE TABLE customer (" in ddl and "  email TEXT NOT NULL COLLATE NOCASE" in ddl
    assert "id INTEGER CONSTRAINT customer_pk PRIMARY KEY AUTOINCREMENT" in ddl
    assert "score NUMERIC (10, 2) DEFAULT (0 + 0)" in ddl  # parentheses put back
    assert ") WITHOUT ROWID, STRICT;" in ddl
    assert "CREATE VIRTUAL TABLE product_search USING fts4(sku, name, tokenize=porter);" in ddl
    assert "_segdir" not in ddl and "_content" not in ddl  # no shadow tables
    assert "DEFERRABLE INITIALLY DEFERRED" in ddl


def test_ddl_is_in_dependency_order(rich: Schema) -> None:
    ddl = DIALECT.render(rich)
    positions = {
        name: ddl.index(f"CREATE VIEW {DIALECT.quote(name)} ")
        for name in ("customer_order", "Big Spender", "vip_email")
    }
    assert positions["customer_order"] < positions["Big Spender"] < positions["vip_email"]
    last_table = max(
        ddl.index(f"CREATE TABLE {DIALECT.quote(t.name)} ")
        for t in rich.tables
        if "virtual" not in dict(t.options)
    )
    first_trigger = ddl.index("CREATE TRIGGER")
    assert last_table < min(positions.values()) < first_trigger


def test_view_order_follows_dependencies_not_names() -> None:
    views = (
        View(schema="", name="a_top", definition="SELECT * FROM m_mid", depends_on=("m_mid",)),
        View(schema="", name="m_mid", definition="SELECT * FROM z_base", depends_on=("z_base",)),
        View(schema="", name="z_base", definition="SELECT 1 AS x"),
    )
    assert [v.name for v in view_order(views)] == ["z_base", "m_mid", "a_top"]


def test_rendered_schema_behaves_like_the_original(rich: Schema) -> None:
    """The constraints really are there: the rendered database enforces them."""
    ddl = DIALECT.render(rich)
    conn = sqlite3.connect(":memory:", isolation_level=None)  # autocommit: each row commits
    conn.executescript(ddl)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("INSERT INTO customer (email) VALUES ('x@example.org')")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute("INSERT INTO customer (email) VALUES ('X@EXAMPLE.ORG')")  # NOCASE
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO customer (email) VALUES ('no-at-sign')")
    conn.execute(
        "INSERT INTO \"order\" (region, number, customer_id, total) VALUES ('eu', 1, 1, 5)"
    )
    conn.execute(
        "INSERT INTO [Order Line] (region, order_number, line, qty, unit_price)"
        " VALUES ('eu', 1, 1, 3, 2.5)"
    )
    assert conn.execute("SELECT amount, label FROM [Order Line]").fetchone() == (7.5, "eu-1-1")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        conn.execute(
            "INSERT INTO [Order Line] (region, order_number, line, unit_price)"
            " VALUES ('us', 9, 1, 1)"
        )  # DEFERRABLE INITIALLY DEFERRED: checked at the (automatic) COMMIT
    conn.execute('DELETE FROM "order"')  # ON DELETE CASCADE
    assert conn.execute("SELECT count(*) FROM [Order Line]").fetchone() == (0,)
    with pytest.raises(sqlite3.IntegrityError, match="cannot store TEXT value in INT column"):
        conn.execute("INSERT INTO audit_log (id, at, action) VALUES (1, 'soon', 'x')")  # STRICT


def test_empty_schema_renders_nothing() -> None:
    assert DIALECT.render(Schema(dialect="sqlite")) == ""


def test_defaults_of_every_shape_round_trip() -> None:
    columns = tuple(
        Column(name=f"c{i}", type="TEXT", default=d)
        for i, d in enumerate(
            [
                "'plain'",
                "-1",
                "+2.5e3",
                "0x1F",
                "NULL",
                "CURRENT_DATE",
                "TRUE",
                "bareword",
                "x'ab'",
                "1 + 2",
                "lower('ABC')",
                "(1)",
                "'a' || 'b'",
            ]
        )
    )
    schema = Schema(dialect="sqlite", tables=(Table(schema="", name="d", columns=columns),))
    _, again = reload(schema)
    table = again.table("d")
    assert table is not None
    assert [c.default for c in table.columns] == [c.default for c in columns]


def test_edge_cases_round_trip() -> None:
    schema = load_schema([str(FIXTURES / "sqlite" / "edge.sql")], dialect="sqlite")
    _, again = reload(schema)
    assert again == schema
    kid = schema.table("kid")
    assert kid is not None
    (fk,) = kid.foreign_keys
    # Spelled as the tables spell them, not as the REFERENCES clause did.
    assert (fk.name, fk.columns, fk.ref_table, fk.ref_columns) == (
        "fk to src",
        ("src_id",),
        "src",
        ("Id",),
    )
    assert (fk.on_delete, fk.deferrable, fk.initially_deferred) == ("SET DEFAULT", False, False)
    ctas = schema.table("ctas")
    assert ctas is not None and [c.name for c in ctas.columns] == ["a", "B c", "Id + 1"]
    dotted = schema.table("a.b")
    assert dotted is not None and dotted.primary_key is not None
    assert (dotted.primary_key.name, dotted.primary_key.columns) == ("my pk", ("x.y",))
    assert [c.type for c in dotted.columns][1] == "UNSIGNED  BIG   INT"
    assert [c.default for c in dotted.columns][2:] == ["-0.5", "-1"]
    view = schema.view("v w")
    assert view is not None and [c.name for c in view.columns] == ["one", "two"]
    vv = schema.view("vv")
    assert vv is not None and vv.depends_on == ("src", "v w")
    ext = schema.table("ext")
    assert ext is not None
    assert dict(ext.options)["virtual_args"] == "Name, content='src', content_rowid='Id'"
