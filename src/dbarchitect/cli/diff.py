"""`dbarch diff FROM TO`: the migration between two schemas, verified, in the format asked for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.base import Dialect
from dbarchitect.engines.url import looks_like_url, parse_url
from dbarchitect.errors import InputError
from dbarchitect.migrate.migration import Migration, Rename
from dbarchitect.migrate.verify import Origin
from dbarchitect.model import Schema, from_json

EMPTY = "empty"  # the SOURCE that means a database with no objects


class DiffFormat(StrEnum):
    sql = "sql"
    dir = "dir"
    alembic = "alembic"
    diesel = "diesel"
    json = "json"


def _declared_dialect(item: str) -> str | None:
    """The dialect a source names by itself (a URL's scheme, a JSON file's field)."""
    if looks_like_url(item):
        return parse_url(item).dialect
    if item.endswith(".json"):
        return _json_schema(item).dialect
    return None


def _json_schema(item: str) -> Schema:
    path = Path(item)
    if not path.is_file():
        raise InputError(f"{item}: no such file or directory")
    return from_json(path.read_text(encoding="utf-8"), where=item)


def choose_dialect(given: str | None, sides: dict[str, str]) -> str:
    """The one dialect of both sides: what the sources say, else --dialect, else postgres."""
    said = {where: get_dialect(name).name for where, name in sides.items()}
    if given is not None:
        wanted = get_dialect(given).name
        for where, name in said.items():
            if name != wanted:
                raise InputError(f"--dialect {wanted} does not match {where}, a {name} source")
        return wanted
    names = sorted(set(said.values()))
    if len(names) > 1:
        listed = ", ".join(f"{where} is {name}" for where, name in said.items())
        raise InputError(f"both sides must be of one dialect: {listed}")
    return names[0] if names else "postgres"


def load_side(item: str, *, dialect: str, schemas: Sequence[str] | None) -> tuple[Schema, Origin]:
    """A side's schema and how to rebuild it in a scratch database for verification."""
    from dbarchitect.sources import (
        load_schema,
        load_spec_schema,
        load_sql_files,
        looks_like_spec,
        sql_files,
    )

    d = get_dialect(dialect)
    if item == EMPTY:
        return load_sql_files([], dialect=dialect, schemas=schemas), Origin()
    if looks_like_url(item):
        schema = load_schema(item, dialect=dialect, schemas=schemas)
        return schema, Origin(sql=d.render(schema))
    if item.endswith(".json"):
        if schemas:
            raise InputError(f"{item}: --schema does not filter a JSON source; inspect with it")
        schema = _json_schema(item)
        return schema, Origin(sql=d.render(schema))
    if looks_like_spec(item):
        schema = load_spec_schema(item, dialect=dialect)
        return schema, Origin(sql=d.render(schema))
    from dbarchitect.sources.sqlalchemy import load_models, looks_like_models

    if looks_like_models(item):
        schema = load_models(item, dialect=dialect, schemas=schemas)
        return schema, Origin(sql=d.render(schema))
    files = sql_files([item])
    schema = load_sql_files(files, dialect=dialect, schemas=schemas)
    return schema, Origin(files=tuple(files))


def parse_renames(values: Sequence[str], d: Dialect, before: Schema, after: Schema) -> list[Rename]:
    """`old=new` pairs into Renames: table (`[schema.]table`) or column (`[schema.]table.col`);
    an unqualified table is in the dialect's default schema (so `orders.memo` is a column of
    public.orders on PostgreSQL unless FROM has a table `orders.memo`). Each must exist on
    its side."""
    out: list[Rename] = []
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old or not new:
            raise InputError(f"--rename {value}: expected OLD=NEW")
        old_parts, new_parts = old.split("."), new.split(".")
        if len(old_parts) != len(new_parts):
            raise InputError(f"--rename {value}: both sides need the same qualification")
        table_len = 2 if d.has_schemas else 1
        # An unqualified table is in the default schema; `table.column` too, when FROM has no
        # schema of that name holding such a table.
        short = len(old_parts) == 1 or (
            len(old_parts) == 2
            and before.table(old) is None
            and before.table(f"{d.default_schema}.{old_parts[0]}") is not None
        )
        if d.has_schemas and short:
            old_parts, new_parts = [d.default_schema, *old_parts], [d.default_schema, *new_parts]
        if len(old_parts) == table_len:
            rename = Rename(kind="table", old=".".join(old_parts), new=".".join(new_parts))
            _must_have(before, rename.old, None, "FROM", value)
            _must_have(after, rename.new, None, "TO", value)
        elif len(old_parts) == table_len + 1:
            rename = Rename(kind="column", old=".".join(old_parts), new=".".join(new_parts))
            _must_have(before, ".".join(old_parts[:-1]), old_parts[-1], "FROM", value)
            _must_have(after, ".".join(new_parts[:-1]), new_parts[-1], "TO", value)
        else:
            form = "[schema.]table[.column]" if d.has_schemas else "table[.column]"
            raise InputError(f"--rename {value}: expected {form} on each side")
        out.append(rename)
    return out


