"""Bad input: one line on stderr naming where, exit status 2, no traceback, nothing changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL


def dbarch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbarchitect", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
        timeout=120,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0]
    assert proc.stdout == ""


def test_missing_file() -> None:
    assert_one_line_error(dbarch("inspect", "no/such/file.sql"), "no/such/file.sql")


def test_syntax_error_names_file_line_and_engine_message(tmp_path: Path) -> None:
    bad = tmp_path / "broken.sql"
    bad.write_text("CREATE TABLE ok (id int);\n\nCREATE TABLE broken (id int,, x text);\n")
    assert_one_line_error(dbarch("inspect", str(bad)), f"{bad}:3:", 'syntax error at or near ","')


def test_unknown_dialect(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    sql.write_text("SELECT 1;")
    assert_one_line_error(dbarch("inspect", str(sql), "--dialect", "oracle"), "unknown dialect")


@pytest.mark.parametrize(
    "url", ["postgresql://[::1", "oracle://host/db", "postgresql://h:99999/db"]
)
def test_malformed_url(url: str) -> None:
    assert_one_line_error(dbarch("inspect", url), "URL")


def test_unreachable_server() -> None:
    proc = dbarch("inspect", "postgresql://nobody:pw@127.0.0.1:9/none")
    assert_one_line_error(proc, "cannot connect", "127.0.0.1")
    assert "pw@" not in proc.stderr


def test_wrong_password_is_redacted(pg_url: DatabaseURL) -> None:
    with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS dbarch_pw_test")
        conn.execute("CREATE ROLE dbarch_pw_test LOGIN PASSWORD 'right-one'")
    try:
        url = (
            f"postgresql://dbarch_pw_test:Wr0ngSecret@/{pg_url.database}"
            f"?host={pg_url.host}&port={pg_url.port}"
        )
        proc = dbarch("inspect", url)
        assert_one_line_error(proc, "password authentication failed")
        assert "Wr0ngSecret" not in proc.stderr
    finally:
        with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
            conn.execute("DROP ROLE dbarch_pw_test")


def test_database_url_from_environment(pg_url: DatabaseURL) -> None:
    proc = dbarch("inspect", "--format", "json", env={"DATABASE_URL": pg_url.render(redact=False)})
    assert proc.returncode == 0, proc.stderr
    assert '"dialect": "postgres"' in proc.stdout


def test_no_source_and_no_database_url() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "dbarchitect", "inspect"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert_one_line_error(proc, "DATABASE_URL")
