"""The SQLite engine: scratch files, sessions, loading SQL files with errors that name lines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.sqlite import SqliteEngine, split_statements
from dbarchitect.engines.url import DatabaseURL, parse_url
from dbarchitect.errors import ConnectionFailed, InputError
from dbarchitect.sources import load_schema

ENGINE = SqliteEngine()


def test_scratch_is_a_shared_file_removed_afterwards() -> None:
    with ENGINE.scratch() as url:
        assert url.dialect == "sqlite" and url.scheme == "sqlite"
        path = Path(url.database or "")
        assert path.is_file()
        ENGINE.run_script(url, "CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (42);")
        # A second, independent connection sees what the first one wrote.
        with ENGINE.connect(url) as session:
            assert session.fetch("SELECT a FROM t") == [{"a": 42}]
    assert not path.exists()
    assert not path.parent.exists()


def test_scratch_databases_are_distinct() -> None:
    with ENGINE.scratch() as a, ENGINE.scratch() as b:
        assert a.database != b.database
        ENGINE.run_script(a, "CREATE TABLE only_in_a (x);")
        with ENGINE.connect(b) as session:
            assert session.fetch("SELECT name FROM sqlite_master") == []


def test_server_version_is_one_number(sqlite_url: DatabaseURL) -> None:
    major, minor, patch = sqlite3.sqlite_version_info
    with ENGINE.connect(sqlite_url) as session:
        assert session.server_version == major * 1_000_000 + minor * 1_000 + patch
        assert session.server_version >= 3_000_000


def test_dialect_names_its_engine() -> None:
    dialect = get_dialect("sqlite3")
    assert dialect.name == "sqlite" and dialect.label == "SQLite"
    assert not dialect.has_schemas and dialect.default_schema == ""
    assert isinstance(dialect.engine(), SqliteEngine)


def test_transaction_gives_one_snapshot(sqlite_url: DatabaseURL) -> None:
    ENGINE.run_script(sqlite_url, "CREATE TABLE t (a); INSERT INTO t VALUES (1);")
    with ENGINE.connect(sqlite_url) as reader:
        with reader.transaction():
            before = reader.fetch("SELECT count(*) AS n FROM t")
            # A writer that cannot get in while the snapshot is held reports "locked".
            writer = sqlite3.connect(sqlite_url.database or "", timeout=0.1)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                writer.execute("INSERT INTO t VALUES (2)")
                writer.commit()
            writer.close()
            assert reader.fetch("SELECT count(*) AS n FROM t") == before
        ENGINE.run_script(sqlite_url, "INSERT INTO t VALUES (3);")
        assert reader.fetch("SELECT count(*) AS n FROM t") == [{"n": 2}]


def test_writable_session_runs_several_statements(sqlite_url: DatabaseURL) -> None:
    with ENGINE.connect(sqlite_url, read_only=False) as session:
        session.execute("CREATE TABLE t (a); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);")
        assert session.fetch("SELECT sum(a) AS s FROM t") == [{"s": 3}]
        assert session.fetch("SELECT a FROM t WHERE a = ?", [2]) == [{"a": 2}]


def test_syntax_error_names_file_and_line(sqlite_url: DatabaseURL, tmp_path: Path) -> None:
    bad = tmp_path / "bad.sql"
    bad.write_text(
        "-- line 1\n"
        "CREATE TABLE ok (a INTEGER);\n"
        "\n"
        "CREATE TABLE broken (\n"
        "    a INTEGER,\n"
        "    b TEXT NOT NUL\n"  # line 6: the parser stops at NUL
        ");\n"
        "CREATE TABLE never (c);\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        ENGINE.load_files(sqlite_url, [bad])
    message = str(err.value)
    assert message.startswith(f"{bad}:6: ")
    assert "syntax error" in message and "\n" not in message


def test_other_errors_name_the_statement_line(sqlite_url: DatabaseURL, tmp_path: Path) -> None:
    first = tmp_path / "first.sql"
    first.write_text("CREATE TABLE a (x);\n", encoding="utf-8")
    second = tmp_path / "second.sql"
    second.write_text("\n\nCREATE INDEX a_y\n  ON a (y);\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"second\.sql:3: no such column: y$"):
        ENGINE.load_files(sqlite_url, [first, second])
    with ENGINE.connect(sqlite_url) as session:  # the first file did run, in order
        assert session.fetch("SELECT name FROM sqlite_master") == [{"name": "a"}]


def test_run_script_names_where(sqlite_url: DatabaseURL) -> None:
    with pytest.raises(InputError, match=r"^migration 7:2: no such table: missing$"):
        ENGINE.run_script(
            sqlite_url, "SELECT 1;\nINSERT INTO missing VALUES (1);", where="migration 7"
        )


def test_missing_sql_file(sqlite_url: DatabaseURL, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothing\.sql: no such file"):
        ENGINE.load_files(sqlite_url, [tmp_path / "nothing.sql"])


def test_dot_commands_are_skipped(sqlite_url: DatabaseURL, tmp_path: Path) -> None:
    dump = tmp_path / "dump.sql"
    dump.write_text(
        ".mode list\n"
        "CREATE TABLE t (a TEXT);\n"
        ".headers on\n"
        "INSERT INTO t VALUES ('x;\n.not a command');\n",
        encoding="utf-8",
    )
    ENGINE.load_files(sqlite_url, [dump])
    with ENGINE.connect(sqlite_url) as session:
        assert session.fetch("SELECT a FROM t") == [{"a": "x;\n.not a command"}]


def test_split_keeps_trigger_bodies_and_quoted_semicolons() -> None:
    text = (
        "CREATE TABLE \"a;b\" (x TEXT DEFAULT ';');\n"
        "/* ; */ -- ;\n"
        'CREATE TRIGGER t AFTER INSERT ON "a;b" BEGIN\n'
        "  SELECT 1; SELECT [c;d] FROM `e;f`;\n"
        "END;\n"
        "SELECT 'it''s;'"
    )
    parts = list(split_statements(text))
    assert [p[1].split()[0:2] for p in parts] == [
        ["CREATE", "TABLE"],
        ["CREATE", "TRIGGER"],
        ["SELECT", "'it''s;'"],
    ]
    assert text.count("\n", 0, parts[1][0]) + 1 == 3  # offsets point at the statement start
    assert parts[1][1].endswith("END;")


def test_read_only_connect_to_missing_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    with pytest.raises(ConnectionFailed, match="no such database file"):
        ENGINE.connect(parse_url(f"sqlite:///{path}"))
    assert not path.exists()


def test_connect_to_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not SQLite\n" * 100)
    with pytest.raises(ConnectionFailed, match="not a database"):
        ENGINE.connect(parse_url(f"sqlite:///{path}"))


def test_load_schema_reports_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "schema.sql"
    bad.write_text("CREATE TABLE a (x);\nCREATE TABLE b (y INTEGER PRIMARY KEY,);\n")
    with pytest.raises(InputError, match=r"schema\.sql:2: near \"\)\": syntax error$"):
        load_schema([str(bad)], dialect="sqlite")
