"""`dbarch secure audit` on tests/fixtures/security/holes.sql: every planted hole is first
exploited on real PostgreSQL as the application role with tenant A (1) set, then the audit must
report exactly the holes, with the right rule and object, and nothing on the ok_* objects.

The fixture's roles (holes_owner, holes_app, holes_bypass, holes_other) are renamed with a
random prefix before it runs, so parallel runs and other tests never share a role; they are
dropped at the end.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.postgres.security import collect_facts
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.report.findings import render_findings
from dbarchitect.review.finding import Finding
from dbarchitect.security.audit import audit, audit_schema, audit_url, report_rules
from dbarchitect.security.tenancy import find_tenancy

HOLES = Path(__file__).resolve().parent.parent / "fixtures" / "security" / "holes.sql"
ROLES = ("owner", "app", "bypass", "other")


@dataclasses.dataclass(frozen=True)
class Holes:
    url: DatabaseURL  # as the superuser that loaded the fixture
    prefix: str  # the roles are f"{prefix}_{name}"

    def role(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def connect(self, role: str = "app", tenant: str | None = "1") -> psycopg.Connection[Any]:
        """An autocommit connection as `role`, with app.tenant_id set to `tenant`."""
        url = dataclasses.replace(self.url, user=self.role(role), password="holes")
        conn = psycopg.connect(conninfo(url), autocommit=True)
        if tenant is not None:
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant,))
        return conn

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(conninfo(self.url), autocommit=True)


@contextmanager
def loaded() -> Iterator[Holes]:
    """holes.sql in a scratch database, with its roles renamed; roles dropped after."""
    prefix = f"holes_{secrets.token_hex(4)}"
    sql = re.sub(r"\bholes_(owner|app|bypass|other)\b", rf"{prefix}_\1", HOLES.read_text())
    engine = get_dialect("postgres").engine()
    with engine.scratch() as url:
        h = Holes(url=url, prefix=prefix)
        try:
            with h.admin() as conn:
                conn.execute(sql.encode())
            yield h
        finally:
            names = ", ".join(h.role(r) for r in ROLES)
            with h.admin() as conn:
                exists = conn.execute(
                    "SELECT count(*) FROM pg_roles WHERE rolname LIKE %s", (prefix + "\\_%",)
                ).fetchone()
                if exists and exists[0]:
                    conn.execute(f"DROP OWNED BY {names} CASCADE")
                    for r in ROLES:
                        conn.execute(f"DROP ROLE IF EXISTS {h.role(r)}")


@pytest.fixture(scope="module")
def holes() -> Iterator[Holes]:
    """One loaded fixture shared by the module: exploits touch only their own table's rows."""
    with loaded() as h:
        yield h


