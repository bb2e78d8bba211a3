"""`dbarch secure` end to end on a live PostgreSQL database: the audit finds the unsecured
tenant tables, the generated migration secures them, and the attacks then all fail, as the
application role and as the tables' owner; the audit-log and PII commands run on the same
database. The database is only written by the migrations the test applies itself."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbarchitect.cli import main
from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.verify import differences
from dbarchitect.sources import introspect_url

CLEAN = Path(__file__).parents[1] / "fixtures" / "security" / "clean.sql"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture
def clean_db(pg_url: DatabaseURL) -> Iterator[tuple[DatabaseURL, str]]:
    """clean.sql loaded into a fresh database, and a role prefix no other test uses; the
    roles a migration creates under it are dropped afterwards."""
    engine = get_dialect("postgres").engine()
    engine.run_script(pg_url, CLEAN.read_text(), where=str(CLEAN))
    prefix = f"cli{secrets.token_hex(4)}"
    try:
        yield pg_url, prefix
    finally:
        with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
            for suffix in ("owner", "user", "readonly", "admin"):
                role = f"{prefix}_{suffix}"
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if exists.fetchone():
                    conn.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
                    conn.execute(f'DROP OWNED BY "{role}"')
                    conn.execute(f'DROP ROLE "{role}"')


def test_audit_rls_test_round(
    clean_db: tuple[DatabaseURL, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, prefix = clean_db
    dsn = url.render(redact=False)
    before = introspect_url(url)

    code, out, err = run(["secure", "audit", dsn, "-f", "json"], capsys)
    assert code == 1, err
    found = {(f["rule"], f["object"]) for f in json.loads(out)["findings"]}
    for table in ("users", "projects", "tasks", "invoices"):
        assert ("tenant-table-without-rls", f"public.{table}") in found
    # Generating reads the database and writes files, nothing else.
    code, out, err = run(
        ["secure", "rls", dsn, "--role-prefix", prefix, "-o", str(tmp_path)], capsys
    )
    assert code == 0, err
    assert differences(introspect_url(url), before) == []
    up, down = (Path(p) for p in out.split())
    assert up.name == "001_secure_rls.sql" and down.name == "001_secure_rls.down.sql"

    code, out, err = run(["secure", "test", dsn, "-f", "json"], capsys)
    assert code == 1, "before the migration tenant A reaches tenant B's rows"
    assert json.loads(out)["summary"]["leaked"] > 0

    engine = get_dialect("postgres").engine()
    engine.run_script(url, up.read_text(), where=str(up))
    for extra in ([], ["--as-owner"]):
        code, out, err = run(["secure", "test", dsn, "-f", "json", *extra], capsys)
        report = json.loads(out)
        assert code == 0, [o for o in report["outcomes"] if o["status"] == "leaked"]
        assert report["summary"]["leaked"] == 0 and report["summary"]["error"] == 0
        assert report["summary"]["blocked"] >= 40

    code, out, err = run(
        ["secure", "audit", dsn, "--app-role", f"{prefix}_user", "-f", "json"], capsys
    )
    assert code == 0, out
    assert [f for f in json.loads(out)["findings"] if f["severity"] != "info"] == []

    engine.run_script(url, down.read_text(), where=str(down))
    assert differences(introspect_url(url), before) == []


def test_audit_log_and_pii(
    clean_db: tuple[DatabaseURL, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = clean_db
    dsn = url.render(redact=False)
    before = introspect_url(url)
    code, out, err = run(["secure", "audit-log", dsn, "--months", "2"], capsys)
    assert code == 0, err
    assert "PARTITION BY RANGE" in out and "CREATE TRIGGER" in out
    code, out, err = run(["secure", "audit-log", dsn, "-o", str(tmp_path)], capsys)
    assert code == 0, err
    up, down = (Path(p) for p in out.split())
    engine = get_dialect("postgres").engine()
    engine.run_script(url, up.read_text(), where=str(up))
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("INSERT INTO tenants (name) VALUES ('audited')")
        row = conn.execute("SELECT operation, table_name FROM audit.log").fetchall()
    assert [tuple(r) for r in row] == [("INSERT", "tenants")]
    engine.run_script(url, down.read_text(), where=str(down))
    assert differences(introspect_url(url), before) == []

    code, out, err = run(["secure", "pii", dsn, "-f", "json"], capsys)
    assert code == 0, err
    rules = {f["rule"] for f in json.loads(out)["findings"]}
    assert "secure-pii-column-privileges" in rules or "secure-pii-masking-view" in rules


def test_other_engines_and_bad_input_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.db"
    code, _out, err = run(["secure", "audit", f"sqlite:///{db}"], capsys)
    assert code == 2 and "PostgreSQL only" in err and len(err.splitlines()) == 1
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE t (id int PRIMARY KEY, tenant_id int);\nCREATE TABL oops;\n")
    code, _out, err = run(["secure", "rls", str(bad)], capsys)
    assert code == 2 and f"{bad}:2" in err
