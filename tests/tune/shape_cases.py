"""Schemas, queries and helpers shared by the query-shape tests (TPC-H and the scopes schema)."""

from __future__ import annotations

import re

import psycopg

from dbarchitect.engines.base import Session
from dbarchitect.tune.model import JoinKey, Predicate, Shape
from tests.conftest import FIXTURES

TPCH_SCHEMA = FIXTURES / "tune" / "tpch_schema.sql"
TPCH_QUERIES = FIXTURES / "tune" / "tpch_queries.sql"

SCOPES_SQL = """
CREATE TABLE accounts (
    id integer PRIMARY KEY,
    email varchar(200) NOT NULL,
    status text NOT NULL,
    created_at timestamp NOT NULL,
    note text
);
CREATE INDEX accounts_email_idx ON accounts (email);
CREATE INDEX accounts_created_idx ON accounts (created_at);
CREATE INDEX accounts_lower_status_idx ON accounts (lower(status));
CREATE TABLE invoices (
    id integer PRIMARY KEY,
    account_id integer NOT NULL REFERENCES accounts,
    total numeric NOT NULL,
    status text NOT NULL,
    tags text[],
    payload jsonb
);
CREATE TABLE "Order Items" (
    "Order ID" integer NOT NULL,
    "Line" integer NOT NULL,
    "Unit Price" numeric,
    "SKU" text,
    PRIMARY KEY ("Order ID", "Line")
);
CREATE SCHEMA sales;
CREATE TABLE sales.invoices (id integer PRIMARY KEY, region text);
CREATE VIEW open_invoices AS
    SELECT i.id, i.account_id, a.email FROM invoices i JOIN accounts a ON a.id = i.account_id
    WHERE i.status = 'open';
"""


def tpch_queries() -> dict[str, str]:
    """The 22 queries of the fixture file by name (Q1 … Q22)."""
    text = TPCH_QUERIES.read_text()
    return {m[1]: m[2] for m in re.finditer(r"^-- (Q\d+)\n(.*?;)$", text, re.S | re.M)}


QUERIES = tpch_queries()


def server_error(session: Session, sql: str) -> str | None:
    """What PostgreSQL says when it plans `sql` (None: it accepts it)."""
    try:
        session.fetch("EXPLAIN " + sql.rstrip().rstrip(";"))
    except psycopg.Error as e:
        return str(e).splitlines()[0]
    return None


def pred(table: str, column: str, op: str, **kw: object) -> Predicate:
    return Predicate(table=f"public.{table}", column=column, op=op, **kw)  # type: ignore[arg-type]


def join(a: str, ac: str, b: str, bc: str) -> JoinKey:
    return JoinKey(
        left_table=f"public.{a}", left_column=ac, right_table=f"public.{b}", right_column=bc
    )


def rules(s: Shape) -> list[str]:
    return [f.rule for f in s.findings]
