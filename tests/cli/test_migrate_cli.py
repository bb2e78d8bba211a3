"""`dbarch migrate test`: up, down, up with rows, on PostgreSQL, SQLite and MariaDB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbarchitect.cli import main

PG_GOOD = {
    "001_orders": (
        "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL"
        " REFERENCES customers, total numeric(10,2) NOT NULL, placed date);\n",
        "DROP TABLE orders;\nDROP TABLE customers;\n",
    ),
    "002_note": (
        "ALTER TABLE orders ADD COLUMN note text;\n",
        "ALTER TABLE orders DROP COLUMN note;\n",
    ),
    "003_index": (
        "CREATE INDEX CONCURRENTLY orders_placed_idx ON orders (placed);\n",
        "DROP INDEX CONCURRENTLY orders_placed_idx;\n",
    ),
}


def write_pairs(directory: Path, pairs: dict[str, tuple[str, str]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, (up, down) in pairs.items():
        (directory / f"{name}.up.sql").write_text(up)
        (directory / f"{name}.down.sql").write_text(down)
    return directory


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_good_pairs_pass_on_postgres(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_pairs(tmp_path / "m", PG_GOOD)
    code, out, err = run(["migrate", "test", str(folder), "--rows", "40"], capsys)
    assert code == 0, out + err
    lines = out.splitlines()
    status = [ln for ln in lines if not ln.startswith(" ")]
    assert status == [
        "ok              001_orders",
        "ok              002_note",
        "ok              003_index",
        "3 migration(s): 3 ok",
    ]
    # What a down throws away on purpose (what its up added, rows included) is said, not failed.
    assert "    note: down drops table public.orders with 40 row(s)" in lines
    assert "    note: down drops table public.customers with 40 row(s)" in lines
    assert "    note: down drops column public.orders.note holding values" in lines


def test_down_that_rebuilds_a_table_loses_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = {
        "001_customers": (
            "CREATE TABLE customers (id integer PRIMARY KEY, name text);\n",
            "DROP TABLE customers;\n",
        ),
        "002_email": (
            "ALTER TABLE customers ADD COLUMN email text;\n",
            "DROP TABLE customers;\nCREATE TABLE customers (id integer PRIMARY KEY, name text);\n",
        ),
    }
    folder = write_pairs(tmp_path / "m", pairs)
    code, out, _ = run(["migrate", "test", str(folder), "--rows", "25", "-f", "json"], capsys)
    assert code == 1
    data = {m["migration"]: m for m in json.loads(out)["migrations"]}
    assert data["001_customers"]["status"] == "ok"
    assert data["002_email"]["status"] == "data lost"
    assert data["002_email"]["lost"] == ["public.customers: 25 row(s) before down, 0 after"]
    assert data["002_email"]["differences"] == []


def test_down_that_forgets_a_column_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = {
        "001_t": ("CREATE TABLE t (id integer PRIMARY KEY);\n", "DROP TABLE t;\n"),
        "002_cols": (
            "ALTER TABLE t ADD COLUMN a text;\nALTER TABLE t ADD COLUMN b integer;\n",
            "ALTER TABLE t DROP COLUMN a;\n",
        ),
    }
    folder = write_pairs(tmp_path / "m", pairs)
    code, out, _ = run(["migrate", "test", str(folder), "--rows", "10"], capsys)
    assert code == 1
    assert out.splitlines() == [
        "ok              001_t",
        "    note: down drops table public.t with 10 row(s)",
        "schema differs  002_cols",
        "    after down: drop column public.t.b",
        "    note: down drops column public.t.a holding values",
        "2 migration(s): 1 ok, 1 schema differs",
    ]


def test_failing_down_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = {
        "001_t": ("CREATE TABLE t (id integer);\n", "DROP TABLE t;\n"),
        "002_u": ("CREATE TABLE u (id integer);\n", "SELECT 1;\nDROP TABLE nope;\n"),
    }
    folder = write_pairs(tmp_path / "m", pairs)
    code, out, _ = run(["migrate", "test", str(folder)], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "not run         001_t"
    assert lines[1] == "failed          002_u"
    assert lines[2].startswith(f"    {folder / '002_u.down.sql'}:2: ")
    assert 'table "nope" does not exist' in lines[2]


SQLITE_GOOD = {
    "001_init": (
        "CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "CREATE TABLE book (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL"
        " REFERENCES author(id), title VARCHAR(20), year INTEGER);\n",
        "DROP TABLE book;\nDROP TABLE author;\n",
    ),
    "002_index": (
        "CREATE INDEX book_year ON book (year);\n",
        "DROP INDEX book_year;\n",
    ),
}


def test_diesel_directories_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "migrations"
    for name, (up, down) in SQLITE_GOOD.items():
        folder = root / f"2024-01-0{name[2]}-000000_{name[4:]}"
        folder.mkdir(parents=True)
        (folder / "up.sql").write_text(up)
        (folder / "down.sql").write_text(down)
    code, out, err = run(["migrate", "test", str(root), "--dialect", "sqlite"], capsys)
    assert code == 0, out + err
    assert out.splitlines()[-1] == "2 migration(s): 2 ok"
    assert "down drops table book with 100 row(s)" in out


def test_sqlite_rebuild_without_the_rows_loses_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = {
        **SQLITE_GOOD,
        "003_rebuild": (
            "ALTER TABLE author ADD COLUMN born INTEGER;\n",
            "PRAGMA foreign_keys = OFF;\nDROP TABLE author;\n"
            "CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
        ),
    }
    folder = write_pairs(tmp_path / "m", pairs)
    files = sorted(str(p) for p in folder.glob("*.up.sql"))
    code, out, _ = run(["migrate", "test", *files, "-d", "sqlite", "--rows", "7"], capsys)
    assert code == 1
    assert "data lost       003_rebuild" in out
    assert "    author: 7 row(s) before down, 0 after" in out


def test_mariadb_pairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = {
        "001_t": (
            "CREATE TABLE t (id int PRIMARY KEY, kind enum('a','b') NOT NULL,"
            " at datetime NOT NULL, doc json);\n",
            "DROP TABLE t;\n",
        ),
        "002_c": (
            "ALTER TABLE t ADD COLUMN c varchar(3) NOT NULL DEFAULT 'x';\n",
            "ALTER TABLE t DROP COLUMN c;\n",
        ),
    }
    folder = write_pairs(tmp_path / "m", pairs)
    code, out, err = run(["migrate", "test", str(folder), "-d", "mysql", "--rows", "5"], capsys)
    assert code == 0, out + err
    assert out.splitlines()[-1] == "2 migration(s): 2 ok"


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        (["nowhere/001_x.up.sql"], "no such file or directory"),
        (["{tmp}/lonely.up.sql"], "its pair lonely.down.sql is missing"),
        (["{tmp}/readme.txt"], "expected NNN_name.up.sql"),
        (["{tmp}/empty"], "no migrations"),
    ],
)
def test_bad_input_is_one_line(
    files: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lonely.up.sql").write_text("SELECT 1;")
    (tmp_path / "readme.txt").write_text("")
    (tmp_path / "empty").mkdir()
    args = [f.format(tmp=tmp_path) for f in files]
    code, out, err = run(["migrate", "test", *args], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_plain_sql_beside_a_down_file_is_a_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `dbarch design` writes 001_initial_schema.sql with 001_initial_schema.down.sql beside it.
    folder = tmp_path / "m"
    folder.mkdir()
    for name, (up, down) in PG_GOOD.items():
        (folder / f"{name}.sql").write_text(up)
        (folder / f"{name}.down.sql").write_text(down)
    (folder / "README.sql").write_text("-- not a migration: it has no down file\n")
    code, out, err = run(["migrate", "test", str(folder), "--rows", "10"], capsys)
    assert code == 0, out + err
    assert [ln for ln in out.splitlines() if not ln.startswith(" ")] == [
        "ok              001_orders",
        "ok              002_note",
        "ok              003_index",
        "3 migration(s): 3 ok",
    ]
    code, out, err = run(["migrate", "test", str(folder / "001_orders.down.sql")], capsys)
    assert code == 0, out + err
    assert out.splitlines()[0] == "ok              001_orders"
