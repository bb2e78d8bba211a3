"""`dbarch secure rls` on real PostgreSQL: the generated migration applied to clean.sql, then
attacked as the application role for tenant A, the owner, the read-only and the admin role;
finally the down must give back the original schema exactly.

The tests of this module share one scratch database and run in file order: the migration is
applied once (it is the expensive part) and every attack rolls its own transaction back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo, scratch_url
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.apply import StatementFailed, apply_statements
from dbarchitect.migrate.verify import differences
from dbarchitect.model import Schema
from dbarchitect.security.rls import ROLE_MARKER, RlsPlan, RoleNames, generate
from dbarchitect.security.tenancy import find_tenancy
from dbarchitect.sources import introspect_url

CLEAN = Path(__file__).parent.parent / "fixtures" / "security" / "clean.sql"
TABLES = ("users", "projects", "tasks", "invoices", "invoice_lines")
PASSWORD = "s2-" + uuid.uuid4().hex


@dataclass
class World:
    url: DatabaseURL
    original: Schema
    plan: RlsPlan
    roles: RoleNames
    login: str  # LOGIN role, member of the app role
    reader: str  # LOGIN role, member of the read-only role
    boss: str  # LOGIN role, member of the admin and owner roles
    a: int
    b: int
    counts: dict[str, tuple[int, int]]  # table → (rows of A, rows of B)


SEED = """
INSERT INTO tenants (name) VALUES ('A'), ('B');
INSERT INTO users (tenant_id, email)
  SELECT t.id, t.name || n || '@x.test' FROM tenants t, generate_series(1, 2) n;
INSERT INTO projects (tenant_id, name, owner_id)
  SELECT u.tenant_id, 'p' || u.id, u.id FROM users u;
INSERT INTO tasks (tenant_id, project_id, title)
  SELECT p.tenant_id, p.id, 'task ' || n FROM projects p, generate_series(1, 3) n;
INSERT INTO invoices (tenant_id, total) SELECT id, 10 FROM tenants;
INSERT INTO invoice_lines (invoice_id, description, unit_price)
  SELECT i.id, 'line ' || n, 5 FROM invoices i, generate_series(1, 2) n;
"""


def _admin(url: DatabaseURL) -> psycopg.Connection[Any]:
    return psycopg.connect(conninfo(url), autocommit=True)


def _as(world: World, role: str) -> psycopg.Connection[Any]:
    """A connection as `role` itself (password auth): no superuser anywhere in the chain."""
    return psycopg.connect(conninfo(world.url, user=role, password=PASSWORD))


def _drop_roles(names: list[str]) -> None:
    with _admin(scratch_url()) as conn:
        for name in names:
            conn.execute(
                psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    suffix = uuid.uuid4().hex[:8]
    roles = RoleNames(
        owner=f"s2_owner_{suffix}",
        app=f"s2_app_{suffix}",
        readonly=f"s2_ro_{suffix}",
        admin=f"s2_admin_{suffix}",
    )
    logins = [f"s2_login_{suffix}", f"s2_reader_{suffix}", f"s2_boss_{suffix}"]
    engine = get_dialect("postgres").engine()
    try:
        with engine.scratch() as scratch:
            url = engine.load_files(scratch, [CLEAN])
            original = introspect_url(url)
            plan = generate(original, find_tenancy(original), roles=roles)
            with _admin(url) as conn:
                conn.execute(SEED)
                counts = {}
                for t in TABLES:
                    rows = conn.execute(_tenant_count(t)).fetchall()
                    counts[t] = (rows[0][1], rows[1][1])
                a, b = (r[0] for r in conn.execute("SELECT id FROM tenants ORDER BY id"))
            apply_statements(url, plan.up_statements, label="up")
            with _admin(url) as conn:
                for name, member_of in zip(
                    logins, [[roles.app], [roles.readonly], [roles.admin, roles.owner]], strict=True
                ):
                    conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'")
                    for r in member_of:
                        conn.execute(f"GRANT {r} TO {name}")
            yield World(
                url=url,
                original=original,
                plan=plan,
                roles=roles,
                login=logins[0],
                reader=logins[1],
                boss=logins[2],
                a=a,
                b=b,
                counts=counts,
            )
    finally:
        _drop_roles([*logins, *reversed(roles.all())])


def _tenant_count(table: str) -> str:
    """Rows per tenant; invoice_lines reach their tenant through invoices."""
    if table == "invoice_lines":
        return (
            "SELECT i.tenant_id, count(*) FROM invoice_lines l JOIN invoices i ON i.id = "
            "l.invoice_id GROUP BY 1 ORDER BY 1"
        )
    return f"SELECT tenant_id, count(*) FROM {table} GROUP BY 1 ORDER BY 1"


def _tenant(conn: psycopg.Connection[Any], tenant: int) -> None:
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))


def _fails(conn: psycopg.Connection[Any], sql: str, *args: Any) -> str:
    """Run `sql` in a savepoint; the error's SQLSTATE (the test fails when it succeeds)."""
    try:
        with conn.transaction():
            conn.execute(sql, args or None)
    except psycopg.Error as exc:
        return exc.sqlstate or "?"
    raise AssertionError(f"not refused: {sql}")


