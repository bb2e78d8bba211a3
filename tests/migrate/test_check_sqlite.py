"""`dbarch check --dialect sqlite`: every statement said to fail is run on real SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dbarchitect.cli import main
from dbarchitect.dialects.sqlite.migration_safety import SQLITE_HAZARDS, check_sqlite
from dbarchitect.migrate.safety.sqlglot_parse import parse_sql_text

BASE = (
    "CREATE TABLE t (id integer PRIMARY KEY, a int, b int UNIQUE, c int);\n"
    "CREATE INDEX ic ON t (c);\n"
)

# (statement on t, which holds a row, the hazards expected)
CASES: list[tuple[str, set[str]]] = [
    ("ALTER TABLE t ADD COLUMN x int PRIMARY KEY", {"sqlite-add-column-restriction"}),
    ("ALTER TABLE t ADD COLUMN x int UNIQUE", {"sqlite-add-column-restriction"}),
    (
        "ALTER TABLE t ADD COLUMN x text DEFAULT CURRENT_TIMESTAMP",
        {"sqlite-add-column-restriction"},
    ),
    ("ALTER TABLE t ADD COLUMN x int DEFAULT (1 + 1)", {"sqlite-add-column-restriction"}),
    ("ALTER TABLE t ADD COLUMN x int NOT NULL", {"sqlite-add-column-restriction"}),
    ("ALTER TABLE t ADD COLUMN x int NOT NULL DEFAULT NULL", {"sqlite-add-column-restriction"}),
    ("ALTER TABLE t ADD COLUMN x int AS (a + 1) STORED", {"sqlite-add-column-restriction"}),
    ("ALTER TABLE t ALTER COLUMN a TYPE bigint", {"sqlite-table-rebuild"}),
    ("ALTER TABLE t ALTER COLUMN a SET NOT NULL", {"sqlite-table-rebuild"}),
    ("ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0)", {"sqlite-table-rebuild"}),
    ("ALTER TABLE t DROP COLUMN b", {"sqlite-table-rebuild", "sqlite-drop-column"}),
    ("ALTER TABLE t DROP COLUMN id", {"sqlite-table-rebuild", "sqlite-drop-column"}),
    ("ALTER TABLE t DROP COLUMN c", {"sqlite-table-rebuild", "sqlite-drop-column"}),
    # These succeed on SQLite:
    ("ALTER TABLE t ADD COLUMN x int NOT NULL DEFAULT 0", set()),
    ("ALTER TABLE t ADD COLUMN x int DEFAULT -1", set()),
    ("ALTER TABLE t ADD COLUMN x text DEFAULT 'a'", set()),
    ("ALTER TABLE t ADD COLUMN x int AS (a + 1)", set()),
    ("ALTER TABLE t RENAME COLUMN a TO z", set()),
    ("ALTER TABLE t RENAME TO u", set()),
    ("ALTER TABLE t DROP COLUMN a", {"sqlite-drop-column"}),
    ("ALTER TABLE t DROP a", {"sqlite-drop-column"}),
]
FAILING = {"sqlite-add-column-restriction", "sqlite-table-rebuild"}


def _runs(sql: str, *, rows: bool) -> bool:
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(BASE)
        if rows:
            db.execute("INSERT INTO t VALUES (1, 1, 1, 1)")
        db.execute(sql)
        return True
    except sqlite3.Error:
        return False
    finally:
        db.close()


@pytest.mark.parametrize(("sql", "expected"), CASES, ids=[c[0] for c in CASES])
def test_verdict_matches_sqlite(sql: str, expected: set[str]) -> None:
    files = [
        parse_sql_text(BASE, "001.sql", "sqlite"),
        parse_sql_text(sql + ";", "002.sql", "sqlite"),
    ]
    findings = check_sqlite(files)
    assert {f.rule for f in findings} == expected
    assert all(f.file == "002.sql" and f.line == 1 for f in findings)
    assert _runs(sql, rows=True) is not bool(expected & FAILING)


def test_new_table_only_always_failing_restrictions() -> None:
    sql = """CREATE TABLE fresh (id integer PRIMARY KEY, a int);
ALTER TABLE fresh ADD COLUMN x int NOT NULL;
ALTER TABLE fresh ADD COLUMN y text DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE fresh ADD COLUMN z int UNIQUE;
ALTER TABLE fresh DROP COLUMN a;
DROP TABLE fresh;
"""
    found = [(f.rule, f.line) for f in check_sqlite([parse_sql_text(sql, "m.sql", "sqlite")])]
    assert found == [("sqlite-add-column-restriction", 4)]
    db = sqlite3.connect(":memory:")  # on the empty new table only line 4 fails
    lines = sql.splitlines()
    db.executescript("\n".join(lines[:3]))
    with pytest.raises(sqlite3.OperationalError, match="UNIQUE"):
        db.execute(lines[3])
    db.close()


def test_keys_from_a_schema_and_drop_table(tmp_path: Path) -> None:
    from dbarchitect.sources import load_schema

    (tmp_path / "schema.sql").write_text(BASE)
    schema = load_schema([str(tmp_path / "schema.sql")], dialect="sqlite")
    sql = "ALTER TABLE t DROP COLUMN c;\nDROP TABLE t; -- dbarch:ignore sqlite-drop-column\n"
    found = [
        (f.rule, f.line)
        for f in check_sqlite([parse_sql_text(sql, "m.sql", "sqlite")], schema=schema)
    ]
    assert found == [
        ("sqlite-table-rebuild", 1),
        ("sqlite-drop-column", 1),
        ("sqlite-drop-table", 2),
    ]


def test_rebuild_plan_is_the_documented_procedure() -> None:
    (finding,) = check_sqlite(
        [parse_sql_text("ALTER TABLE t ALTER COLUMN a TYPE bigint;", "m.sql", "sqlite")]
    )
    assert finding.fix is not None
    fix = finding.fix.splitlines()
    assert fix[0] == "PRAGMA foreign_keys = OFF;" and fix[1] == "BEGIN;"
    assert "ALTER TABLE new_t RENAME TO t;" in fix and fix[-2:] == [
        "COMMIT;",
        "PRAGMA foreign_keys = ON;",
    ]


def test_trigger_body_is_one_statement() -> None:
    sql = (
        "CREATE TABLE fresh (a int);\n"
        "CREATE TRIGGER tr AFTER INSERT ON fresh BEGIN\n  UPDATE fresh SET a = 1;\nEND;\n"
        "DROP TABLE old;\n"
    )
    parsed = parse_sql_text(sql, "m.sql", "sqlite")
    assert [s.line for s in parsed.statements] == [1, 2, 5]
    assert [(f.rule, f.line) for f in check_sqlite([parsed])] == [("sqlite-drop-table", 5)]


def test_cli_dialect_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "001.sql").write_text("ALTER TABLE t ADD COLUMN x int UNIQUE;\n")
    with pytest.raises(SystemExit) as exc:
        main(["check", "--dialect", "sqlite", str(tmp_path / "001.sql")])
    out = capsys.readouterr().out
    assert exc.value.code == 1 and "sqlite-add-column-restriction" in out and "001.sql:1" in out
    assert set(SQLITE_HAZARDS) == {
        "sqlite-table-rebuild",
        "sqlite-add-column-restriction",
        "sqlite-drop-table",
        "sqlite-drop-column",
    }
