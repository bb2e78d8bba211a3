"""migrate.diff on schemas loaded in real PostgreSQL: identity, alters, rebuilds, renames."""

from __future__ import annotations

import pytest

from dbarchitect.errors import InputError
from dbarchitect.migrate.diff import diff
from dbarchitect.migrate.migration import Rename
from dbarchitect.migrate.operations import Operation, invert
from dbarchitect.migrate.plan import plan
from tests.conftest import realworld_schema
from tests.migrate.snippets import pg, snippet_database  # noqa: F401 - module fixture

PG_SETS = [
    "pagila",
    "chinook-postgresql",
    "synapse-postgresql",
    "basejump",
    "musicbrainz",
    "musicbrainz-pg_dump",
]


def ordered(before_sql: str, after_sql: str, renames: tuple[Rename, ...] = ()) -> list[str]:
    """The planned operations between two scripts, described one per line."""
    b, a = pg(before_sql), pg(after_sql)
    return [op.describe() for op in plan(diff(b, a, renames=renames).operations, b, a)]


def ops_of(before_sql: str, after_sql: str) -> list[Operation]:
    b, a = pg(before_sql), pg(after_sql)
    return plan(diff(b, a).operations, b, a)


BASE = """
CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'application';
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN app.posint AS integer CHECK (VALUE > 0);
CREATE TYPE app.pair AS (a integer, b text);
CREATE SEQUENCE app.counter INCREMENT 2;
CREATE TABLE app.customer (
    id serial PRIMARY KEY,
    name text NOT NULL,
    mood app.mood DEFAULT 'ok',
    score app.posint,
    note text,
    CONSTRAINT name_len CHECK (length(name) < 200)
);
COMMENT ON TABLE app.customer IS 'people';
COMMENT ON COLUMN app.customer.name IS 'full name';
CREATE TABLE app.orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES app.customer(id),
    total numeric(10,2) DEFAULT 0,
    placed timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer ON app.orders (customer_id);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN NEW.placed := now(); RETURN NEW; END$$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON app.orders FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE FUNCTION app.total_of(c integer) RETURNS numeric LANGUAGE sql STABLE
  AS $$SELECT coalesce(sum(total), 0) FROM app.orders WHERE customer_id = c$$;
CREATE VIEW app.customer_totals AS
  SELECT c.id, c.name, app.total_of(c.id) AS total FROM app.customer c;
CREATE MATERIALIZED VIEW app.big AS SELECT id, total FROM app.orders WHERE total > 100;
CREATE UNIQUE INDEX big_id ON app.big (id);
ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON app.orders USING (customer_id > 0);
DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reader')
  THEN CREATE ROLE reader; END IF; END$$;
GRANT SELECT ON app.customer TO reader;
GRANT USAGE ON SCHEMA app TO reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO reader;
"""


def test_identical_schemas_give_no_operations() -> None:
    s = pg(BASE)
    assert s.tables and s.views and s.functions and s.grants  # the fixture loaded
    assert diff(s, s).operations == ()
    # A second load of the same script is a different database with equal content.
    assert diff(s, pg(BASE + "\n-- again\n")).operations == ()


@pytest.mark.parametrize("name", PG_SETS)
def test_realworld_diffs_to_itself_and_from_and_to_empty(name: str) -> None:
    s = realworld_schema(name)
    empty = pg("")
    assert diff(s, s).operations == ()
    up = plan(diff(empty, s).operations, empty, s)
    assert up and all(op.action in ("create", "alter") for op in up)
    created = {op.name for op in up if op.kind == "table" and op.action == "create"}
    assert created == {t.qualified for t in s.tables}
    position = {(op.kind, op.owner, op.name): i for i, op in enumerate(up)}
    fks = [op for op in up if op.kind == "foreign_key"]
    assert len(fks) == sum(1 for t in s.tables for fk in t.foreign_keys if not fk.inherited)
    last_table = max(i for (kind, _, _), i in position.items() if kind == "table")
    assert all(position[("foreign_key", fk.owner, fk.name)] > last_table for fk in fks)
    down = plan(diff(s, empty).operations, s, empty)
    assert all(op.action in ("drop", "alter") for op in down)
    assert {op.name for op in down if op.kind == "table"} == created
    dropped_at = {op.name: i for i, op in enumerate(down) if op.kind == "table"}
    for i, op in enumerate(down):
        if op.kind == "foreign_key":
            assert i < dropped_at[op.owner]  # constraints go before their tables


