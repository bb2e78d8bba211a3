"""SQLite migrations on real databases: every pair under tests/fixtures/diff/sqlite goes up and
down, and the database must then introspect exactly as the target schema, with its rows kept.

Each case directory holds before.sql and after.sql, optionally data.sql (rows loaded into the
`before` database) and case.toml (`renames = [{kind, old, new}]`, `lossy = true` when the
change destroys data so the rows cannot come back on the way down). The harness below is
shared with tests/mysql/test_migrate.py.
"""

from __future__ import annotations

import difflib
import hashlib
import sqlite3
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.sqlite.migrate import render_operations
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import DbarchError
from dbarchitect.migrate.apply import apply_statements
from dbarchitect.migrate.migration import Migration, Rename, Statement, make_migration
from dbarchitect.model import Schema
from dbarchitect.model.serialize import to_json
from dbarchitect.sources import introspect_url

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "diff"


@dataclass(frozen=True)
class Case:
    """One before/after pair of the fixture corpus."""

    path: Path
    renames: tuple[Rename, ...]
    lossy: bool

    @property
    def name(self) -> str:
        return self.path.name


def cases(dialect: str) -> list[Case]:
    """The fixture pairs of one dialect, in name order."""
    out = []
    for path in sorted((FIXTURES / dialect).iterdir()):
        meta = path / "case.toml"
        data = tomllib.loads(meta.read_text()) if meta.exists() else {}
        renames = tuple(
            Rename(kind=r["kind"], old=r["old"], new=r["new"]) for r in data.get("renames", ())
        )
        out.append(Case(path=path, renames=renames, lossy=bool(data.get("lossy", False))))
    return out


def migration_for(
    before: Schema, after: Schema, renames: Sequence[Rename], *, online: bool = True
) -> Migration:
    return make_migration(before, after, renames=renames, online=online)


# --- running a case ---------------------------------------------------------------------------


def schema_difference(got: Schema, want: Schema) -> str:
    """A unified diff of the canonical JSON of two schemas (empty when equal)."""
    return "\n".join(
        difflib.unified_diff(
            to_json(want).splitlines(), to_json(got).splitlines(), "want", "got", lineterm=""
        )
    )


def checksums(url: DatabaseURL, schema: Schema) -> dict[str, tuple[int, str]]:
    """Row count and a digest of the sorted rows of every table."""
    dialect = get_dialect(url.dialect)
    out = {}
    with dialect.engine().connect(url, read_only=True) as session:
        for t in schema.tables:
            rows = session.fetch(f"SELECT * FROM {dialect.quote(t.name)}")
            text = "\n".join(sorted(repr(sorted(r.items())) for r in rows))
            out[t.name] = (len(rows), hashlib.sha256(text.encode()).hexdigest())
    return out


def sql_of(statements: Sequence[Statement]) -> str:
    return "\n".join(("" if s.transactional else "-- alone\n") + s.sql for s in statements)


@cache
def load_pair(case: Case, dialect: str) -> tuple[Schema, Schema]:
    """The case's before and after schemas, each loaded in a scratch database (once)."""
    engine = get_dialect(dialect).engine()
    with engine.scratch() as db, engine.scratch() as target:
        db = engine.load_files(db, [case.path / "before.sql"])
        target = engine.load_files(target, [case.path / "after.sql"])
        return introspect_url(db), introspect_url(target)


def case_named(dialect: str, prefix: str) -> Case:
    return next(c for c in cases(dialect) if c.name.startswith(prefix))


def run_case(case: Case, dialect: str, *, online: bool = True) -> Migration:
    """Build both sides, migrate up and down, and check schema and rows each way."""
    engine = get_dialect(dialect).engine()
    data = [case.path / "data.sql"] if (case.path / "data.sql").exists() else []
    with engine.scratch() as db:
        db = engine.load_files(db, [case.path / "before.sql", *data])
        before, after = introspect_url(db), load_pair(case, dialect)[1]
        assert before != after, "the pair must differ"
        migration = migration_for(before, after, case.renames, online=online)
        assert migration.up and migration.down
        rows = checksums(db, before)

        apply_statements(db, migration.up, label="up")
        got = introspect_url(db)
        assert got == after, f"up:\n{sql_of(migration.up)}\n{schema_difference(got, after)}"
        assert migration_for(got, after, ()).empty
        renamed = {r.old: r.new for r in case.renames if r.kind == "table"}
        counts = {name: c for name, (c, _) in checksums(db, after).items()}
        for name, (count, _) in rows.items():
            new = renamed.get(name, name)
            if new in counts and not case.lossy:
                assert counts[new] == count, f"rows of {name} after up"

        apply_statements(db, migration.down, label="down")
        back = introspect_url(db)
        assert back == before, f"down:\n{sql_of(migration.down)}\n{schema_difference(back, before)}"
        if not case.lossy:
            assert checksums(db, before) == rows, "rows changed by the round trip"
        return migration


