"""Helper S3: `dbarch secure test` proves tenant isolation by attacking a scratch copy.

Real PostgreSQL throughout: a schema with correct RLS (every attack blocked, also as the
table owner), the same schema with four planted holes (each reported leaked with its SQL),
a live source left byte-for-byte unchanged, the pgTAP file judged by pg_prove, Basejump.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbarchitect.engines import pgcluster
from dbarchitect.engines.postgres import PostgresEngine, conninfo, scratch_url
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.migrate.apply import apply_statements
from dbarchitect.model.serialize import to_json
from dbarchitect.security.prove import ProofReport, prove
from dbarchitect.security.prove_pgtap import write_pgtap
from dbarchitect.security.rls import RoleNames, generate
from dbarchitect.security.tenancy import find_tenancy
from dbarchitect.sources import introspect_url

from ..conftest import REALWORLD, realworld_files, realworld_manifest

TABLES = """
CREATE TABLE tenants (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE projects (
  tenant_id integer NOT NULL REFERENCES tenants(id),
  id integer GENERATED ALWAYS AS IDENTITY,
  name text NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);
CREATE TABLE tasks (
  tenant_id integer NOT NULL REFERENCES tenants(id),
  id bigserial,
  project_id integer NOT NULL,
  title text NOT NULL CHECK (length(title) > 0),
  done boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, project_id) REFERENCES projects(tenant_id, id)
);
CREATE TABLE invoices (
  tenant_id integer NOT NULL REFERENCES tenants(id),
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  number text NOT NULL,
  {invoice_unique}
);
CREATE TABLE invoice_lines (
  invoice_id uuid NOT NULL REFERENCES invoices(id),
  line integer NOT NULL,
  amount numeric(10,2) NOT NULL CHECK (amount >= 0),
  PRIMARY KEY (invoice_id, line)
);
CREATE FUNCTION current_tenant() RETURNS integer LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::integer $$;
CREATE VIEW open_tasks WITH (security_invoker = true) AS
  SELECT tenant_id, id, title FROM tasks WHERE NOT done;
CREATE FUNCTION project_tasks(p integer) RETURNS SETOF tasks LANGUAGE sql STABLE
  AS $$ SELECT * FROM tasks WHERE project_id = p $$;
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY iso ON tenants USING (id = current_tenant()) WITH CHECK (id = current_tenant());
"""

ISOLATED = """
ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {t} FORCE ROW LEVEL SECURITY;
CREATE POLICY iso ON {t} USING (tenant_id = current_tenant())
  WITH CHECK (tenant_id = current_tenant());
"""

LINES = """
ALTER TABLE invoice_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY iso ON invoice_lines
  USING (EXISTS (SELECT 1 FROM invoices i WHERE i.id = invoice_id))
  WITH CHECK (EXISTS (SELECT 1 FROM invoices i WHERE i.id = invoice_id));
