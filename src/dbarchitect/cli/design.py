"""`dbarch design SPEC`: a normalized schema, its DDL, migrations, ORM code and ERD from a spec."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from dbarchitect.design.run import Design


def _summary(design: Design) -> list[str]:
    lines = [f"design {design.loaded.spec.name} ({design.loaded.path})"]
    for t in design.targets:
        s = t.schema
        counts = {
            "tables": len(s.tables),
            "indexes": sum(len(x.indexes) for x in s.tables),
            "foreign keys": sum(len(x.foreign_keys) for x in s.tables),
            "triggers": sum(len(x.triggers) for x in s.tables),
        }
        listed = ", ".join(f"{n} {k}" for k, n in counts.items())
        by_severity = {
            sev: sum(f.severity == sev for f in t.findings) for sev in ("error", "warning")
        }
        review = ", ".join(f"{n} {k}(s)" for k, n in by_severity.items())
        lines.append(f"  {t.dialect}: loaded and introspected: {listed}; review: {review}")
        lines += [f"    note: {note}" for note in t.notes]
        lines += [f"    {f.severity}: {f.rule} {f.object}: {f.message}" for f in t.errors]
    return lines


def design(
    spec: Annotated[Path, typer.Argument(help="The design spec (YAML); see docs/design-spec.md.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write DDL, migrations, models.py, Alembic, Diesel, DBML and the ERD here.",
        ),
    ] = None,
    dialect: Annotated[
        str | None,
        typer.Option("--dialect", "-d", help="Without --out: print this target's DDL."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a --out directory that is not empty.")
    ] = False,
) -> None:
    """Design a schema from SPEC: built, loaded on every target engine, reviewed, generated."""
    from dbarchitect.design.load import load_spec
    from dbarchitect.design.run import realize

    loaded = load_spec(spec)
    result = realize(loaded)
    for line in _summary(result):
        typer.echo(line, err=True)
    if out is None:
        typer.echo(result.target(dialect).ddl if dialect else result.primary.ddl, nl=False)
    else:
        from dbarchitect.design.write import write_design

        written = write_design(result, out, now=datetime.now(UTC), force=force)
        for path in written:
            typer.echo(str(path))
    if any(t.errors for t in result.targets):
        raise typer.Exit(1)