NOTE = "alter column app.customer.note"
ALTERS = [
    ("COMMENT ON SCHEMA app IS 'apps';", "alter namespace app"),
    ("ALTER TYPE app.mood ADD VALUE 'great';", "alter enum app.mood"),
    ("ALTER DOMAIN app.posint SET DEFAULT 1;", "alter domain app.posint"),
    ("ALTER TYPE app.pair ADD ATTRIBUTE c date;", "alter composite app.pair"),
    ("ALTER SEQUENCE app.counter INCREMENT 5;", "alter sequence app.counter"),
    (
        "ALTER TABLE app.customer ALTER COLUMN note SET DEFAULT 'x';",
        "alter column app.customer.note",
    ),
    ("ALTER TABLE app.customer ALTER COLUMN note SET NOT NULL;", "alter column app.customer.note"),
    ("COMMENT ON COLUMN app.customer.note IS 'n';", "alter column app.customer.note"),
    (
        "ALTER TABLE app.customer ALTER COLUMN note TYPE varchar(9);",
        "alter column app.customer.note",
    ),
    (
        "ALTER TABLE app.orders ALTER COLUMN id SET GENERATED BY DEFAULT;",
        "alter column app.orders.id",
    ),
    ("COMMENT ON TABLE app.customer IS 'folk';", "alter table app.customer"),
    ("ALTER TABLE app.customer ENABLE ROW LEVEL SECURITY;", "alter table app.customer"),
    ("ALTER TABLE app.customer SET (fillfactor = 70);", "alter table app.customer"),
    ("COMMENT ON INDEX app.orders_customer IS 'i';", "alter index app.orders.orders_customer"),
    (
        "ALTER TABLE app.orders DISABLE TRIGGER orders_touch;",
        "alter trigger app.orders.orders_touch",
    ),
    ("ALTER POLICY own ON app.orders USING (customer_id > 1);", "alter policy app.orders.own"),
    (
        "COMMENT ON CONSTRAINT name_len ON app.customer IS 'c';",
        "alter check app.customer.name_len",
    ),
    (
        "CREATE OR REPLACE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN RETURN NEW; END$$;",
        "alter function app.touch()",
    ),
    ("COMMENT ON MATERIALIZED VIEW app.big IS 'm';", "alter view app.big"),
    (
        "CREATE OR REPLACE VIEW app.customer_totals AS SELECT c.id, c.name, "
        "app.total_of(c.id) AS total, c.note FROM app.customer c;",
        "alter view app.customer_totals",
    ),
]


@pytest.mark.parametrize(("change", "expected"), ALTERS, ids=[e for _, e in ALTERS])
def test_each_alterable_attribute_gives_one_alter(change: str, expected: str) -> None:
    ops = ordered(BASE, BASE + change)
    assert ops == [expected]


def test_not_valid_constraint_validated_in_place() -> None:
    before = BASE + "ALTER TABLE app.orders ADD CONSTRAINT pos CHECK (total >= 0) NOT VALID;"
    after = BASE + "ALTER TABLE app.orders ADD CONSTRAINT pos CHECK (total >= 0);"
    assert ordered(before, after) == ["validate check app.orders.pos"]


def test_view_losing_a_column_is_dropped_and_created() -> None:
    after = BASE.replace("c.id, c.name, app.total_of", "c.id, app.total_of")
    assert ordered(BASE, after) == [
        "drop view app.customer_totals",
        "create view app.customer_totals",
    ]


def test_return_type_change_rebuilds_function_and_its_dependents() -> None:
    before = BASE + (
        "CREATE FUNCTION app.enabled() RETURNS integer LANGUAGE sql AS 'SELECT 1';"
        "CREATE TRIGGER c_trg BEFORE INSERT ON app.customer FOR EACH ROW "
        "WHEN (app.enabled() > 0) EXECUTE FUNCTION app.touch();"
    )
    after = before.replace(
        "RETURNS numeric LANGUAGE sql STABLE", "RETURNS bigint LANGUAGE sql STABLE"
    )
    after = after.replace("sum(total), 0)", "sum(total), 0)::bigint")
    after = after.replace("app.enabled() RETURNS integer", "app.enabled() RETURNS bigint")
    ops = ordered(before, after)
    at = ops.index
    assert at("drop view app.customer_totals") < at("drop function app.total_of(c integer)")
    assert at("drop function app.total_of(c integer)") < at(
        "create function app.total_of(c integer)"
    )
    assert at("create function app.total_of(c integer)") < at("create view app.customer_totals")
    assert at("drop trigger app.customer.c_trg") < at("drop function app.enabled()")
    assert at("drop function app.enabled()") < at("create function app.enabled()")
    assert at("create function app.enabled()") < at("create trigger app.customer.c_trg")
    assert sorted(ops) == sorted(
        [
            f"{action} {obj}"
            for action in ("drop", "create")
            for obj in (
                "view app.customer_totals",
                "function app.total_of(c integer)",
                "function app.enabled()",
                "trigger app.customer.c_trg",
                # The default EXECUTE grant goes and comes back with the function.
                "grant EXECUTE on function app.total_of(c integer) to PUBLIC",
                "grant EXECUTE on function app.enabled() to PUBLIC",
            )
        ]
    )


