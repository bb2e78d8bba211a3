"""S4: `secure audit-log` on real PostgreSQL — the trail is written by a DML-only role that
can neither read nor change it, lands in the month's partition, and `down` restores the schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.base import Session
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.migrate.verify import differences
from dbarchitect.model import Schema
from dbarchitect.review.config import ReviewConfig
from dbarchitect.review.engine import review
from dbarchitect.security.auditlog import audit_log, partition_name
from dbarchitect.security.tenancy import find_tenancy
from dbarchitect.sources import introspect_url
from tests.conftest import FIXTURES, realworld_files, realworld_manifest

SCHEMA_SQL = """
CREATE TABLE tenants (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE projects (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    title text NOT NULL,
    budget numeric
);
CREATE TABLE tasks (
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    project_id bigint NOT NULL REFERENCES projects (id),
    seq int NOT NULL,
    done boolean NOT NULL DEFAULT false,
    PRIMARY KEY (project_id, seq)
);
CREATE TABLE notes (id bigint PRIMARY KEY, project_id bigint REFERENCES projects (id), body text);
CREATE TABLE events (at timestamptz NOT NULL, id bigint NOT NULL, kind text,
                     PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_all PARTITION OF events DEFAULT;
CREATE TABLE scratchpad (x int);
"""


@pytest.fixture
def loaded(pg_url: DatabaseURL) -> Iterator[tuple[DatabaseURL, Schema, str]]:
    """The schema loaded, a DML-only role (unique name) that is dropped afterwards."""
    engine = get_dialect("postgres").engine()
    engine.run_script(pg_url, SCHEMA_SQL)
    role = f"s4_app_{uuid.uuid4().hex[:10]}"
    with engine.connect(pg_url, read_only=False) as s:
        s.execute(f"CREATE ROLE {role} NOLOGIN")
    try:
        yield pg_url, introspect_url(pg_url), role
    finally:
        with engine.connect(pg_url, read_only=False) as s:
            s.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def _refused(s: Session, sql: str) -> str:
    try:
        s.execute(sql)
    except psycopg.errors.InsufficientPrivilege as exc:
        return str(exc).splitlines()[0]
    raise AssertionError(f"allowed: {sql}")


def _rows(s: Session) -> list[dict[str, Any]]:
    return s.fetch(
        "SELECT tableoid::regclass::text AS part, actor, app_user, tenant, table_name, "
        "operation, row_key, old_row, new_row, txid FROM audit.log ORDER BY id"
    )


def test_trail_written_by_dml_role_unreadable_and_down_restores(
    loaded: tuple[DatabaseURL, Schema, str],
) -> None:
    url, original, role = loaded
    plan = audit_log(original, tenancy=find_tenancy(original))
    # Every table with a primary key, partitions left to their parent, keyless scratchpad out.
    assert plan.tables == (
        "public.events",
        "public.notes",
        "public.projects",
        "public.tasks",
        "public.tenants",
    )
    month = partition_name(datetime.now(UTC).date())
    engine = get_dialect("postgres").engine()
    with engine.connect(url, read_only=False) as s:
        s.execute(plan.up)
        s.execute(
            f"GRANT USAGE ON SCHEMA public TO {role};"
            "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public "
            f"TO {role};"
        )
        s.execute(f"SET ROLE {role}")
        s.execute("SET app.user_id = 'alice@example.com'")
        s.execute("INSERT INTO tenants VALUES (7, 'acme')")
        s.execute("INSERT INTO projects (tenant_id, title, budget) VALUES (7, 'roof', 10)")
        s.execute("INSERT INTO tasks VALUES (7, 1, 1, false)")
        s.execute("UPDATE projects SET title = 'roof v2' WHERE id = 1")
        s.execute("UPDATE tasks SET done = true")
        s.execute("INSERT INTO events VALUES ('2020-01-01 00:00:00+00', 1, 'x')")
        s.execute("DELETE FROM tasks")
        s.execute("RESET app.user_id")
        s.execute("DELETE FROM projects")
        s.execute("TRUNCATE events")
        s.execute("RESET ROLE")
        rows = _rows(s)
        part = f"audit.{month}"
        assert [(r["part"], r["table_name"], r["operation"]) for r in rows] == [
            (part, "tenants", "INSERT"),
            (part, "projects", "INSERT"),
            (part, "tasks", "INSERT"),
            (part, "projects", "UPDATE"),
            (part, "tasks", "UPDATE"),
            (part, "events", "INSERT"),
            (part, "tasks", "DELETE"),
            (part, "projects", "DELETE"),
            (part, "events", "TRUNCATE"),
        ]
        assert {r["actor"] for r in rows} == {role}
        assert [r["app_user"] for r in rows] == ["alice@example.com"] * 7 + [None, None]
        # The tenants table records its own key as the tenant; untenanted events record none.
        assert [r["tenant"] for r in rows] == ["7", "7", "7", "7", "7", None, "7", "7", None]
        assert rows[1]["new_row"] == {"id": 1, "tenant_id": 7, "title": "roof", "budget": 10}
        assert rows[1]["old_row"] is None
        # UPDATE: only the changed columns, the key kept beside them.
        assert rows[3]["old_row"] == {"title": "roof"}
        assert rows[3]["new_row"] == {"title": "roof v2"}
        assert rows[4]["row_key"] == {"project_id": 1, "seq": 1}
        assert (rows[4]["old_row"], rows[4]["new_row"]) == ({"done": False}, {"done": True})
        assert rows[7]["old_row"] == {"id": 1, "tenant_id": 7, "title": "roof v2", "budget": 10}
        assert rows[7]["new_row"] is None
        assert rows[8]["row_key"] is None and rows[8]["old_row"] is None
        assert len({r["txid"] for r in rows}) == 9  # autocommit: one transaction each

        # Even with USAGE on the audit schema the role cannot read or change the trail.
        s.execute(f"GRANT USAGE ON SCHEMA audit TO {role}; SET ROLE {role}")
        for sql in (
            "SELECT * FROM audit.log",
            f"SELECT * FROM audit.{month}",
            "UPDATE audit.log SET actor = 'nobody'",
            "DELETE FROM audit.log",
            "TRUNCATE audit.log",
            "INSERT INTO audit.log (schema_name, table_name, operation) "
            "VALUES ('public', 'x', 'DELETE')",
        ):
            assert "permission denied" in _refused(s, sql)
        s.execute("RESET ROLE")
        s.execute(f"REVOKE USAGE ON SCHEMA audit FROM {role}")
        assert s.fetch("SELECT count(*) AS n FROM audit.log")[0]["n"] == 9

        # The maintenance notes' SQL runs as written.
        for note in plan.notes[:3]:
            s.execute(note.split(":\n", 1)[1])
        assert s.fetch("SELECT to_regclass('audit.log_y2027m11') IS NOT NULL AS ok")[0]["ok"]
        s.execute(plan.down)
        s.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        s.execute(f"REVOKE ALL ON SCHEMA public FROM {role}")
    assert differences(introspect_url(url), original) == []


def test_applied_plan_passes_the_security_definer_rules(
    loaded: tuple[DatabaseURL, Schema, str],
) -> None:
    url, original, _ = loaded
    plan = audit_log(original, ["projects", "public.tasks"], start=date(2025, 12, 17), months=2)
    assert plan.tables == ("public.projects", "public.tasks")
    assert "log_y2025m12" in plan.up and "log_y2026m01" in plan.up
    assert "log_y2026m02 PARTITION" not in plan.up
    get_dialect("postgres").engine().run_script(url, plan.up)
    applied = introspect_url(url)
    parts = sorted(t.name for t in applied.tables if t.partition_of == "audit.log")
    assert parts == ["log_default", "log_y2025m12", "log_y2026m01"]
    fn = next(f for f in applied.functions if f.schema == "audit")
    assert fn.security_definer and dict(fn.config)["search_path"] == "pg_catalog, pg_temp"
    assert sorted(tr.name for t in applied.tables for tr in t.triggers if not tr.inherited) == [
        "dbarch_audit",
        "dbarch_audit",
        "dbarch_audit_truncate",
        "dbarch_audit_truncate",
    ]
    rules = (
        "security-definer-without-search-path",
        "security-definer-executable-by-public",
        "grant-to-public",
    )
    found = review(applied, ReviewConfig(only=frozenset(rules)))
    assert [f for f in found if f.object.startswith("audit")] == []


def test_bad_input_is_one_line(loaded: tuple[DatabaseURL, Schema, str]) -> None:
    _, original, _ = loaded
    with pytest.raises(InputError, match="no table 'nope'"):
        audit_log(original, ["nope"])
    with pytest.raises(InputError, match="partition"):
        audit_log(original, ["public.events_all"])
    with pytest.raises(InputError, match="schema 'public' already exists"):
        audit_log(original, audit_schema="public")
    with pytest.raises(InputError, match="at least 1"):
        audit_log(original, months=0)


def _load_realworld(url: DatabaseURL, name: str) -> DatabaseURL:
    dataset = next(d for d in realworld_manifest()["datasets"] if d["name"] == name)
    files = [Path(f) for f in realworld_files(dataset)]
    return get_dialect("postgres").engine().load_files(url, files)


def test_pagila_partitioned_payment_audited_under_its_parent(pg_url: DatabaseURL) -> None:
    url = _load_realworld(pg_url, "pagila")
    original = introspect_url(url)
    plan = audit_log(original, start=date(2022, 1, 1), months=7)
    # Every table with a key (partitions through their parent), none of the 7 payment_p*.
    assert len(plan.tables) == 15 and "public.payment" in plan.tables
    assert not [t for t in plan.tables if t.startswith("public.payment_p")]
    with get_dialect("postgres").engine().connect(url, read_only=False) as s:
        s.execute(plan.up)
        s.execute(
            "UPDATE payment SET amount = amount + 1 "
            "WHERE payment_id = 16051 AND payment_date < '2022-02-01'"
        )
        s.execute("UPDATE customer SET email = lower(email) WHERE customer_id = 1")
        rows = s.fetch(
            "SELECT table_name, operation, row_key, old_row, new_row FROM audit.log ORDER BY id"
        )
        s.execute(plan.down)
    assert rows[0]["table_name"] == "payment"  # not payment_p2022_01
    assert rows[0]["row_key"] == {
        "payment_id": 16051,
        "payment_date": "2022-01-29T01:58:52.222594+00:00",
    }
    assert float(rows[0]["new_row"]["amount"]) == float(rows[0]["old_row"]["amount"]) + 1
    assert set(rows[0]["old_row"]) == {"amount"}
    # Pagila's own BEFORE trigger bumps last_update: the change recorded is the final row's.
    assert rows[1]["table_name"] == "customer"
    assert set(rows[1]["new_row"]) == {"email", "last_update"}
    assert rows[1]["new_row"]["email"] == "mary.smith@sakilacustomer.org"
    assert differences(introspect_url(url), original) == []


def test_basejump_round_trip_with_its_tenancy(pg_url: DatabaseURL) -> None:
    url = _load_realworld(pg_url, "basejump")
    original = introspect_url(url)
    tenancy = find_tenancy(original)
    plan = audit_log(original, tenancy=tenancy)
    assert tenancy.column == "account_id"
    args = {
        line.split(" ON ")[1].split()[0]: line.split("audit.log_row(")[1].rstrip(");")
        for line in plan.up.replace("\n    FOR EACH ROW", "").splitlines()
        if line.startswith("CREATE TRIGGER dbarch_audit AFTER INSERT")
    }
    assert args["basejump.account_user"] == "'account_id', 'user_id', 'account_id'"
    assert args["basejump.accounts"] == "'id', 'id'"  # the tenants table: its own key
    get_dialect("postgres").engine().run_script(url, plan.up + plan.down)
    assert differences(introspect_url(url), original) == []


def test_clean_fixture_under_forced_rls(loaded: tuple[DatabaseURL, Schema, str]) -> None:
    """The shared multi-tenant fixture: tenant tables record their tenant, the indirect
    invoice_lines is named in the notes, and the trail is written under FORCEd RLS."""
    url, _, role = loaded
    engine = get_dialect("postgres").engine()
    with engine.connect(url, read_only=False) as s:  # the fixture wants its own database
        s.execute("DROP TABLE tasks, notes, events, projects, tenants, scratchpad CASCADE")
    engine.load_files(url, [FIXTURES / "security" / "clean.sql"])
    original = introspect_url(url)
    tenancy = find_tenancy(original)
    plan = audit_log(original, tenancy=tenancy)
    assert plan.tables == (
        "public.invoice_lines",
        "public.invoices",
        "public.projects",
        "public.tasks",
        "public.tenants",
        "public.users",
    )
    assert any("public.invoice_lines" in n for n in plan.notes)
    with engine.connect(url, read_only=False) as s:
        s.execute(plan.up)
        s.execute(
            "INSERT INTO tenants (name) VALUES ('a'), ('b');"
            "ALTER TABLE users ENABLE ROW LEVEL SECURITY; ALTER TABLE users FORCE ROW LEVEL "
            "SECURITY; CREATE POLICY iso ON users USING (tenant_id = "
            "current_setting('app.tenant_id')::bigint);"
            f"GRANT USAGE ON SCHEMA public TO {role};"
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON users TO {role}"
        )
        s.execute(f"SET ROLE {role}; SET app.tenant_id = '2'; SET app.user_id = 'u-9'")
        s.execute("INSERT INTO users (tenant_id, email) VALUES (2, 'b@example.com')")
        s.execute("UPDATE users SET display_name = 'Bea'")
        s.execute("RESET ROLE; RESET app.tenant_id; RESET app.user_id")
        rows = s.fetch(
            "SELECT actor, app_user, tenant, table_name, operation, new_row FROM audit.log "
            "WHERE table_name = 'users' ORDER BY id"
        )
        s.execute(plan.down)
        s.execute(
            "DROP POLICY iso ON users; ALTER TABLE users NO FORCE ROW LEVEL SECURITY;"
            "ALTER TABLE users DISABLE ROW LEVEL SECURITY;"
            f"REVOKE ALL ON users FROM {role};"
            f"REVOKE ALL ON SCHEMA public FROM {role}"
        )
    assert [(r["actor"], r["app_user"], r["tenant"], r["operation"]) for r in rows] == [
        (role, "u-9", "2", "INSERT"),
        (role, "u-9", "2", "UPDATE"),
    ]
    assert rows[1]["new_row"] == {"display_name": "Bea"}
    assert differences(introspect_url(url), original) == []
