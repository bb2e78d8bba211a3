"""`dbarch secure rls` on a schema whose security is already there but broken (holes.sql):
the generated migration replaces the leaking policies, scopes unique keys to the tenant, pins
and locks away SECURITY DEFINER functions and materialized views that read every tenant, and
then `dbarch secure test` must find every attack blocked, as the generated application role
and as the tables' owner; the audit must report no error; the down must restore the schema
exactly.

The tests share one loaded fixture and run in file order (the down runs last).
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dbarchitect.cli import main
from dbarchitect.dialects import get_dialect
from dbarchitect.migrate.verify import differences
from dbarchitect.model import Schema
from dbarchitect.sources import introspect_url
from tests.security.test_s1_audit import Holes, loaded

SUFFIXES = ("owner", "user", "readonly", "admin")


def run(argv: list[str]) -> tuple[int, str, str]:
    """The CLI in-process: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code: Any = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
    return int(code or 0), out.getvalue(), err.getvalue()


@dataclass
class Secured:
    holes: Holes
    dsn: str
    prefix: str
    before: Schema  # the schema as loaded, before the migration
    before_proof: dict[str, Any]  # secure test as the fixture's own app role, before
    notes: str  # what `secure rls` said on stderr
    down: str


def _drop_roles(h: Holes, prefix: str) -> None:
    with h.admin() as conn:
        for suffix in SUFFIXES:
            role = f"{prefix}_{suffix}"
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
                conn.execute(f'DROP OWNED BY "{role}"')
                conn.execute(f'DROP ROLE "{role}"')


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """holes.sql loaded, proven leaky, then the generated migration applied."""
    out_dir: Path = tmp_path_factory.mktemp("s5")
    prefix = f"s5_{secrets.token_hex(4)}"
    with loaded() as h:
        dsn = h.url.render(redact=False)
        before = introspect_url(h.url)
        code, out, err = run(["secure", "test", dsn, "-f", "json", "--app-role", h.role("app")])
        assert code == 1, err
        before_proof = json.loads(out)
        try:
            code, out, err = run(
                ["secure", "rls", dsn, "--role-prefix", prefix, "-o", str(out_dir)]
            )
            assert code == 0, err
            up_path, down_path = (Path(p) for p in out.split())
            engine = get_dialect("postgres").engine()
            engine.run_script(h.url, up_path.read_text(), where=str(up_path))
            yield Secured(
                holes=h,
                dsn=dsn,
                prefix=prefix,
                before=before,
                before_proof=before_proof,
                notes=err,
                down=down_path.read_text(),
            )
        finally:
            _drop_roles(h, prefix)


def _leaks(doc: dict[str, Any]) -> list[str]:
    return [
        f"{o['object']} {o['attack']}: {o['sql']} → {o['evidence']}"
        for o in doc["outcomes"]
        if o["status"] in ("leaked", "error")
    ]


def test_the_fixture_leaks_before(secured: Secured) -> None:
    summary = secured.before_proof["summary"]
    assert summary["leaked"] > 0
    leaked = {o["object"] for o in secured.before_proof["outcomes"] if o["status"] == "leaked"}
    # Holes of several kinds, each replaced or locked away by the migration.
    for obj in (
        "public.leaky_no_rls",
        "public.leaky_move_rows",
        "public.leaky_unique_email",
        "public.leaky_project_stats",
        "public.leaky_projects_view",
    ):
        assert obj in leaked, sorted(leaked)


def test_notes_name_what_could_not_be_fixed_in_place(secured: Secured) -> None:
    notes = secured.notes
    assert "leaky_move_rows: existing policies replaced by ours" in notes
    assert "edit_body" in notes
    assert "leaky_unique_email_email_key is now (tenant_id, email)" in notes
    for locked in (
        "materialized view public.leaky_project_stats",
        "materialized view public.ok_tenant_totals",
        "SECURITY DEFINER public.leaky_definer_projects()",
        # Reads ok_projects only through project_label(), as its owner.
        "SECURITY DEFINER public.leaky_definer_no_path(p integer) reads",
    ):
        assert locked in notes
    assert "leaky_definer_no_path(p integer): search_path pinned" in notes
    assert "sequence public.leaky_events_id_seq is shared" in notes
    # The correct definer function reads no tenant table and keeps its grants.
    assert "ok_definer_now" not in notes


