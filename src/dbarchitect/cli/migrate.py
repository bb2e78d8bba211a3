"""`dbarch migrate test MIGRATIONS…`: up, down, up on a scratch database with rows in it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer


class MigrateFormat(StrEnum):
    text = "text"
    json = "json"


class MigrateDialect(StrEnum):
    postgres = "postgres"
    mysql = "mysql"
    sqlite = "sqlite"


def test(
    migrations: Annotated[
        list[str],
        typer.Argument(
            help="Up/down pairs: NNN_name.up.sql (with its .down.sql), directories holding "
            "up.sql and down.sql (Diesel), or a directory of either, run in name order.",
            show_default=False,
        ),
    ],
    dialect: Annotated[
        MigrateDialect,
        typer.Option(
            "--dialect", "-d", help="The engine the migrations are for.", case_sensitive=False
        ),
    ] = MigrateDialect.postgres,
    rows: Annotated[int, typer.Option("--rows", help="Generated rows per table.", min=1)] = 100,
    fmt: Annotated[
        MigrateFormat,
        typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
    ] = MigrateFormat.text,
) -> None:
    """Check that every down undoes its up: schema back as it was, surviving rows unchanged.

    Exit status 0 when every migration passes, 1 when one does not, 2 for bad input.
    """
    from dbarchitect.migrate.testrun import (
        find_pairs,
        render_json,
        render_text,
        run_migration_tests,
    )

    pairs = find_pairs(migrations)
    report = run_migration_tests(pairs, dialect=dialect.value, rows=rows)
    text = render_json(report) if fmt is MigrateFormat.json else render_text(report)
    typer.echo(text, nl=False)
    if not report.ok:
        raise typer.Exit(1)
