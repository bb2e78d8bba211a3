"""schema.rs and models.rs for Diesel: rustfmt accepts them, and they say what the schema says.

Schemas come from real engines (SQL fixtures, Pagila and Chinook loaded in scratch PostgreSQL,
SQLite and MariaDB fixtures). rustfmt is the Rust toolchain's own parser and formatter: a file
it cannot parse, or would reformat, fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from dbarchitect.codegen.diesel import plan, render_models_rs, render_schema_rs
from dbarchitect.codegen.diesel_types import PgTypes, mysql_type, rust_ident, sqlite_type
from dbarchitect.model import Column, Schema, Table
from dbarchitect.sources import load_schema
from tests.conftest import FIXTURES, realworld_schema

DIESEL_FIXTURES = FIXTURES / "design" / "diesel"
SOURCES = {
    "identity_uuid_enum": ([DIESEL_FIXTURES / "identity_uuid_enum.sql"], "postgres"),
    "tenancy_composite_fk": ([DIESEL_FIXTURES / "tenancy_composite_fk.sql"], "postgres"),
    "trigger_function": ([DIESEL_FIXTURES / "trigger_function.sql"], "postgres"),
    "rich_pg": ([FIXTURES / "postgres" / "rich.sql"], "postgres"),
    "rich_sqlite": ([FIXTURES / "sqlite" / "rich.sql"], "sqlite"),
    "rich_mariadb": ([FIXTURES / "mysql" / "rich.sql"], "mysql"),
}
REALWORLD = {
    "pagila": "pagila",
    "chinook": "chinook-postgresql",
    "chinook_sqlite": "chinook-sqlite",
    "chinook_mariadb": "chinook-mysql",
}
ALL = [*SOURCES, *REALWORLD]


@cache
def source_schema(name: str) -> Schema:
    """A test schema loaded through a real engine once per session."""
    if name in REALWORLD:
        return realworld_schema(REALWORLD[name])
    files, dialect = SOURCES[name]
    return load_schema([str(f) for f in files], dialect=dialect)


def rustfmt() -> str:
    """The rustfmt binary; its absence is a failure (CI must install the Rust toolchain)."""
    found = shutil.which("rustfmt") or str(Path.home() / ".cargo" / "bin" / "rustfmt")
    if not Path(found).exists():
        pytest.fail("rustfmt not found: install it (rustup component add rustfmt)")
    return found


def check_rust(path: Path) -> None:
    """rustfmt parses the file (a syntax error fails) and would not change a character."""
    parsed = subprocess.run(
        [rustfmt(), "--edition", "2021", "--emit", "stdout", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert parsed.returncode == 0 and "error" not in parsed.stderr, parsed.stderr
    checked = subprocess.run(
        [rustfmt(), "--check", "--edition", "2021", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout[:4000] + checked.stderr


@pytest.mark.parametrize("name", ALL)
def test_rustfmt_accepts_schema_and_models(name: str, tmp_path: Path) -> None:
    schema = source_schema(name)
    for file_name, text in (
        ("schema.rs", render_schema_rs(schema)),
        ("models.rs", render_models_rs(schema)),
    ):
        path = tmp_path / file_name
        path.write_text(text, encoding="utf-8")
        check_rust(path)
    assert render_schema_rs(schema) == render_schema_rs(schema)  # deterministic


def test_rustfmt_rejects_broken_rust(tmp_path: Path) -> None:
    """The check itself can fail: a parse error and an unformatted file are both caught."""
    bad = tmp_path / "bad.rs"
    bad.write_text("diesel::table! { x (id) { id -> Int4, } }\npub struct {\n")
    with pytest.raises(AssertionError):
        check_rust(bad)
    ugly = tmp_path / "ugly.rs"
    ugly.write_text("pub struct  A { pub x : i32 }\n")
    with pytest.raises(AssertionError):
        check_rust(ugly)


# --- what schema.rs says ---------------------------------------------------------------------

_BLOCK = re.compile(r"diesel::table! \{\n(?P<body>.*?)\n\}\n", re.S)
_HEAD = re.compile(r"^    (?:(?P<schema>\w+)\.)?(?P<name>\w+) \((?P<pk>[^)]*)\) \{$", re.M)
_COLUMN = re.compile(r"^        (?P<name>\w+) -> (?P<type>.+),$", re.M)


def parsed_tables(text: str) -> dict[str, tuple[list[str], dict[str, str], str]]:
    """module name → (primary key, {column: Diesel type}, whole block) from schema.rs."""
    out = {}
    for block in _BLOCK.finditer(text):
        head = _HEAD.search(block.group("body"))
        assert head is not None, block.group("body")
        pk = [p.strip() for p in head.group("pk").split(",")]
        columns = {m.group("name"): m.group("type") for m in _COLUMN.finditer(block.group(0))}
        out[head.group("name")] = (pk, columns, block.group(0))
    return out


def expected_joins(schema: Schema) -> set[tuple[str, str, str]]:
    """Diesel's joinable rules computed straight from the schema: single-column FK to the
    parent's single-column PK, not self-referencing, the only FK between the two tables."""
    shown = {t.qualified: t for t in schema.tables if t.primary_key and not t.partition_of}
    pairs: dict[frozenset[str], int] = {}
    for t in shown.values():
        for fk in t.foreign_keys:
            ref = f"{fk.ref_schema}.{fk.ref_table}" if fk.ref_schema else fk.ref_table
            if ref != t.qualified and ref in shown:
                key = frozenset((t.qualified, ref))
                pairs[key] = pairs.get(key, 0) + 1
    out = set()
    for t in shown.values():
        for fk in t.foreign_keys:
            ref = f"{fk.ref_schema}.{fk.ref_table}" if fk.ref_schema else fk.ref_table
            parent = shown.get(ref)
            if parent is None or parent is t or len(fk.columns) != 1:
                continue
            if parent.primary_key is None or parent.primary_key.columns != fk.ref_columns:
                continue
            if pairs[frozenset((t.qualified, ref))] == 1:
                out.add((rust_ident(t.name), rust_ident(parent.name), rust_ident(fk.columns[0])))
    return out


