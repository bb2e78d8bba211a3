"""The PostgreSQL migration renderer on types, routines, views, triggers, policies and
privileges, and whole schemas through make_migration (harness: migrate_harness.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dbarchitect.dialects.postgres.migrate import render_operations
from dbarchitect.dialects.postgres.migrate_context import fit
from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.apply import apply_statements
from dbarchitect.migrate.operations import Operation
from dbarchitect.model import Schema
from dbarchitect.sources import introspect_url
from tests.postgres.migrate_harness import (
    ONLINE,
    alter,
    assert_same,
    create,
    loaded,
    migrate,
    privilege_ops,
    rows,
    sqls,
)


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
        check_down=lambda url: assert_rows(
            url, "SELECT m::text FROM app.t ORDER BY 1", [("ok",), ("sad",)]
        ),
    )


def assert_rows(url: DatabaseURL, sql: str, want: list[tuple[Any, ...]]) -> None:
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
        check_up=lambda url: assert_rows(
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
        check_up=lambda url: assert_rows(
            url, "INSERT INTO t2 (v) VALUES ('c') RETURNING id", [(3,)]
        ),
    )
    assert [s.transactional for s in up] == [True, True, False]
