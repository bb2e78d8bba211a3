"""Migration files → sqlglot expressions, for the engines pglast does not parse (MySQL, SQLite).

Statements are split on the tokenizer's semicolons (so semicolons inside strings and comments
do not count), except inside a CREATE TRIGGER body, which ends at `END;`. Each statement is
parsed on its own so that an error names the line it is on. `-- dbarch:ignore` comments work
as in PostgreSQL migrations.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from dbarchitect.errors import InputError
from dbarchitect.migrate.safety.parse import STDIN, ignore_keys, migration_files


@dataclass(frozen=True, slots=True)
class SqlStatement:
    """One statement parsed by sqlglot, where it starts and the hazards it silences."""

    node: exp.Expression
    file: str
    line: int
    text: str
    ignored: frozenset[str] = frozenset()

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class SqlFile:
    """The statements of one migration file (or stdin), in order."""

    path: str
    statements: tuple[SqlStatement, ...]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # sqlglot logs a warning each time it falls back to an opaque Command; callers inspect
    # the Command's text themselves, so the warning is noise on the user's terminal.
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _chunks(tokens: list[Any]) -> Iterator[list[Any]]:
    # Tokens are typed loosely: sqlglot moved its Token class between releases.
    current: list[Any] = []
    in_trigger = False
    for token in tokens:
        if token.token_type.name == "SEMICOLON":
            ends_body = bool(current) and current[-1].text.upper() == "END"
            if current and (not in_trigger or ends_body):
                yield current
                current, in_trigger = [], False
            elif current:
                current.append(token)
            continue
        current.append(token)
        if len(current) <= 4 and token.text.upper() == "TRIGGER":
            in_trigger = current[0].text.upper() == "CREATE"
    if current:
        yield current


def parse_sql_text(text: str, where: str, dialect: str) -> SqlFile:
    """Parse `text` with sqlglot's `dialect`; an unparsable statement raises InputError."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(text)
    except TokenError as exc:
        raise InputError(f"{where}: cannot tokenize: {' '.join(str(exc).split())}") from None
    ignores = ignore_keys(text)
    statements = []
    for chunk in _chunks(tokens):
        start, end = chunk[0].start, chunk[-1].end + 1
        line = chunk[0].line
        # A leading comment is attached to the first token, not part of the statement.
        body = text[start:end]
        try:
            with _quiet():
                node = sqlglot.parse_one(body, read=dialect)
        except ParseError as exc:
            first = exc.errors[0] if exc.errors else {}
            at = line + int(first.get("line") or 1) - 1
            desc = " ".join(str(first.get("description") or exc).split())
            raise InputError(f"{where}:{at}: cannot parse ({dialect}): {desc}") from None
        keys = ignores.get(line, (frozenset(), False))[0]
        above, alone = ignores.get(line - 1, (frozenset(), False))
        if alone:
            keys |= above
        statements.append(SqlStatement(cast(exp.Expression, node), where, line, body.strip(), keys))
    return SqlFile(path=where, statements=tuple(statements))


def parse_sql_migrations(items: Sequence[str], dialect: str) -> list[SqlFile]:
    """Parse every migration named by `items` (files, directories, `-`) with sqlglot."""
    out = []
    for path in migration_files(items):
        if path == STDIN:
            out.append(parse_sql_text(sys.stdin.read(), "<stdin>", dialect))
            continue
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{p}: not UTF-8 text ({exc.reason})") from None
        out.append(parse_sql_text(text, str(p), dialect))
    return out


def name_of(node: exp.Expression | None) -> str:
    """The unquoted name of a table, column or identifier node ('' when absent)."""
    if node is None:
        return ""
    if isinstance(node, exp.Identifier):
        return str(node.this)
    if isinstance(node, exp.Table | exp.Column):
        return node.name
    if isinstance(node, exp.Schema):
        return name_of(node.this)
    return node.name if hasattr(node, "name") else ""


def words(text: str) -> list[str]:
    """Upper-cased words of a statement's text, for the forms sqlglot keeps as a Command."""
    return [w.strip("`\"'(),;=").upper() for w in text.replace("=", " = ").split()]
