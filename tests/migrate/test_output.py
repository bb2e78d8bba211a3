"""Migration writers and the statement runner: SQL blocks, numbered pairs, Alembic revisions,
Diesel directories, JSON — each checked by running what it wrote on a real engine."""

from __future__ import annotations

import ast
import json
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.migrate import output
from dbarchitect.migrate.apply import StatementFailed, apply_statements, groups
from dbarchitect.migrate.migration import Migration, Statement
from dbarchitect.migrate.operations import Operation
from dbarchitect.model import Column, Table
from dbarchitect.sources import introspect_url

NOTE = Column(name="note", type="text", logical="text")
ORDERS = Table(schema="public", name="orders", columns=(Column(name="id", type="integer"),))
ADD_NOTE = Operation(action="create", kind="column", after=NOTE, owner="public.orders")
DROP_NOTE = Operation(
    action="drop", kind="column", before=NOTE, owner="public.orders", lossy="its values go"
)
NOW = datetime(2024, 5, 17, 9, 30, 5)


def pg_migration() -> Migration:
    """A hand-made migration with a non-transactional statement between two groups."""
    return Migration(
        dialect="postgres",
        operations=(ADD_NOTE,),
        up=(
            Statement(sql="ALTER TABLE public.orders ADD COLUMN note text", operation=ADD_NOTE),
            Statement(sql="COMMENT ON COLUMN public.orders.note IS 'at :when, 50%'"),
            Statement(
                sql="CREATE INDEX CONCURRENTLY orders_note_idx ON public.orders (note)",
                transactional=False,
            ),
            Statement(sql="ANALYZE public.orders;"),
        ),
        down=(
            Statement(sql="DROP INDEX CONCURRENTLY public.orders_note_idx", transactional=False),
            Statement(sql="ALTER TABLE public.orders DROP COLUMN note", operation=DROP_NOTE),
        ),
        hints=("public.orders.memo dropped and public.orders.note added: a rename?",),
    )


def orders_db(url: DatabaseURL) -> None:
    get_dialect("postgres").engine().run_script(url, "CREATE TABLE orders (id integer);")


def columns(url: DatabaseURL) -> list[str]:
    table = introspect_url(url).table("public.orders")
    assert table is not None
    return [c.name for c in table.columns]


def test_groups_keep_order_and_isolate_non_transactional() -> None:
    runs = [(t, [n for n, _ in run]) for t, run in groups(pg_migration().up)]
    assert runs == [(True, [1, 2]), (False, [3]), (True, [4])]


def test_sql_has_blocks_header_and_runs_in_psql(pg_url: DatabaseURL) -> None:
    text = output.render_sql(pg_migration())
    lines = text.splitlines()
    assert lines[0].startswith("-- dbarch diff (postgres): up, 4 statement(s)")
    assert "-- hint: public.orders.memo dropped and public.orders.note added: a rename?" in lines
    assert "-- not in a transaction: CREATE INDEX CONCURRENTLY orders_note_idx" in text
    body = [ln for ln in lines if ln and not ln.startswith("--")]
    assert body == [
        "BEGIN;",
        "ALTER TABLE public.orders ADD COLUMN note text;",
        "COMMENT ON COLUMN public.orders.note IS 'at :when, 50%';",
        "COMMIT;",
        "CREATE INDEX CONCURRENTLY orders_note_idx ON public.orders (note);",
        "BEGIN;",
        "ANALYZE public.orders;",
        "COMMIT;",
    ]
    orders_db(pg_url)
    engine = get_dialect("postgres").engine()
    engine.run_script(pg_url, text)  # psql: CONCURRENTLY would fail inside a block
    assert columns(pg_url) == ["id", "note"]
    down = output.render_sql(pg_migration(), "down")
    assert "-- LOSSY: drop column public.orders.note: its values go" in down
    engine.run_script(pg_url, down)
    assert columns(pg_url) == ["id"]


def test_empty_migration_says_no_changes() -> None:
    empty = Migration(dialect="sqlite", operations=(), up=(), down=())
    assert output.render_sql(empty) == "-- no changes\n"
    assert output.render_sql(empty, "down") == "-- no changes\n"


