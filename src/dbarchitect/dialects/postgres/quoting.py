"""Identifier quoting exactly as PostgreSQL's quote_ident() does it."""

from __future__ import annotations

import re

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

_KEYWORDS = (
    frozenset(RESERVED_KEYWORDS) | frozenset(COL_NAME_KEYWORDS) | frozenset(TYPE_FUNC_NAME_KEYWORDS)
)
_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")


def quote(name: str) -> str:
    """`name` as SQL: bare when PostgreSQL would read it back unchanged, else double-quoted."""
    if _PLAIN.match(name) and name not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def qname(schema: str | None, name: str) -> str:
    """A schema-qualified, quoted name."""
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


def literal(value: str) -> str:
    """A string literal; E'' form when it holds a backslash, as quote_literal() does."""
    escaped = value.replace("'", "''")
    if "\\" in value:
        return "E'" + escaped.replace("\\", "\\\\") + "'"
    return "'" + escaped + "'"