@pytest.mark.parametrize(
    "name", ["identity_uuid_enum", "tenancy_composite_fk", "pagila", "chinook"]
)
def test_every_table_with_a_key_has_every_column_and_joins_match(name: str) -> None:
    schema = source_schema(name)
    text = render_schema_rs(schema)
    tables = parsed_tables(text)
    expected = [t for t in schema.tables if t.primary_key and not t.partition_of]
    assert sorted(tables) == sorted(rust_ident(t.name) for t in expected)
    for table in expected:
        pk, columns, _ = tables[rust_ident(table.name)]
        assert pk == [rust_ident(c) for c in table.primary_key.columns]  # type: ignore[union-attr]
        assert len(columns) == len(table.columns)
        for column in table.columns:
            diesel = columns[_column_ident(table, column)]
            assert diesel.startswith("Nullable<") == column.nullable, (table.name, column.name)
    joins = set(re.findall(r"diesel::joinable!\((\w+) -> (\w+) \((\w+)\)\);", text))
    assert joins == expected_joins(schema)
    allowed = re.search(r"allow_tables_to_appear_in_same_query!\((.*?)\);", text, re.S)
    assert allowed is not None
    assert sorted(re.findall(r"\w+", allowed.group(1))) == sorted(tables)


def _column_ident(table: Table, column: Column) -> str:
    ident = rust_ident(column.name)
    return (
        ident + "_"
        if ident in ("table", "columns", "dsl", "star") or ident == table.name
        else ident
    )


def test_identity_uuid_enum_schema_rs_details() -> None:
    text = render_schema_rs(source_schema("identity_uuid_enum"))
    assert text.startswith("// @generated automatically by dbarch\n")
    assert (
        "pub mod sql_types {\n"
        "    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]\n"
        '    #[diesel(postgres_type(name = "order_status"))]\n'
        "    pub struct OrderStatus;\n}" in text
    )
    orders = parsed_tables(text)["orders"][2]
    assert "    use diesel::sql_types::*;\n    use super::sql_types::OrderStatus;\n" in orders
    assert "        status -> OrderStatus,\n" in orders
    assert "        statuses -> Nullable<Array<Nullable<OrderStatus>>>,\n" in orders
    assert '        #[sql_name = "type"]\n        type_ -> Nullable<Int2>,\n' in orders
    assert '        #[sql_name = "self"]\n        self_ -> Nullable<Text>,\n' in orders
    assert "        total -> Numeric,\n" in orders and "tags -> Array<Nullable<Text>>," in orders
    users = parsed_tables(text)["users"][2]
    assert (
        "    /// People who sign in.\n    /// Second line with a quote ' and a backslash \\\n"
        in users
    )
    assert (
        "        /// login, lower-cased\n        #[max_length = 255]\n        email -> Varchar,\n"
        in users
    )
    assert "#[max_length = 2]\n        country -> Nullable<Bpchar>," in users
    assert "public_id -> Uuid," in users and "created_at -> Timestamptz," in users
    assert "diesel::joinable!(orders -> users (user_id));" in text
    assert "// dbarch: left out public.audit_events: no primary key" in text
    assert "// dbarch: left out public.open_orders: a view" in text