def _affected(conn: psycopg.Connection[Any], sql: str, *args: Any) -> int:
    with conn.transaction():
        return conn.execute(sql, args or None).rowcount


def test_up_reaches_the_target_schema(world: World) -> None:
    assert differences(introspect_url(world.url), world.plan.schema) == []


def test_app_role_sees_only_its_tenant_everywhere(world: World) -> None:
    with _as(world, world.login) as conn:
        _tenant(conn, world.a)
        for table in TABLES:
            total = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert total == (world.counts[table][0],), table
        tenants = conn.execute("SELECT id FROM tenants").fetchall()
        assert tenants == [(world.a,)]
        view = conn.execute("SELECT sum(tasks) FROM project_task_counts").fetchone()
        assert view == (world.counts["tasks"][0],)
        assert conn.execute("SELECT count(*) FROM tenant_tasks(%s)", (world.b,)).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM tenant_tasks(%s)", (world.a,)).fetchone() == (
            world.counts["tasks"][0],
        )
        joined = conn.execute(
            "SELECT count(*) FROM tasks t JOIN projects p ON p.id = t.project_id "
            "WHERE p.tenant_id = %s",
            (world.b,),
        ).fetchone()
        assert joined == (0,)


def test_app_role_cannot_write_other_tenants(world: World) -> None:
    a, b = world.a, world.b
    with _as(world, world.login) as conn:
        _tenant(conn, a)
        # 42501: new row violates row-level security policy
        assert _fails(conn, "INSERT INTO users (tenant_id, email) VALUES (%s, 'x@b')", b) == "42501"
        assert _fails(conn, "INSERT INTO invoices (tenant_id) VALUES (%s)", b) == "42501"
        assert _fails(conn, "UPDATE projects SET tenant_id = %s", b) == "42501"
        assert _fails(conn, "UPDATE tasks SET tenant_id = %s", b) == "42501"
        b_invoice = _b_invoice(world)
        sql = "INSERT INTO invoice_lines (invoice_id, description, unit_price) VALUES (%s, 'x', 1)"
        assert _fails(conn, sql, b_invoice) == "42501"
        a_line = conn.execute("SELECT id FROM invoice_lines LIMIT 1").fetchone()
        assert a_line is not None
        sql = "UPDATE invoice_lines SET invoice_id = %s WHERE id = %s"
        assert _fails(conn, sql, b_invoice, a_line[0]) == "42501"
        for table in TABLES:
            assert (
                _affected(conn, f"UPDATE {table} SET id = id WHERE id IN ({_b_ids(table)})", b) == 0
            )
            assert _affected(conn, f"DELETE FROM {table} WHERE id IN ({_b_ids(table)})", b) == 0
        # the app role may not write the tenants table at all
        assert _fails(conn, "DELETE FROM tenants WHERE id = %s", b) == "42501"
        # writes inside its own tenant work
        assert _affected(conn, "UPDATE tasks SET done = true") == world.counts["tasks"][0]
        conn.rollback()
    with _admin(world.url) as conn:
        assert _rows_per_tenant(conn) == world.counts


def _b_ids(table: str) -> str:
    """A subquery a superuser would answer with B's ids; under RLS it finds none."""
    if table == "invoice_lines":
        return (
            "SELECT l.id FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
            "WHERE i.tenant_id = %s"
        )
    return f"SELECT id FROM {table} WHERE tenant_id = %s"


def _b_invoice(world: World) -> int:
    with _admin(world.url) as conn:
        row = conn.execute("SELECT id FROM invoices WHERE tenant_id = %s", (world.b,)).fetchone()
    assert row is not None
    return int(row[0])


def _rows_per_tenant(conn: psycopg.Connection[Any]) -> dict[str, tuple[int, int]]:
    out = {}
    for t in TABLES:
        rows = conn.execute(_tenant_count(t)).fetchall()
        out[t] = (rows[0][1], rows[1][1])
    return out


def test_missing_or_empty_setting_fails_closed(world: World) -> None:
    with _as(world, world.login) as conn:
        for table in (*TABLES, "tenants", "project_task_counts"):
            assert _fails(conn, f"SELECT count(*) FROM {table}") == "42501", table
        # After a SET LOCAL has ended the session reads the setting back as ''.
        with conn.transaction():
            _tenant(conn, world.a)
        assert conn.execute("SELECT current_setting('app.tenant_id', true)").fetchone() == ("",)
        assert _fails(conn, "SELECT count(*) FROM tasks") == "42501"
        assert _fails(conn, "INSERT INTO invoices (tenant_id) VALUES (%s)", world.a) == "42501"