def rows(conn: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    return list(conn.execute(sql.encode()).fetchall())


# Exploits: each planted hole, proven on the database -----------------------------------------


def test_ok_objects_hold(holes: Holes) -> None:
    with holes.connect() as a:
        assert rows(a, "SELECT name FROM ok_projects") == [("a-project",)]
        assert rows(a, "SELECT name FROM ok_projects_view") == [("a-project",)]
        assert rows(a, "SELECT title FROM ok_tasks") == [("a-task",)]
        assert rows(a, "SELECT note FROM ok_task_notes") == [("a-note",)]
        assert rows(a, "SELECT ok_project_count()") == [(1,)]
        assert rows(a, "SELECT body FROM ok_restricted_read") == [("a",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("UPDATE ok_restricted_read SET tenant_id = 2")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("SELECT * FROM ok_tenant_totals")
        # Moving a task to B is refused by USING standing in for WITH CHECK.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("UPDATE ok_tasks SET tenant_id = 2")
        # The composite key answers the same whether B's project 2 exists or not.
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            a.execute("INSERT INTO ok_tasks (tenant_id, project_id, title) VALUES (1, 2, 'x')")
    with holes.connect(tenant=None) as nobody:
        assert rows(nobody, "SELECT * FROM ok_projects") == []


def test_exploit_tenant_table_without_rls(holes: Holes) -> None:
    with holes.connect() as a:
        assert rows(a, "SELECT body FROM leaky_no_rls WHERE tenant_id = 2") == [("b",)]


def test_exploit_rls_not_forced_on_app_owned_table(holes: Holes) -> None:
    with holes.connect() as a:
        assert rows(a, "SELECT body FROM leaky_owned_by_app WHERE tenant_id = 2") == [("b",)]


def test_not_forced_table_confines_the_app_but_not_its_owner(holes: Holes) -> None:
    with holes.connect() as a:
        assert rows(a, "SELECT body FROM info_not_forced") == [("a",)]
    with holes.admin() as admin:
        admin.execute(f"SET ROLE {holes.role('owner')}")
        assert len(rows(admin, "SELECT body FROM info_not_forced")) == 2


def test_exploit_set_role_to_bypassrls(holes: Holes) -> None:
    with holes.connect() as a:
        a.execute(f"SET ROLE {holes.role('bypass')}")
        assert rows(a, "SELECT name FROM ok_projects WHERE tenant_id = 2") == [("b-project",)]


def test_exploit_permissive_policy_or(holes: Holes) -> None:
    with holes.connect() as a:
        assert rows(a, "SELECT body FROM leaky_archived_read WHERE tenant_id = 2") == [("b",)]


@pytest.mark.parametrize("table", ["leaky_check_true", "leaky_move_rows"])
def test_exploit_move_rows_to_other_tenant(holes: Holes, table: str) -> None:
    with holes.connect() as a:
        # A WHERE (or RETURNING) would make PostgreSQL check the new row against the SELECT
        # policies too; a bare UPDATE of every visible row is checked by WITH CHECK alone.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute(f"UPDATE {table} SET tenant_id = 2 WHERE body = 'a'")
        assert a.execute(f"UPDATE {table} SET tenant_id = 2").rowcount == 1
    with holes.admin() as admin:
        assert rows(admin, f"SELECT tenant_id FROM {table} WHERE body = 'a'") == [(2,)]


def test_exploit_insert_for_other_tenant(holes: Holes) -> None:
    with holes.connect() as a:
        a.execute("INSERT INTO leaky_insert_any (tenant_id, body) VALUES (2, 'planted')")
    with holes.admin() as admin:
        assert rows(admin, "SELECT tenant_id FROM leaky_insert_any WHERE body = 'planted'") == [
            (2,)
        ]


@pytest.mark.parametrize("table", ["leaky_null_setting", "leaky_coalesce"])
def test_exploit_missing_setting_matches_all(holes: Holes, table: str) -> None:
    with holes.connect(tenant=None) as unset:
        assert rows(unset, f"SELECT count(*) FROM {table} WHERE tenant_id = 2") == [(1,)]


def test_exploit_self_comparison(holes: Holes) -> None:
    with holes.connect() as a:
        assert rows(a, "SELECT body FROM leaky_self_compare WHERE tenant_id = 2") == [("b",)]


def test_exploit_like_wildcard(holes: Holes) -> None:
    with holes.connect(tenant="1") as a:
        assert rows(a, "SELECT body FROM leaky_like") == [("a",)]
    with holes.connect(tenant="%") as wildcard:
        assert rows(wildcard, "SELECT count(*) FROM leaky_like") == [(2,)]


def test_uncovered_commands_are_denied(holes: Holes) -> None:
    with holes.connect() as a:
        assert rows(a, "SELECT body FROM info_select_only") == [("a",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("INSERT INTO info_select_only (tenant_id, body) VALUES (1, 'x')")
        assert a.execute("UPDATE info_select_only SET body = 'x'").rowcount == 0
        assert a.execute("DELETE FROM info_select_only").rowcount == 0


def test_exploit_view_without_security_invoker(holes: Holes) -> None:
    with holes.connect() as a:
        assert rows(a, "SELECT name FROM leaky_projects_view WHERE tenant_id = 2") == [
            ("b-project",)
        ]


def test_exploit_security_definer_returning_rows(holes: Holes) -> None:
    with holes.connect() as a:
        got = rows(a, "SELECT name FROM leaky_definer_projects() WHERE tenant_id = 2")
        assert got == [("b-project",)]


def test_exploit_security_definer_search_path(holes: Holes) -> None:
    with holes.connect() as a:
        a.execute("SET search_path = sandbox, public")
        a.execute(
            "CREATE FUNCTION sandbox.project_label(p int) RETURNS text LANGUAGE sql AS "
            "$$ SELECT string_agg(name, ',' ORDER BY name) FROM public.ok_projects $$"
        )
        assert rows(a, "SELECT leaky_definer_no_path(1)") == [("a-project,b-project",)]


def test_exploit_materialized_view(holes: Holes) -> None:
    with holes.connect() as a:
        assert rows(a, "SELECT name FROM leaky_project_stats WHERE tenant_id = 2") == [
            ("b-project",)
        ]


def test_exploit_shared_sequence(holes: Holes) -> None:
    with holes.connect() as a:
        assert rows(a, "SELECT count(*) FROM leaky_events") == [(1,)]
        # … yet the sequence says 4 rows were numbered: B's activity shows.
        assert rows(a, "SELECT last_value FROM leaky_events_id_seq") == [(4,)]


def test_exploit_grant_to_public(holes: Holes) -> None:
    with holes.connect(role="other", tenant=None) as other:
        assert rows(other, "SELECT value FROM leaky_public_settings") == [("sk-secret",)]


def test_exploit_unique_key_oracle(holes: Holes) -> None:
    with holes.connect() as a:
        a.execute("INSERT INTO leaky_unique_email (tenant_id, email) VALUES (1, 'new@a.test')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            a.execute("INSERT INTO leaky_unique_email (tenant_id, email) VALUES (1, 'ceo@b.test')")


def test_exploit_foreign_key_to_other_tenant(holes: Holes) -> None:
    with holes.connect() as a:
        # B's project 2 is invisible to A, yet A's row may point at it …
        assert rows(a, "SELECT id FROM ok_projects WHERE id = 2") == []
        a.execute("INSERT INTO leaky_fk_cross (tenant_id, project_id, body) VALUES (1, 2, 'x')")
        # … and a missing id fails differently: which ids exist in other tenants shows.
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            a.execute(
                "INSERT INTO leaky_fk_cross (tenant_id, project_id, body) VALUES (1, 99, 'x')"
            )


def test_exploit_indirect_table_without_policy(holes: Holes) -> None:
    with holes.connect() as a:
        assert rows(a, "SELECT body FROM leaky_comments WHERE project_id = 2") == [("b",)]


# The audit --------------------------------------------------------------------------------------


def live(holes: Holes) -> list[Finding]:
    return audit_url(holes.url, app_role=holes.role("app"))


def pairs(findings: list[Finding]) -> set[tuple[str, str, str]]:
    return {(f.severity, f.rule, f.object) for f in findings}


def test_audit_flags_every_hole_and_nothing_else(holes: Holes) -> None:
    got = pairs(live(holes))
    expected = {
        ("error", "rls-not-forced", "public.leaky_owned_by_app"),
        ("error", "secure-app-role-bypasses-rls", holes.role("bypass")),
        ("error", "secure-definer-returns-tenant-rows", "public.leaky_definer_projects()"),
        (
            "error",
            "secure-fk-missing-tenant-key",
            "public.leaky_fk_cross.leaky_fk_cross_project_id_fkey",
        ),
        ("error", "secure-indirect-without-policy", "public.leaky_comments"),
        ("error", "secure-matview-exposes-tenants", "public.leaky_project_stats"),
        ("error", "secure-permissive-policy-hole", "public.leaky_archived_read.archived_read"),
        ("error", "secure-policy-wildcard", "public.leaky_coalesce.tenant_or_any"),
        ("error", "secure-policy-wildcard", "public.leaky_like.tenant_like"),
        ("error", "secure-policy-wildcard", "public.leaky_null_setting.tenant_or_unset"),
        ("error", "secure-policy-wildcard", "public.leaky_self_compare.tenant_self"),
        ("error", "secure-with-check-not-tenant", "public.leaky_insert_any.add_any"),
        ("error", "secure-with-check-not-tenant", "public.leaky_move_rows.edit_body"),
        (
            "error",
            "security-definer-without-search-path",
            "public.leaky_definer_no_path(p integer)",
        ),
        ("error", "tenant-table-without-rls", "public.leaky_no_rls"),
        ("warning", "always-true-policy", "public.leaky_check_true.tenant_isolation"),
        ("warning", "grant-to-public", "public.leaky_public_settings"),
        ("warning", "secure-sequence-shared", "public.leaky_events_id_seq"),
        (
            "warning",
            "secure-unique-not-tenant-scoped",
            "public.leaky_unique_email.leaky_unique_email_email_key",
        ),
        ("warning", "view-bypasses-rls", "public.leaky_projects_view"),
        ("info", "rls-not-forced", "public.info_not_forced"),
        ("info", "secure-command-uncovered", "public.info_select_only"),
    }
    assert got == expected


def test_every_finding_carries_sql_fix_that_names_its_object(holes: Holes) -> None:
    for f in live(holes):
        assert f.fix, f
        leaf = f.object.rsplit(".", 1)[-1].split("(")[0]
        assert leaf in f.fix or leaf in f.message, f
    by_rule = {f.rule: f for f in live(holes)}
    assert "REVOKE " + holes.role("bypass") in (by_rule["secure-app-role-bypasses-rls"].fix or "")
    wildcard = by_rule["secure-policy-wildcard"].fix or ""
    assert "nullif(current_setting('app.tenant_id', true), '')::integer" in wildcard


def test_app_role_defaults_to_connected_user(holes: Holes) -> None:
    """Connected as the superuser that loaded the fixture: that user bypasses everything."""
    findings = audit_url(holes.url)
    me = holes.url.user or "postgres"
    assert ("error", "secure-app-role-bypasses-rls", me) in pairs(findings)
    # As owner-equivalent, every non-forced table becomes an error.
    assert ("error", "rls-not-forced", "public.info_not_forced") in pairs(findings)


def test_schema_only_audit_runs_schema_checks(holes: Holes) -> None:
    d = get_dialect("postgres")
    with d.engine().connect(holes.url) as session:
        schema = d.introspect(session, None)
    got = pairs(audit_schema(schema))
    rules = {r for _, r, _ in got}
    # No roles, owners or privileges known: those checks stay silent.
    assert not rules & {
        "secure-app-role-bypasses-rls",
        "secure-sequence-shared",
        "secure-matview-exposes-tenants",
    }
    assert ("info", "rls-not-forced", "public.leaky_owned_by_app") in got
    assert ("warning", "view-bypasses-rls", "public.leaky_project_stats") in got
    assert ("warning", "view-bypasses-rls", "public.ok_tenant_totals") in got
    assert ("error", "secure-policy-wildcard", "public.leaky_like.tenant_like") in got
    assert not any(
        o.startswith(("public.ok_projects", "public.ok_tasks", "public.ok_task_notes"))
        for _, _, o in got
    )


def test_collect_facts_reads_roles_owners_and_privileges(holes: Holes) -> None:
    d = get_dialect("postgres")
    with d.engine().connect(holes.url) as session:
        facts = collect_facts(session)
    app = holes.role("app")
    assert facts.role(holes.role("bypass")).bypassrls
    assert holes.role("bypass") in facts.role(app).can_become
    assert facts.role(app).login and not facts.role(holes.role("owner")).login
    assert facts.relations["public.leaky_owned_by_app"].owner == app
    assert facts.relations["public.ok_projects"].owner == holes.role("owner")
    assert facts.relations["public.leaky_project_stats"].kind == "materialized view"
    seq = facts.relations["public.leaky_events_id_seq"]
    assert facts.may(app, seq, "USAGE")
    assert not facts.may(app, facts.relations["public.ok_tenant_totals"], "SELECT")
    assert facts.may(holes.role("other"), facts.relations["public.leaky_public_settings"], "SELECT")
    fn = facts.functions["public.leaky_definer_projects()"]
    assert fn.security_definer and fn.returns == "SETOF ok_projects"
    assert "public.ok_projects" in fn.reads
    assert not facts.may(holes.role("other"), fn, "EXECUTE")


def test_renderers(holes: Holes) -> None:
    findings = live(holes)
    rules = report_rules()
    text = render_findings(findings, "text", rules=rules, source="holes")
    assert "secure-policy-wildcard" in text and "leaky_like" in text
    data = json.loads(render_findings(findings, "json", rules=rules, source="holes"))
    assert "secure-sequence-shared" in json.dumps(data)
    sarif = json.loads(render_findings(findings, "sarif", rules=rules, source="holes"))
    descriptors = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert descriptors["secure-fk-missing-tenant-key"]["shortDescription"]["text"] == (
        "Foreign key without the tenant column"
    )
    assert descriptors["secure-policy-wildcard"]["properties"]["security-severity"] == "8.0"
    assert len(sarif["runs"][0]["results"]) == len(findings)


def test_bad_inputs_raise_one_line_input_errors(holes: Holes) -> None:
    with pytest.raises(InputError, match="role 'no_such_role_s1' does not exist"):
        audit_url(holes.url, app_role="no_such_role_s1")
    with pytest.raises(InputError, match="no table has the tenant column 'shop_id'"):
        audit_url(holes.url, tenant_column="shop_id")
    lite = Schema(dialect="sqlite")
    with pytest.raises(InputError, match="PostgreSQL only"):
        audit_schema(lite)
    with pytest.raises(InputError, match="PostgreSQL only"):
        audit_url("sqlite:///nothing.db")


def test_audit_accepts_its_parts(holes: Holes) -> None:
    """audit() over a schema, facts and tenancy read separately gives the same result."""
    d = get_dialect("postgres")
    with d.engine().connect(holes.url) as session:
        schema = d.introspect(session, None)
        facts = collect_facts(session)
    got = audit(schema, facts, find_tenancy(schema, "tenant_id"), app_role=holes.role("app"))
    assert pairs(got) == pairs(live(holes))


def test_fixes_close_the_holes() -> None:
    """Every finding's fix, applied as given, closes its hole: the audit is left with the one
    info the review's own RLS fix leaves (it enables RLS without forcing it), and the exploits
    above now fail. On a database of its own: it changes the fixture."""
    with loaded() as holes:
        with holes.admin() as admin:
            for f in live(holes):
                # a fix may offer an alternative after a "-- or" comment: take the first
                admin.execute((f.fix or "").split("\n-- or")[0].encode())
        assert pairs(live(holes)) == {("info", "rls-not-forced", "public.leaky_no_rls")}
        _exploits_fail(holes)


def _exploits_fail(holes: Holes) -> None:
    with holes.connect(tenant=None) as unset:
        for table in ("leaky_null_setting", "leaky_coalesce"):
            assert rows(unset, f"SELECT count(*) FROM {table}") == [(0,)]
    # '%' is no pattern any more: the cast refuses it (fails closed)
    with (
        holes.connect(tenant="%") as wildcard,
        pytest.raises(psycopg.errors.InvalidTextRepresentation),
    ):
        wildcard.execute("SELECT count(*) FROM leaky_like")
    with (
        holes.connect(role="other", tenant=None) as other,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        other.execute("SELECT value FROM leaky_public_settings")
    with holes.connect() as a:
        for table in (
            "leaky_no_rls",
            "leaky_owned_by_app",
            "leaky_archived_read",
            "leaky_self_compare",
            "leaky_projects_view",
            "leaky_definer_projects()",
        ):
            assert rows(a, f"SELECT count(*) FROM {table} WHERE tenant_id = 2") == [(0,)], table
        assert rows(a, "SELECT count(*) FROM leaky_comments WHERE project_id = 2") == [(0,)]
        for table in ("leaky_check_true", "leaky_move_rows"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                a.execute(f"UPDATE {table} SET tenant_id = 2")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("INSERT INTO leaky_insert_any (tenant_id, body) VALUES (2, 'planted')")
        for denied in ("SET ROLE " + holes.role("bypass"), "SELECT * FROM leaky_project_stats"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                a.execute(denied.encode())
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("SELECT last_value FROM leaky_events_id_seq")
        # B's e-mail is no longer an oracle, B's project no longer a valid parent.
        a.execute("INSERT INTO leaky_unique_email (tenant_id, email) VALUES (1, 'ceo@b.test')")
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            a.execute("INSERT INTO leaky_fk_cross (tenant_id, project_id, body) VALUES (1, 2, 'x')")
        a.execute("SET search_path = sandbox, public")
        a.execute(
            "CREATE FUNCTION sandbox.project_label(p int) RETURNS text LANGUAGE sql AS "
            "$$ SELECT string_agg(name, ',' ORDER BY name) FROM public.ok_projects $$"
        )
        assert rows(a, "SELECT leaky_definer_no_path(1)") == [("a-project",)]
        a.execute("INSERT INTO info_select_only (tenant_id, body) VALUES (1, 'now covered')")


def test_superuser_application_roles(holes: Holes) -> None:
    """A superuser application role, and one that may SET ROLE to a superuser."""
    sup, member = holes.role("super"), holes.role("member")
    with holes.admin() as admin:
        admin.execute(f"CREATE ROLE {sup} SUPERUSER NOLOGIN")
        admin.execute(f"CREATE ROLE {member} NOLOGIN IN ROLE {sup}")
        try:
            as_member = pairs(audit_url(holes.url, app_role=member))
            as_super = audit_url(holes.url, app_role=sup)
        finally:
            admin.execute(f"DROP ROLE {member}")
            admin.execute(f"DROP ROLE {sup}")
    assert ("error", "secure-app-role-bypasses-rls", sup) in as_member
    own = [f for f in as_super if f.rule == "secure-app-role-bypasses-rls"]
    assert [(f.object, f.fix) for f in own] == [(sup, f"ALTER ROLE {sup} NOSUPERUSER;")]
    # Policies do not apply to it: no command is "denied".
    assert not any(f.rule == "secure-command-uncovered" for f in as_super)