def test_ambiguous_composite_and_self_references_are_explained() -> None:
    text = render_schema_rs(source_schema("tenancy_composite_fk"))
    assert "joinable!(invoices" not in text
    assert (
        "no joinable! for invoices -> projects (invoices_project_fk): composite foreign key" in text
    )
    assert "no joinable! for people -> people (people_manager_id_fkey): self-referencing" in text
    assert "no joinable! for transfers -> people (transfers_from_person_fkey): several" in text
    assert "diesel::joinable!(people -> tenants (tenant_id));" in text
    assert "    saas.invoices (tenant_id, id) {" in text  # non-default schema kept
    pagila = render_schema_rs(source_schema("pagila"))
    assert "no joinable! for film -> language (film_original_language_id_fkey): several" in pagila
    assert "left out public.payment_p2022_01: a partition of public.payment" in pagila
    assert '#[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]' in pagila
    assert "// dbarch: unknown type tsvector" in pagila


def test_sqlite_and_mariadb_backends() -> None:
    sqlite = render_schema_rs(source_schema("rich_sqlite"))
    tables = parsed_tables(sqlite)
    assert tables["customer"][1]["id"] == "Integer"  # the rowid alias is never NULL
    assert tables["customer"][1]["created_at"] == "Timestamp"
    assert tables["customer"][1]["score"] == "Nullable<Double>"  # print-schema's NUMERIC rule
    assert '#[sql_name = "Order Line"]\n    Order_Line (region, order_number, line) {' in sqlite
    assert "left out note_fts: no primary key" in sqlite
    mariadb = render_schema_rs(source_schema("rich_mariadb"))
    customer = parsed_tables(mariadb)["customer"][1]
    assert customer["id"] == "Unsigned<Integer>" and customer["select"] == "Bool"
    assert customer["status"] == "CustomerStatusEnum" and customer["prefs"] == "Nullable<Json>"
    assert customer["created"] == "Datetime" and customer["updated"] == "Timestamp"
    assert '#[diesel(mysql_type(name = "Enum"))]\n    pub struct CustomerStatusEnum;' in mariadb
    assert "diesel::joinable!(order -> customer (customer_id));" in mariadb
    assert "// dbarch: unknown type year(4)" in mariadb
    models = render_models_rs(source_schema("rich_mariadb"))
    assert "#[diesel(check_for_backend(diesel::mysql::Mysql))]" in models
    assert '    #[db_rename = "it\'s gone"]\n    ItSGone,' in models
    assert "#[diesel(check_for_backend(diesel::sqlite::Sqlite))]" in render_models_rs(
        source_schema("rich_sqlite")
    )


# --- what models.rs says ---------------------------------------------------------------------


def _struct(text: str, name: str) -> str:
    m = re.search(
        rf"(?:#\[[^\n]*\]\n)*pub struct {re.escape(name)}(?!\w)[^{{]*\{{\n.*?\n\}}\n", text, re.S
    )
    assert m is not None, name
    return m.group(0)


