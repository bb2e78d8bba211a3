"""`dbarch diff FROM TO` end to end: what it prints applies, renames keep rows, writers write,
verification refuses a wrong migration, bad input is one line."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import psycopg
import pytest

from dbarchitect.cli import main
from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.migration import Migration, Statement
from dbarchitect.migrate.verify import NotVerified, Origin, differences, verify
from dbarchitect.sources import introspect_url, load_schema

PG_FROM = """CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers,
                     total numeric(10,2), memo text);
INSERT INTO customers VALUES (1, 'Ann'), (2, 'Bob');
INSERT INTO orders VALUES (10, 1, 5.50, 'first'), (11, 2, 7.25, 'second');
"""
PG_TO = """CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers,
                     total numeric(12,2) NOT NULL, note text);
CREATE INDEX orders_customer_idx ON orders (customer_id);
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture
def pg_files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "from.sql").write_text(PG_FROM)
    (tmp_path / "to.sql").write_text(PG_TO)
    return tmp_path / "from.sql", tmp_path / "to.sql"


def test_pg_migration_applies_and_reverts(
    pg_files: tuple[Path, Path], pg_url: DatabaseURL, capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = pg_files
    code, up, err = run(["diff", str(src), str(dst)], capsys)
    assert code == 0, err
    assert "-- LOSSY: drop column public.orders.memo" in up
    assert "--rename public.orders.memo=public.orders.note" in err  # the hint, on stderr
    assert up.count("BEGIN;") == up.count("COMMIT;") >= 1
    code, down, _ = run(["diff", str(src), str(dst), "--down", "--no-verify"], capsys)
    engine = get_dialect("postgres").engine()
    engine.load_files(pg_url, [src])
    engine.run_script(pg_url, up, where="up")
    assert differences(introspect_url(pg_url), load_schema([str(dst)])) == []
    engine.run_script(pg_url, down, where="down")
    assert differences(introspect_url(pg_url), load_schema([str(src)])) == []


def test_identical_is_no_changes_and_exit_code_tells(
    pg_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = pg_files
    assert run(["diff", str(src), str(src)], capsys)[:2] == (0, "-- no changes\n")
    assert run(["diff", str(src), str(src), "--exit-code"], capsys)[:2] == (0, "-- no changes\n")
    code, out, _ = run(["diff", str(src), str(dst), "--exit-code", "--no-verify"], capsys)
    assert code == 1 and "ALTER TABLE" in out


def test_rename_keeps_the_rows(
    pg_files: tuple[Path, Path], pg_url: DatabaseURL, capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = pg_files
    code, up, err = run(["diff", str(src), str(dst), "--rename", "orders.memo=orders.note"], capsys)
    assert code == 0, err
    assert "RENAME COLUMN memo TO note" in up and "DROP COLUMN memo" not in up
    assert "LOSSY" not in up and err == ""
    get_dialect("postgres").engine().load_files(pg_url, [src])
    get_dialect("postgres").engine().run_script(pg_url, up)
    with psycopg.connect(conninfo(pg_url)) as conn:
        rows = conn.execute("SELECT id, note, total FROM orders ORDER BY id").fetchall()
    assert [(r[0], r[1], str(r[2])) for r in rows] == [
        (10, "first", "5.50"),
        (11, "second", "7.25"),
    ]


def test_schema_filter_and_plain_forms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, dst = tmp_path / "a.sql", tmp_path / "b.sql"
    src.write_text(
        "CREATE SCHEMA app; CREATE SCHEMA audit;\n"
        "CREATE TABLE app.t (id int PRIMARY KEY, v text);\n"
        "CREATE TABLE audit.log (id int);\n"
    )
    dst.write_text(
        "CREATE SCHEMA app; CREATE SCHEMA audit;\n"
        "CREATE TABLE app.t (id int PRIMARY KEY, v text);\nCREATE INDEX t_v ON app.t (v);\n"
        "CREATE TABLE audit.log (id int, at timestamptz);\n"
    )
    code, out, err = run(["diff", str(src), str(dst), "-s", "app", "--no-online"], capsys)
    assert code == 0, err
    assert "CREATE INDEX t_v ON app.t" in out and "CONCURRENTLY" not in out
    assert "audit" not in out and "-- not in a transaction" not in out


def test_sqlite_column_rename_and_rebuild_keep_rows(
    tmp_path: Path, sqlite_url: DatabaseURL, capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = tmp_path / "a.sql", tmp_path / "b.sql"
    src.write_text(
        "CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "CREATE TABLE book (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES author(id),"
        " title TEXT, year INTEGER);\n"
        "INSERT INTO author VALUES (1, 'Ann');\nINSERT INTO book VALUES (1, 1, 'B', 1999);\n"
    )
    dst.write_text(
        "CREATE TABLE author (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL);\n"
        "CREATE TABLE book (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES author(id),"
        " title TEXT NOT NULL, year INTEGER);\nCREATE INDEX book_year ON book (year);\n"
    )
    argv = ["diff", str(src), str(dst), "-d", "sqlite", "--rename", "author.name=author.full_name"]
    code, up, err = run(argv, capsys)
    assert code == 0, err
    assert "-- not in a transaction: PRAGMA foreign_keys = OFF" in up
    engine = get_dialect("sqlite").engine()
    engine.load_files(sqlite_url, [src])
    engine.run_script(sqlite_url, up)
    session = engine.connect(sqlite_url)
    try:
        assert session.fetch("SELECT full_name FROM author") == [{"full_name": "Ann"}]
        assert session.fetch("SELECT title, year FROM book") == [{"title": "B", "year": 1999}]
    finally:
        session.close()


def test_empty_to_full_and_json_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dst = tmp_path / "b.sql"
    dst.write_text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n")
    code, schema_json, _ = run(["inspect", str(dst), "-d", "sqlite", "-f", "json"], capsys)
    (tmp_path / "b.json").write_text(schema_json)
    code, out, err = run(["diff", "empty", str(tmp_path / "b.json")], capsys)  # dialect from JSON
    assert code == 0, err
    assert "CREATE TABLE t" in out and out.startswith("-- dbarch diff (sqlite)")
    code, out, err = run(["diff", str(tmp_path / "b.json"), str(dst), "-d", "sqlite"], capsys)
    assert (code, out) == (0, "-- no changes\n"), err
    code, out, _ = run(["diff", str(dst), "empty", "-d", "sqlite", "-f", "json"], capsys)
    data = json.loads(out)
    assert [(o["action"], o["kind"], o["name"], bool(o["lossy"])) for o in data["operations"]] == [
        ("drop", "table", "t", True)
    ]
    assert data["operations"][0]["statements"][0]["sql"].startswith("DROP TABLE")


def test_url_source_is_read_only_and_verified_on_a_copy(
    pg_files: tuple[Path, Path], pg_url: DatabaseURL, capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = pg_files
    get_dialect("postgres").engine().load_files(pg_url, [src])
    before = introspect_url(pg_url)
    url = pg_url.render(redact=False)
    code, out, err = run(["diff", url, str(dst), "--rename", "orders.memo=orders.note"], capsys)
    assert code == 0, err
    assert "RENAME COLUMN memo TO note" in out
    assert introspect_url(pg_url) == before  # verification ran elsewhere


def test_writers_from_the_command_line(
    pg_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = pg_files
    base = [
        "diff",
        str(src),
        str(dst),
        "--no-verify",
        "--rename",
        "public.orders.memo=public.orders.note",
    ]
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    (pairs / "001_init.up.sql").write_text("")
    code, out, _ = run([*base, "-f", "dir", "--out", str(pairs)], capsys)
    assert code == 0
    assert out.splitlines() == [
        str(pairs / "002_migration.up.sql"),
        str(pairs / "002_migration.down.sql"),
    ]
    assert "RENAME COLUMN note TO memo" in (pairs / "002_migration.down.sql").read_text()

    versions = tmp_path / "versions"
    versions.mkdir()
    for rev, down in (("1a", None), ("2b", "1a")):
        (versions / f"{rev}_x.py").write_text(f"revision = {rev!r}\ndown_revision = {down!r}\n")
    code, out, _ = run([*base, "-f", "alembic", "--alembic", str(versions), "--name", "n"], capsys)
    assert code == 0
    written = Path(out.strip())
    assert written.parent == versions and written.name.endswith("_n.py")
    tree = ast.parse(written.read_text())
    compile(tree, str(written), "exec")
    assigned = {
        n.targets[0].id: ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
    }
    assert assigned["down_revision"] == "2b"
    assert "autocommit_block" in written.read_text()  # CREATE INDEX CONCURRENTLY

    code, out, _ = run([*base, "-f", "diesel", "--out", str(tmp_path / "app")], capsys)
    assert code == 0
    paths = [Path(p) for p in out.splitlines()]
    assert [p.name for p in paths] == ["up.sql", "down.sql", "metadata.toml"]
    assert paths[0].parent.parent == tmp_path / "app" / "migrations"


def test_mariadb_migration_applies(
    tmp_path: Path, mysql_url: DatabaseURL, capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = tmp_path / "a.sql", tmp_path / "b.sql"
    src.write_text(
        "CREATE TABLE t (id int PRIMARY KEY, v varchar(10));\nINSERT INTO t VALUES (1,'x');\n"
    )
    dst.write_text(
        "CREATE TABLE t (id int PRIMARY KEY, v varchar(20), n int NOT NULL DEFAULT 0);\n"
        "CREATE INDEX t_v ON t (v);\n"
    )
    code, up, err = run(["diff", str(src), str(dst), "-d", "mysql"], capsys)
    assert code == 0, err
    engine = get_dialect("mysql").engine()
    engine.load_files(mysql_url, [src])
    engine.run_script(mysql_url, up)
    assert differences(introspect_url(mysql_url), load_schema([str(dst)], dialect="mysql")) == []


def test_verify_refuses_a_wrong_migration(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    sql.write_text("CREATE TABLE t (id integer PRIMARY KEY);\n")
    before = load_schema([str(sql)], dialect="sqlite")
    after_sql = tmp_path / "b.sql"
    after_sql.write_text("CREATE TABLE t (id integer PRIMARY KEY, v text);\n")
    after = load_schema([str(after_sql)], dialect="sqlite")
    origin = Origin(files=(sql,))
    wrong = Migration(
        dialect="sqlite",
        operations=(),
        up=(Statement(sql="ALTER TABLE t ADD COLUMN w text"),),
        down=(Statement(sql="ALTER TABLE t DROP COLUMN w"),),
    )
    with pytest.raises(NotVerified) as exc:
        verify(wrong, origin=origin, after=after)
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith("migration not verified: 2 difference(s) from TO remain after up")
    assert exc.value.differences == ("after up: create column t.v", "after up: drop column t.w")
    broken = Migration(
        dialect="sqlite",
        operations=(),
        up=(Statement(sql="ALTER TABLE t ADD COLUMN v text"),),
        down=(Statement(sql="ALTER TABLE nope DROP COLUMN v"),),
    )
    with pytest.raises(NotVerified) as exc:
        verify(broken, origin=origin, after=after)
    assert str(exc.value) == (
        "migration not verified: down statement 1 (ALTER TABLE nope DROP COLUMN v): "
        "no such table: nope"
    )
    leaves = Migration(
        dialect="sqlite",
        operations=(),
        up=(Statement(sql="ALTER TABLE t ADD COLUMN v text"),),
        down=(Statement(sql="SELECT 1"),),
    )
    with pytest.raises(NotVerified) as exc:
        verify(leaves, origin=origin, after=after)
    assert exc.value.differences == ("after down: drop column t.v",)
    assert before.table("t") is not None


def test_broken_sql_is_one_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.sql", tmp_path / "bad.sql"
    good.write_text("CREATE TABLE t (id int);\n")
    bad.write_text("CREATE TABLE t (id int);\nCREATE TABLE u (id int,, x text);\n")
    code, out, err = run(["diff", str(good), str(bad)], capsys)  # a traceback would escape
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert f"{bad}:2:" in line and "syntax error" in line


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["no/such.sql", "{b}"], "no/such.sql: no such file or directory"),
        (["postgresql://u:secret@127.0.0.1:9/x", "{b}"], "cannot connect"),
        (["sqlite:///{tmp}/x.db", "{b}", "-d", "postgres"], "does not match"),
        (["sqlite:///{tmp}/x.db", "{json}"], "both sides must be of one dialect"),
        (["{b}", "{b}", "--rename", "public.nope=public.t2"], "FROM has no table public.nope"),
        (["{b}", "{b}", "--rename", "a.b=c"], "same qualification"),
        (["{b}", "{b}", "-f", "dir"], "--format dir needs --out DIR"),
        (["{b}", "{json}", "--schema", "public"], "does not filter a JSON source"),
    ],
)
def test_bad_input_is_one_line(
    args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "b.sql").write_text("CREATE TABLE t (id int);\n")
    (tmp_path / "s.json").write_text(
        json.dumps({"format": "dbarchitect-schema", "version": 1, "dialect": "postgres"})
    )
    sqlite_db = get_dialect("sqlite").engine()
    sqlite_db.run_script(
        DatabaseURL(dialect="sqlite", scheme="sqlite", database=str(tmp_path / "x.db")),
        "CREATE TABLE t (id int);",
    )
    argv = [a.format(b=tmp_path / "b.sql", tmp=tmp_path, json=tmp_path / "s.json") for a in args]
    code, out, err = run(["diff", *argv], capsys)
    assert code == 2 and out == "", err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert "secret" not in err
