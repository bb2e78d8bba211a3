"""Statement text for the sqlglot analysis: parameter markers, parsing, fingerprints, binding.

Parameter markers (`?`, `?NNN`, `:name`, `@name`, `$name`, `%s`) are renamed `:pN` before
parsing, so each placeholder in the tree names its span in the original text, and a node's
original text (a literal exactly as written) can be sliced back out of the statement.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import Token, TokenType, exp
from sqlglot.dialects.dialect import Dialect as SqlglotDialect
from sqlglot.errors import SqlglotError

from dbarchitect.errors import InputError

_WORD = re.compile(r"\w+")
_AFTER_WORD_OK = frozenset(
    {TokenType.SELECT, TokenType.WHERE, TokenType.AND, TokenType.OR, TokenType.LIMIT}
    | {TokenType.OFFSET, TokenType.SET, TokenType.VALUES, TokenType.IN, TokenType.LIKE}
    | {TokenType.BETWEEN, TokenType.THEN, TokenType.WHEN, TokenType.ELSE, TokenType.NOT}
    | {TokenType.IS, TokenType.ON, TokenType.HAVING, TokenType.RETURNING}
)


Role = Literal["value", "limit", "offset", "other"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    """One parameter marker of a statement: its span in the text and what it stands for."""

    start: int  # [start, end) in the original text
    end: int
    text: str  # the marker as written: "?", "?2", ":user_id", "%s"
    role: Role
    table: str | None = None  # the column it is compared to or assigned, when there is one
    column: str | None = None


# --- text: markers and positions -----------------------------------------------------------------


@dataclass(slots=True)
class SourceText:
    """A statement's original text, and where its markers were renamed in the parsed text."""

    original: str
    markers: list[tuple[int, int]]  # spans in `original`; marker i became :p{i}
    shifts: list[tuple[int, int]]  # (end of marker i in the rewritten text, total delta so far)

    def span(self, node: exp.Expr) -> str | None:
        """The original text of a node sqlglot located (identifiers, literals), else None."""
        meta = node.meta
        if "start" not in meta or "end" not in meta:
            return None
        return self.original[self._back(int(meta["start"])) : self._back(int(meta["end"])) + 1]

    def _back(self, pos: int) -> int:
        delta = 0
        for end, total in self.shifts:
            if pos >= end:
                delta = total
        return pos - delta


def _markers(sql: str, dialect: str) -> list[tuple[int, int]]:
    """Spans of parameter markers, found on the engine's own tokens (so strings and comments
    are already set aside)."""
    try:
        tokens = SqlglotDialect.get_or_raise(dialect).tokenize(sql)
    except SqlglotError as exc:
        raise InputError(f"does not tokenize: {first_line(exc)}") from None
    spans: list[tuple[int, int]] = []
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        word = nxt if nxt and nxt.start == tok.end + 1 and _WORD.fullmatch(nxt.text) else None
        after_value = prev is not None and prev.end + 1 == tok.start and _is_value(prev)
        kind = tok.token_type
        if kind == TokenType.PLACEHOLDER:
            spans.append((tok.start, (word.end if word and word.text.isdigit() else tok.end) + 1))
        elif kind == TokenType.VAR and tok.text.startswith("$") and len(tok.text) > 1:
            spans.append((tok.start, tok.end + 1))
        elif word and (
            (kind in (TokenType.COLON, TokenType.PARAMETER) and not after_value)
            or (kind == TokenType.MOD and word.text == "s" and not _is_value(prev))
        ):
            spans.append((tok.start, word.end + 1))
    return spans


def _is_value(tok: Token | None) -> bool:
    """A token after which `%`, `:` or `@` is an operator rather than a parameter's start."""
    if tok is None:
        return False
    if tok.token_type in (TokenType.R_PAREN, TokenType.NUMBER, TokenType.STRING):
        return True
    return _WORD.fullmatch(tok.text) is not None and tok.token_type not in _AFTER_WORD_OK


