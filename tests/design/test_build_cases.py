"""Design specs that exercise every convention of the build, helpers to realize them on a
real engine, and the build's pure behaviour (column order, names, notes, errors).

The other test_build_* modules load these specs into PostgreSQL, SQLite and MariaDB.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dbarchitect.design.build import Built, build
from dbarchitect.design.load import LoadedSpec, load_spec
from dbarchitect.design.spec import Spec
from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.base import Dialect
from dbarchitect.engines.base import Session
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.sources import introspect_url

TODAY = dt.date(2025, 3, 15)

# Every field type with literal defaults of each kind, default_sql, field and table checks
# (IN, BETWEEN, LIKE, NOT, OR, arithmetic, text functions), named and inline enums, all
# relationship kinds (self-reference, deferrable, one_to_one with `column`, many_to_many
# with fields, a natural key target), and explicit indexes of every kind.
CATALOG = """\
name: catalog
schema: app
enums:
  status: [draft, "it's live", archived]
entities:
  authors:
    comment: People who write.
    fields:
      email: {type: string, length: 320, unique: true, check: "email LIKE '%@%'",
              comment: "Sign-in address."}
      name: string(100)
      nickname: {type: string, length: 40, nullable: true, default: "o'neil"}
      rating: {type: decimal, precision: 4, scale: 1, default: -1.5,
               check: "rating BETWEEN -5 AND 5"}
      score: {type: double, default: 2, check: "score >= 0"}
      ratio: {type: float, nullable: true, check: "ratio > 0.5"}
      level: {type: smallint, default: -3}
      visits: {type: bigint, default: 0, index: true}
      born_on: {type: date, nullable: true, default: "2000-01-31",
                check: "born_on > '1900-01-01'"}
      wakes_at: {type: time, default: "07:30"}
      last_seen: {type: timestamp, nullable: true, default: "2024-05-01T12:00:00+02:00"}
      local_seen: {type: datetime, nullable: true, default: "2024-05-01 12:00:00"}
      token: {type: uuid, default_sql: "gen_random_uuid()"}
      profile: {type: json, nullable: true, default: '{"b": 1, "aa": [1, 2]}'}
      avatar: {type: bytes, nullable: true}
      active: {type: boolean, default: true}
      code: {type: char, length: 3, default: abc}
      mood: {type: enum, values: [happy, sad], default: happy}
      joined_on: {type: date, default_sql: CURRENT_DATE}
    checks:
      named_ok: "visits >= 0 AND (level > -10 OR active)"
      not_negative: "NOT (visits < 0 AND NOT active)"
      code_in: "code IN ('abc', 'xyz')"
      trimmed: "length(name) > 0 AND lower(email) = email"
    indexes:
      - {columns: ["(lower(name))"], comment: "Case-insensitive name search."}
      - {columns: [name, nickname], unique: true, where: "active"}
      - {columns: [profile], method: gin}
      - {columns: [born_on], method: brin}
      - {columns: [code], method: hash}
      - {columns: [email], include: [name], name: authors_email_cover}
  books:
    fields:
      title: string(200)
      status: {type: enum, enum: status, default: draft}
      pages: {type: integer, check: "pages > 0"}
      price: {type: decimal, precision: 10, scale: 2, check: "price * 2 > pages + 1"}
    unique: [[author_id, title]]
  tags:
    id: natural
    primary_key: [slug]
    timestamps: false
    fields:
      slug: string(50)
      label: string(100)?
      summary: {type: text, nullable: true, unique: true}
relationships:
  - {from: books, to: authors, on_delete: cascade}
  - {from: books, to: books, name: sequel_of, nullable: true, deferrable: true}
  - {type: one_to_many, from: authors, to: books, name: editor, nullable: true}
  - {type: one_to_one, from: authors, to: books, name: best_book, nullable: true,
     column: best_book}
  - {type: many_to_many, from: books, to: tags, table: book_tags,
     fields: {position: {type: integer, default: 0}}}
"""

# uuid keys, tenancy with a renamed tenant column, soft delete, audit columns, a global
# (tenant: false) natural-key table, a tenant join table, set-null keys inside a tenant.
TENANT = """\
name: tenant
conventions:
  id: uuid
  soft_delete: true
  tenancy: {entity: orgs, column: org_id}
  audit: {entity: members}
entities:
  orgs:
    audit: false
    fields: {name: string(100) unique}
  members:
    fields:
      email: string(200) unique
      role: {type: enum, values: [admin, user], default: user}
  projects:
    fields: {name: string(100), notes: text?}
    unique: [[name]]
    indexes:
      - {columns: [name], unique: true, where: "notes IS NOT NULL"}
      - {columns: [notes]}
  tasks:
    soft_delete: false
    fields:
      title: string(100)
      done: {type: boolean, default: false}
  countries:
    tenant: false
    audit: false
    id: natural
    primary_key: [code]
    soft_delete: false
    fields: {code: char(2), name: string(100)}