def test_trigger_function_rebuilt_recreates_trigger() -> None:
    after = BASE.replace(
        "app.touch() RETURNS trigger LANGUAGE plpgsql AS\n  $$BEGIN NEW.placed := now();",
        "app.touch() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS\n"
        "  $$BEGIN NEW.placed := now();",
    )
    assert ordered(BASE, after) == ["alter function app.touch()"]
    b = pg(BASE)
    a = pg(BASE.replace("AS total FROM app.customer c", "AS total, 1 AS one FROM app.customer c"))
    # Replacing a function in place keeps its dependents; a view growing a column is replaced.
    assert [op.describe() for op in diff(b, a).operations] == ["alter view app.customer_totals"]


def test_column_type_change_under_a_view_drops_alters_creates() -> None:
    before = BASE + "CREATE VIEW app.notes AS SELECT id, note FROM app.customer;"
    before += "CREATE VIEW app.notes2 AS SELECT note FROM app.notes;"
    after = before.replace("note text,", "note varchar(300),")
    ops = ordered(before, after)
    assert ops == [
        "drop grant SELECT on table app.notes to reader",
        "drop grant SELECT on table app.notes2 to reader",
        "drop view app.notes2",
        "drop view app.notes",
        "alter column app.customer.note",
        "create view app.notes",
        "create view app.notes2",
        "create grant SELECT on table app.notes to reader",
        "create grant SELECT on table app.notes2 to reader",
    ]
    lossy = [op for op in ops_of(before, after) if op.lossy]
    assert [op.describe() for op in lossy] == ["alter column app.customer.note"]
    widened = ops_of(after, after.replace("varchar(300)", "text"))
    assert [op.lossy for op in widened if op.kind == "column"] == [None]


def test_enum_append_is_an_alter_without_loss() -> None:
    after = BASE.replace("('sad', 'ok', 'happy')", "('sad', 'meh', 'ok', 'happy', 'great')")
    ops = ops_of(
        BASE + "CREATE VIEW app.moods AS SELECT mood FROM app.customer;",
        after + "CREATE VIEW app.moods AS SELECT mood FROM app.customer;",
    )
    assert [(op.describe(), op.lossy) for op in ops] == [("alter enum app.mood", None)]


def test_enum_value_removed_is_lossy_and_rebuilds_views() -> None:
    view = "CREATE VIEW app.moods AS SELECT id, mood FROM app.customer;"
    after = BASE.replace("('sad', 'ok', 'happy')", "('ok', 'sad')")
    ops = ops_of(BASE + view, after + view)
    names = [op.describe() for op in ops]
    assert names == [
        "drop grant SELECT on table app.moods to reader",
        "drop grant USAGE on type app.mood to PUBLIC",
        "drop view app.moods",
        "alter enum app.mood",
        "create view app.moods",
        "create grant SELECT on table app.moods to reader",
        "create grant USAGE on type app.mood to PUBLIC",
    ]
    assert ops[3].lossy == "enum values removed: happy"


def test_fk_cycle_between_new_tables_creates_tables_then_fks() -> None:
    after = (
        "CREATE TABLE a (id int PRIMARY KEY, b_id int);"
        "CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);"
        "ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b;"
    )
    assert ordered("", after) == [
        "create table public.a",
        "create table public.b",
        "create foreign_key public.a.a_b",
        "create foreign_key public.b.b_a_id_fkey",
    ]
    down = ordered(after, "")
    assert sorted(down[:2]) == [
        "drop foreign_key public.a.a_b",
        "drop foreign_key public.b.b_a_id_fkey",
    ]
    assert sorted(down[2:]) == ["drop table public.a", "drop table public.b"]


RENAMED = """
CREATE TABLE shop (id int PRIMARY KEY, total numeric CHECK (total >= 0), label text);
CREATE TABLE line (id int PRIMARY KEY, shop_id int REFERENCES shop);
CREATE INDEX shop_total ON shop (total);
"""