# --- the tests --------------------------------------------------------------------------------

SQLITE_CASES = cases("sqlite")


def test_the_corpus_is_broad_enough() -> None:
    assert len(SQLITE_CASES) >= 20
    assert sum((c.path / "data.sql").exists() for c in SQLITE_CASES) >= 5


@pytest.mark.parametrize("case", SQLITE_CASES, ids=lambda c: c.name)
def test_migration_round_trip(case: Case) -> None:
    run_case(case, "sqlite")


def test_add_column_at_the_end_is_in_place() -> None:
    before, after = load_pair(case_named("sqlite", "003"), "sqlite")
    up = migration_for(before, after, ()).up
    assert [s.sql for s in up] == [
        "ALTER TABLE item ADD COLUMN note TEXT;",
        "ALTER TABLE item ADD COLUMN price NUMERIC(10,2);",
    ]


def test_drop_of_an_unreferenced_column_is_in_place() -> None:
    before, after = load_pair(case_named("sqlite", "006"), "sqlite")
    up = [s.sql for s in migration_for(before, after, ()).up]
    assert "ALTER TABLE event DROP COLUMN legacy_code;" in up
    assert not any("new_event" in s for s in up)


def test_all_changes_to_one_table_are_one_rebuild() -> None:
    case = case_named("sqlite", "021")
    before, after = load_pair(case, "sqlite")
    migration = migration_for(before, after, ())
    assert len([o for o in migration.operations if o.owner == "shop"]) >= 3
    up = [s.sql for s in migration.up]
    assert sum(s.startswith("CREATE TABLE new_shop") for s in up) == 1
    assert up.index("DROP TABLE shop;") < up.index("ALTER TABLE new_shop RENAME TO shop;")


def test_pragmas_run_outside_the_transaction() -> None:
    before, after = load_pair(case_named("sqlite", "021"), "sqlite")
    up = migration_for(before, after, ()).up
    assert (up[0].sql, up[0].transactional) == ("PRAGMA foreign_keys = OFF;", False)
    assert (up[-1].sql, up[-1].transactional) == ("PRAGMA foreign_keys = ON;", False)
    assert (up[-2].sql, up[-2].transactional) == ("PRAGMA foreign_key_check;", True)
    assert all(s.transactional for s in up[1:-1])


