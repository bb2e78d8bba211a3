"""Obtain a Schema from a SOURCE: a database URL, SQL files or a directory, or schema JSON."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.sampling import Sampler
from dbarchitect.engines.url import DatabaseURL, looks_like_url, parse_url
from dbarchitect.errors import InputError
from dbarchitect.model import Schema, from_json
from dbarchitect.model.stats import Stats


def load_schema(
    sources: str | Sequence[str],
    *,
    dialect: str | None = None,
    schemas: Sequence[str] | None = None,
) -> Schema:
    """Introspect SOURCE into a Schema.

    A URL is read through a read-only session. SQL files (or every .sql file under a directory,
    in name order, `down` migrations left out) are run in order in a scratch database of
    `dialect` (default postgres) and then introspected. A `.json` file is the canonical form.
    SQLAlchemy models (`app.models`, `models.py`, a package) are created with create_all in a
    scratch database of `dialect` and introspected. A design spec (`.yaml`) is built, loaded
    and introspected on `dialect`, by default its primary target.
    """
    items = [sources] if isinstance(sources, str) else list(sources)
    if dialect is not None:
        get_dialect(dialect)  # an unknown dialect is reported before anything else
    if not items:
        raise InputError("no source given")
    if len(items) == 1 and looks_like_url(items[0]):
        url = parse_url(items[0])
        if dialect is not None and get_dialect(dialect).name != url.dialect:
            raise InputError(f"--dialect {dialect} does not match the URL {url}")
        return introspect_url(url, schemas=schemas)
    if len(items) == 1 and items[0].endswith(".json"):
        path = _existing(items[0])
        return from_json(path.read_text(encoding="utf-8"), where=str(path))
    if len(items) == 1 and looks_like_spec(items[0]):
        return load_spec_schema(items[0], dialect=dialect)
    from dbarchitect.sources.sqlalchemy import load_models, looks_like_models

    if len(items) == 1 and looks_like_models(items[0]):
        return load_models(items[0], dialect=dialect or "postgres", schemas=schemas)
    files = sql_files(items)
    return load_sql_files(files, dialect=dialect or "postgres", schemas=schemas)


@contextmanager
def live_inputs(
    url: DatabaseURL, *, schemas: Sequence[str] | None = None
) -> Iterator[tuple[Schema, Stats | None, Sampler]]:
    """A live database's schema, statistics and a data sampler, over one read-only session."""
    d = get_dialect(url.dialect)
    with d.engine().connect(url, read_only=True) as session:
        schema = d.introspect(session, schemas)
        yield schema, d.collect_stats(session), Sampler(session, d)


def looks_like_spec(item: str) -> bool:
    """A design spec: a YAML file."""
    return item.endswith((".yaml", ".yml"))


def load_spec_schema(item: str, *, dialect: str | None = None) -> Schema:
    """The schema a design spec builds, as the engine of `dialect` (default: the spec's
    primary target) made it."""
    from dbarchitect.design.load import load_spec
    from dbarchitect.design.run import realize

    loaded = load_spec(_existing(item))
    names = (get_dialect(dialect).name,) if dialect else loaded.spec.targets[:1]
    return realize(loaded, tuple(names)).primary.schema


def introspect_url(url: DatabaseURL, *, schemas: Sequence[str] | None = None) -> Schema:
    """The schema of a live database, read through a read-only session."""
    d = get_dialect(url.dialect)
    with d.engine().connect(url, read_only=True) as session:
        return d.introspect(session, schemas)


def load_sql_files(
    files: Sequence[Path], *, dialect: str = "postgres", schemas: Sequence[str] | None = None
) -> Schema:
    """Run SQL files in a scratch database of `dialect` and introspect the result."""
    d = get_dialect(dialect)
    engine = d.engine()
    with engine.scratch() as url:
        result = engine.load_files(url, files)
        return introspect_url(result, schemas=schemas)


def sql_files(items: Sequence[str]) -> list[Path]:
    """Expand paths into SQL files: files as given, directories recursively in name order."""
    out: list[Path] = []
    for item in items:
        path = _existing(item)
        if path.is_dir():
            found = sorted(
                (p for p in path.rglob("*.sql") if not _is_down(p)),
                key=lambda p: p.relative_to(path).parts,
            )
            if not found:
                raise InputError(f"{path}: no .sql files in this directory")
            out.extend(found)
        else:
            out.append(path)
    return out


def _is_down(path: Path) -> bool:
    return path.name == "down.sql" or path.name.endswith(".down.sql")


def _existing(item: str) -> Path:
    # Kept as the user spelled it (not resolved): error messages should name that path.
    path = Path(item)
    if not path.exists():
        raise InputError(f"{item}: no such file or directory")
    return path


__all__ = [
    "introspect_url",
    "live_inputs",
    "load_schema",
    "load_spec_schema",
    "load_sql_files",
    "looks_like_spec",
    "sql_files",
]