"""

# The tasks UPDATE policy checks nothing about the new row: A can move its rows to B.
LOOSE_TASKS = """
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
CREATE POLICY t_select ON tasks FOR SELECT USING (tenant_id = current_tenant());
CREATE POLICY t_insert ON tasks FOR INSERT WITH CHECK (tenant_id = current_tenant());
CREATE POLICY t_update ON tasks FOR UPDATE USING (tenant_id = current_tenant()) WITH CHECK (true);
CREATE POLICY t_delete ON tasks FOR DELETE USING (tenant_id = current_tenant());
"""

HOLES = """
CREATE VIEW all_tasks AS SELECT tenant_id, id, title FROM tasks;
CREATE FUNCTION tenant_invoices(t integer) RETURNS SETOF invoices
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT * FROM invoices WHERE tenant_id = t $$;
"""

GRANTS = """
GRANT USAGE ON SCHEMA public TO {app};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {app};
"""


def good(app: str) -> str:
    """Every tenant table isolated for reads and writes, FORCEd, tenant-scoped uniques."""
    body = TABLES.format(invoice_unique="UNIQUE (tenant_id, number)")
    body += "".join(ISOLATED.format(t=t) for t in ("projects", "tasks", "invoices"))
    return body + LINES + GRANTS.format(app=app)


def leaky(app: str) -> str:
    """The good schema with four holes: tasks can be moved to another tenant, a view
    without security_invoker, a SECURITY DEFINER function, a global unique invoice number."""
    body = TABLES.format(invoice_unique="UNIQUE (number)")
    body += "".join(ISOLATED.format(t=t) for t in ("projects", "invoices"))
    return body + LOOSE_TASKS + LINES + HOLES + GRANTS.format(app=app)


LEAKS = {
    ("public.tasks", "move-all"),
    ("public.all_tasks", "view"),
    ("public.tenant_invoices(t integer)", "function"),
    ("public.invoices", "unique:invoices_number_key"),
}


@pytest.fixture
def app_role() -> Iterator[str]:
    """An application role of our own (roles are cluster-wide: unique name, dropped)."""
    name = f"s3app_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo(scratch_url()), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {name} NOLOGIN")
    yield name
    with psycopg.connect(conninfo(scratch_url()), autocommit=True) as admin:
        admin.execute(f"DROP ROLE {name}")


def _prove_roles() -> set[str]:
    with psycopg.connect(conninfo(scratch_url()), autocommit=True) as admin:
        rows = admin.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'dbarch_prove_%'")
        return {str(r[0]) for r in rows.fetchall()}


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.sql"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _status(report: ProofReport) -> dict[tuple[str, str], str]:
    return {(o.object, o.attack): o.status for o in report.outcomes}


def test_correct_rls_blocks_every_attack(tmp_path: Path, app_role: str) -> None:
    report = prove(_file(tmp_path, "good", good(app_role)))
    assert report.app_role == app_role  # found by its DML grants
    assert report.context == "SET LOCAL app.tenant_id = 31001"  # read from current_tenant()
    assert report.count("leaked") == 0 and report.count("error") == 0
    assert report.count("blocked") >= 45
    assert report.rows["public.tasks"] == (20, 20)
    assert report.rows["public.tenants"] == (1, 1)
    assert report.unfilled == {}
    status = _status(report)
    for kind in ("read-by-key", "read-by-tenant", "count", "update", "delete", "insert", "move"):
        assert status[("public.tasks", kind)] == "blocked", kind
        assert status[("public.invoice_lines", kind)] == "blocked", kind  # indirect table
    assert status[("public.open_tasks", "view")] == "blocked"
    assert status[("public.project_tasks(p integer)", "function")] == "blocked"
    # Called with B's project id too (the argument's type matches tasks.project_id).
    assert status[("public.project_tasks(p integer)", "function:project_id")] == "blocked"
    assert status[("public.tasks", "fk:tasks_tenant_id_project_id_fkey")] == "blocked"
    assert status[("public.tasks_id_seq", "sequence")] == "blocked"  # USAGE only, no SELECT
    # A sees its own rows, so the blocked reads are real refusals of B's.
    count = next(o for o in report.outcomes if o.object == "public.tasks" and o.attack == "count")
    assert count.evidence == "20 row(s) seen (A's own: 20)"
    assert not any(n.startswith("tenant A sees none") for n in report.notes)
    assert report.role not in _prove_roles()  # dropped


def test_correct_rls_blocks_the_table_owner_too(tmp_path: Path, app_role: str) -> None:
    report = prove(_file(tmp_path, "good", good(app_role)), as_owner=True, rows_per_tenant=5)
    assert report.as_owner
    assert report.count("leaked") == 0 and report.count("error") == 0
    assert report.count("blocked") >= 45


def test_without_force_the_owner_reads_everything(tmp_path: Path, app_role: str) -> None:
    text = good(app_role).replace("ALTER TABLE projects FORCE ROW LEVEL SECURITY;", "")
    report = prove(_file(tmp_path, "noforce", text), as_owner=True, rows_per_tenant=5)
    leaked = {k for k, v in _status(report).items() if v == "leaked"}
    assert ("public.projects", "read-by-key") in leaked
    assert ("public.projects", "count") in leaked
    assert all(obj == "public.projects" for obj, _ in leaked)


def test_each_planted_hole_is_reported_with_its_sql(tmp_path: Path, app_role: str) -> None:
    report = prove(_file(tmp_path, "leaky", leaky(app_role)))
    leaked = {(o.object, o.attack): o for o in report.leaks}
    assert set(leaked) == LEAKS
    assert report.count("error") == 0
    move = leaked[("public.tasks", "move-all")]
    assert move.sql.startswith("UPDATE public.tasks SET tenant_id = '31002'::integer")
    assert move.evidence == "20 row(s) changed"
    view = leaked[("public.all_tasks", "view")]
    assert view.sql == "SELECT count(*) FROM public.all_tasks WHERE tenant_id = '31002'::integer"
    assert view.evidence == "20 row(s) seen"
    fn = leaked[("public.tenant_invoices(t integer)", "function")]
    assert "public.tenant_invoices('31002'::integer)" in fn.sql
    unique = leaked[("public.invoices", "unique:invoices_number_key")]
    assert unique.sql.startswith("INSERT INTO public.invoices")
    assert "23505" in unique.evidence
    # The keyed move is stopped by the SELECT policy; only the WHERE-less one gets through.
    assert _status(report)[("public.tasks", "move")] == "blocked"
    doc = json.loads(report.to_json())
    assert doc["summary"]["leaked"] == 4
    text = report.render_text()
    assert text.index("LEAKED") < text.index("BLOCKED")
    assert move.sql in text


def _fingerprint(url: DatabaseURL) -> str:
    """The schema (canonical JSON) and every table's rows, hashed."""
    schema = introspect_url(url)
    digest = hashlib.sha256(to_json(schema).encode())
    with psycopg.connect(conninfo(url)) as conn:
        for t in schema.tables:
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), ''))"
                f' FROM "{t.schema}"."{t.name}" x'
            ).fetchone()
            digest.update(repr((t.qualified, row)).encode())
    return digest.hexdigest()


