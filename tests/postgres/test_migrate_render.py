"""The PostgreSQL migration renderer, proven on a real server.

Each case loads `before` SQL and `after` SQL into two scratch databases, introspects both,
builds the operations by hand from the two Schema values, renders them, applies the
statements to the `before` database (transactional ones grouped in a transaction,
non-transactional ones alone) and asserts that introspecting it gives the `after` Schema.
The inverse operations, rendered the other way, must then bring back the `before` Schema.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.postgres.migrate import render_operations
from dbarchitect.dialects.postgres.migrate_context import fit
from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.apply import apply_statements
from dbarchitect.migrate.migration import Statement
from dbarchitect.migrate.operations import Kind, Obj, Operation, invert
from dbarchitect.model import CheckConstraint, Schema, to_json
from dbarchitect.sources import introspect_url

ENGINE = get_dialect("postgres").engine()
Build = Callable[[Schema, Schema], list[Operation]]


# --- harness ------------------------------------------------------------------------------
_PLURAL = {"index": "indexes", "trigger": "triggers", "policy": "policies"}


def find(s: Schema, kind: Kind, name: str, owner: str = "") -> Obj:
    """The object of `kind` called `name` (on `owner`) in schema `s`."""
    found: Any = None
    if kind in ("table", "column", "primary_key", "foreign_key", "unique", "check", "exclusion"):
        table = s.table(owner or name)
        assert table is not None, f"no table {owner or name}"
        if kind == "table":
            found = table
        elif kind == "column":
            found = table.column(name)
        elif kind == "primary_key":
            found = table.primary_key
        else:
            attr = {
                "foreign_key": "foreign_keys",
                "unique": "uniques",
                "check": "checks",
                "exclusion": "exclusions",
            }[kind]
            found = next((c for c in getattr(table, attr) if c.name == name), None)
    elif kind in ("index", "trigger", "policy"):
        rel: Any = s.table(owner) or s.view(owner)
        found = next(
            (x for x in getattr(rel, _PLURAL[kind]) if x.name == name),
            None,
        )
    elif kind == "view":
        found = s.view(name)
    elif kind == "function":
        found = next((f for f in s.functions if f.signature == name), None)
    elif kind in ("namespace", "extension"):
        found = next((x for x in getattr(s, kind + "s") if x.name == name), None)
    else:
        group: tuple[Any, ...] = {
            "enum": s.enums,
            "domain": s.domains,
            "composite": s.composite_types,
            "range": s.ranges,
            "sequence": s.sequences,
            "collation": s.collations,
            "ts_config": s.text_search_configs,
        }[kind]
        found = next((x for x in group if f"{x.schema}.{x.name}" == name), None)
    assert found is not None, f"no {kind} {name} in {owner or 'schema'}"
    return found  # type: ignore[no-any-return]


def alter(b: Schema, a: Schema, kind: Kind, name: str, owner: str = "") -> Operation:
    return Operation(
        action="alter",
        kind=kind,
        before=find(b, kind, name, owner),
        after=find(a, kind, name, owner),
        owner=owner,
    )


def create(a: Schema, kind: Kind, name: str, owner: str = "") -> Operation:
    return Operation(action="create", kind=kind, after=find(a, kind, name, owner), owner=owner)


def drop(b: Schema, kind: Kind, name: str, owner: str = "") -> Operation:
    return Operation(action="drop", kind=kind, before=find(b, kind, name, owner), owner=owner)


def privilege_ops(b: Schema, a: Schema) -> list[Operation]:
    """Grants and default privileges compared by value: drops first, then creates."""
    ops = [Operation(action="drop", kind="grant", before=g) for g in b.grants if g not in a.grants]
    ops += [
        Operation(action="drop", kind="default_privilege", before=d)
        for d in b.default_privileges
        if d not in a.default_privileges
    ]
    ops += [
        Operation(action="create", kind="grant", after=g) for g in a.grants if g not in b.grants
    ]
    ops += [
        Operation(action="create", kind="default_privilege", after=d)
        for d in a.default_privileges
        if d not in b.default_privileges
    ]
    return ops


def rows(url: DatabaseURL, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())


def assert_same(got: Schema, want: Schema, label: str) -> None:
    if got != want:
        diff = difflib.unified_diff(
            to_json(want).splitlines(), to_json(got).splitlines(), "want", "got", lineterm=""
        )
        pytest.fail(f"{label}: schema differs\n" + "\n".join(list(diff)[:80]))


@contextmanager
def loaded(sql: str) -> Iterator[tuple[DatabaseURL, Schema]]:
    with ENGINE.scratch() as url:
        ENGINE.run_script(url, sql)
        yield url, introspect_url(url)


def migrate(
    before_sql: str,
    after_sql: str,
    build: Build,
    *,
    online: bool = True,
    data: str = "",
    check_up: Callable[[DatabaseURL], None] | None = None,
    check_down: Callable[[DatabaseURL], None] | None = None,
    down: bool = True,
) -> tuple[list[Statement], list[Statement]]:
    """Run one case up and down; return the statements of both directions."""
    with loaded(after_sql) as (_, after), loaded(before_sql) as (url, before):
        if data:
            ENGINE.run_script(url, data)
        ops = build(before, after)
        up = render_operations(ops, before, after, online=online)
        apply_statements(url, up, label="up")
        assert_same(introspect_url(url), after, "up")
        if check_up:
            check_up(url)
        back = render_operations(invert(ops), after, before, online=online)
        if down:
            apply_statements(url, back, label="down")
            assert_same(introspect_url(url), before, "down")
            if check_down:
                check_down(url)
        return up, back


def sqls(statements: list[Statement]) -> list[str]:
    return [s.sql for s in statements]


ONLINE = pytest.mark.parametrize("online", [True, False], ids=["online", "offline"])


# --- columns ------------------------------------------------------------------------------
@ONLINE
def test_type_change_keeps_data_and_recasts_the_default(online: bool) -> None:
    before = """CREATE TABLE "Sales Dept"."order" (id int PRIMARY KEY,
        "Größe" varchar(10) DEFAULT '7', n int DEFAULT 0);"""
    after = """CREATE TABLE "Sales Dept"."order" (id int PRIMARY KEY,
        "Größe" integer DEFAULT 7, n bigint DEFAULT 0);"""
    schema = 'CREATE SCHEMA "Sales Dept";\n'
    t = "Sales Dept.order"

    def check(url: DatabaseURL) -> None:
        assert rows(url, 'SELECT "Größe", n FROM "Sales Dept"."order" ORDER BY id') == [
            (12, 1),
            (7, 2),
        ]

    up, _ = migrate(
        schema + before,
        schema + after,
        lambda b, a: [alter(b, a, "column", "Größe", t), alter(b, a, "column", "n", t)],
        online=online,
        data="""INSERT INTO "Sales Dept"."order" VALUES (1, '12', 1), (2, '7', 2);""",
        check_up=check,
    )
    text = "\n".join(sqls(up))
    assert 'TYPE integer USING "Größe"::integer' in text
    assert 'ALTER COLUMN "Größe" DROP DEFAULT' in text


def test_serial_to_identity_keeps_the_counter() -> None:
    before = (
        'CREATE SCHEMA "Sales Dept";\nCREATE TABLE "Sales Dept"."order" '
        '("select" serial PRIMARY KEY, v text);'
    )
    after = (
        'CREATE SCHEMA "Sales Dept";\nCREATE TABLE "Sales Dept"."order" '
        '("select" integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text);'
    )
    t = "Sales Dept.order"

    def build(b: Schema, a: Schema) -> list[Operation]:
        return [
            alter(b, a, "column", "select", t),
            drop(b, "sequence", "Sales Dept.order_select_seq"),
        ]

    def next_id(expected: int) -> Callable[[DatabaseURL], None]:
        def check(url: DatabaseURL) -> None:
            got = rows(
                url, """INSERT INTO "Sales Dept"."order" (v) VALUES ('n') RETURNING "select" """
            )
            assert got == [(expected,)]

        return check

    up, down = migrate(
        before,
        after,
        build,
        data="""INSERT INTO "Sales Dept"."order" (v) VALUES ('a'), ('b'), ('c');""",
        check_up=next_id(4),
        check_down=next_id(5),
    )
    assert any("setval(" in s for s in sqls(up)) and any("setval(" in s for s in sqls(down))


@ONLINE
def test_identity_added_to_a_filled_column_starts_after_its_max(online: bool) -> None:
    before = "CREATE TABLE t (id int NOT NULL, v text);"
    after = "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY (INCREMENT BY 2 CACHE 5), v text);"

    def check(url: DatabaseURL) -> None:
        assert rows(url, "INSERT INTO t (v) VALUES ('x') RETURNING id") == [(42,)]

    migrate(
        before,
        after,
        lambda b, a: [alter(b, a, "column", "id", "public.t")],
        online=online,
        data="INSERT INTO t VALUES (40, 'a'), (3, 'b');",
        check_up=check,
    )


def test_identity_options_and_always_switch() -> None:
    before = "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY (START WITH 10), v text);"
    after = (
        "CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY "
        "(START WITH 5 INCREMENT BY 3 MINVALUE 2 MAXVALUE 1000 CACHE 4 CYCLE), v text);"
    )
    migrate(before, after, lambda b, a: [alter(b, a, "column", "id", "public.t")])


@ONLINE
def test_not_null_default_collation_comment_options(online: bool) -> None:
    before = "CREATE TABLE t (id int, name text, doc jsonb, n numeric);"
    after = """CREATE TABLE t (id int NOT NULL DEFAULT 1, name text COLLATE "C", doc jsonb,
            n numeric);
        COMMENT ON COLUMN t.name IS 'the name';
        ALTER TABLE t ALTER COLUMN doc SET STORAGE EXTERNAL;
        ALTER TABLE t ALTER COLUMN n SET STORAGE EXTENDED;
        ALTER TABLE t ALTER COLUMN name SET STATISTICS 300;
        ALTER TABLE t ALTER COLUMN id SET (n_distinct = 10);"""

    def build(b: Schema, a: Schema) -> list[Operation]:
        return [alter(b, a, "column", c, "public.t") for c in ("id", "name", "doc", "n")]

    up, _ = migrate(before, after, build, online=online, data="INSERT INTO t VALUES (1, 'a')")
    text = "\n".join(sqls(up))
    assert ("VALIDATE CONSTRAINT" in text) is online
    assert 'ALTER COLUMN name TYPE text COLLATE "C";' in text


def test_add_drop_rename_columns_with_awkward_names() -> None:
    long_name = "a_column_name_that_is_exactly_sixty_three_bytes_long_for_testin"
    before = f'CREATE TABLE "select" (id int, "Größe" text, {long_name} int, gone text);'
    after = f"""CREATE TABLE "select" (id int, "Menge" text, {long_name} int,
        "user" int GENERATED BY DEFAULT AS IDENTITY, "from" text DEFAULT 'x' NOT NULL);
        COMMENT ON COLUMN "select"."from" IS 'new';
        ALTER TABLE "select" ALTER COLUMN "from" SET STORAGE EXTERNAL;"""
    t = "public.select"

    def build(b: Schema, a: Schema) -> list[Operation]:
        return [
            Operation(
                action="rename",
                kind="column",
                before=find(b, "column", "Größe", t),
                after=find(a, "column", "Menge", t),
                owner=t,
            ),
            drop(b, "column", "gone", t),
            create(a, "column", "user", t),
            create(a, "column", "from", t),
        ]

    up, _ = migrate(before, after, build, data="""INSERT INTO "select" VALUES (1, 'q', 2, 'z')""")
    assert 'ALTER TABLE public."select" RENAME COLUMN "Größe" TO "Menge";' in sqls(up)


# --- tables ---------------------------------------------------------------------------------
def test_table_attributes_and_rename() -> None:
    before = """CREATE SCHEMA app;
        CREATE TABLE app.t (id int) WITH (fillfactor = 70, autovacuum_enabled = false);"""
    after = """CREATE SCHEMA app; CREATE UNLOGGED TABLE app."Größe" (id int) WITH (fillfactor = 90);
        ALTER TABLE app."Größe" ENABLE ROW LEVEL SECURITY;
        ALTER TABLE app."Größe" FORCE ROW LEVEL SECURITY;
        COMMENT ON TABLE app."Größe" IS 'it''s renamed';"""

    def build(b: Schema, a: Schema) -> list[Operation]:
        old, new = b.table("app.t"), a.table("app.Größe")
        assert old is not None and new is not None
        renamed = replace(old, name="Größe")
        return [
            Operation(action="rename", kind="table", before=old, after=renamed),
            Operation(action="alter", kind="table", before=renamed, after=new),
        ]

    migrate(before, after, build, data="INSERT INTO app.t VALUES (1)")


def test_partition_detach_and_attach() -> None:
    common = """CREATE TABLE m (id int NOT NULL, at date NOT NULL, PRIMARY KEY (id, at))
        PARTITION BY RANGE (at);
        CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE INDEX m_at_idx ON m (at);"""
    before = (
        common + "CREATE TABLE m_2025 (id int NOT NULL, at date NOT NULL, PRIMARY KEY (id, at));"
    )
    after = (
        common
        + "CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
    )

    def build(b: Schema, a: Schema) -> list[Operation]:
        return [alter(b, a, "table", "public.m_2025")]

    # Attaching creates and attaches the partition's index the way PostgreSQL names it.
    with loaded(after) as (_, want):
        idx = [i.name for i in want.table("public.m_2025").indexes]  # type: ignore[union-attr]
    assert idx == ["m_2025_at_idx"]
    before += "CREATE INDEX m_2025_at_idx ON m_2025 (at);"
    migrate(before, after, build)


def test_create_and_drop_a_partitioned_tree_with_keys_and_comments() -> None:
    after = """CREATE TABLE ev (id bigint NOT NULL, at timestamptz NOT NULL, note text,
            CONSTRAINT ev_pk PRIMARY KEY (id, at), CONSTRAINT ev_note CHECK (note <> ''))
            PARTITION BY RANGE (at);
        CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE TABLE ev_d PARTITION OF ev (note DEFAULT 'd') DEFAULT;
        CREATE TABLE base (id int, label text CHECK (label <> ''));
        CREATE TABLE child (extra text) INHERITS (base);
        COMMENT ON TABLE ev IS 'events'; COMMENT ON COLUMN ev.note IS 'free text';
        COMMENT ON CONSTRAINT ev_pk ON ev IS 'key';"""

    def build(b: Schema, a: Schema) -> list[Operation]:
        return [
            create(a, "table", n)
            for n in ("public.ev", "public.ev_1", "public.ev_d", "public.base", "public.child")
        ]

    migrate("", after, build)


# --- constraints and indexes ----------------------------------------------------------------
@ONLINE
def test_keys_checks_and_foreign_keys_on_a_filled_table(online: bool) -> None:
    before = """CREATE TABLE p (id int NOT NULL, code text);
        CREATE TABLE c (id int, p_id int, qty int, tag text);"""
    after = """CREATE TABLE p (id int NOT NULL, code text,
            CONSTRAINT p_pk PRIMARY KEY (id),
            CONSTRAINT p_code UNIQUE NULLS NOT DISTINCT (code) INCLUDE (id) DEFERRABLE);
        CREATE TABLE c (id int, p_id int, qty int, tag text,
            CONSTRAINT c_qty CHECK (qty > 0) NO INHERIT,
            CONSTRAINT c_x EXCLUDE USING btree (tag WITH =));
        ALTER TABLE c ADD CONSTRAINT c_fk FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE;
        ALTER TABLE c ADD CONSTRAINT c_late CHECK (id > 0) NOT VALID;
        COMMENT ON CONSTRAINT c_fk ON c IS 'to p';"""

    def build(b: Schema, a: Schema) -> list[Operation]:
        return [
            create(a, "primary_key", "p_pk", "public.p"),
            create(a, "unique", "p_code", "public.p"),
            create(a, "check", "c_qty", "public.c"),
            create(a, "exclusion", "c_x", "public.c"),
            create(a, "foreign_key", "c_fk", "public.c"),
            create(a, "check", "c_late", "public.c"),
        ]

    up, _ = migrate(
        before,
        after,
        build,
        online=online,
        data="INSERT INTO p VALUES (1, 'a'); INSERT INTO c VALUES (1, 1, 2, 't');",
    )
    text = "\n".join(sqls(up))
    assert ("UNIQUE USING INDEX p_code DEFERRABLE;" in text) is online
    assert (
        "FOREIGN KEY (p_id) REFERENCES public.p(id) ON DELETE CASCADE NOT VALID;" in text
    ) is online
    assert "c_late CHECK ((id > 0)) NOT VALID;" in text
    assert "VALIDATE CONSTRAINT c_late" not in text
    assert [s.transactional for s in up if "CONCURRENTLY" in s.sql] == (
        [False, False] if online else []
    )


def test_validate_and_comment_alter() -> None:
    before = """CREATE TABLE t (id int);
        ALTER TABLE t ADD CONSTRAINT t_pos CHECK (id > 0) NOT VALID;"""
    after = """CREATE TABLE t (id int CONSTRAINT t_pos CHECK (id > 0));
        COMMENT ON CONSTRAINT t_pos ON t IS 'positive';"""

    def build(b: Schema, a: Schema) -> list[Operation]:
        b_chk, a_chk = find(b, "check", "t_pos", "public.t"), find(a, "check", "t_pos", "public.t")
        assert isinstance(b_chk, CheckConstraint)
        valid = replace(b_chk, not_valid=False)
        return [
            Operation(action="validate", kind="check", before=b_chk, after=valid, owner="public.t"),
            Operation(action="alter", kind="check", before=valid, after=a_chk, owner="public.t"),
        ]

    up, _ = migrate(before, after, build, data="INSERT INTO t VALUES (1)")
    assert sqls(up)[0] == "ALTER TABLE public.t VALIDATE CONSTRAINT t_pos;"


@ONLINE
def test_indexes_online_and_on_a_partitioned_parent(online: bool) -> None:
    before = """CREATE TABLE t (id int, name text);
        CREATE TABLE m (id int, at date) PARTITION BY RANGE (at);
        CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE INDEX t_old ON t (id);"""
    after = """CREATE TABLE t (id int, name text);
        CREATE TABLE m (id int, at date) PARTITION BY RANGE (at);
        CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE INDEX t_old ON t (id); COMMENT ON INDEX t_old IS 'old';
        CREATE UNIQUE INDEX "t Name" ON t (lower(name) text_pattern_ops) WHERE id > 0;
        CREATE INDEX m_at ON m (at);"""

    def build(b: Schema, a: Schema) -> list[Operation]:
        return [
            alter(b, a, "index", "t_old", "public.t"),
            create(a, "index", "t Name", "public.t"),
            create(a, "index", "m_at", "public.m"),
            create(a, "index", "m_1_at_idx", "public.m_1"),  # PostgreSQL makes it with m_at
        ]

    up, down = migrate(before, after, build, online=online, data="INSERT INTO t VALUES (1, 'a')")
    concurrent = [s for s in up + down if "CONCURRENTLY" in s.sql]
    assert all(not s.transactional for s in concurrent)
    assert len(concurrent) == (2 if online else 0)  # t's index up and down; never m's
    assert not any("m_1_at_idx" in s for s in sqls(up))


# --- types ----------------------------------------------------------------------------------
def test_enum_values_inserted_with_add_value() -> None:
    before = """CREATE SCHEMA app; CREATE TYPE app.mood AS ENUM ('sad', 'ok');
        CREATE TABLE app.t (m app.mood);"""
    after = """CREATE SCHEMA app;
        CREATE TYPE app.mood AS ENUM ('meh', 'sad', 'fine', 'ok', 'ünï ''q''');
        COMMENT ON TYPE app.mood IS 'feelings';
        CREATE TABLE app.t (m app.mood);"""

    def build(b: Schema, a: Schema) -> list[Operation]:
        return [alter(b, a, "enum", "app.mood")]

    with loaded(after) as (_, a), loaded(before) as (_, b):
        up = render_operations(build(b, a), b, a)
    assert sqls(up) == [
        "ALTER TYPE app.mood ADD VALUE 'meh' BEFORE 'sad';",
        "ALTER TYPE app.mood ADD VALUE 'fine' AFTER 'sad';",
        "ALTER TYPE app.mood ADD VALUE 'ünï ''q''' AFTER 'ok';",
        "COMMENT ON TYPE app.mood IS 'feelings';",
    ]
    assert [s.transactional for s in up] == [False, False, False, True]
    # Down removes values, so it rebuilds; rows keep their values.
    migrate(
        before,
        after,
        build,
        data="INSERT INTO app.t VALUES ('sad'), ('ok');",
        check_down=lambda url: _assert_rows(
            url, "SELECT m::text FROM app.t ORDER BY 1", [("ok",), ("sad",)]
        ),
    )


def _assert_rows(url: DatabaseURL, sql: str, want: list[tuple[Any, ...]]) -> None:
    assert rows(url, sql) == want


def test_enum_rebuild_converts_columns_arrays_domains_and_defaults() -> None:
    common = """CREATE SCHEMA "Sales Dept";
        GRANT USAGE ON SCHEMA "Sales Dept" TO PUBLIC;"""
    before = (
        common
        + """CREATE TYPE "Sales Dept".status AS ENUM ('new', 'old', 'gone');
        CREATE DOMAIN "Sales Dept".st AS "Sales Dept".status DEFAULT 'new' CHECK (VALUE <> 'old');
        CREATE TABLE "Sales Dept"."order" (s "Sales Dept".status DEFAULT 'new' NOT NULL,
            h "Sales Dept".status[] DEFAULT '{}', d "Sales Dept".st);"""
    )
    after = (
        common
        + """CREATE TYPE "Sales Dept".status AS ENUM ('old', 'new');
        REVOKE USAGE ON TYPE "Sales Dept".status FROM PUBLIC;
        CREATE DOMAIN "Sales Dept".st AS "Sales Dept".status DEFAULT 'new' CHECK (VALUE <> 'old');
        CREATE TABLE "Sales Dept"."order" (s "Sales Dept".status DEFAULT 'new' NOT NULL,
            h "Sales Dept".status[] DEFAULT '{}', d "Sales Dept".st);"""
    )

    def build(b: Schema, a: Schema) -> list[Operation]:
        ops = [alter(b, a, "enum", "Sales Dept.status")]
        return ops + privilege_ops(b, a)

    up, _ = migrate(
        before,
        after,
        build,
        data="""INSERT INTO "Sales Dept"."order" VALUES ('old', '{new,old}', 'new');""",
        check_up=lambda url: _assert_rows(
            url,
            """SELECT s::text, h::text, d::text FROM "Sales Dept"."order" """,
            [("old", "{new,old}", "new")],
        ),
    )
    assert any("RENAME TO status__old" in s for s in sqls(up))


def test_domain_alters_online_with_not_valid_then_validate() -> None:
    before = """CREATE DOMAIN pos AS int DEFAULT 1 CONSTRAINT a CHECK (VALUE > 0)
            CONSTRAINT b CHECK (VALUE < 100);
        ALTER DOMAIN pos ADD CONSTRAINT c CHECK (VALUE <> 5) NOT VALID;
        CREATE TABLE t (v pos);"""
    after = """CREATE DOMAIN pos AS int NOT NULL CONSTRAINT a CHECK (VALUE > 0)
            CONSTRAINT b CHECK (VALUE < 1000) CONSTRAINT c CHECK (VALUE <> 5)
            CONSTRAINT d CHECK (VALUE <> 7);
        COMMENT ON DOMAIN pos IS 'positive'; COMMENT ON CONSTRAINT a ON DOMAIN pos IS 'gt zero';
        CREATE TABLE t (v pos);"""
    up, _ = migrate(
        before,
        after,
        lambda b, a: [alter(b, a, "domain", "public.pos")],
        data="INSERT INTO t VALUES (3)",
    )
    text = sqls(up)
    assert "ALTER DOMAIN public.pos ADD CONSTRAINT d CHECK ((VALUE <> 7)) NOT VALID;" in text
    assert "ALTER DOMAIN public.pos VALIDATE CONSTRAINT c;" in text


def test_composite_range_collation_ts_config_namespace_extension_alters() -> None:
    common = "CREATE SCHEMA app;"
    before = (
        common
        + """CREATE TYPE app.pair AS (a int, b text, c int);
        CREATE TYPE app.fr AS RANGE (subtype = float8);
        CREATE COLLATION app.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
        CREATE TEXT SEARCH CONFIGURATION app.cfg (COPY = pg_catalog.simple);
        CREATE EXTENSION citext;"""
    )
    after = (
        common
        + """CREATE TYPE app.pair AS (a bigint, b text COLLATE "C", d date);
        COMMENT ON TYPE app.pair IS 'pair'; COMMENT ON COLUMN app.pair.d IS 'when';
        CREATE TYPE app.fr AS RANGE (subtype = float8); COMMENT ON TYPE app.fr IS 'range';
        CREATE COLLATION app.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
        COMMENT ON COLLATION app.ci IS 'ci';
        CREATE TEXT SEARCH CONFIGURATION app.cfg (COPY = pg_catalog.simple);
        COMMENT ON TEXT SEARCH CONFIGURATION app.cfg IS 'cfg';
        COMMENT ON SCHEMA app IS 'the app';
        CREATE EXTENSION citext SCHEMA app;
        COMMENT ON EXTENSION citext IS 'case-insensitive';"""
    )

    def build(b: Schema, a: Schema) -> list[Operation]:
        return [
            alter(b, a, "composite", "app.pair"),
            alter(b, a, "range", "app.fr"),
            alter(b, a, "collation", "app.ci"),
            alter(b, a, "ts_config", "app.cfg"),
            alter(b, a, "namespace", "app"),
            alter(b, a, "extension", "citext"),
        ]

    migrate(before, after, build)


def test_extension_update_to_a_new_version() -> None:
    up, _ = migrate(
        "CREATE EXTENSION citext VERSION '1.5';",
        "CREATE EXTENSION citext VERSION '1.6';",
        lambda b, a: [alter(b, a, "extension", "citext")],
        down=False,  # citext has no downgrade path
    )
    assert sqls(up) == ["ALTER EXTENSION citext UPDATE TO '1.6';"]


def test_sequence_options_type_and_owner() -> None:
    before = """CREATE TABLE t (id int, other bigint);
        CREATE SEQUENCE s AS smallint START 5 MAXVALUE 1000 OWNED BY t.id;"""
    after = """CREATE TABLE t (id int, other bigint);
        CREATE SEQUENCE s START 7 INCREMENT 3 MINVALUE 2 CACHE 9 CYCLE OWNED BY t.other;
        COMMENT ON SEQUENCE s IS 'seq';"""
    migrate(before, after, lambda b, a: [alter(b, a, "sequence", "public.s")])


def test_sequence_created_before_its_owning_table_and_dropped_with_it() -> None:
    after = """CREATE TABLE "Größe" (id serial PRIMARY KEY, n int);
        COMMENT ON SEQUENCE "Größe_id_seq" IS 'counter';"""

    def build(b: Schema, a: Schema) -> list[Operation]:
        return [create(a, "sequence", "public.Größe_id_seq"), create(a, "table", "public.Größe")]

    up, down = migrate("", after, build)
    assert sqls(down) == ['DROP TABLE public."Größe";']  # its sequence goes with it
    assert sqls(up)[-1].startswith('ALTER SEQUENCE public."Größe_id_seq" OWNED BY')


# --- functions, views, triggers, policies ---------------------------------------------------
def test_function_and_procedure_replaced_in_place() -> None:
    before = """CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql IMMUTABLE
            SET search_path = pg_catalog AS 'SELECT a';
        CREATE PROCEDURE p(x int) LANGUAGE plpgsql AS $$ BEGIN PERFORM x; END $$;
        CREATE VIEW v AS SELECT f(1) AS one;"""
    after = """CREATE FUNCTION f(a int) RETURNS int LANGUAGE plpgsql STABLE STRICT COST 7
            AS $$ BEGIN RETURN a + 1; END $$;
        COMMENT ON FUNCTION f(int) IS 'adds one';
        CREATE PROCEDURE p(x int) LANGUAGE plpgsql SECURITY DEFINER
            AS $$ BEGIN PERFORM x + 1; END $$;
        CREATE VIEW v AS SELECT f(1) AS one;"""
    up, _ = migrate(
        before,
        after,
        lambda b, a: [
            alter(b, a, "function", "public.f(a integer)"),
            alter(b, a, "function", "public.p(IN x integer)"),
        ],
    )
    assert "CREATE OR REPLACE FUNCTION public.f" in "\n".join(sqls(up))


def test_views_replaced_and_materialized_view_options() -> None:
    common = 'CREATE TABLE t (id int, name text, "Größe" int);'
    before = (
        common
        + """CREATE VIEW v AS SELECT id FROM t;
        CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;"""
    )
    after = (
        common
        + """CREATE VIEW v WITH (security_barrier = true) AS
            SELECT id, name, "Größe" FROM t WHERE id > 0 WITH LOCAL CHECK OPTION;
        COMMENT ON VIEW v IS 'view'; COMMENT ON COLUMN v."Größe" IS 'size';
        CREATE MATERIALIZED VIEW mv WITH (fillfactor = 50) AS SELECT id FROM t;
        COMMENT ON MATERIALIZED VIEW mv IS 'mat'; COMMENT ON COLUMN mv.id IS 'id';"""
    )
    up, down = migrate(
        before,
        after,
        lambda b, a: [alter(b, a, "view", "public.v"), alter(b, a, "view", "public.mv")],
    )
    assert sqls(up)[0].startswith("CREATE OR REPLACE VIEW public.v WITH (security_barrier=true)")
    assert "ALTER MATERIALIZED VIEW public.mv SET (fillfactor=50);" in sqls(up)
    # Back to fewer columns: CREATE OR REPLACE cannot drop columns, so the view is rebuilt.
    i = sqls(down).index("DROP VIEW public.v;")
    assert sqls(down)[i + 1].startswith("CREATE VIEW public.v AS")


def test_triggers_and_policies() -> None:
    common = """CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RETURN NEW; END $$;
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mig_app') THEN
            CREATE ROLE mig_app; END IF; END $$;
        CREATE TABLE t (id int, owner text);
        ALTER TABLE t ENABLE ROW LEVEL SECURITY;
        CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();"""
    before = (
        common
        + """CREATE POLICY p_all ON t USING (id > 0) WITH CHECK (id > 1);
        CREATE POLICY p_sel ON t FOR SELECT USING (true);"""
    )
    after = (
        common
        + """ALTER TABLE t DISABLE TRIGGER t_trg;
        COMMENT ON TRIGGER t_trg ON t IS 'disabled';
        CREATE POLICY p_all ON t TO mig_app, public USING (id > 5);
        CREATE POLICY p_sel ON t FOR SELECT TO "mig_app" USING (owner = current_user);
        COMMENT ON POLICY p_sel ON t IS 'own';"""
    )

    def build(b: Schema, a: Schema) -> list[Operation]:
        return [
            alter(b, a, "trigger", "t_trg", "public.t"),
            alter(b, a, "policy", "p_all", "public.t"),
            alter(b, a, "policy", "p_sel", "public.t"),
        ]

    up, _ = migrate(before, after, build)
    assert "ALTER POLICY p_sel ON public.t TO mig_app USING ((owner = CURRENT_USER));" in sqls(up)


# --- privileges -----------------------------------------------------------------------------
def test_grants_column_grants_public_defaults_and_default_privileges() -> None:
    roles = """DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mig reader') THEN
            CREATE ROLE "mig reader"; END IF; END $$;"""
    common = """CREATE SCHEMA app;
        CREATE TABLE app.t (id int, secret text);
        CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
        CREATE TYPE app.e AS ENUM ('a');"""
    before = (
        roles
        + common
        + """GRANT SELECT ON app.t TO "mig reader";
        REVOKE EXECUTE ON FUNCTION app.f() FROM PUBLIC;
        ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO "mig reader";"""
    )
    after = (
        common
        + """GRANT SELECT (id), UPDATE (id) ON app.t TO "mig reader" WITH GRANT OPTION;
        GRANT USAGE ON SCHEMA app TO "mig reader";
        REVOKE USAGE ON TYPE app.e FROM PUBLIC;
        ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
        ALTER DEFAULT PRIVILEGES GRANT USAGE ON TYPES TO "mig reader";"""
    )
    up, _ = migrate(roles + before, roles + after, privilege_ops)
    text = "\n".join(sqls(up))
    assert 'GRANT SELECT (id) ON TABLE app.t TO "mig reader" WITH GRANT OPTION;' in text
    assert "GRANT EXECUTE ON FUNCTION app.f() TO PUBLIC;" in text


def test_new_objects_get_public_defaults_as_after_records_them() -> None:
    after = """CREATE FUNCTION open_f() RETURNS int LANGUAGE sql AS 'SELECT 1';
        CREATE FUNCTION closed_f() RETURNS int LANGUAGE sql AS 'SELECT 2';
        REVOKE ALL ON FUNCTION closed_f() FROM PUBLIC;
        CREATE DOMAIN d AS int; REVOKE USAGE ON DOMAIN d FROM PUBLIC;
        CREATE TYPE r AS RANGE (subtype = int4); COMMENT ON TYPE r IS 'r';"""

    def build(b: Schema, a: Schema) -> list[Operation]:
        ops = [create(a, "function", "public.open_f()"), create(a, "function", "public.closed_f()")]
        ops += [create(a, "domain", "public.d"), create(a, "range", "public.r")]
        return ops + privilege_ops(b, a)

    migrate("", after, build)


# --- whole schemas through make_migration ---------------------------------------------------
@ONLINE
def test_rich_schema_from_empty_and_back(online: bool) -> None:
    from dbarchitect.migrate.migration import make_migration
    from tests.conftest import FIXTURES

    rich_sql = (FIXTURES / "postgres" / "rich.sql").read_text()
    with loaded(rich_sql) as (_, rich), loaded("") as (url, empty):
        m = make_migration(empty, rich, online=online)
        apply_statements(url, m.up, label="up")
        assert_same(introspect_url(url), rich, "up")
        apply_statements(url, m.down, label="down")
        assert_same(introspect_url(url), empty, "down")
    assert all(s.sql.endswith(";") for s in m.up + m.down)
    assert not any("CASCADE;" in s.sql and s.sql.startswith("DROP") for s in m.down)


def test_set_not_null_online_on_a_partitioned_parent_and_a_63_byte_column() -> None:
    long_name = "a_column_name_that_is_exactly_sixty_three_bytes_long_for_testin"
    ddl = f"""CREATE TABLE m ({long_name} int{{nn}}, at date NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"""
    up, _ = migrate(
        ddl.format(nn=""),
        ddl.format(nn=" NOT NULL"),
        lambda b, a: [
            alter(b, a, "column", long_name, "public.m"),
            alter(b, a, "column", long_name, "public.m_1"),
        ],
        data="INSERT INTO m VALUES (1, '2024-05-01')",
    )
    check = quote(fit(f"{long_name}_not_null_tmp"))
    assert f"ALTER TABLE public.m VALIDATE CONSTRAINT {check};" in sqls(up)
    assert len(fit(f"{long_name}_not_null_tmp").encode()) == 63


def test_renamed_table_keeps_online_forms_and_identity_follows_a_retype() -> None:
    before = "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, v text);"
    after = """CREATE TABLE t2 (id bigint GENERATED ALWAYS AS IDENTITY, v text);
        CREATE INDEX t2_id ON t2 (id);"""

    def build(b: Schema, a: Schema) -> list[Operation]:
        old, new = b.table("public.t"), a.table("public.t2")
        assert old is not None and new is not None
        renamed = replace(old, name="t2")
        return [
            Operation(action="rename", kind="table", before=old, after=renamed),
            Operation(
                action="alter",
                kind="column",
                before=renamed.column("id"),
                after=new.column("id"),
                owner="public.t2",
            ),
            create(a, "index", "t2_id", "public.t2"),
        ]

    up, _ = migrate(
        before,
        after,
        build,
        data="INSERT INTO t (v) VALUES ('a'), ('b');",
        check_up=lambda url: _assert_rows(
            url, "INSERT INTO t2 (v) VALUES ('c') RETURNING id", [(3,)]
        ),
    )
    assert [s.transactional for s in up] == [True, True, False]
