"""Prove a migration before anyone runs it: up, re-diff, down, re-diff on a scratch copy.

The copy of FROM is built from what FROM was made of (its SQL files, or DDL rendered from the
schema of a URL or JSON source) in a fresh scratch database of the dialect; the user's
databases are only ever read. After `up` the copy must diff empty against TO; after `down` it
must diff empty against the copy as it was before `up`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.base import Engine
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import DbarchError
from dbarchitect.migrate.apply import StatementFailed, apply_statements
from dbarchitect.migrate.migration import Migration
from dbarchitect.model import Schema
from dbarchitect.sources import introspect_url


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """How to rebuild a source in a scratch database: SQL files run in order, else SQL text
    (empty text: an empty database)."""

    files: tuple[Path, ...] = ()
    sql: str = ""


class NotVerified(DbarchError):
    """The migration did not do what it claims. `differences` lists, one line each, what
    remained different (or the statement that failed)."""

    def __init__(self, message: str, differences: Sequence[str]) -> None:
        super().__init__(message)
        self.differences = tuple(differences)


def build(engine: Engine, url: DatabaseURL, origin: Origin) -> DatabaseURL:
    """Load `origin` into the scratch database at `url`; the URL of the database it ended in."""
    if origin.files:
        return engine.load_files(url, list(origin.files))
    if origin.sql.strip():
        engine.run_script(url, origin.sql, where="<rendered FROM schema>")
    return url


def differences(got: Schema, want: Schema) -> list[str]:
    """What still differs between two schemas, one `describe()` line each, sorted. Equal
    schemas need no diff; unequal ones may still diff empty (a column order the engine cannot
    change in place is not a difference a migration can fix)."""
    from dbarchitect.migrate.diff import diff

    if got == want:
        return []
    return sorted(op.describe() for op in diff(got, want).operations)


def verify(
    migration: Migration,
    *,
    origin: Origin,
    after: Schema,
    schemas: Sequence[str] | None = None,
) -> None:
    """Apply `migration` up and down on a scratch copy built from `origin`.

    Raises NotVerified (one-line message) when a statement fails, when the copy differs from
    `after` once up has run, or from its starting point once down has run.
    """
    engine = get_dialect(migration.dialect).engine()
    with engine.scratch() as scratch:
        url = build(engine, scratch, origin)
        start = introspect_url(url, schemas=schemas)
        for direction, statements, target in (
            ("up", migration.up, after),
            ("down", migration.down, start),
        ):
            try:
                apply_statements(url, statements, label=direction)
            except StatementFailed as exc:
                raise NotVerified(f"migration not verified: {exc}", []) from None
            left = differences(introspect_url(url, schemas=schemas), target)
            if left:
                what = "TO" if direction == "up" else "FROM"
                raise NotVerified(
                    f"migration not verified: {len(left)} difference(s) from {what} remain "
                    f"after {direction} (--no-verify prints it anyway)",
                    [f"after {direction}: {line}" for line in left],
                )


__all__ = ["NotVerified", "Origin", "build", "differences", "verify"]
