"""`dbarch check MIGRATION…`: what each statement of a migration will do to production."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dbarchitect.cli.output import exit_on, report_format
from dbarchitect.errors import InputError


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class CheckDialect(StrEnum):
    postgres = "postgres"
    mysql = "mysql"
    sqlite = "sqlite"


class CheckFailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


def check(
    migrations: Annotated[
        list[str],
        typer.Argument(
            help="Migration SQL files or directories (in name order); `-` reads stdin.",
            show_default=False,
        ),
    ],
    schema_source: Annotated[
        list[str] | None,
        typer.Option(
            "--schema",
            "-s",
            help="What the migration runs against: SQL files, a directory, schema JSON or a URL.",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="The target database (read-only introspection)."),
    ] = None,
    pg_version: Annotated[
        int | None,
        typer.Option(
            "--pg-version",
            help="PostgreSQL major version to judge for [default: --url's server, else 15].",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        CheckFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format (github when GITHUB_ACTIONS is set, else text).",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    fail_on: Annotated[
        CheckFailOn,
        typer.Option("--fail-on", help="Exit 1 when a hazard is at least this severe."),
    ] = CheckFailOn.error,
    rehearse: Annotated[
        bool,
        typer.Option(
            "--rehearse",
            help="Also run the migration on a scratch copy of the schema filled with rows, "
            "and report the locks, rewrites and time measured per statement.",
        ),
    ] = False,
    rows: Annotated[
        int, typer.Option("--rows", help="Rows per table for --rehearse.", min=1)
    ] = 10_000,
    dialect: Annotated[
        CheckDialect,
        typer.Option("--dialect", help="The engine the migration is for.", case_sensitive=False),
    ] = CheckDialect.postgres,
) -> None:
    """Check migrations for statements that block traffic, rewrite tables or lose data."""
    if dialect is not CheckDialect.postgres:
        _check_other(dialect.value, migrations, schema_source, url, fmt, fail_on, rehearse)
        return
    from dbarchitect.engines.url import parse_url
    from dbarchitect.migrate.safety.check import check_statements, url_volatility
    from dbarchitect.migrate.safety.hazards import HAZARDS
    from dbarchitect.migrate.safety.parse import parse_migrations
    from dbarchitect.model.schema import Schema
    from dbarchitect.report.findings import render_findings
    from dbarchitect.sources import introspect_url, load_schema

    schema: Schema | None = None
    volatility = None
    version = pg_version
    if schema_source and url:
        raise InputError("give either --schema or --url, not both")
    if url is not None:
        target = parse_url(url)
        if target.dialect != "postgres":
            raise InputError(f"--url {target}: dbarch check handles PostgreSQL migrations only")
        from dbarchitect.engines.postgres import connect

        with connect(target, read_only=True) as session:
            server = session.server_version
        schema = introspect_url(target)
        volatility = url_volatility(target)
        version = version or server // 10000
    elif schema_source:
        schema = load_schema(schema_source, dialect="postgres")
    if version is not None and not 9 <= version <= 99:
        raise InputError(f"--pg-version {version}: expected a major version such as 15")
    if rehearse and schema is None:
        raise InputError(
            "--rehearse needs the schema the migration runs against (--schema or --url)"
        )
    if rehearse and "-" in migrations:
        raise InputError("--rehearse needs migration files, not standard input")
    parsed = parse_migrations(migrations)
    findings = check_statements(
        parsed, schema=schema, pg_version=version or 15, volatility=volatility
    )
    if url is not None:
        from dbarchitect.migrate.safety.live import live_check

        # Sizes give each hazard its blast radius; the catalog and rows test the assumptions.
        findings = live_check(
            parsed,
            findings,
            parse_url(url),
            schema=schema,
            pg_version=version or 15,
            volatility=volatility,
        )
    chosen = report_format(fmt.value if fmt else None)
    files = _files(migrations)
    text = render_findings(
        findings, chosen, rules=HAZARDS, source=" ".join(migrations), files=files
    )
    typer.echo(text, nl=False)
    if rehearse and schema is not None:
        from dbarchitect.migrate.safety.check import predict_statements
        from dbarchitect.migrate.safety.compare import rehearse_migrations, render_comparisons

        predicted = predict_statements(
            parsed, schema=schema, pg_version=version or 15, volatility=volatility
        )
        compared = rehearse_migrations(parsed, predicted, schema, rows=rows)
        typer.echo("\n" + render_comparisons(compared, rows), nl=False)
    exit_on(findings, fail_on.value)


def _check_other(
    dialect: str,
    migrations: list[str],
    schema_source: list[str] | None,
    url: str | None,
    fmt: CheckFormat | None,
    fail_on: CheckFailOn,
    rehearse: bool,
) -> None:
    """MySQL/MariaDB and SQLite migrations: parsed with sqlglot, judged by their own rules."""
    from dbarchitect.dialects.mysql.migration_safety import MYSQL_HAZARDS, check_mysql
    from dbarchitect.dialects.sqlite.migration_safety import SQLITE_HAZARDS, check_sqlite
    from dbarchitect.engines.url import parse_url
    from dbarchitect.migrate.safety.sqlglot_parse import parse_sql_migrations
    from dbarchitect.model.schema import Schema
    from dbarchitect.report.findings import render_findings
    from dbarchitect.sources import introspect_url, load_schema

    if rehearse:
        raise InputError(f"--rehearse is available for PostgreSQL migrations only, not {dialect}")
    if schema_source and url:
        raise InputError("give either --schema or --url, not both")
    schema: Schema | None = None
    if url is not None:
        target = parse_url(url)
        if target.dialect != dialect:
            raise InputError(f"--url {target}: not a {dialect} database (--dialect {dialect})")
        schema = introspect_url(target)
    elif schema_source:
        schema = load_schema(schema_source, dialect=dialect)
    parsed = parse_sql_migrations(migrations, dialect)
    if dialect == "mysql":
        findings, rules = check_mysql(parsed, schema=schema), MYSQL_HAZARDS
    else:
        findings, rules = check_sqlite(parsed, schema=schema), SQLITE_HAZARDS
    chosen = report_format(fmt.value if fmt else None)
    text = render_findings(
        findings, chosen, rules=rules, source=" ".join(migrations), files=_files(migrations)
    )
    typer.echo(text, nl=False)
    exit_on(findings, fail_on.value)


def _files(migrations: list[str]) -> list[Path] | None:
    from dbarchitect.migrate.safety.parse import migration_files

    found = migration_files([m for m in migrations if m != "-"])
    return [p for p in found if isinstance(p, Path)] or None