relationships:
  - {from: projects, to: members, name: owner}
  - {from: tasks, to: projects, on_delete: cascade}
  - {from: tasks, to: members, name: assignee, nullable: true}
  - {from: projects, to: countries, nullable: true}
  - {type: one_to_one, from: projects, to: members, name: sponsor, nullable: true}
  - {type: many_to_many, from: projects, to: members, table: project_watchers}
"""

# Partitions (range by month from the build's month, by day from a start, list, hash),
# naming templates, and names longer than the engine's limit.
EVENTS = """\
name: events
conventions:
  naming:
    primary_key: "pk_{table}"
    foreign_key: "fk_{table}_{columns}"
    unique: "uq_{table}_{columns}"
    index: "ix_{table}_{columns}"
    check: "ck_{table}_{name}"
entities:
  sources:
    fields: {name: string(100) unique}
  events:
    fields:
      kind: {type: enum, values: [click, view]}
      happened_at: timestamp
      payload: json?
    partition: {by: range, column: happened_at, interval: month, count: 3}
    indexes: [{columns: [kind, happened_at]}]
    unique: [[source_id, kind, happened_at]]
  daily_stats:
    timestamps: false
    fields: {day: date, hits: {type: integer, default: 0, check: "hits >= 0"}}
    partition: {by: range, column: day, interval: day, start: "2025-01-30", count: 3}
  regional_things_with_quite_a_long_table_name:
    fields:
      a_rather_long_column_name_for_testing_truncation: string(10) unique
      another_rather_long_column_name_for_testing_truncation: {type: string, length: 10,
                                                               index: true}
  region_log:
    fields:
      region: string(10)
      note: text?
    partition: {by: list, column: region, values: [eu, us-east]}
  buckets:
    timestamps: false
    fields: {n: integer}
    partition: {by: hash, column: id, count: 4}
relationships:
  - {from: events, to: sources, on_delete: cascade}
"""

SPECS = {"catalog": CATALOG, "tenant": TENANT, "events": EVENTS}
DIALECTS = ("postgres", "sqlite", "mysql")


def built(tmp_path: Path, text: str, dialect: str, name: str = "spec") -> Built:
    """Build the spec `text` (written to a file, so errors name its lines)."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return build(load_spec(path), dialect, today=TODAY)


@contextmanager
def realized(schema: Schema) -> Iterator[tuple[Dialect, DatabaseURL]]:
    """A scratch database of the schema's engine with the rendered DDL loaded."""
    dialect = get_dialect(schema.dialect)
    engine = dialect.engine()
    with engine.scratch() as url:
        engine.run_script(url, dialect.render(schema), where=f"{schema.dialect} DDL")
        yield dialect, url


@contextmanager
def writer(dialect: Dialect, url: DatabaseURL) -> Iterator[Session]:
    """A writable session; SQLite enforces foreign keys only when asked per connection."""
    with dialect.engine().connect(url, read_only=False) as session:
        if dialect.name == "sqlite":
            session.execute("PRAGMA foreign_keys = ON")
        yield session


def introspected(url: DatabaseURL) -> Schema:
    return introspect_url(url)


# --- the build itself, no engine ---------------------------------------------------------


def test_column_order_follows_the_convention(tmp_path: Path) -> None:
    b = built(tmp_path, TENANT, "postgres")
    projects = b.schema.table("public.projects")
    assert projects is not None
    assert [c.name for c in projects.columns] == [
        "id",
        "org_id",
        "name",
        "notes",
        "owner_id",
        "country_code",
        "sponsor_id",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
        "deleted_at",
    ]


def test_tenancy_makes_keys_composite_and_unique_per_tenant(tmp_path: Path) -> None:
    b = built(tmp_path, TENANT, "postgres")
    tasks = b.schema.table("public.tasks")
    projects = b.schema.table("public.projects")
    assert tasks is not None and projects is not None
    fks = {fk.name: fk for fk in tasks.foreign_keys}
    assert fks["tasks_project_id_fkey"].columns == ("org_id", "project_id")
    assert fks["tasks_project_id_fkey"].ref_columns == ("org_id", "id")
    assert fks["tasks_project_id_fkey"].on_delete == "CASCADE"
    # SET NULL resets the member key only; the tenant column stays.
    assert fks["tasks_assignee_id_fkey"].on_delete_columns == ("assignee_id",)
    assert ("org_id", "id") in {u.columns for u in projects.uniques}
    # Field and group uniques lead with the tenant and hold among live rows only.
    live = {tuple(k.column for k in ix.keys): ix.where for ix in projects.indexes if ix.unique}
    assert live[("org_id", "name")] in (
        "(deleted_at IS NULL)",
        "((notes IS NOT NULL) AND (deleted_at IS NULL))",
    )
    assert live[("org_id", "sponsor_id")] == "(deleted_at IS NULL)"
    # The global natural-key table is referenced by its key alone.
    country = next(fk for fk in projects.foreign_keys if fk.ref_table == "countries")
    assert country.columns == ("country_code",) and country.ref_columns == ("code",)