def test_models_types_options_and_insertables() -> None:
    schema = source_schema("identity_uuid_enum")
    text = render_models_rs(schema)
    assert "use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};\n" in text
    assert "use diesel::prelude::*;\n" in text and "use uuid::Uuid;\n" in text
    user = _struct(text, "User")
    assert "#[derive(Queryable, Selectable, Identifiable, Debug, Clone)]" in user
    assert "#[diesel(table_name = crate::schema::users)]" in user
    assert "#[diesel(check_for_backend(diesel::pg::Pg))]" in user
    assert "primary_key" not in user  # the key is `id`
    for field in ("id: i64", "public_id: Uuid", "email: String", "name: Option<String>"):
        assert f"    pub {field},\n" in user
    assert "    pub created_at: DateTime<Utc>,\n" in user
    new_user = _struct(text, "NewUser<'a>")
    assert "    pub email: &'a str,\n    pub name: Option<&'a str>,\n" in new_user
    assert "id:" not in new_user and "created_at" not in new_user
    order = _struct(text, "Order")
    assert "Associations" in order
    assert "#[diesel(belongs_to(User, foreign_key = user_id))]" in order
    assert "    pub total: BigDecimal,\n" in order
    assert "    pub statuses: Option<Vec<Option<OrderStatus>>>,\n" in order
    assert "    pub shipped_during: Option<PgInterval>,\n" in order
    assert "    pub type_: Option<i16>,\n" in order
    new_order = _struct(text, "NewOrder")
    assert "status" not in new_order.split("statuses")[0]  # has a default: left out
    assert "    pub user_id: i64,\n" in new_order
    enum = re.search(r"pub enum OrderStatus \{\n(.*?)\n\}", text, re.S)
    assert enum is not None
    values = re.findall(r"#\[db_rename = (.*?)\]", enum.group(1))
    assert values == ['"new"', '"paid"', '"shipped"', 'r#"PG-13 "quoted""#']
    assert "diesel_derive_enum::DbEnum" in text and "diesel-derive-enum" in text
    assert '#[ExistingTypePath = "crate::schema::sql_types::OrderStatus"]' in text
    assert "AuditEvent" not in text  # no primary key, no model


def test_models_composite_keys_unknown_types_and_triggers() -> None:
    tenancy = render_models_rs(source_schema("tenancy_composite_fk"))
    invoice = _struct(tenancy, "Invoice")
    assert "#[diesel(primary_key(tenant_id, id))]" in invoice and "Associations" not in invoice
    assert (
        "    pub tenant_id: Uuid,\n" in invoice
        and "    pub deleted_at: Option<DateTime<Utc>>," in invoice
    )
    new_invoice = _struct(tenancy, "NewInvoice")
    assert "    pub id" not in new_invoice and "amount" not in new_invoice  # serial, default
    posts = render_models_rs(source_schema("trigger_function"))
    post = _struct(posts, "Post")
    assert "// dbarch: column search (tsvector) left out" in post
    assert "    pub score: Option<i32>,\n" in post  # the domain's base type
    assert (
        "    pub price: Option<PgMoney>,\n" in post and "    pub origin: Option<IpNetwork>," in post
    )
    assert "trigger posts_search must fill it" in posts
    assert "    pub title: &'a str,\n" in _struct(posts, "NewPost<'a>")
    comment = _struct(posts, "Comment")
    assert "#[diesel(primary_key(post_id, n))]" in comment
    assert "#[diesel(belongs_to(Post, foreign_key = post_id))]" in comment


@pytest.mark.parametrize(
    ("pg_type", "sql", "rust"),
    [
        ("smallint", "Int2", "i16"),
        ("integer", "Int4", "i32"),
        ("bigint", "Int8", "i64"),
        ("numeric(10,2)", "Numeric", "BigDecimal"),
        ("real", "Float4", "f32"),
        ("double precision", "Float8", "f64"),
        ("text", "Text", "String"),
        ("character varying(20)", "Varchar", "String"),
        ("character(3)", "Bpchar", "String"),
        ("boolean", "Bool", "bool"),
        ("date", "Date", "NaiveDate"),
        ("time without time zone", "Time", "NaiveTime"),
        ("time(3) without time zone", "Time", "NaiveTime"),
        ("timestamp without time zone", "Timestamp", "NaiveDateTime"),
        ("timestamp(6) with time zone", "Timestamptz", "DateTime<Utc>"),
        ("uuid", "Uuid", "Uuid"),
        ("json", "Json", "serde_json::Value"),
        ("jsonb", "Jsonb", "serde_json::Value"),
        ("bytea", "Bytea", "Vec<u8>"),
        ("interval", "Interval", "PgInterval"),
        ("inet", "Inet", "IpNetwork"),
        ("cidr", "Cidr", "IpNetwork"),
        ("money", "Money", "PgMoney"),
        ("oid", "Oid", "u32"),
        ("macaddr", "MacAddr", "[u8; 6]"),
        ("public.citext", "Citext", "String"),
        ("int4range", "Int4range", "(Bound<i32>, Bound<i32>)"),
        ("tstzrange", "Tstzrange", "(Bound<DateTime<Utc>>, Bound<DateTime<Utc>>)"),
        ("integer[]", "Array<Nullable<Int4>>", "Vec<Option<i32>>"),
        ("tsvector", "Tsvector", None),
        ("time with time zone", "Timetz", None),
    ],
)
def test_postgres_type_mapping(pg_type: str, sql: str, rust: str | None) -> None:
    mapped = PgTypes(Schema(dialect="postgres"), "public").map(pg_type)
    assert (mapped.sql, mapped.rust) == (sql, rust)
    assert (mapped.note is None) == (rust is not None)


