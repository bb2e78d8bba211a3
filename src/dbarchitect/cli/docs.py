"""`dbarch docs SOURCE… --out DIR`: design, optimization and operations documents and an HTML
site with the ERD, for a live database, SQL files or schema JSON."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from dbarchitect.engines.url import looks_like_url, parse_url
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats
from dbarchitect.review.finding import Finding


def docs(
    source: Annotated[
        list[str],
        typer.Argument(help="Database URL, SQL file(s) or directory, or schema JSON."),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory to write the documents into.")
    ],
    dialect: Annotated[
        str | None, typer.Option("--dialect", "-d", help="Engine for SQL files.")
    ] = None,
    no_review: Annotated[
        bool, typer.Option("--no-review", help="Leave the review findings out.")
    ] = False,
) -> None:
    """Write database-design.md, database-optimization.md, database-operations.md and an
    HTML site (html/index.html) with the ERD; print the paths written."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    schema, stats, findings, shown = gather(source, dialect=dialect, review=not no_review)
    for path in publish(schema, out, findings=findings, stats=stats, source=shown):
        typer.echo(str(path))


def gather(
    sources: Sequence[str], *, dialect: str | None, review: bool
) -> tuple[Schema, Stats | None, list[Finding], str]:
    """The schema, its live statistics (a single URL only), the review findings and how
    to name the source in the documents (a URL without its password)."""
    from dbarchitect.dialects import get_dialect
    from dbarchitect.review import load_config
    from dbarchitect.review.engine import review as run_review
    from dbarchitect.sources import live_inputs, load_schema

    config = load_config()
    if len(sources) == 1 and looks_like_url(sources[0]):
        url = parse_url(sources[0])
        if dialect is not None and get_dialect(dialect).name != url.dialect:
            raise InputError(f"--dialect {dialect} does not match the URL {url}")
        with live_inputs(url) as (schema, stats, sampler):
            findings = run_review(schema, config, stats=stats, sampler=sampler) if review else []
        return schema, stats, findings, str(url)
    schema = load_schema(list(sources), dialect=dialect)
    findings = run_review(schema, config) if review else []
    return schema, None, findings, " ".join(sources)


def publish(
    schema: Schema,
    out: Path,
    *,
    findings: Sequence[Finding],
    stats: Stats | None,
    source: str,
) -> list[Path]:
    """Write the documents into a temporary directory beside `out`, then move them into
    place, so a failure leaves nothing half-written. Files already in `out` that are not
    ours are kept; ours are replaced."""
    from dbarchitect.report.docs import write_docs

    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".dbarch-docs-", dir=parent))
    try:
        # mkdtemp makes the directory private; the documents are meant to be shared.
        mask = os.umask(0)
        os.umask(mask)
        tmp.chmod(0o777 & ~mask)
        written = write_docs(schema, tmp, findings=findings, stats=stats, source=source)
        relative = [p.relative_to(tmp) for p in written]
        if not out.exists():
            tmp.rename(out)
        else:
            for rel in relative:
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp / rel, out / rel)
        return [out / rel for rel in relative]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
