"""`dbarch secure rls` on other shapes than clean.sql: the printed scripts run through psql, a
helper schema of its own, uuid tenant keys with ON DELETE SET NULL children, Basejump's real
schema, and the inputs it must refuse."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo, scratch_url
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.migrate.apply import apply_statements
from dbarchitect.migrate.verify import differences
from dbarchitect.model import Schema
from dbarchitect.security.rls import RoleNames, generate
from dbarchitect.security.tenancy import find_tenancy
from dbarchitect.sources import introspect_url, load_schema
from tests.conftest import realworld_files, realworld_manifest

CLEAN = Path(__file__).parent.parent / "fixtures" / "security" / "clean.sql"

UUID_SQL = """
CREATE TABLE orgs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);
CREATE TABLE members (
    id integer PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES orgs (id),
    name text NOT NULL,
    CONSTRAINT members_org_id_id_key UNIQUE (org_id, id)
);
CREATE TABLE notes (
    id serial PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES orgs (id),
    author_id integer REFERENCES members (id) ON DELETE SET NULL,
    body text
);
"""


def _admin(url: DatabaseURL) -> psycopg.Connection[Any]:
    return psycopg.connect(conninfo(url), autocommit=True)


@pytest.fixture
def roles() -> Iterator[RoleNames]:
    """Unique role names (roles are cluster-wide); whatever is left is dropped at the end."""
    suffix = uuid.uuid4().hex[:8]
    names = RoleNames(
        owner=f"s2s_owner_{suffix}",
        app=f"s2s_app_{suffix}",
        readonly=f"s2s_ro_{suffix}",
        admin=f"s2s_admin_{suffix}",
    )
    yield names
    with _admin(scratch_url()) as conn:
        for r in names.all():
            conn.execute(
                psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(r))
            )


def _left(url: DatabaseURL, roles: RoleNames) -> list[Any]:
    with _admin(url) as conn:
        return conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(roles.all()),)
        ).fetchall()


def test_printed_scripts_run_through_psql_with_a_helper_schema(
    pg_url: DatabaseURL, roles: RoleNames
) -> None:
    engine = get_dialect("postgres").engine()
    url = engine.load_files(pg_url, [CLEAN])
    original = introspect_url(url)
    plan = generate(original, find_tenancy(original), roles=roles, helper_schema="tenancy")
    assert any(f.signature == "tenancy.current_tenant()" for f in plan.schema.functions)
    engine.run_script(url, plan.up, where="<up>")
    assert differences(introspect_url(url), plan.schema) == []
    with _admin(url) as conn:
        conn.execute("BEGIN")
        conn.execute(f"SET LOCAL ROLE {roles.app}")
        conn.execute("SET LOCAL app.tenant_id = '7'")
        assert conn.execute("SELECT tenancy.current_tenant()").fetchone() == (7,)
        conn.execute("ROLLBACK")
    engine.run_script(url, plan.down, where="<down>")
    assert differences(introspect_url(url), original) == []
    assert _left(url, roles) == []


def test_uuid_tenant_and_set_null_child_keep_the_tenant(
    pg_url: DatabaseURL, roles: RoleNames
) -> None:
    engine = get_dialect("postgres").engine()
    engine.run_script(pg_url, UUID_SQL)
    original = introspect_url(pg_url)
    tenancy = find_tenancy(original)
    assert tenancy.column == "org_id"
    plan = generate(original, tenancy, roles=roles)
    helper = next(f for f in plan.schema.functions if f.name == "current_tenant")
    assert helper.returns == "uuid"
    notes = plan.schema.table("public.notes")
    assert notes is not None
    fk = next(k for k in notes.foreign_keys if k.ref_table == "members")
    assert (fk.columns, fk.on_delete, fk.on_delete_columns) == (
        ("org_id", "author_id"),
        "SET NULL",
        ("author_id",),
    )
    members = plan.schema.table("public.members")
    assert members is not None
    # the existing UNIQUE (org_id, id) serves the composite key: no second one
    assert [u.columns for u in members.uniques] == [("org_id", "id")]
    apply_statements(pg_url, plan.up_statements, label="up")
    assert differences(introspect_url(pg_url), plan.schema) == []
    with _admin(pg_url) as conn:
        org = conn.execute("INSERT INTO orgs (name) VALUES ('o') RETURNING id").fetchone()
        assert org is not None
        # the app role draws from the serial's sequence (USAGE granted) inside its tenant
        conn.execute("BEGIN")
        conn.execute(f"SET LOCAL ROLE {roles.app}")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(org[0]),))
        conn.execute("INSERT INTO notes (org_id, body) VALUES (%s, 'mine')", (org[0],))
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (1,)
        conn.execute("ROLLBACK")
        org = conn.execute("INSERT INTO orgs (name) VALUES ('o') RETURNING id").fetchone()
        assert org is not None
        conn.execute("INSERT INTO members VALUES (1, %s, 'm')", (org[0],))
        conn.execute("INSERT INTO notes (org_id, author_id, body) VALUES (%s, 1, 'n')", (org[0],))
        conn.execute("DELETE FROM members WHERE id = 1")
        row = conn.execute("SELECT org_id, author_id FROM notes").fetchone()
        assert row == (org[0], None)
    apply_statements(pg_url, plan.down_statements, label="down")
    assert differences(introspect_url(pg_url), original) == []


def test_basejump_is_secured_and_restored(pg_url: DatabaseURL, roles: RoleNames) -> None:
    basejump = next(d for d in realworld_manifest()["datasets"] if d["name"] == "basejump")
    engine = get_dialect("postgres").engine()
    url = engine.load_files(pg_url, [Path(f) for f in realworld_files(basejump)])
    original = introspect_url(url)
    tenancy = find_tenancy(original, "account_id")
    plan = generate(original, tenancy, roles=roles)
    secured = [t for t in plan.schema.tables if t.rls_enabled and t.rls_forced]
    assert {t.qualified for t in tenancy.tables} <= {t.qualified for t in secured}
    apply_statements(url, plan.up_statements, label="up")
    assert differences(introspect_url(url), plan.schema) == []
    apply_statements(url, plan.down_statements, label="down")
    assert differences(introspect_url(url), original) == []
    assert _left(url, roles) == []


def test_refuses_other_dialects_and_secured_schemas() -> None:
    clean = load_schema([str(CLEAN)], dialect="postgres")
    tenancy = find_tenancy(clean)
    other = Schema(dialect="sqlite", tables=clean.tables)
    with pytest.raises(InputError, match="PostgreSQL only"):
        generate(other, tenancy)
    secured = generate(clean, tenancy).schema
    with pytest.raises(InputError, match="already secured"):
        generate(secured, find_tenancy(secured))