def test_live_source_is_copied_and_left_unchanged(app_role: str, pg_url: DatabaseURL) -> None:
    engine = PostgresEngine()
    engine.run_script(pg_url, leaky(app_role))
    with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
        conn.execute("INSERT INTO tenants VALUES (1, 'one')")
        conn.execute("INSERT INTO projects (tenant_id, name) VALUES (1, 'p')")
    before = _fingerprint(pg_url)
    report = prove(str(pg_url), rows_per_tenant=5)
    assert {(o.object, o.attack) for o in report.leaks} == LEAKS
    assert _fingerprint(pg_url) == before
    assert report.role not in _prove_roles()
    # With someone connected the clone cannot be made: pg_dump is the copy, and it keeps the
    # grants (the roles they name are created in the scratch cluster first), so the attacker
    # gets the same application role's rights as through the clone.
    with psycopg.connect(conninfo(pg_url)):
        dumped = prove(str(pg_url), rows_per_tenant=5)
    assert {(o.object, o.attack) for o in dumped.leaks} == LEAKS
    assert dumped.app_role == report.app_role == app_role
    assert not any("granted DML" in n for n in dumped.notes)
    assert _fingerprint(pg_url) == before


def _pg_prove(url: DatabaseURL, tap: Path) -> subprocess.CompletedProcess[str]:
    pg_prove = shutil.which("pg_prove")
    assert pg_prove is not None, "pg_prove missing: apt-get install postgresql-15-pgtap"
    cmd = [pg_prove, "-h", url.host or "", "-p", str(url.port or 5432), "-U", url.user or ""]
    cmd += ["-d", url.database or "", str(tap)]
    return subprocess.run(
        cmd, capture_output=True, text=True, env=pgcluster.client_env(), check=False
    )


@pytest.mark.parametrize("kind", ["good", "leaky"])
def test_pgtap_file_passes_on_good_and_fails_on_leaky(
    tmp_path: Path, app_role: str, pg_url: DatabaseURL, kind: str
) -> None:
    text = good(app_role) if kind == "good" else leaky(app_role)
    report = prove(_file(tmp_path, kind, text), rows_per_tenant=5)
    tap = tmp_path / f"{kind}.tap.sql"
    write_pgtap(report, tap)
    PostgresEngine().run_script(pg_url, text)
    proc = _pg_prove(pg_url, tap)
    planned = report.count("blocked") + report.count("leaked") + report.count("error")
    if kind == "good":
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"Tests={planned}" in proc.stdout
    else:
        assert proc.returncode != 0
        assert f"Failed {len(LEAKS)}/{planned} subtests" in proc.stdout
        for obj, attack in LEAKS:
            assert f'"{obj} {attack}: blocked"' in proc.stdout
    # The file rolls back: no rows and no role stay behind.
    with psycopg.connect(conninfo(pg_url)) as conn:
        row = conn.execute("SELECT count(*) FROM tasks").fetchone()
    assert row == (0,)
    assert report.role not in _prove_roles()


UNFILLABLE = """
CREATE TABLE tenants (id integer PRIMARY KEY);
CREATE TABLE notes (tenant_id integer NOT NULL REFERENCES tenants(id),
  id integer PRIMARY KEY, body text NOT NULL CHECK (body LIKE 'x%'));
CREATE TABLE widgets (tenant_id integer NOT NULL REFERENCES tenants(id), id integer PRIMARY KEY);
"""


def test_a_table_it_cannot_fill_is_reported_not_fatal(tmp_path: Path) -> None:
    report = prove(_file(tmp_path, "unfillable", UNFILLABLE), rows_per_tenant=3)
    assert "public.notes" in report.unfilled
    assert "violates check constraint" in report.unfilled["public.notes"]
    status = _status(report)
    assert status[("public.notes", "all")] == "not applicable"
    # No role has grants here: DML was granted to the test role itself, and it says so.
    assert report.app_role is None
    assert any("granted DML" in n for n in report.notes)
    # Without any RLS the widgets leak.
    assert status[("public.widgets", "read-by-key")] == "leaked"