def test_apply_runs_groups_and_names_a_failing_statement(pg_url: DatabaseURL) -> None:
    orders_db(pg_url)
    apply_statements(pg_url, pg_migration().up)
    assert columns(pg_url) == ["id", "note"]
    broken = (
        Statement(sql="ALTER TABLE orders ADD COLUMN total numeric"),
        Statement(sql="ALTER TABLE orders\n  ADD COLUMN note text"),  # exists already
    )
    with pytest.raises(StatementFailed) as exc:
        apply_statements(pg_url, broken, label="up")
    message = str(exc.value)
    assert message == (
        'up statement 2 (ALTER TABLE orders): column "note" of relation "orders" already exists'
    )
    assert exc.value.number == 2
    assert columns(pg_url) == ["id", "note"]  # the group was rolled back: no "total"


def test_apply_on_sqlite_rolls_back_the_group(sqlite_url: DatabaseURL) -> None:
    get_dialect("sqlite").engine().run_script(sqlite_url, "CREATE TABLE t (a integer);")
    stmts = (
        Statement(sql="ALTER TABLE t ADD COLUMN b text"),
        Statement(sql="INSERT INTO nowhere VALUES (1)"),
    )
    with pytest.raises(StatementFailed) as exc:
        apply_statements(sqlite_url, stmts)
    assert str(exc.value) == "statement 2 (INSERT INTO nowhere VALUES (1)): no such table: nowhere"
    table = introspect_url(sqlite_url).table("t")
    assert table is not None and [c.name for c in table.columns] == ["a"]


def test_numbered_pair_follows_existing_numbers(tmp_path: Path) -> None:
    (tmp_path / "0007_init.up.sql").write_text("")
    (tmp_path / "0012_more.down.sql").write_text("")
    (tmp_path / "notes.txt").write_text("")
    up, down = output.write_pair(pg_migration(), tmp_path, "Add note!")
    assert (up.name, down.name) == ("0013_add_note.up.sql", "0013_add_note.down.sql")
    assert "CREATE INDEX CONCURRENTLY" in up.read_text()
    assert "DROP COLUMN note" in down.read_text()
    fresh = tmp_path / "fresh"
    first, _ = output.write_pair(pg_migration(), fresh, "x")
    assert first.name == "001_x.up.sql"


def test_default_names() -> None:
    assert output.default_name(pg_migration()) == "add_column_orders_note"
    two = Migration(
        dialect="postgres",
        operations=(ADD_NOTE, Operation(action="drop", kind="column", before=NOTE, owner="a.b")),
        up=(),
        down=(),
    )
    assert output.default_name(two) == "migration"
    table = Operation(action="create", kind="table", after=ORDERS)
    one_table = Migration(dialect="postgres", operations=(table,), up=(), down=())
    assert output.default_name(one_table) == "create_table_orders"


def revision_file(directory: Path, revision: str, down: str | None) -> None:
    (directory / f"{revision}_x.py").write_text(
        f'"""x"""\nfrom alembic import op\n\nrevision = {revision!r}\n'
        f"down_revision: str | None = {down!r}\n\n\ndef upgrade() -> None:\n    pass\n"
    )


def executed_strings(path: Path, function: str) -> list[tuple[bool, str]]:
    """(inside autocommit_block, text) of each op.execute() call in one function."""
    tree = ast.parse(path.read_text())
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    found: list[tuple[bool, str]] = []

    def walk(nodes: list[ast.stmt], autocommit: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.With):
                walk(node.body, True)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                arg = node.value.args[0]
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                found.append((autocommit, arg.value))

    walk(func.body, False)
    return found