def test_existing_rls_is_replaced_in_the_database(secured: Secured) -> None:
    with secured.holes.admin() as conn:
        names = conn.execute(
            "SELECT polname FROM pg_policy WHERE polrelid = 'public.leaky_move_rows'::regclass"
            " ORDER BY 1"
        ).fetchall()
        assert [n for (n,) in names] == [
            "tenant_admin_all",
            "tenant_delete",
            "tenant_insert",
            "tenant_select",
            "tenant_update",
        ]
        invoker = conn.execute(
            "SELECT reloptions FROM pg_class WHERE oid = 'public.leaky_projects_view'::regclass"
        ).fetchone()
        assert invoker is not None and "security_invoker=true" in invoker[0]
        app = f"{secured.prefix}_user"
        for obj, priv, kind in (
            ("public.leaky_definer_projects()", "EXECUTE", "function"),
            ("public.leaky_project_stats", "SELECT", "table"),
            ("public.leaky_events_id_seq", "SELECT", "sequence"),
        ):
            row = conn.execute(
                f"SELECT has_{kind}_privilege(%s, %s, %s)", (app, obj, priv)
            ).fetchone()
            assert row == (False,), (obj, priv)
        # A tenant still draws ids for its inserts through the serial default.
        row = conn.execute(
            "SELECT has_sequence_privilege(%s, 'public.leaky_events_id_seq', 'USAGE')", (app,)
        ).fetchone()
        assert row == (True,)


@pytest.mark.parametrize("owner", [False, True], ids=["app-role", "as-owner"])
def test_every_attack_is_blocked(secured: Secured, owner: bool) -> None:
    argv = ["secure", "test", secured.dsn, "-f", "json", "--app-role", f"{secured.prefix}_user"]
    code, out, err = run(argv + (["--as-owner"] if owner else []))
    doc = json.loads(out)
    assert doc["summary"]["leaked"] == 0 and doc["summary"]["error"] == 0, _leaks(doc)
    assert code == 0, err
    # More attacks run than before (views and tables the fixture's role could not reach).
    assert doc["summary"]["blocked"] > secured.before_proof["summary"]["blocked"]


def test_audit_reports_no_error(secured: Secured) -> None:
    argv = ["secure", "audit", secured.dsn, "-f", "json", "--app-role", f"{secured.prefix}_user"]
    code, out, err = run(argv)
    doc = json.loads(out)
    errors = [f"{f['rule']} {f['object']}" for f in doc["findings"] if f["severity"] == "error"]
    assert errors == [] and code == 0, (errors, err)
    # What stays, honestly reported: the shared sequence and an unrelated PUBLIC grant.
    rules = {(f["rule"], f["object"]) for f in doc["findings"]}
    assert ("secure-sequence-shared", "public.leaky_events_id_seq") in rules


def test_down_restores_the_schema(secured: Secured) -> None:
    engine = get_dialect("postgres").engine()
    engine.run_script(secured.holes.url, secured.down, where="down")
    assert differences(introspect_url(secured.holes.url), secured.before) == []
    with secured.holes.admin() as conn:
        left = conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (secured.prefix + "\\_%",)
        ).fetchall()
    assert left == []


def test_rerun_is_refused_only_by_our_helper() -> None:
    """A hand-written schema with our policy names is secured; one with current_tenant()
    (what our migration creates) is refused."""
    with loaded() as h:
        dsn = h.url.render(redact=False)
        with h.admin() as conn:
            conn.execute(
                "CREATE FUNCTION public.current_tenant() RETURNS int LANGUAGE sql STABLE"
                " AS $$ SELECT 1 $$"
            )
        code, _out, err = run(["secure", "rls", dsn, "--role-prefix", "s5_never"])
        assert code == 2 and "already secured" in err