def test_owner_is_bound_by_the_policies(world: World) -> None:
    with _as(world, world.boss) as conn:
        conn.execute(f"SET ROLE {world.roles.owner}")
        assert conn.execute("SELECT current_user").fetchone() == (world.roles.owner,)
        assert _fails(conn, "SELECT count(*) FROM projects") == "42501"
        _tenant(conn, world.a)
        for table in TABLES:
            total = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert total == (world.counts[table][0],), table
        assert _fails(conn, "UPDATE users SET tenant_id = %s", world.b) == "42501"


def test_readonly_reads_its_tenant_and_cannot_write(world: World) -> None:
    with _as(world, world.reader) as conn:
        _tenant(conn, world.a)
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (world.counts["tasks"][0],)
        assert _fails(conn, "UPDATE tasks SET done = true") == "42501"
        assert _fails(conn, "INSERT INTO invoices (tenant_id) VALUES (%s)", world.a) == "42501"


def test_admin_sees_every_tenant_without_bypassrls(world: World) -> None:
    with _as(world, world.boss) as conn:
        conn.execute(f"SET ROLE {world.roles.admin}")
        total = conn.execute("SELECT count(*) FROM tasks").fetchone()
        assert total == (sum(world.counts["tasks"]),)
        flags = conn.execute(
            "SELECT bool_or(rolbypassrls OR rolsuper) FROM pg_roles WHERE rolname = ANY(%s)",
            (list(world.roles.all()),),
        ).fetchone()
        assert flags == (False,)


def test_composite_key_refuses_a_parent_of_another_tenant(world: World) -> None:
    with _admin(world.url) as conn:  # a superuser bypasses RLS, not foreign keys
        b_project = conn.execute(
            "SELECT id FROM projects WHERE tenant_id = %s LIMIT 1", (world.b,)
        ).fetchone()
        assert b_project is not None
        sql = "INSERT INTO tasks (tenant_id, project_id, title) VALUES (%s, %s, 'cross')"
        assert _fails(conn, sql, world.a, b_project[0]) == "23503"
        sql = "UPDATE projects SET owner_id = (SELECT id FROM users WHERE tenant_id = %s LIMIT 1)"
        assert _fails(conn, sql, world.b) == "23503"


def test_second_up_is_refused_before_any_change(world: World) -> None:
    before = introspect_url(world.url)
    with pytest.raises(StatementFailed, match="already applied"):
        apply_statements(world.url, world.plan.up_statements, label="up")
    assert introspect_url(world.url) == before


def test_down_restores_the_original_schema_and_drops_its_roles(world: World) -> None:
    apply_statements(world.url, world.plan.down_statements, label="down")
    assert differences(introspect_url(world.url), world.original) == []
    with _admin(world.url) as conn:
        left = conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(world.roles.all()),)
        ).fetchall()
        assert left == []
        assert _rows_per_tenant(conn) == world.counts


def test_down_keeps_roles_it_did_not_create(pg_url: DatabaseURL) -> None:
    """A role that existed before the up (no marker) survives the down."""
    suffix = uuid.uuid4().hex[:8]
    roles = RoleNames(
        owner=f"s2k_owner_{suffix}",
        app=f"s2k_app_{suffix}",
        readonly=f"s2k_ro_{suffix}",
        admin=f"s2k_admin_{suffix}",
    )
    try:
        with _admin(pg_url) as conn:
            conn.execute(f"CREATE ROLE {roles.app} NOLOGIN")
        url = get_dialect("postgres").engine().load_files(pg_url, [CLEAN])
        schema = introspect_url(url)
        plan = generate(schema, find_tenancy(schema), roles=roles)
        apply_statements(url, plan.up_statements, label="up")
        with _admin(url) as conn:
            marked = conn.execute(
                "SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') = %s "
                "AND rolname = ANY(%s) ORDER BY 1",
                (ROLE_MARKER, list(roles.all())),
            ).fetchall()
        assert [r[0] for r in marked] == sorted([roles.owner, roles.readonly, roles.admin])
        apply_statements(url, plan.down_statements, label="down")
        assert differences(introspect_url(url), schema) == []
        with _admin(url) as conn:
            left = conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(roles.all()),)
            ).fetchall()
        assert left == [(roles.app,)]
    finally:
        _drop_roles(list(roles.all()))


def test_bypassrls_role_is_refused(pg_url: DatabaseURL) -> None:
    suffix = uuid.uuid4().hex[:8]
    roles = RoleNames(
        owner=f"s2b_owner_{suffix}",
        app=f"s2b_app_{suffix}",
        readonly=f"s2b_ro_{suffix}",
        admin=f"s2b_admin_{suffix}",
    )
    try:
        with _admin(pg_url) as conn:
            conn.execute(f"CREATE ROLE {roles.app} NOLOGIN BYPASSRLS")
        url = get_dialect("postgres").engine().load_files(pg_url, [CLEAN])
        schema = introspect_url(url)
        plan = generate(schema, find_tenancy(schema), roles=roles)
        with pytest.raises(StatementFailed, match="BYPASSRLS"):
            apply_statements(url, plan.up_statements, label="up")
        assert differences(introspect_url(url), schema) == []
    finally:
        _drop_roles(list(roles.all()))
