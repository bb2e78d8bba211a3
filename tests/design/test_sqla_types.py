"""The type tables of the SQLAlchemy generator, checked against SQLAlchemy and the engines, and
the names it gives Python objects."""

from __future__ import annotations

import keyword

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from dbarchitect.codegen.sqlalchemy_names import (
    Scope,
    children,
    class_name,
    identifier,
    key_role,
    singular,
)
from dbarchitect.codegen.sqlalchemy_types import (
    _PG_PLAIN,
    _SQLITE_EXACT,
    column_type,
    pg_type,
    sqlite_type,
)
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import Column
from dbarchitect.sources import introspect_url
from dbarchitect.sources.sqlalchemy import sqlalchemy_url

NAMESPACE = {"sa": sa, "postgresql": postgresql}
PG_SIZED = [
    "numeric(10,2)",
    "numeric(7,0)",
    "character varying(40)",
    "character(3)",
    "bit(8)",
    "bit varying(16)",
    "timestamp(3) with time zone",
    "timestamp(0) without time zone",
    "time(6) without time zone",
    "time(2) with time zone",
    "interval(3)",
    "interval day to second(2)",
    "interval year to month",
    "integer[]",
    "character varying(20)[]",
    "jsonb[]",
]


def test_every_postgres_type_reads_back_as_its_own_text(pg_url: DatabaseURL) -> None:
    """Each SQLAlchemy type chosen for a format_type() text is created by PostgreSQL as that
    very type."""
    texts = [*_PG_PLAIN, *PG_SIZED]
    metadata = sa.MetaData()
    columns = []
    for i, text in enumerate(texts):
        mapped = pg_type(text, "other", {})
        assert not mapped.raw, text
        columns.append(sa.Column(f"c{i}", eval(mapped.code, NAMESPACE)))
    sa.Table("every_type", metadata, *columns)
    engine = sa.create_engine(sqlalchemy_url(pg_url))
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()
    table = introspect_url(pg_url).table("public.every_type")
    assert table is not None
    assert [c.type for c in table.columns] == texts


@pytest.mark.parametrize(
    "text", [*_SQLITE_EXACT, "VARCHAR(20)", "NVARCHAR(120)", "CHAR(3)", "NUMERIC(10, 2)"]
)
def test_sqlite_types_print_exactly_the_declared_text(text: str) -> None:
    mapped = sqlite_type(text, "other")
    assert not mapped.raw
    compiled = eval(mapped.code, NAMESPACE).compile(dialect=sqlite.dialect())
    assert str(compiled) == text


@pytest.mark.parametrize("text", ["NUMERIC(10,2)", "varchar(20)", "INT", "DATETIME(6)", ""])
def test_other_sqlite_types_stay_raw(text: str) -> None:
    mapped = sqlite_type(text, "other")
    assert mapped.raw and mapped.code.startswith("RawType(")


def test_type_code_is_formatted_as_ruff_would() -> None:
    assert pg_type("interval day to second(2)", "interval", {}).code == (
        'postgresql.INTERVAL(fields="day to second", precision=2)'
    )


def test_annotations_and_collations() -> None:
    enums = {"public.mood": ("mood_enum", "Mood")}
    assert pg_type("public.mood", "enum", enums).annotation == "Mood"
    assert pg_type("public.mood[]", "array", enums).code == "postgresql.ARRAY(mood_enum)"
    assert pg_type("numeric(5,2)", "decimal", {}).annotation == "decimal.Decimal"
    assert pg_type("public.citext", "other", {}).code == 'RawType("public.citext")'
    plain = Column(name="x", type="text", logical="text", collation='"C"')
    assert column_type(plain, "postgres", {}).code == 'sa.Text(collation="C")'
    qualified = Column(name="x", type="text", logical="text", collation="app.ci")
    assert column_type(qualified, "postgres", {}).code == 'RawType("text COLLATE app.ci")'
    assert sqlite_type("BIGINT UNSIGNED", "bigint").annotation == "int"  # INTEGER affinity


@pytest.mark.parametrize(
    ("table", "cls", "rows"),
    [
        ("order_items", "OrderItem", "order_items"),
        ("categories", "Category", "categories"),
        ("addresses", "Address", "addresses"),
        ("status", "Status", "statuses"),
        ("InvoiceLine", "InvoiceLine", "invoice_lines"),
        ("Sales Dept", "SalesDept", "sales_depts"),
        ("2024_events", "T2024Event", "rows_2024_events"),
        ("class", "Class", "classes"),
    ],
)
def test_table_names(table: str, cls: str, rows: str) -> None:
    assert class_name(table) == cls
    assert children(table) == rows


def test_attribute_and_role_names() -> None:
    assert identifier("class") == "class_"
    assert identifier("first name") == "first_name"
    assert identifier("9lives") == "x_9lives"
    assert identifier("Größe") == "Größe"
    assert not keyword.iskeyword(identifier("match"))
    assert key_role("customer_id") == "customer"
    assert key_role("SupportRepId") == "support_rep"
    assert key_role("ReportsTo") is None
    assert singular("boxes") == "box" and singular("bus") == "bus"
    scope = Scope({"customer"})
    assert scope.take("customer", "customer_rel") == "customer_rel"
    assert scope.take("customer") == "customer_2"
