"""Write a realized design out: DDL per engine, numbered migrations, ORM code, DBML, ERD.

Everything is written into a fresh directory beside `out` first and moved into place only when
all of it was generated, so a failure leaves `out` as it was.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from dbarchitect.design.run import Design, Target
from dbarchitect.errors import InputError
from dbarchitect.migrate.migration import Migration, make_migration
from dbarchitect.migrate.output import render_alembic, render_sql, write_diesel
from dbarchitect.model import Schema, to_json


def stages(schema: Schema) -> list[tuple[str, Schema]]:
    """The design as numbered steps: tables with their keys and unique indexes, then the
    other indexes, then partitions (when there are any). Each step's schema includes the
    steps before it."""
    parents = tuple(t for t in schema.tables if t.partition_of is None)
    keyed = tuple(replace(t, indexes=tuple(i for i in t.indexes if i.unique)) for t in parents)
    steps = [("initial_schema", replace(schema, tables=keyed))]
    indexed = replace(schema, tables=parents)
    if indexed != steps[-1][1]:
        steps.append(("add_indexes", indexed))
    if schema != indexed:
        steps.append(("add_partitions", schema))
    return steps


def numbered(schema: Schema, empty: Schema) -> list[tuple[str, Migration]]:
    """`NNN_name` and its migration, one per stage; each stage runs on the one before, the
    first on `empty` (a fresh database of the engine: PostgreSQL's has its `public` schema)."""
    out: list[tuple[str, Migration]] = []
    before = empty
    for number, (name, after) in enumerate(stages(schema), start=1):
        out.append((f"{number:03d}_{name}", make_migration(before, after, online=False)))
        before = after
    return out


def _files(design: Design, now: datetime) -> dict[str, str | Callable[[Path], object]]:
    """Relative path → text, or a writer for files other modules lay out themselves."""
    from dbarchitect.codegen import dbml, diesel, erd, sqlalchemy
    from dbarchitect.codegen.alembic import write_environment

    primary: Target = design.primary
    schema = primary.schema
    files: dict[str, str | Callable[[Path], object]] = {}
    for target in design.targets:
        files[f"schema/{target.dialect}.sql"] = target.ddl
    files["schema/schema.json"] = to_json(schema)
    for stem, migration in numbered(schema, primary.empty):
        files[f"migrations/{stem}.sql"] = render_sql(migration, "up")
        files[f"migrations/{stem}.down.sql"] = render_sql(migration, "down")
    # Offline DDL: the tables are new and empty, and Diesel sends a file as one batch, where
    # PostgreSQL refuses CONCURRENTLY even outside a transaction.
    initial = make_migration(primary.empty, schema, online=False)
    files["models.py"] = sqlalchemy.render_models(schema)
    files["alembic"] = write_environment
    revision = render_alembic(
        initial, revision="0001_initial", down_revision=None, name="initial schema", now=now
    )
    files["alembic/versions/0001_initial_schema.py"] = revision
    files["diesel"] = lambda d: write_diesel(initial, d, "initial_schema", now)
    files["diesel/src/schema.rs"] = diesel.render_schema_rs(schema)
    files["diesel/src/models.rs"] = diesel.render_models_rs(schema)
    files["schema.dbml"] = dbml.render_dbml(schema)
    files["erd.mmd"] = erd.mermaid(schema)
    files["erd.dot"] = erd.dot(schema)
    svg = erd.svg(schema)
    if svg is not None:
        files["erd.svg"] = svg
    return files


def write_design(design: Design, out: Path, *, now: datetime, force: bool = False) -> list[Path]:
    """Write every output of `design` under `out`; the paths written, in order.

    `out` must be missing or empty unless `force` (then files of the same name are replaced
    and others left alone)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"{out}: not empty (use --force to write into it)")
    files = _files(design, now)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".dbarch-design-", dir=out.parent))
    try:
        for rel, content in files.items():
            path = stage / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                path.write_text(content, encoding="utf-8")
            else:
                content(path)
        written = sorted(p.relative_to(stage) for p in stage.rglob("*") if p.is_file())
        for rel_path in written:
            target = out / rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(stage / rel_path), target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [out / p for p in written]


__all__ = ["numbered", "stages", "write_design"]