def test_table_and_column_renames_are_renames() -> None:
    after = RENAMED.replace("shop", "store").replace("total", "amount")
    renames = (
        Rename(kind="table", old="public.shop", new="public.store"),
        Rename(kind="column", old="public.shop.total", new="public.store.amount"),
        Rename(kind="column", old="public.line.shop_id", new="public.line.store_id"),
    )
    b, a = pg(RENAMED), pg(after)
    result = diff(b, a, renames=renames)
    ops = [op.describe() for op in plan(result.operations, b, a)]
    assert ops[:2] == [
        "rename table public.shop to public.store",
        "rename column public.line.shop_id to store_id",
    ]
    assert "rename column public.store.total to amount" in ops
    # Constraint and index names kept the old words: they change by drop and create.
    assert not [o for o in ops if o.startswith(("drop table", "create table", "drop column"))]
    assert not [o for o in ops if o.startswith("create column")]
    assert result.hints == ()
    # Back down, what the up migration wrote under the new names runs before the renames.
    down = [op.describe() for op in plan(invert(plan(result.operations, b, a)), a, b)]
    renamed_back = down.index("rename table public.store to public.shop")
    assert down.index("create foreign_key public.line.line_shop_id_fkey") < renamed_back
    assert down.index("create index public.store.shop_total") < renamed_back


def test_drop_and_add_without_rename_gives_a_hint() -> None:
    after = BASE.replace("note text,", "remark text,")
    result = diff(pg(BASE), pg(after))
    assert [op.describe() for op in result.operations] == [
        "drop column app.customer.note",
        "create column app.customer.remark",
    ]
    assert result.operations[0].lossy
    assert result.hints == (
        "column app.customer.note is dropped and app.customer.remark added with the same type "
        "text: looks like a rename; pass --rename app.customer.note=app.customer.remark",
    )
    table = "CREATE TABLE t1 (a int, b text);"
    result = diff(pg(table), pg(table.replace("t1", "t2")))
    assert any("--rename public.t1=public.t2" in h for h in result.hints)


def test_rename_of_something_absent_is_an_input_error() -> None:
    s = pg(BASE)
    with pytest.raises(InputError, match=r"no table app\.nothing in the FROM schema"):
        diff(s, s, renames=[Rename(kind="table", old="app.nothing", new="app.orders")])
    with pytest.raises(InputError, match=r"no column app\.customer\.nope in the TO schema"):
        diff(
            s, s, renames=[Rename(kind="column", old="app.customer.note", new="app.customer.nope")]
        )


PARTITIONED = """
CREATE TABLE ev (id bigint NOT NULL, at date NOT NULL, kind text, PRIMARY KEY (id, at))
  PARTITION BY RANGE (at);
CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE kinds (kind text PRIMARY KEY);
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
"""


def test_partition_children_inherited_objects_never_appear() -> None:
    extra = (
        "CREATE INDEX ev_kind ON ev (kind);"
        "ALTER TABLE ev ADD CONSTRAINT ev_kind_fk FOREIGN KEY (kind) REFERENCES kinds;"
        "CREATE TRIGGER ev_t BEFORE INSERT ON ev FOR EACH ROW EXECUTE FUNCTION noop();"
        "ALTER TABLE ev ADD COLUMN note text;"
        "ALTER TABLE ev ADD CONSTRAINT ev_chk CHECK (id > 0);"
    )
    ops = ordered(PARTITIONED, PARTITIONED + extra)
    assert ops == [
        "create column public.ev.note",
        "create check public.ev.ev_chk",
        "create index public.ev.ev_kind",
        "create foreign_key public.ev.ev_kind_fk",
        "create trigger public.ev.ev_t",
    ]
    full = ordered("", PARTITIONED + extra)
    assert not [o for o in full if ".ev_20" in o and not o.startswith("create table")]
    assert full.index("create table public.ev") < full.index("create table public.ev_2024")


def test_partition_detach_and_attach_is_a_table_alter() -> None:
    after = PARTITIONED.replace(
        "CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
        "CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2027-01-01');",
    )
    assert ordered(PARTITIONED, after) == ["alter table public.ev_2025"]


def test_order_is_deterministic_whatever_the_creation_order() -> None:
    parts = [
        "CREATE TABLE p (id int PRIMARY KEY);",
        "CREATE TABLE q (id int PRIMARY KEY, p_id int REFERENCES p);",
        "CREATE VIEW pq AS SELECT q.id FROM q JOIN p ON p.id = q.p_id;",
        "CREATE INDEX q_p ON q (p_id);",
        "CREATE SEQUENCE s;",
    ]
    forward = "".join(parts)
    backward = "".join([parts[4], parts[0], parts[1], parts[3], parts[2]])
    first = ordered("", forward)
    assert first == ordered("", forward)
    assert first == ordered("", backward)
    assert first.index("create table public.p") < first.index("create view public.pq")
