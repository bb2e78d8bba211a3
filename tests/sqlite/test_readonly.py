"""Read-only sessions on a real SQLite file: every way to write is refused, the file unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbarchitect.engines.base import Session
from dbarchitect.engines.sqlite import SqliteEngine
from dbarchitect.engines.url import DatabaseURL, parse_url
from dbarchitect.errors import ConnectionFailed, DbarchError, InputError, ReadOnlyViolation

ENGINE = SqliteEngine()
REFUSED = (ReadOnlyViolation, ConnectionFailed, InputError)


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    url = parse_url(f"sqlite:///{path}")
    with ENGINE.connect(url, read_only=False) as session:
        session.execute(
            "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
            "CREATE INDEX account_name ON account (name);"
            "INSERT INTO account (name) VALUES ('alice'), ('bob');"
        )
    return path


@pytest.fixture
def session(db_file: Path) -> Iterator[Session]:
    with ENGINE.connect(parse_url(f"sqlite:///{db_file}")) as s:
        yield s


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


ATTEMPTS = [
    "INSERT INTO account (name) VALUES ('mallory')",
    "UPDATE account SET name = 'x'",
    "DELETE FROM account",
    "CREATE TABLE evil (x)",
    "CREATE TEMP TABLE evil (x)",
    "DROP TABLE account",
    "ALTER TABLE account ADD COLUMN y",
    "CREATE INDEX evil ON account (name)",
    "PRAGMA query_only = 0",
    "PRAGMA query_only = OFF",
    "PRAGMA writable_schema = 1",
    "PRAGMA user_version = 7",
    "PRAGMA journal_mode = WAL",
    "PRAGMA optimize",
    "UPDATE sqlite_master SET sql = 'x'",
    "VACUUM",
    "REINDEX",
    "ANALYZE",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "SAVEPOINT s",
    "SELECT 1; INSERT INTO account (name) VALUES ('mallory')",
    "SELECT 1; PRAGMA query_only = 0",
    "WITH x AS (SELECT 1) INSERT INTO account (name) SELECT 'mallory' FROM x",
    "SELECT load_extension('/tmp/evil.so')",
]


@pytest.mark.parametrize("sql", ATTEMPTS)
def test_write_is_refused_and_file_unchanged(session: Session, db_file: Path, sql: str) -> None:
    before, names = _digest(db_file), _files(db_file.parent)
    with pytest.raises(REFUSED):
        session.fetch(sql)
    with pytest.raises(REFUSED):
        session.execute(sql)
    # The session still reads, still refuses writes, and nothing on disk moved.
    assert session.fetch("SELECT count(*) AS n FROM account") == [{"n": 2}]
    assert session.fetch("PRAGMA query_only") == [{"query_only": 1}]
    with pytest.raises(REFUSED):
        session.fetch("INSERT INTO account (name) VALUES ('mallory')")
    assert _digest(db_file) == before
    assert _files(db_file.parent) == names


def test_attach_cannot_create_another_file(session: Session, tmp_path: Path) -> None:
    target = tmp_path / "x.db"
    for sql in (
        f"ATTACH DATABASE '{target}' AS x",
        f"VACUUM INTO '{target}'",
        "ATTACH DATABASE ':memory:' AS m",
        "DETACH DATABASE main",
    ):
        with pytest.raises(ReadOnlyViolation):
            session.fetch(sql)
    assert not target.exists()


def test_query_only_off_then_write(session: Session, db_file: Path) -> None:
    before = _digest(db_file)
    with pytest.raises(ReadOnlyViolation):
        session.fetch("PRAGMA query_only=0")
    with pytest.raises(ReadOnlyViolation):
        session.fetch("INSERT INTO account (name) VALUES ('mallory')")
    with pytest.raises(ReadOnlyViolation):
        session.fetch("CREATE TABLE x (a)")
    assert _digest(db_file) == before


def test_multi_statement_text_is_refused(session: Session) -> None:
    with pytest.raises(ReadOnlyViolation, match="one statement"):
        session.fetch("SELECT 1; SELECT 2")
    # A trailing semicolon or comment is still one statement.
    assert session.fetch("SELECT 1 AS one; -- done") == [{"one": 1}]


def test_reads_and_catalog_pragmas_work(session: Session) -> None:
    assert session.fetch("SELECT name FROM account ORDER BY id") == [
        {"name": "alice"},
        {"name": "bob"},
    ]
    assert [r["name"] for r in session.fetch("PRAGMA table_info(account)")] == ["id", "name"]
    rows = session.fetch(
        "SELECT m.name AS t, c.name FROM sqlite_master m JOIN pragma_table_xinfo(m.name) c"
    )
    assert len(rows) == 2
    with session.transaction():
        assert session.fetch("SELECT count(*) AS n FROM account") == [{"n": 2}]
    # The snapshot ended without a COMMIT the session could not issue.
    assert session.fetch("SELECT count(*) AS n FROM account") == [{"n": 2}]


def test_errors_redact_nothing_and_stay_one_line(session: Session) -> None:
    with pytest.raises(DbarchError) as err:
        session.fetch("SELEKT nonsense")
    assert isinstance(err.value, InputError)
    assert "\n" not in str(err.value) and "syntax error" in str(err.value)


def test_read_only_file_in_read_only_place(db_file: Path) -> None:
    """A database the process may not write (file mode 0444) is still read."""
    db_file.chmod(0o444)
    try:
        url: DatabaseURL = parse_url(f"sqlite:///{db_file}")
        with ENGINE.connect(url) as s:
            assert s.fetch("SELECT count(*) AS n FROM account") == [{"n": 2}]
    finally:
        db_file.chmod(0o644)
