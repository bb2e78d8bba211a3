"""`dbarch check --dialect mysql`: online-DDL verdicts, each proven on the scratch MariaDB.

The server refuses `ALGORITHM=INPLACE, LOCK=NONE` when an operation cannot run online, so every
"needs COPY" verdict must make that statement fail and every "online" verdict must let it pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dbarchitect.cli import main
from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.mysql.migration_safety import MYSQL_HAZARDS, check_mysql
from dbarchitect.engines.mysql import MysqlSession, connect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import DbarchError, InputError
from dbarchitect.migrate.safety.sqlglot_parse import parse_sql_text
from dbarchitect.model.schema import Schema
from dbarchitect.sources import introspect_url

BASE = (
    "CREATE TABLE t (id int PRIMARY KEY, a int, b varchar(10) CHARACTER SET latin1, "
    "c varchar(10), d int NOT NULL DEFAULT 0, KEY ka (a)) ENGINE=InnoDB"
)

# (statement, the hazards expected, whether the server refuses it online)
CASES: list[tuple[str, set[str], bool]] = [
    ("ALTER TABLE t MODIFY a bigint", {"mysql-copy-algorithm"}, True),
    ("ALTER TABLE t MODIFY b varchar(10) CHARACTER SET utf8mb4", {"mysql-copy-algorithm"}, True),
    ("ALTER TABLE t DROP PRIMARY KEY", {"mysql-copy-algorithm"}, True),
    ("ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4", {"mysql-copy-algorithm"}, True),
    (
        "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES t (id)",
        {"mysql-copy-algorithm"},
        True,
    ),
    ("ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0)", {"mysql-copy-algorithm"}, True),
    ("ALTER TABLE t ADD FULLTEXT INDEX ft (c)", {"mysql-copy-algorithm"}, True),
    ("ALTER TABLE t ADD COLUMN z int AUTO_INCREMENT UNIQUE", {"mysql-copy-algorithm"}, True),
    ("ALTER TABLE t ADD INDEX kc (c)", {"mysql-lock-not-none"}, False),
    ("ALTER TABLE t DROP INDEX ka", {"mysql-lock-not-none"}, False),
    ("ALTER TABLE t MODIFY a int NOT NULL", {"mysql-lock-not-none"}, False),
    ("ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (id, d)", {"mysql-lock-not-none"}, False),
    ("ALTER TABLE t FORCE", {"mysql-lock-not-none"}, False),
    ("ALTER TABLE t ADD UNIQUE KEY u (c)", {"mysql-lock-not-none"}, False),
    ("ALTER TABLE t ADD COLUMN e int", {"mysql-instant-possible"}, False),
    ("ALTER TABLE t ADD COLUMN e int, ALGORITHM=INSTANT", set(), False),
    ("ALTER TABLE t ADD INDEX kc (c), ALGORITHM=INPLACE, LOCK=NONE", set(), False),
    ("ALTER TABLE t MODIFY c varchar(40)", set(), False),
    ("ALTER TABLE t ALTER COLUMN a SET DEFAULT 5", set(), False),
    ("ALTER TABLE t MODIFY d int NULL", {"mysql-lock-not-none"}, False),
    ("ALTER TABLE t MODIFY a int COMMENT 'x'", set(), False),
    ("ALTER TABLE t DROP COLUMN c", {"mysql-drop-column"}, False),
    ("ALTER TABLE t RENAME COLUMN c TO cc", {"mysql-rename"}, False),
    ("ALTER TABLE t CHANGE c cc varchar(10)", {"mysql-rename"}, False),
]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[DatabaseURL, Schema]]:
    with get_dialect("mysql").engine().scratch() as url:
        session = connect(url, read_only=False)
        session.execute(BASE)
        schema = introspect_url(url)
        session.close()
        yield url, schema


def _fresh(url: DatabaseURL) -> MysqlSession:
    session = connect(url, read_only=False)
    session.execute("DROP TABLE IF EXISTS t")
    session.execute(BASE)
    return session


def _rules(sql: str, schema: Schema | None) -> set[str]:
    return {
        f.rule for f in check_mysql([parse_sql_text(sql + ";", "m.sql", "mysql")], schema=schema)
    }


def _online(url: DatabaseURL, sql: str) -> bool:
    """Whether MariaDB accepts the statement with ALGORITHM=INPLACE, LOCK=NONE."""
    session = _fresh(url)
    try:
        if "LOCK=" not in sql and "ALGORITHM=" not in sql:
            sql += ", ALGORITHM=INPLACE, LOCK=NONE"
        session.execute(sql)
        return True
    except DbarchError:
        return False
    finally:
        session.close()


@pytest.mark.parametrize(("sql", "expected", "refused"), CASES, ids=[c[0] for c in CASES])
def test_verdict_matches_the_server(
    server: tuple[DatabaseURL, Schema], sql: str, expected: set[str], refused: bool
) -> None:
    url, schema = server
    assert _rules(sql, schema) == expected
    assert ("mysql-copy-algorithm" in expected) == refused
    assert _online(url, sql) is not refused


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE t ADD COLUMN e int",
        "ALTER TABLE t MODIFY c varchar(40)",
        "ALTER TABLE t DROP COLUMN c",
        "ALTER TABLE t RENAME COLUMN c TO cc",
    ],
)
def test_instant_verdicts_are_instant_on_the_server(
    server: tuple[DatabaseURL, Schema], sql: str
) -> None:
    session = _fresh(server[0])
    try:
        session.execute(sql + ", ALGORITHM=INSTANT")  # raises if the server would rebuild
    finally:
        session.close()


def test_lock_none_fix_runs_online(server: tuple[DatabaseURL, Schema]) -> None:
    (finding,) = check_mysql([parse_sql_text("CREATE INDEX kc ON t (c);", "m.sql", "mysql")])
    assert finding.rule == "mysql-lock-not-none" and finding.fix is not None
    session = _fresh(server[0])
    try:
        session.execute(finding.fix)
    finally:
        session.close()


def test_foreign_key_checks_off_makes_a_foreign_key_online(
    server: tuple[DatabaseURL, Schema],
) -> None:
    sql = (
        "SET foreign_key_checks = 0;\n"
        "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES t (id);"
    )
    assert {f.rule for f in check_mysql([parse_sql_text(sql, "m.sql", "mysql")])} == {
        "mysql-lock-not-none"
    }
    session = _fresh(server[0])
    try:
        session.execute("SET foreign_key_checks = 0")
        session.execute(sql.splitlines()[1].rstrip(";") + ", ALGORITHM=INPLACE, LOCK=NONE")
    finally:
        session.close()


def test_unknown_column_type_is_assumed_to_change() -> None:
    (finding,) = check_mysql([parse_sql_text("ALTER TABLE t MODIFY a bigint;", "m.sql", "mysql")])
    assert finding.rule == "mysql-copy-algorithm" and "unknown" in finding.message
    assert finding.fix is not None and "gh-ost" in finding.fix


def test_types_known_from_an_earlier_migration() -> None:
    files = [
        parse_sql_text(BASE + ";", "001.sql", "mysql"),
        parse_sql_text(
            "ALTER TABLE t MODIFY a int NOT NULL;\nALTER TABLE t MODIFY a bigint;",
            "002.sql",
            "mysql",
        ),
    ]
    found = [(f.rule, f.file, f.line) for f in check_mysql(files)]
    assert found == [("mysql-lock-not-none", "002.sql", 1), ("mysql-copy-algorithm", "002.sql", 2)]


def test_data_loss_renames_new_tables_and_ignores() -> None:
    sql = """CREATE TABLE fresh (id int PRIMARY KEY, a int);