def test_every_foreign_key_has_a_supporting_index(tmp_path: Path) -> None:
    for dialect in DIALECTS:
        for text in (CATALOG, TENANT):
            schema = built(tmp_path, text, dialect).schema
            for t in schema.tables:
                starts = [t.primary_key.columns if t.primary_key else ()]
                starts += [u.columns for u in t.uniques]
                starts += [tuple(k.column for k in ix.keys) for ix in t.indexes if ix.where is None]
                for fk in t.foreign_keys:
                    n = len(fk.columns)
                    assert any(s[:n] == fk.columns for s in starts), (dialect, t.name, fk.name)


def test_notes_say_what_each_engine_left_out(tmp_path: Path) -> None:
    pg = built(tmp_path, CATALOG, "postgres").notes
    assert pg == ()
    lite = "\n".join(built(tmp_path, CATALOG, "sqlite").notes)
    assert "no GIN indexes" in lite and "no BRIN indexes" in lite and "INCLUDE (name)" in lite
    my = "\n".join(built(tmp_path, CATALOG, "mysql").notes)
    assert "not deferrable" in my and "no indexes on expressions" in my
    assert "no partial indexes" in my
    assert "unique key tags(summary) left out: a long text key is indexed by a prefix only" in my
    events = "\n".join(built(tmp_path, EVENTS, "sqlite").notes)
    assert "table events is not partitioned" in events
    tenant = built(tmp_path, TENANT, "mysql")
    assert "tasks(assignee_id) → members" in "\n".join(tenant.notes)
    projects = tenant.schema.table("projects")
    assert projects is not None
    notes_index = next(ix for ix in projects.indexes if ix.keys[-1].column == "notes")
    assert [(k.column, k.length) for k in notes_index.keys] == [("org_id", None), ("notes", 255)]


def test_partitions_and_naming_templates(tmp_path: Path) -> None:
    schema = built(tmp_path, EVENTS, "postgres").schema
    names = {t.name for t in schema.tables}
    # Three months from the build's month, then a DEFAULT partition.
    assert {"events_2025_03", "events_2025_04", "events_2025_05", "events_default"} <= names
    assert {"daily_stats_2025_01_30", "daily_stats_2025_02_01"} <= names
    assert {"region_log_eu", "region_log_us_east", "region_log_default"} <= names
    assert {f"buckets_p{i}" for i in range(4)} <= names
    events = schema.table("public.events")
    assert events is not None and events.primary_key is not None
    assert events.primary_key.columns == ("id", "happened_at")
    assert events.primary_key.name == "pk_events"
    may = schema.table("public.events_2025_04")
    assert may is not None
    assert may.partition_bound == (
        "FOR VALUES FROM ('2025-04-01 00:00:00+00') TO ('2025-05-01 00:00:00+00')"
    )
    long = schema.table("public.regional_things_with_quite_a_long_table_name")
    assert long is not None
    index_names = [ix.name for ix in long.indexes] + [u.name for u in long.uniques]
    assert all(len(n.encode()) <= 63 for n in index_names)
    assert len(set(index_names)) == len(index_names)


def test_unknown_index_column_names_the_spec_line(tmp_path: Path) -> None:
    text = CATALOG.replace("columns: [born_on], method: brin", "columns: [born], method: brin")
    with pytest.raises(InputError) as info:
        built(tmp_path, text, "postgres")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "[born]" in ln)
    assert f"spec.yaml:{line}:" in str(info.value)
    assert "no column 'born'" in str(info.value)


def test_untranslatable_check_names_the_spec_line(tmp_path: Path) -> None:
    text = TENANT.replace(
        "fields: {name: string(100), notes: text?}",
        "fields: {name: string(100), notes: {type: text, nullable: true, check: \"notes ~ 'x'\"}}",
    )
    with pytest.raises(InputError, match=r"spec\.yaml:\d+: .*regular expressions"):
        built(tmp_path, text, "sqlite")
    # PostgreSQL and MariaDB have regular expressions: the same spec builds there.
    assert built(tmp_path, text, "postgres").schema.table("public.projects") is not None
    assert built(tmp_path, text, "mysql").schema.table("projects") is not None


def test_names_longer_than_the_engine_allows_are_refused() -> None:
    # The loader limits names for every target; a Spec made in Python reaches the build.
    long = "t" * 70
    spec = Spec.model_validate({"name": "long", "entities": {long: {"fields": {"a": "integer"}}}})
    loaded = LoadedSpec(spec, Path("long.yaml"), {("entities", long): 3})
    with pytest.raises(InputError, match=r"long\.yaml:3: .* longer than PostgreSQL's 63 bytes"):
        build(loaded, "postgres")
    assert build(loaded, "sqlite").schema.table(long) is not None


def test_design_needs_a_designer() -> None:
    with pytest.raises(InputError, match="design is not available for PostgreSQL"):
        Dialect.designer(get_dialect("postgres"))
