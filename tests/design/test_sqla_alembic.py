"""The Alembic environment and the initial revision, run by Alembic itself: upgrade head
builds the schema, downgrade base removes it, on PostgreSQL and SQLite."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from dbarchitect.codegen.alembic import versions_directory, write_environment
from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import parse_url
from dbarchitect.migrate.migration import make_migration
from dbarchitect.migrate.output import alembic_head, write_alembic
from dbarchitect.migrate.verify import differences
from dbarchitect.model import Schema
from dbarchitect.sources import introspect_url, load_schema, load_sql_files
from tests.conftest import FIXTURES

SQLA = FIXTURES / "design" / "sqla"


def without_alembic_table(schema: Schema) -> Schema:
    return replace(schema, tables=tuple(t for t in schema.tables if t.name != "alembic_version"))


def environment(tmp_path: Path, schema: Schema) -> Path:
    """The environment plus the initial revision (empty database → `schema`)."""
    written = write_environment(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "alembic.ini",
        "env.py",
        "script.py.mako",
    ]
    empty = load_sql_files([], dialect=schema.dialect)
    migration = make_migration(empty, schema, online=False)
    write_alembic(migration, versions_directory(tmp_path), "initial schema", datetime(2025, 1, 1))
    return tmp_path / "alembic.ini"


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_upgrade_and_downgrade_with_alembic(tmp_path: Path, dialect: str) -> None:
    schema = load_schema(
        [str(SQLA / f"saas.{'pg' if dialect == 'postgres' else dialect}.sql")], dialect=dialect
    )
    ini = environment(tmp_path, schema)
    engine = get_dialect(dialect).engine()
    with engine.scratch() as url:
        # The URL as dbarch takes it (plain postgresql://): env.py picks the driver.
        options = argparse.Namespace(x=[f"url={url.render(redact=False)}"])
        config = Config(str(ini), cmd_opts=options)
        command.upgrade(config, "head")
        built = introspect_url(url)
        assert "alembic_version" in {t.name for t in built.tables}
        assert differences(without_alembic_table(built), schema) == []
        command.downgrade(config, "base")
        left = without_alembic_table(introspect_url(url))
        assert left.tables == () and left.views == ()
        assert differences(left, load_sql_files([], dialect=dialect)) == []


def test_the_environment_works_from_the_alembic_command(tmp_path: Path) -> None:
    """`alembic revision` uses the template, DATABASE_URL gives the database."""
    schema = load_schema([str(SQLA / "saas.sqlite.sql")], dialect="sqlite")
    ini = environment(tmp_path, schema)
    first = alembic_head(versions_directory(tmp_path))
    database = tmp_path / "app.db"
    alembic = [str(Path(sys.executable).parent / "alembic"), "-c", str(ini)]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    for args in (["revision", "-m", "next step"], ["upgrade", "head"]):
        proc = subprocess.run(
            [*alembic, *args], capture_output=True, text=True, env=env, check=False, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
    second = alembic_head(versions_directory(tmp_path))
    assert second is not None and second != first
    (new,) = [p for p in versions_directory(tmp_path).glob("*next_step.py")]
    assert f"down_revision = {first!r}" in new.read_text()
    url = parse_url(f"sqlite:///{database}")
    with get_dialect("sqlite").engine().connect(url) as session:
        rows = session.fetch("SELECT version_num FROM alembic_version")
    assert rows == [{"version_num": second}]
    assert differences(without_alembic_table(introspect_url(url)), schema) == []
