"""Run a rendered migration's statements on a database (a scratch copy: never the user's).

Consecutive transactional statements share one transaction, so a failure in the middle of a
group leaves the database as it was before the group; a statement marked non-transactional
(CREATE INDEX CONCURRENTLY, ALTER TYPE … ADD VALUE on old servers) runs alone between groups.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence

import psycopg

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.base import Session
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import DbarchError
from dbarchitect.migrate.migration import Statement


class StatementFailed(DbarchError):
    """A statement of a migration was rejected by the engine. `number` counts from 1."""

    def __init__(self, message: str, *, number: int, statement: Statement, reason: str) -> None:
        super().__init__(message)
        self.number = number
        self.statement = statement
        self.reason = reason


def groups(statements: Sequence[Statement]) -> Iterator[tuple[bool, list[tuple[int, Statement]]]]:
    """(transactional, [(number, statement)…]) runs: consecutive transactional statements
    together, each non-transactional one alone. Numbers count from 1."""
    run: list[tuple[int, Statement]] = []
    for number, stmt in enumerate(statements, start=1):
        if stmt.transactional:
            run.append((number, stmt))
            continue
        if run:
            yield True, run
            run = []
        yield False, [(number, stmt)]
    if run:
        yield True, run


def first_line(sql: str) -> str:
    """The first non-blank line of a statement, for messages."""
    return next((ln.strip() for ln in sql.splitlines() if ln.strip()), "")


def apply_statements(url: DatabaseURL, statements: Sequence[Statement], *, label: str = "") -> None:
    """Run `statements` in order on the database at `url` (a writable session).

    Raises StatementFailed with a one-line message naming the statement number, its first
    line and the engine's error; the transaction group it was in is rolled back.
    """
    engine = get_dialect(url.dialect).engine()
    with engine.connect(url, read_only=False) as session:
        for transactional, run in groups(statements):
            if transactional:
                session.execute("BEGIN")
            for number, stmt in run:
                try:
                    if stmt.check:
                        rows = session.fetch(stmt.sql.rstrip().rstrip(";"))
                        if rows:
                            raise DbarchError(f"{len(rows)} row(s) fail it, first: {rows[0]}")
                    else:
                        session.execute(stmt.sql)
                except (DbarchError, psycopg.Error) as exc:
                    if transactional:
                        _rollback(session)
                    reason = engine_message(exc, url)
                    prefix = f"{label} " if label else ""
                    raise StatementFailed(
                        f"{prefix}statement {number} ({first_line(stmt.sql)}): {reason}",
                        number=number,
                        statement=stmt,
                        reason=reason,
                    ) from None
            if transactional:
                session.execute("COMMIT")


def _rollback(session: Session) -> None:
    # The engine may already have ended the transaction (SQLite does on some errors).
    with contextlib.suppress(DbarchError, psycopg.Error):
        session.execute("ROLLBACK")


_WHERE_PREFIX = re.compile(r"^:(?:\d+:)?\s*")


def engine_message(exc: BaseException, url: DatabaseURL) -> str:
    """The engine's own message in one line, without the scratch URL the session puts first."""
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        return exc.diag.message_primary
    text = str(exc).strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    where = str(url)
    if text.startswith(where):
        text = _WHERE_PREFIX.sub("", text[len(where) :])
    return text


__all__ = ["StatementFailed", "apply_statements", "engine_message", "first_line", "groups"]