def test_alembic_revision_chains_to_the_head_and_runs_through_sqlalchemy(
    tmp_path: Path, pg_url: DatabaseURL
) -> None:
    revision_file(tmp_path, "aaa111", None)
    revision_file(tmp_path, "bbb222", "aaa111")
    (tmp_path / "README").write_text("not python")
    path = output.write_alembic(pg_migration(), tmp_path, "add note", NOW)
    source = path.read_text()
    compile(source, str(path), "exec")
    module = ast.parse(source)
    assigned = {
        n.targets[0].id: ast.literal_eval(n.value)
        for n in module.body
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
    }
    assert assigned["down_revision"] == "bbb222"
    assert path.name == f"{assigned['revision']}_add_note.py"
    assert "Create Date: 2024-05-17 09:30:05" in source
    assert output.alembic_head(tmp_path) == assigned["revision"]
    ups = executed_strings(path, "upgrade")
    assert [a for a, _ in ups] == [False, False, True, False]
    # Alembic runs op.execute(str) as sqlalchemy text(): ":when" must stay literal.
    orders_db(pg_url)
    engine = sa.create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(conninfo(pg_url))
    )
    try:
        for direction, expected in (("upgrade", ["id", "note"]), ("downgrade", ["id"])):
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for _, text in executed_strings(path, direction):
                    conn.execute(sa.text(text))
            assert columns(pg_url) == expected
            if direction == "upgrade":
                assert comment_of_note(pg_url) == "at :when, 50%"
    finally:
        engine.dispose()


def comment_of_note(url: DatabaseURL) -> str | None:
    table = introspect_url(url).table("public.orders")
    assert table is not None
    note = table.column("note")
    assert note is not None
    return note.comment


def test_alembic_refuses_several_heads(tmp_path: Path) -> None:
    revision_file(tmp_path, "aaa111", None)
    revision_file(tmp_path, "bbb222", "aaa111")
    revision_file(tmp_path, "ccc333", "aaa111")
    with pytest.raises(InputError, match=r"several Alembic heads .*bbb222.*ccc333"):
        output.write_alembic(pg_migration(), tmp_path, "x", NOW)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "aaa111_x.py",
        "bbb222_x.py",
        "ccc333_x.py",
    ]


def test_alembic_first_revision_has_no_parent(tmp_path: Path) -> None:
    path = output.write_alembic(pg_migration(), tmp_path, "first", NOW)
    assert "down_revision = None" in path.read_text()


def test_diesel_directory_and_metadata(tmp_path: Path) -> None:
    paths = output.write_diesel(pg_migration(), tmp_path, "add note", NOW)
    folder = tmp_path / "migrations" / "2024-05-17-093005_add_note"
    assert paths == [folder / "up.sql", folder / "down.sql", folder / "metadata.toml"]
    assert (folder / "metadata.toml").read_text() == "run_in_transaction = false\n"
    assert "BEGIN;" in (folder / "up.sql").read_text()  # Diesel no longer wraps it
    plain = Migration(
        dialect="sqlite",
        operations=(),
        up=(Statement(sql="CREATE TABLE t (a integer)"),),
        down=(Statement(sql="DROP TABLE t"),),
    )
    later = datetime(2024, 5, 17, 9, 30, 6)
    paths = output.write_diesel(plain, tmp_path, "t", later)
    assert [p.name for p in paths] == ["up.sql", "down.sql"]  # Diesel's transaction is kept
    up = paths[0].read_text()
    assert "BEGIN" not in up and up.rstrip().endswith("CREATE TABLE t (a integer);")
    with pytest.raises(InputError, match="already exists"):
        output.write_diesel(plain, tmp_path, "t", later)


def test_json_lists_operations_with_their_statements() -> None:
    data = json.loads(output.render_json(pg_migration()))
    assert data["dialect"] == "postgres" and data["empty"] is False
    [op] = data["operations"]
    assert {k: op[k] for k in ("action", "kind", "owner", "name", "lossy")} == {
        "action": "create",
        "kind": "column",
        "owner": "public.orders",
        "name": "note",
        "lossy": None,
    }
    assert op["statements"] == [
        {"sql": "ALTER TABLE public.orders ADD COLUMN note text", "transactional": True}
    ]
    assert [s["transactional"] for s in data["up"]] == [True, True, False, True]
    assert len(data["down"]) == 2
