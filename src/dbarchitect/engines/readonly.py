"""Statement guards for read-only sessions, the first of two layers.

The engine's own read-only transaction is the second layer; this one refuses, before anything
is sent, text that is not exactly one statement of a reading kind, so that settings cannot be
switched off and transactions cannot be ended from inside a read-only session.

Beyond plain reads, tuning needs the planner's view of any workload statement:
- EXPLAIN without ANALYZE of INSERT/UPDATE/DELETE/MERGE (and of a SELECT whose WITH clause
  writes, or that locks rows): PostgreSQL only plans it. ExecutorStart is called with
  EXEC_FLAG_EXPLAIN_ONLY, skips the read-only check because nothing runs, and the server accepts
  it inside a read-only transaction.
- PREPARE of a plain read and EXPLAIN EXECUTE of a prepared statement: the generic plan of a
  statement whose parameters have no representative value (PostgreSQL 15 has no EXPLAIN
  (GENERIC_PLAN)). Every statement prepared through this guard passed it, so an EXECUTE could
  only ever run a read; it is still accepted only under EXPLAIN without ANALYZE. A PREPARE made
  inside a transaction goes away with its rollback, so no DEALLOCATE is needed or accepted.
EXPLAIN ANALYZE executes its statement, so it is accepted only for a plain read.
"""

from __future__ import annotations

import functools
import re

import pglast
from pglast import ast

from dbarchitect.errors import ReadOnlyViolation

_READING = (ast.SelectStmt, ast.VariableShowStmt)
# Planned but never executed under EXPLAIN without ANALYZE.
_PLANNED_ONLY = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt, ast.ExecuteStmt)
_PLACEHOLDER = re.compile(r"%(\([A-Za-z_][A-Za-z0-9_]*\))?s")


# The tuner plans the same few statements thousands of times (one EXPLAIN per what-if
# configuration): a text that passed once passes again, so its verdict is remembered. A refused
# text raises, which the cache does not keep, so it is checked anew every time.
@functools.lru_cache(maxsize=4096)
def check_read_only_pg(sql: str) -> None:
    """Raise ReadOnlyViolation unless `sql` is one statement that cannot write: a
    SELECT/VALUES/TABLE/SHOW, EXPLAIN (ANALYZE only of such a read; without ANALYZE also of
    INSERT/UPDATE/DELETE/MERGE/EXECUTE, which are then planned and never run), or PREPARE of
    a read."""
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
        _check_explain(stmt)
    elif isinstance(stmt, ast.PrepareStmt):
        _check_read(stmt.query, what="PREPARE of ")
    else:
        _check_read(stmt)


def _check_explain(stmt: ast.ExplainStmt) -> None:
    # Any mention of the option counts, even ANALYZE false: strict beats clever here.
    analyze = any(
        str(getattr(opt, "defname", "")).lower() == "analyze" for opt in (stmt.options or ())
    )
    query = stmt.query
    if analyze:
        if isinstance(query, _PLANNED_ONLY):
            kind = type(query).__name__.removesuffix("Stmt")
            raise ReadOnlyViolation(f"refused on a read-only session: EXPLAIN ANALYZE runs {kind}")
        _check_read(query, what="EXPLAIN ANALYZE of ")
        return
    if isinstance(query, _PLANNED_ONLY):
        return
    if isinstance(query, ast.SelectStmt) and query.intoClause is None:
        return  # writing CTEs and row locks are planned, not run
    _check_read(query, what="EXPLAIN of ")


def _check_read(stmt: ast.Node | None, *, what: str = "") -> None:
    if not isinstance(stmt, _READING):
        kind = type(stmt).__name__.removesuffix("Stmt")
        raise ReadOnlyViolation(f"refused on a read-only session: {what}{kind} is not a read")
    if isinstance(stmt, ast.SelectStmt):
        if stmt.intoClause is not None:
            raise ReadOnlyViolation("refused on a read-only session: SELECT INTO creates a table")
        if stmt.lockingClause or _locks(stmt):
            raise ReadOnlyViolation("refused on a read-only session: FOR UPDATE/SHARE locks rows")
        if _has_writing_cte(stmt):
            raise ReadOnlyViolation("refused on a read-only session: a WITH clause writes")


def _locks(stmt: ast.SelectStmt) -> bool:
    # A UNION's branches carry their own locking clauses (PostgreSQL refuses them, but the
    # guard should not depend on that).
    for part in (stmt.larg, stmt.rarg):
        if part is not None and (part.lockingClause or _locks(part)):
            return True
    return False


def _has_writing_cte(stmt: ast.SelectStmt) -> bool:
    clauses = [stmt.withClause]
    clauses += [p.withClause for p in (stmt.larg, stmt.rarg) if p is not None]
    for clause in clauses:
        for cte in (clause.ctes or ()) if clause is not None else ():
            query = getattr(cte, "ctequery", None)
            if not isinstance(query, ast.SelectStmt):
                return True
            if _has_writing_cte(query):
                return True
    return any(part is not None and _has_writing_cte(part) for part in (stmt.larg, stmt.rarg))
