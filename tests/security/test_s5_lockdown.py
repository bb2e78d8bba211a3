"""What `dbarch secure rls` locks away when it cannot be made tenant-safe, on objects left with
PostgreSQL's default privileges (EXECUTE for PUBLIC on a function): a SECURITY DEFINER
function returning every tenant's rows and a materialized view lose PUBLIC's access, the
definer's search_path is pinned, a unique index becomes per tenant, and the down gives all
of it back exactly."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.apply import apply_statements
from dbarchitect.migrate.verify import differences
from dbarchitect.security.rls import RoleNames, generate
from dbarchitect.security.tenancy import find_tenancy
from dbarchitect.sources import introspect_url

SQL = """
CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE docs (
    id int PRIMARY KEY,
    account_id int NOT NULL REFERENCES accounts (id),
    slug text NOT NULL
);
CREATE UNIQUE INDEX docs_slug ON docs (slug);
CREATE FUNCTION all_docs() RETURNS SETOF docs LANGUAGE sql STABLE SECURITY DEFINER
    AS $$ SELECT * FROM docs $$;
CREATE MATERIALIZED VIEW doc_counts AS SELECT account_id, count(*) AS n FROM docs GROUP BY 1;
"""


def _admin(url: DatabaseURL) -> psycopg.Connection[Any]:
    return psycopg.connect(conninfo(url), autocommit=True)


@pytest.fixture
def roles(pg_url: DatabaseURL) -> Iterator[RoleNames]:
    p = f"s5l_{secrets.token_hex(4)}"
    names = RoleNames(owner=f"{p}_owner", app=f"{p}_user", readonly=f"{p}_ro", admin=f"{p}_adm")
    yield names
    with _admin(pg_url) as conn:
        for r in names.all():
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (r,)).fetchone():
                conn.execute(f'REASSIGN OWNED BY "{r}" TO CURRENT_USER')
                conn.execute(f'DROP OWNED BY "{r}"')
                conn.execute(f'DROP ROLE "{r}"')


def _can(conn: psycopg.Connection[Any], sql: str, *args: str) -> bool:
    row = conn.execute(sql, args).fetchone()
    return bool(row and row[0])


def test_unsafe_objects_are_locked_and_restored(pg_url: DatabaseURL, roles: RoleNames) -> None:
    get_dialect("postgres").engine().run_script(pg_url, SQL, where="<s5>")
    original = introspect_url(pg_url)
    plan = generate(original, find_tenancy(original, "account_id"), roles=roles)
    notes = "\n".join(plan.notes)
    assert "SECURITY DEFINER public.all_docs() reads every tenant's rows" in notes
    assert "materialized view public.doc_counts reads every tenant's rows" in notes
    assert "unique index public.docs.docs_slug now leads with account_id" in notes
    fn = next(f for f in plan.schema.functions if f.name == "all_docs")
    assert ("search_path", "pg_catalog, public, pg_temp") in fn.config

    apply_statements(pg_url, plan.up_statements, label="up")
    assert differences(introspect_url(pg_url), plan.schema) == []
    fn_priv = "SELECT has_function_privilege(%s, 'public.all_docs()', 'EXECUTE')"
    mv_priv = "SELECT has_table_privilege(%s, 'public.doc_counts', 'SELECT')"
    with _admin(pg_url) as conn:
        assert not _can(conn, fn_priv, roles.app)
        assert not _can(conn, mv_priv, roles.app)
        assert not _can(conn, mv_priv, roles.readonly)
        assert not _can(conn, fn_priv, "public")  # PUBLIC's default EXECUTE is revoked
        # The same slug in two accounts is now allowed (unique per tenant).
        conn.execute("INSERT INTO accounts VALUES (1, 'a'), (2, 'b')")
        conn.execute("INSERT INTO docs VALUES (1, 1, 'x'), (2, 2, 'x')")
        conn.execute("DELETE FROM docs")
        conn.execute("DELETE FROM accounts")

    apply_statements(pg_url, plan.down_statements, label="down")
    assert differences(introspect_url(pg_url), original) == []
    with _admin(pg_url) as conn:
        assert _can(conn, fn_priv, "public")  # PUBLIC's EXECUTE is back