def run_with_foreign_keys(path: str, statements: Sequence[Statement]) -> list[tuple[object, ...]]:
    """Run like a careful user: foreign keys enforced on the connection, consecutive
    transactional statements in one transaction; returns what foreign_key_check reported."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    reported: list[tuple[object, ...]] = []
    in_transaction = False
    try:
        for stmt in statements:
            if stmt.transactional and not in_transaction:
                conn.execute("BEGIN")
                in_transaction = True
            elif not stmt.transactional and in_transaction:
                conn.execute("COMMIT")
                in_transaction = False
            rows = conn.execute(stmt.sql).fetchall()
            if stmt.sql.startswith("PRAGMA foreign_key_check"):
                reported += rows
        if in_transaction:
            conn.execute("COMMIT")
    finally:
        conn.close()
    return reported


def test_rebuilding_a_parent_keeps_its_children_with_foreign_keys_enforced() -> None:
    # shelf rows reference shop ON DELETE CASCADE: were foreign keys still on when the rebuild
    # drops shop, SQLite would delete every shelf.
    case = case_named("sqlite", "021")
    engine = get_dialect("sqlite").engine()
    with engine.scratch() as db:
        engine.load_files(db, [case.path / "before.sql", case.path / "data.sql"])
        before, after = introspect_url(db), load_pair(case, "sqlite")[1]
        rows = checksums(db, before)
        migration = migration_for(before, after, ())
        assert db.database is not None
        assert run_with_foreign_keys(db.database, migration.up) == []
        assert introspect_url(db) == after
        assert checksums(db, after)["shelf"] == rows["shelf"]
        assert run_with_foreign_keys(db.database, migration.down) == []
        assert checksums(db, before) == rows


def test_views_and_triggers_naming_a_rebuilt_table_are_dropped_and_made_again() -> None:
    before, after = load_pair(case_named("sqlite", "019"), "sqlite")
    up = [s.sql.split(" AS ")[0] for s in migration_for(before, after, ()).up]
    drops = ["DROP TRIGGER audit_copies;", "DROP VIEW big_regions;", "DROP VIEW sale_by_region;"]
    creates = ["CREATE VIEW sale_by_region", "CREATE VIEW big_regions"]
    assert up[1:4] == drops
    rename = up.index("ALTER TABLE new_sale RENAME TO sale;")
    assert up[rename + 1 : rename + 3] == creates
    assert up[rename + 3].startswith("CREATE TRIGGER audit_copies")


def test_online_changes_nothing() -> None:
    before, after = load_pair(case_named("sqlite", "021"), "sqlite")
    ops = list(migration_for(before, after, ()).operations)
    assert render_operations(ops, before, after, online=True) == render_operations(
        ops, before, after, online=False
    )


def test_autoincrement_high_water_mark_survives_a_rebuild() -> None:
    case = case_named("sqlite", "021")
    engine = get_dialect("sqlite").engine()
    with engine.scratch() as db:
        engine.load_files(db, [case.path / "before.sql", case.path / "data.sql"])
        engine.run_script(
            db, "INSERT INTO shop (region) VALUES ('eu'); DELETE FROM shop WHERE id = 4;"
        )
        migration = migration_for(introspect_url(db), load_pair(case, "sqlite")[1], ())
        apply_statements(db, migration.up)
        engine.run_script(db, "INSERT INTO shop (region) VALUES ('as');")
        with engine.connect(db) as session:
            assert session.fetch("SELECT max(id) AS id FROM shop") == [{"id": 5}]


def test_a_rebuild_over_rows_that_break_a_foreign_key_fails(sqlite_url: DatabaseURL) -> None:
    # foreign_key_check reports violations as rows, not as an error: the runner must fail.
    engine = get_dialect("sqlite").engine()
    engine.run_script(
        sqlite_url,
        "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id), n TEXT);\n"
        "INSERT INTO c VALUES (1, 42, 'orphan');",
    )
    before = introspect_url(sqlite_url)
    with engine.scratch() as other:
        engine.run_script(
            other,
            "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
            "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id), "
            "n TEXT NOT NULL DEFAULT '');",
        )
        after = introspect_url(other)
    migration = make_migration(before, after)
    with pytest.raises(DbarchError, match=r"foreign_key_check.*1 row"):
        apply_statements(sqlite_url, migration.up, label="up")
    assert introspect_url(sqlite_url) == before


def test_rowids_and_full_text_indexes_survive_a_rebuild() -> None:
    # The rowid is a full-text row's document id and what points at a row of a table without
    # INTEGER PRIMARY KEY; an external-content index is rebuilt from its table, not copied.
    case = case_named("sqlite", "045")
    engine = get_dialect("sqlite").engine()
    with engine.scratch() as db:
        engine.load_files(db, [case.path / "before.sql", case.path / "data.sql"])
        migration = migration_for(introspect_url(db), load_pair(case, "sqlite")[1], ())
        apply_statements(db, migration.up)
        with engine.connect(db) as session:
            # porter stemming is new: 'run' now finds 'running'.
            assert session.fetch("SELECT rowid AS r FROM doc_fts WHERE doc_fts MATCH 'run'") == [
                {"r": 20}
            ]
            # body is newly indexed from the content table, under its ids.
            assert session.fetch("SELECT rowid AS r FROM doc_idx WHERE doc_idx MATCH 'dogs'") == [
                {"r": 8}
            ]
            assert session.fetch("SELECT rowid AS r, tag FROM tagged ORDER BY rowid") == [
                {"r": 5, "tag": "a"},
                {"r": 9, "tag": "b"},
            ]
        apply_statements(db, migration.down)
        with engine.connect(db) as session:
            assert session.fetch("SELECT rowid AS r FROM doc_fts WHERE doc_fts MATCH 'hello'") == [
                {"r": 10}
            ]
