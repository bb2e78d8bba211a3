"""Migration files → parsed PostgreSQL statements, each with its file, line and ignore keys.

Parsing is pglast's (the server's own grammar). psql meta-commands (`\\set`, `\\connect`…)
are blanked out before parsing so that line numbers stay true. The only text scanning done
here is for `-- dbarch:ignore hazard-id` comments, which are not SQL.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pglast
from pglast import ast
from pglast.parser import ParseError, scan

from dbarchitect.errors import InputError
from dbarchitect.sources import sql_files

_IGNORE = re.compile(r"--\s*dbarch:ignore\b(?P<ids>[^\n]*)")
STDIN = "-"


@dataclass(frozen=True, slots=True)
class Statement:
    """One parsed statement: its AST node, where it starts and the hazards it silences."""

    node: ast.Node
    file: str
    line: int
    text: str
    ignored: frozenset[str] = frozenset()
    # The parser truncates long identifiers itself, so they are taken from the lexer's tokens.
    long_names: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class MigrationFile:
    """The statements of one migration file (or of stdin), in order."""

    path: str
    statements: tuple[Statement, ...]


def migration_files(items: Sequence[str]) -> list[Path | str]:
    """Expand MIGRATION arguments: files as given, directories' .sql files in name order
    (down migrations left out), `-` for stdin."""
    out: list[Path | str] = []
    for item in items:
        if item == STDIN:
            out.append(STDIN)
        else:
            out.extend(sql_files([item]))
    return out


def parse_migrations(items: Sequence[str]) -> list[MigrationFile]:
    """Parse every migration named by `items`; a syntax error raises InputError naming file:line."""
    result = []
    for path in migration_files(items):
        if path == STDIN:
            result.append(parse_text(sys.stdin.read(), "<stdin>"))
        else:
            p = Path(path)
            try:
                text = p.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"{p}: not UTF-8 text ({exc.reason})") from None
            result.append(parse_text(text, str(p)))
    return result


def parse_text(text: str, where: str) -> MigrationFile:
    """Parse SQL text; `where` names it in findings and errors."""
    clean = _blank_meta_commands(text)
    try:
        raws = pglast.parse_sql(clean)
    except ParseError as exc:
        message, offset = exc.args[0], int(exc.args[1]) if len(exc.args) > 1 else 0
        raise InputError(f"{where}:{_line_of(clean, offset)}: {message}") from None
    ignores = ignore_keys(text)
    statements = []
    for raw in raws:
        if raw.stmt is None:
            continue
        start = raw.stmt_location or 0
        length = raw.stmt_len or len(clean) - start
        line = _line_of(clean, start)
        keys = ignores.get(line, (frozenset(), False))[0]
        above, alone = ignores.get(line - 1, (frozenset(), False))
        if alone:  # a comment trailing the previous statement is that statement's
            keys |= above
        statements.append(
            Statement(
                node=raw.stmt,
                file=where,
                line=line,
                text=clean[start : start + length].strip(),
                ignored=keys,
                long_names=_long_identifiers(clean[start : start + length]),
            )
        )
    return MigrationFile(path=where, statements=tuple(statements))


MAX_IDENTIFIER_BYTES = 63


def _long_identifiers(text: str) -> tuple[str, ...]:
    """Identifier tokens longer than PostgreSQL keeps (63 bytes), as the server would name them."""
    out: list[str] = []
    try:
        tokens = scan(text)
    except ParseError:
        return ()
    for token in tokens:
        if token.name != "IDENT":
            continue
        raw = text[token.start : token.end + 1]
        name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw.lower()
        if len(name.encode()) > MAX_IDENTIFIER_BYTES and name not in out:
            out.append(name)
    return tuple(out)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, max(offset, 0)) + 1


def _blank_meta_commands(text: str) -> str:
    """psql backslash commands are not SQL: replace each such line by an empty one."""
    lines = text.split("\n")
    return "\n".join("" if ln.lstrip().startswith("\\") else ln for ln in lines)


def ignore_keys(text: str) -> dict[int, tuple[frozenset[str], bool]]:
    """Line number → (hazard ids named by a `-- dbarch:ignore id[, id…]` comment on that line,
    whether the comment stands alone on its line)."""
    out: dict[int, tuple[frozenset[str], bool]] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        m = _IGNORE.search(line)
        if m:
            ids = frozenset(t for t in re.split(r"[\s,]+", m.group("ids").strip()) if t)
            out[number] = (ids or frozenset({"*"}), not line[: m.start()].strip())
    return out
