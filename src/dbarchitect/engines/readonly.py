"""Statement guards for read-only sessions, the first of two layers.

The engine's own read-only transaction is the second layer; this one refuses, before anything
is sent, text that is not exactly one statement of a reading kind, so that settings cannot be
switched off and transactions cannot be ended from inside a read-only session.
"""

from __future__ import annotations

import re

import pglast
from pglast import ast

from dbarchitect.errors import ReadOnlyViolation

_READING = (ast.SelectStmt, ast.VariableShowStmt)
_PLACEHOLDER = re.compile(r"%(\([A-Za-z_][A-Za-z0-9_]*\))?s")


def check_read_only_pg(sql: str) -> None:
    """Raise ReadOnlyViolation unless `sql` is one SELECT/VALUES/TABLE/SHOW/EXPLAIN statement."""
    # psycopg placeholders are not SQL; parse them as the $n parameters they become.
    parsable = _PLACEHOLDER.sub("$1", sql).replace("%%", "%")
    try:
        stmts = pglast.parse_sql(parsable)
    except pglast.parser.ParseError as exc:
        raise ReadOnlyViolation(f"refused on a read-only session: {exc}") from None
    if len(stmts) != 1:
        raise ReadOnlyViolation(
            f"refused on a read-only session: {len(stmts)} statements (one at a time)"
        )
    stmt = stmts[0].stmt
    if isinstance(stmt, ast.ExplainStmt):
        analyze = any(getattr(opt, "defname", "") == "analyze" for opt in (stmt.options or ()))
        if analyze:
            raise ReadOnlyViolation("refused on a read-only session: EXPLAIN ANALYZE runs it")
        stmt = stmt.query
    if not isinstance(stmt, _READING):
        kind = type(stmt).__name__.removesuffix("Stmt")
        raise ReadOnlyViolation(f"refused on a read-only session: {kind} is not a read")
    if isinstance(stmt, ast.SelectStmt):
        if stmt.intoClause is not None:
            raise ReadOnlyViolation("refused on a read-only session: SELECT INTO creates a table")
        if stmt.lockingClause:
            raise ReadOnlyViolation("refused on a read-only session: FOR UPDATE/SHARE locks rows")
        if _has_writing_cte(stmt):
            raise ReadOnlyViolation("refused on a read-only session: a WITH clause writes")


def _has_writing_cte(stmt: ast.SelectStmt) -> bool:
    if stmt.withClause is None:
        return False
    for cte in stmt.withClause.ctes or ():
        query = getattr(cte, "ctequery", None)
        if not isinstance(query, ast.SelectStmt):
            return True
        if _has_writing_cte(query):
            return True
    return False