def parse(sql: str, dialect: str) -> tuple[exp.Expr, SourceText]:
    """Parse one statement; InputError (one line) when it does not parse or holds several."""
    markers = _markers(sql, dialect)
    parts: list[str] = []
    shifts: list[tuple[int, int]] = []
    at = delta = 0
    for i, (start, end) in enumerate(markers):
        name = f":p{i}"
        parts += [sql[at:start], name]
        delta += len(name) - (end - start)
        shifts.append((end + delta, delta))
        at = end
    parts.append(sql[at:])
    try:
        trees = [t for t in sqlglot.parse("".join(parts), read=dialect) if t is not None]
    except SqlglotError as exc:
        raise InputError(f"does not parse: {first_line(exc)}") from None
    if len(trees) != 1:
        raise InputError("empty statement" if not trees else "several statements in one text")
    return trees[0], SourceText(original=sql, markers=markers, shifts=shifts)


def first_line(exc: BaseException) -> str:
    """The first line of sqlglot's message, without its terminal colour codes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def fold(tree: exp.Expr) -> None:
    """Lower-case every identifier of `tree`, in place."""
    for ident in list(tree.find_all(exp.Identifier)):
        ident.set("this", ident.name.lower())


# --- fingerprint -------------------------------------------------------------------------------


def fingerprint(sql: str, dialect: str) -> str:
    """A 16-hex-digit digest shared by every text of one statement: constants and parameters
    become `?`, IN lists and VALUES rows of parameters collapse to one, identifiers fold to
    lower case, comments and layout are dropped. InputError when `sql` does not parse."""
    tree, _ = parse(sql, dialect)
    fold(tree)
    for node in list(tree.find_all(exp.Literal, exp.Placeholder, exp.HexString, exp.Neg)):
        constant = not isinstance(node, exp.Neg) or isinstance(node.this, exp.Literal)
        if constant and node.parent is not None:
            node.replace(exp.Placeholder())
    for node in list(tree.find_all(exp.In, exp.Values)):
        items = [i.sql(dialect=dialect) for i in node.expressions]
        if len(items) > 1 and len(set(items)) == 1:
            node.set("expressions", [node.expressions[0]])
    return hashlib.sha256(tree.sql(dialect=dialect, comments=False).encode()).hexdigest()[:16]


# --- binding -----------------------------------------------------------------------------------


def bind_values(
    sql: str, params: Sequence[Parameter], sample: Callable[[str, str], Sequence[str]]
) -> str:
    """`sql` with each of `params` (its markers, in text order) replaced by a representative
    literal: `sample(table, column)` gives SQL literals of the column's most common values,
    most common first; the k-th parameter on one column takes the k-th value (an IN list gets
    distinct ones), a name used twice takes one value. LIMIT binds 10 and OFFSET 0. InputError
    when a parameter is not compared to a column or its column holds no value."""
    chosen: dict[str, str] = {}
    used: dict[tuple[str, str], int] = {}
    out, at = [], 0
    for param in params:
        named = param.text not in ("?", "%s")
        if named and param.text in chosen:
            value = chosen[param.text]
        elif param.role in ("limit", "offset"):
            value = "10" if param.role == "limit" else "0"
        elif param.table is None or param.column is None:
            raise InputError(
                f"parameter {param.text} is not compared to a column: no value to bind"
            )
        else:
            values = sample(param.table, param.column)
            if not values:
                raise InputError(
                    f"parameter {param.text}: {param.table}.{param.column} holds no value to bind"
                )
            k = used.get((param.table, param.column), 0)
            used[(param.table, param.column)] = k + 1
            value = values[k % len(values)]
        chosen[param.text] = value
        out += [sql[at : param.start], value]
        at = param.end
    return "".join(out) + sql[at:]


__all__ = [
    "Parameter",
    "Role",
    "SourceText",
    "bind_values",
    "fingerprint",
    "first_line",
    "fold",
    "parse",
]
