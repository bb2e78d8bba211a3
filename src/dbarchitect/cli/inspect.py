"""`dbarch inspect SOURCE`: the schema as text, JSON, Markdown or SQL."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import parse_url
from dbarchitect.model import Schema, to_json
from dbarchitect.sources import load_schema


class InspectFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    sql = "sql"


def render(schema: Schema, fmt: InspectFormat) -> str:
    """The schema in one of the inspect formats."""
    if fmt is InspectFormat.json:
        return to_json(schema)
    if fmt is InspectFormat.sql:
        return get_dialect(schema.dialect).render(schema)
    if fmt is InspectFormat.markdown:
        from dbarchitect.report.markdown import render_markdown

        return render_markdown(schema)
    from dbarchitect.report.inspect_text import render_text

    return render_text(schema)


def inspect(
    source: Annotated[
        list[str] | None,
        typer.Argument(
            help="Database URL, SQL file(s) or a directory of them, or a schema JSON file "
            "(default: $DATABASE_URL).",
            show_default=False,
        ),
    ] = None,
    dialect: Annotated[
        str | None,
        typer.Option(
            "--dialect", "-d", help="Engine for SQL files: postgres (default), sqlite, mysql."
        ),
    ] = None,
    fmt: Annotated[
        InspectFormat,
        typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
    ] = InspectFormat.text,
    schema: Annotated[
        list[str] | None,
        typer.Option("--schema", "-s", help="Only these schemas (namespaces); repeatable."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of standard output."),
    ] = None,
) -> None:
    """Show a database schema: text summary, canonical JSON, Markdown data dictionary or DDL."""
    if not source:
        source = [parse_url(None).render(redact=False)]
    result = load_schema(source, dialect=dialect, schemas=schema or None)
    text = render(result, fmt)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