def _must_have(schema: Schema, table: str, column: str | None, side: str, value: str) -> None:
    found = schema.table(table)
    if found is None:
        raise InputError(f"--rename {value}: {side} has no table {table}")
    if column is not None and found.column(column) is None:
        raise InputError(f"--rename {value}: {side} has no column {table}.{column}")


def diff(
    source_from: Annotated[
        str,
        typer.Argument(
            metavar="FROM",
            help="The schema you have: URL, SQL file or directory, schema JSON, or `empty`.",
            show_default=False,
        ),
    ],
    source_to: Annotated[
        str,
        typer.Argument(metavar="TO", help="The schema you want (same forms).", show_default=False),
    ],
    dialect: Annotated[
        str | None,
        typer.Option("--dialect", "-d", help="Engine for SQL files when no side says."),
    ] = None,
    schema: Annotated[
        list[str] | None,
        typer.Option("--schema", "-s", help="Only these schemas (namespaces); repeatable."),
    ] = None,
    rename: Annotated[
        list[str] | None,
        typer.Option(
            "--rename",
            help="OLD=NEW: a table ([schema.]table) or column ([schema.]table.column) renamed; "
            "repeatable. Renames are never guessed.",
        ),
    ] = None,
    online: Annotated[
        bool,
        typer.Option("--online/--no-online", help="Forms that keep tables available (PostgreSQL)."),
    ] = True,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="Apply up and down to a scratch copy of FROM and re-diff before printing.",
        ),
    ] = True,
    fmt: Annotated[
        DiffFormat,
        typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
    ] = DiffFormat.sql,
    down: Annotated[
        bool, typer.Option("--down", help="With --format sql: print the down migration.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Directory for --format dir and diesel."),
    ] = None,
    alembic: Annotated[
        Path | None,
        typer.Option("--alembic", help="Alembic versions directory for --format alembic."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Migration name (default: derived from the changes)."),
    ] = None,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit with status 1 when there are changes.")
    ] = False,
) -> None:
    """Write the migration from FROM to TO, verified on a scratch database."""
    from dbarchitect.migrate.migration import make_migration
    from dbarchitect.migrate.output import default_name

    target = _target(fmt, out, alembic)
    sides = {
        where: found
        for where, item in (("FROM", source_from), ("TO", source_to))
        if item != EMPTY and (found := _declared_dialect(item)) is not None
    }
    chosen = choose_dialect(dialect, sides)
    before, origin = load_side(source_from, dialect=chosen, schemas=schema)
    if source_to == source_from:
        after = before  # one load: the same source on both sides
    else:
        after, _ = load_side(source_to, dialect=chosen, schemas=schema)
    renames = parse_renames(rename or [], get_dialect(chosen), before, after)
    migration = make_migration(before, after, renames=renames, online=online)
    for hint in migration.hints:
        typer.echo(f"hint: {hint}", err=True)
    if verify and not migration.empty:
        _verify(migration, origin, after, schema)
    _emit(migration, fmt, target, down, name or default_name(migration))
    if exit_code and not migration.empty:
        raise typer.Exit(1)


def _target(fmt: DiffFormat, out: Path | None, alembic: Path | None) -> Path | None:
    if fmt is DiffFormat.alembic:
        if alembic is None and out is None:
            raise InputError("--format alembic needs --alembic DIR (the versions directory)")
        return alembic or out
    if fmt in (DiffFormat.dir, DiffFormat.diesel):
        if out is None:
            raise InputError(f"--format {fmt.value} needs --out DIR")
        return out
    return None


def _verify(migration: Migration, origin: Origin, after: Schema, schemas: list[str] | None) -> None:
    from dbarchitect.migrate.verify import NotVerified, verify

    try:
        verify(migration, origin=origin, after=after, schemas=schemas)
    except NotVerified as exc:
        for line in exc.differences:  # the one-line summary follows from main()
            typer.echo(line, err=True)
        raise


def _emit(
    migration: Migration, fmt: DiffFormat, target: Path | None, down: bool, name: str
) -> None:
    from dbarchitect.migrate import output

    if fmt is DiffFormat.sql:
        typer.echo(output.render_sql(migration, "down" if down else "up"), nl=False)
        return
    if fmt is DiffFormat.json:
        typer.echo(output.render_json(migration), nl=False)
        return
    assert target is not None
    if migration.empty:
        typer.echo("-- no changes: nothing written")
        return
    now = datetime.now()
    if fmt is DiffFormat.dir:
        paths = output.write_pair(migration, target, name)
    elif fmt is DiffFormat.diesel:
        paths = output.write_diesel(migration, target, name, now)
    else:
        paths = [output.write_alembic(migration, target, name, now)]
    for path in paths:
        typer.echo(str(path))