@pytest.mark.parametrize(
    ("declared", "sql"),
    [
        ("INTEGER", "Integer"),
        ("BIGINT", "BigInt"),
        ("SMALLINT", "SmallInt"),
        ("TINYINT", "Bool"),
        ("BOOLEAN", "Bool"),
        ("VARCHAR(20)", "Text"),
        ("TEXT", "Text"),
        ("BLOB", "Binary"),
        ("", "Binary"),
        ("REAL", "Float"),
        ("DOUBLE PRECISION", "Double"),
        ("NUMERIC(10, 2)", "Double"),
        ("DATETIME", "Timestamp"),
        ("DATE", "Date"),
        ("JSON", "Text"),
    ],
)
def test_sqlite_type_mapping(declared: str, sql: str) -> None:
    from dbarchitect.dialects import get_dialect

    column = Column(name="c", type=declared, logical=get_dialect("sqlite").logical_type(declared))
    mapped = sqlite_type(column)
    assert mapped.sql == sql
    assert (mapped.note is not None) == (declared == "JSON")


@pytest.mark.parametrize(
    ("mysql", "sql", "rust"),
    [
        ("tinyint(1)", "Bool", "bool"),
        ("tinyint(4)", "TinyInt", "i8"),
        ("tinyint(3) unsigned", "Unsigned<TinyInt>", "u8"),
        ("smallint(5) unsigned", "Unsigned<SmallInt>", "u16"),
        ("int(11)", "Integer", "i32"),
        ("int(10) unsigned", "Unsigned<Integer>", "u32"),
        ("bigint(20) unsigned", "Unsigned<BigInt>", "u64"),
        ("decimal(10,2)", "Decimal", "BigDecimal"),
        ("float", "Float", "f32"),
        ("double", "Double", "f64"),
        ("varchar(40)", "Varchar", "String"),
        ("longtext", "Text", "String"),
        ("blob", "Blob", "Vec<u8>"),
        ("varbinary(16)", "Binary", "Vec<u8>"),
        ("datetime(3)", "Datetime", "NaiveDateTime"),
        ("timestamp", "Timestamp", "NaiveDateTime"),
        ("date", "Date", "NaiveDate"),
        ("time", "Time", "NaiveTime"),
        ("json", "Json", "serde_json::Value"),
    ],
)
def test_mysql_type_mapping(mysql: str, sql: str, rust: str) -> None:
    from dbarchitect.dialects import get_dialect

    column = Column(name="c", type=mysql, logical=get_dialect("mysql").logical_type(mysql))
    mapped = mysql_type(column, "t", "c")
    assert (mapped.sql, mapped.rust, mapped.note) == (sql, rust, None)


def test_names_stay_unique_and_legal() -> None:
    schema = Schema(
        dialect="postgres",
        tables=(
            _table("public", "order", ["type", "table", "order", "Größe", "a b", "a_b"]),
            _table("app", "order", ["id"]),
            _table("public", "strings", ["id"]),
            _table("Sales Dept", "x", ["id"]),
        ),
    )
    result = plan(schema)
    modules = {tp.table.qualified: tp.rust for tp in result.tables}
    assert modules == {
        "app.order": "app_order",
        "public.order": "order",
        "public.strings": "strings",
    }
    first = next(tp for tp in result.tables if tp.rust == "order")
    assert [c.rust for c in first.columns] == ["type_", "table_", "order_", "Gro_e", "a_b", "a_b2"]
    assert {tp.struct for tp in result.tables} == {"Order", "AppOrder", "StringRow"}
    assert any("Sales Dept.x" in note for note in result.skipped)


def _table(schema_name: str, name: str, columns: list[str]) -> Table:
    from dbarchitect.model import PrimaryKey

    cols = tuple(Column(name=c, type="integer", nullable=False) for c in columns)
    return Table(
        schema=schema_name,
        name=name,
        columns=cols,
        primary_key=PrimaryKey(name=f"{name}_pkey", columns=(columns[0],)),
    )