def test_definer_function_reached_with_bs_key(tmp_path: Path, app_role: str) -> None:
    text = good(app_role).replace(
        "RETURNS SETOF tasks LANGUAGE sql STABLE",
        "RETURNS SETOF tasks LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public",
    )
    report = prove(_file(tmp_path, "definer", text), rows_per_tenant=3)
    leaked = {(o.object, o.attack): o for o in report.leaks}
    assert set(leaked) == {("public.project_tasks(p integer)", "function:project_id")}
    assert leaked[("public.project_tasks(p integer)", "function:project_id")].sql.startswith(
        "SELECT count(*) FROM public.project_tasks('"
    )


def test_materialized_view_and_readable_sequence_leak(tmp_path: Path, app_role: str) -> None:
    extra = f"""
CREATE MATERIALIZED VIEW task_stats AS SELECT tenant_id, count(*) AS n FROM tasks GROUP BY 1;
GRANT SELECT ON task_stats TO {app_role};
GRANT SELECT ON SEQUENCE tasks_id_seq TO {app_role};
"""
    report = prove(_file(tmp_path, "matview", good(app_role) + extra), rows_per_tenant=3)
    leaked = {(o.object, o.attack): o for o in report.leaks}
    assert set(leaked) == {("public.task_stats", "view"), ("public.tasks_id_seq", "sequence")}
    # Refreshed after the rows were generated, so B's tenant shows up in it.
    assert leaked[("public.task_stats", "view")].evidence == "1 row(s) seen"


def test_explicit_tenant_template_and_app_role(tmp_path: Path, app_role: str) -> None:
    sql = "SELECT set_config('app.tenant_id', '{tenant}', true)"
    report = prove(
        _file(tmp_path, "good", good(app_role)),
        app_role=app_role,
        as_tenant_sql=sql,
        rows_per_tenant=3,
    )
    assert report.context == "--as-tenant-sql: SELECT set_config('app.tenant_id', '31001', true)"
    assert report.count("leaked") == 0 and report.count("error") == 0
    with pytest.raises(InputError, match="no such role"):
        prove(_file(tmp_path, "good", good(app_role)), app_role="no_such_role_s3")


def test_other_dialects_are_refused() -> None:
    with pytest.raises(InputError, match="available for PostgreSQL only"):
        prove("sqlite:///nowhere.db")


def test_basejump_is_proved_without_error() -> None:
    dataset = next(d for d in realworld_manifest()["datasets"] if d["name"] == "basejump")
    assert (REALWORLD / "basejump").is_dir()
    report = prove(realworld_files(dataset), rows_per_tenant=5)
    assert report.app_role == "authenticated"
    assert report.context.startswith("JWT claims: user ")
    assert report.count("error") == 0
    assert report.unfilled == {}
    assert not any(n.startswith("tenant A sees none") for n in report.notes)
    # Globally unique slug and invitation token: A learns B's values exist.
    assert {(o.object, o.attack) for o in report.leaks} == {
        ("basejump.accounts", "unique:accounts_slug_key"),
        ("basejump.invitations", "unique:invitations_token_key"),
    }
    assert report.count("blocked") >= 40


CLEAN = Path(__file__).resolve().parent.parent / "fixtures" / "security" / "clean.sql"


def test_after_secure_rls_every_attack_is_blocked_also_as_owner() -> None:
    """The issue's loop: clean.sql leaks everywhere; after `dbarch secure rls`'s migration
    every attack is blocked, for the application role and for the table owner."""
    suffix = uuid.uuid4().hex[:8]
    roles = RoleNames(
        owner=f"s3_owner_{suffix}",
        app=f"s3_app_{suffix}",
        readonly=f"s3_ro_{suffix}",
        admin=f"s3_admin_{suffix}",
    )
    engine = PostgresEngine()
    try:
        with engine.scratch() as scratch:
            url = engine.load_files(scratch, [CLEAN])
            before = prove(str(url), rows_per_tenant=5)
            tenancy_tables = {o.object for o in before.leaks}
            assert {"public.projects", "public.tasks", "public.invoice_lines"} <= tenancy_tables
            original = introspect_url(url)
            plan = generate(original, find_tenancy(original), roles=roles)
            apply_statements(url, plan.up_statements, label="up")
            for as_owner in (False, True):
                report = prove(str(url), as_owner=as_owner, rows_per_tenant=5)
                assert report.app_role == roles.app  # not the admin role the policies favour
                assert report.count("leaked") == 0, report.render_text()
                assert report.count("error") == 0, report.render_text()
                assert report.count("blocked") >= 50
    finally:
        with psycopg.connect(conninfo(scratch_url()), autocommit=True) as admin:
            for name in reversed(roles.all()):
                admin.execute(f"DROP ROLE IF EXISTS {name}")
