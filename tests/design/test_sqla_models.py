"""render_models: the generated SQLAlchemy models rebuild, with create_all on a real engine, a
database that introspects equal to the schema they were generated from."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import uuid
import warnings
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dbarchitect.codegen.sqlalchemy import render_models
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.verify import differences
from dbarchitect.model import Column, Schema, Table
from dbarchitect.sources import introspect_url, load_schema, load_sql_files
from dbarchitect.sources.sqlalchemy import load_models, sqlalchemy_url
from tests.conftest import FIXTURES, REALWORLD, ROOT

SQLA = FIXTURES / "design" / "sqla"
CASES: dict[str, tuple[str, list[Path]]] = {
    "saas-pg": ("postgres", [SQLA / "saas.pg.sql"]),
    "rich-pg": ("postgres", [FIXTURES / "postgres" / "rich.sql"]),
    "pagila": ("postgres", [REALWORLD / "pagila" / "pagila-schema.sql"]),
    "chinook-pg": ("postgres", [REALWORLD / "chinook" / "Chinook_PostgreSql.sql"]),
    "saas-sqlite": ("sqlite", [SQLA / "saas.sqlite.sql"]),
    "chinook-sqlite": ("sqlite", [REALWORLD / "chinook" / "Chinook_Sqlite.sql"]),
    "chinook-mysql": ("mysql", [REALWORLD / "chinook" / "Chinook_MySql.sql"]),
}


@cache
def source(case: str) -> Schema:
    dialect, files = CASES[case]
    return load_schema([str(f) for f in files], dialect=dialect)


@cache
def models(case: str) -> str:
    return render_models(source(case))


def import_models(text: str, tmp_path: Path, name: str) -> ModuleType:
    """Import generated code as a module of its own (as an application would)."""
    path = tmp_path / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    module_name = f"sqla_models_{name}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case", list(CASES))
def test_models_rebuild_the_schema(case: str, tmp_path: Path) -> None:
    schema = source(case)
    path = tmp_path / f"{case.replace('-', '_')}_models.py"
    path.write_text(models(case), encoding="utf-8")
    got = load_models(str(path), dialect=schema.dialect)
    assert differences(got, schema) == []
    # Not only diff-equal: the same tables with the same columns, keys and indexes.
    assert [t.qualified for t in got.tables] == [t.qualified for t in schema.tables]
    for mine, theirs in zip(got.tables, schema.tables, strict=True):
        assert mine.columns == theirs.columns
        assert mine.foreign_keys == theirs.foreign_keys
        assert mine.indexes == theirs.indexes


# Small schemas that stress the module's imports: nothing at all, a table without a key.
BARE = {
    "empty": Schema(dialect="sqlite"),
    "keyless": Schema(
        dialect="postgres",
        tables=(
            Table(
                schema="public",
                name="log",
                columns=(
                    Column(name="at", type="timestamp with time zone", logical="timestamptz"),
                ),
            ),
        ),
    ),
}


def test_generated_code_passes_ruff(tmp_path: Path) -> None:
    paths = []
    texts = {case: models(case) for case in CASES}
    texts |= {name: render_models(schema) for name, schema in BARE.items()}
    for case, text in texts.items():
        path = tmp_path / f"{case.replace('-', '_')}.py"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    ruff = Path(sys.executable).parent / "ruff"
    config = str(ROOT / "pyproject.toml")
    for args in (["check"], ["format", "--check", "--diff"]):
        proc = subprocess.run(
            [str(ruff), *args, "--config", config, *paths],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("case", list(CASES))
def test_relationships_configure_without_warnings(case: str, tmp_path: Path) -> None:
    module = import_models(models(case), tmp_path, case.replace("-", "_"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module.Base.registry.configure()
    schema = source(case)
    declared = {t.qualified for t in schema.tables if t.partition_of is None and not t.inherits}
    in_metadata = {
        f"{t.schema or schema_default(schema)}.{t.name}".lstrip(".")
        for t in module.Base.metadata.tables.values()
    }
    assert in_metadata == declared
    # Only tables with a primary key are classes; the others are plain Tables.
    for mapper in module.Base.registry.mappers:
        assert mapper.local_table.primary_key.columns


def schema_default(schema: Schema) -> str:
    return "public" if schema.dialect == "postgres" else ""


def mapped_classes(module: ModuleType) -> list[type[Any]]:
    return [m.class_ for m in module.Base.registry.mappers]


def test_a_repeated_unnamed_key_gives_relationships_that_overlap_cleanly(tmp_path: Path) -> None:
    fixture = FIXTURES / "review" / "duplicate-foreign-key" / "fail.sqlite.sql"
    schema = load_schema([str(fixture)], dialect="sqlite")
    module = import_models(render_models(schema), tmp_path, "dup_fk")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module.Base.registry.configure()
    orders = sa.inspect(module.Customer).relationships
    assert sorted(orders.keys()) == ["orders", "orders_rel"]


def test_saas_relationships(tmp_path: Path) -> None:
    m = import_models(models("saas-pg"), tmp_path, "saas_rel")
    m.Base.registry.configure()
    rel = {c.__name__: sa.inspect(c).relationships for c in mapped_classes(m)}
    # Many-to-many through the pure join table, both ways.
    assert rel["Project"]["tags"].secondary is m.Base.metadata.tables["project_tags"]
    assert rel["Tag"]["projects"].back_populates == "tags"
    # Tenant-style composite key to the same table: a self reference with its remote side.
    manager = rel["User"]["manager"]
    assert {c.name for c in manager.remote_side} == {"tenant_id", "id"}
    assert manager.direction.name == "MANYTOONE"
    # A key that is also the child's primary key: one-to-one on the parent side.
    assert rel["Project"]["project_setting"].uselist is False
    # Two keys sharing tenant_id: each names the other relationships it overlaps.
    assert "tenant" in rel["Invoice"]["project"]._overlaps
    assert rel["Invoice"]["tenant"].back_populates == "invoices"
    assert m.PlanTier("pro") is m.PlanTier.PRO
    assert m.InvoiceStatus.NEEDS_REVIEW.value == "needs-review"
    assert m.Tenant.__doc__ == "Customer organisations; every tenant table points here."


def test_models_work_as_an_orm(tmp_path: Path, pg_url: DatabaseURL) -> None:
    """Rows go in through the relationships and come back; drop_all leaves nothing."""
    m = import_models(models("saas-pg"), tmp_path, "saas_orm")
    engine = sa.create_engine(sqlalchemy_url(pg_url))
    try:
        m.Base.metadata.create_all(engine)
        with Session(engine) as session:
            tenant = m.Tenant(name="Acme", slug="acme")
            owner = m.User(tenant=tenant, email="boss@acme.test")
            worker = m.User(tenant=tenant, email="dev@acme.test", manager=owner)
            project = m.Project(tenant=tenant, owner=owner, name="Rocket")
            project.tags.append(m.Tag(label="urgent"))
            project.project_members.append(m.ProjectMember(user=worker, role="dev"))
            session.add_all([tenant, worker, project])
            session.commit()
            tenant_id = tenant.id
        with Session(engine) as session:
            tenant = session.get(m.Tenant, tenant_id)
            assert isinstance(tenant_id, uuid.UUID)  # gen_random_uuid() on the server
            assert tenant.tier is m.PlanTier.FREE  # the enum's server default
            assert {u.email for u in tenant.users} == {"boss@acme.test", "dev@acme.test"}
            (project,) = tenant.projects
            assert [t.label for t in project.tags] == ["urgent"]
            assert project.owner.manager_users[0].email == "dev@acme.test"
            assert project.tags[0].id == 10  # identity START WITH 10
            with pytest.raises(sa.exc.IntegrityError, match="users_email_check"):
                session.add(m.User(tenant=tenant, email="no-at-sign"))
                session.flush()
        m.Base.metadata.drop_all(engine)
    finally:
        engine.dispose()
    assert differences(introspect_url(pg_url), load_sql_files([])) == []


def test_drop_all_undoes_every_extra_object(tmp_path: Path, pg_url: DatabaseURL) -> None:
    """rich.sql: partitions, views, functions, policies… created by the events are dropped
    again, so drop_all leaves an empty database."""
    m = import_models(models("rich-pg"), tmp_path, "rich_drop")
    engine = sa.create_engine(sqlalchemy_url(pg_url))
    try:
        m.Base.metadata.create_all(engine)
        assert differences(introspect_url(pg_url), source("rich-pg")) == []
        m.Base.metadata.drop_all(engine)
    finally:
        engine.dispose()
    assert differences(introspect_url(pg_url), load_sql_files([])) == []


def test_what_the_models_declare(tmp_path: Path) -> None:
    text = models("rich-pg")
    # Identity with its options, a generated column, an enum, a named deferrable FK.
    assert "sa.Identity(always=True, start=100, cache=20)" in text
    assert 'sa.Computed("upper(name)", persisted=True)' in text
    assert 'mood_enum = sa.Enum(\n    Mood,\n    name="mood",\n    schema="app"' in text
    assert 'initially="DEFERRED"' in text and 'match="FULL"' in text
    # Index keys SQLAlchemy has no argument for are the engine's own syntax.
    assert "sa.text('(lower(name)) COLLATE \"C\" pg_catalog.text_pattern_ops')" in text
    assert 'postgresql_partition_by": "RANGE (at)"' in text
    # Objects create_all cannot make are SQL on metadata events, partitions included.
    assert "CREATE TABLE app.event_2025 PARTITION OF app.event" in text
    assert "CREATE TRIGGER customer_touch BEFORE UPDATE OF name, email ON app.customer" in text
    assert 'run_sql(\n    "before_create",\n    \'CREATE SCHEMA "Sales Dept";\'' in text
    # Column names Python cannot use are mapped under another attribute name.
    saas = models("saas-pg")
    assert 'class_: Mapped[str | None] = mapped_column("class", sa.Text(collation="C"))' in saas
    assert 'first_name: Mapped[str | None] = mapped_column("first name", sa.Text())' in saas
    # A table without a primary key is a plain Table (the ORM maps only keyed tables).
    assert "audit_log_table = sa.Table(" in saas


def test_sqlite_models_keep_declared_types_exactly() -> None:
    text = models("saas-sqlite")
    assert "sa.NVARCHAR(200)" in text  # SQLAlchemy prints exactly NVARCHAR(200)
    assert 'RawType("NUMERIC(12,2)")' in text  # it would print NUMERIC(12, 2): kept raw
    assert '"sqlite_autoincrement": True' in text
    assert '"sqlite_with_rowid": False' in text and '"sqlite_strict": True' in text
    assert 'sa.Computed("upper(name)", persisted=False)' in text
    assert 'sqlite_where=sa.text("deleted_at IS NULL")' in text