ALTER TABLE fresh MODIFY a bigint;
ALTER TABLE fresh DROP COLUMN a;
DROP TABLE fresh;
TRUNCATE TABLE old;
DROP TABLE old, other;
RENAME TABLE old2 TO new2;
ALTER TABLE old3 RENAME TO new3;
ALTER TABLE old4 DROP COLUMN x; -- dbarch:ignore mysql-drop-column
"""
    found = [
        (f.rule, f.object, f.line) for f in check_mysql([parse_sql_text(sql, "m.sql", "mysql")])
    ]
    assert found == [
        ("mysql-truncate", "old", 5),
        ("mysql-drop-table", "old", 6),
        ("mysql-drop-table", "other", 6),
        ("mysql-rename", "old2", 7),
        ("mysql-rename", "old3", 8),
    ]


def test_unparsable_statement_names_file_and_line() -> None:
    with pytest.raises(InputError, match=r"^bad\.sql:3: cannot parse \(mysql\)") as exc:
        parse_sql_text("SELECT 1;\n\nCREATE TABLE (a int);\n", "bad.sql", "mysql")
    assert "\n" not in str(exc.value)


def test_cli_dialect_mysql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "001.sql").write_text("-- widen\nALTER TABLE t MODIFY a bigint;\n")
    with pytest.raises(SystemExit) as exc:
        main(["check", "--dialect", "mysql", "--format", "json", str(tmp_path / "001.sql")])
    out = capsys.readouterr().out
    assert exc.value.code == 1
    assert '"rule": "mysql-copy-algorithm"' in out and '"line": 2' in out
    assert set(MYSQL_HAZARDS) == {
        "mysql-copy-algorithm",
        "mysql-lock-not-none",
        "mysql-instant-possible",
        "mysql-drop-column",
        "mysql-drop-table",
        "mysql-truncate",
        "mysql-rename",
    }
