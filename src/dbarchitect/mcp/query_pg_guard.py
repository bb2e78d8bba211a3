"""The MCP query tool's statement guard for PostgreSQL, stricter than the engine's own.

engines/readonly.py already refuses anything but one statement of a reading kind; it runs
first and is not loosened here. This layer adds what an agent-facing tool needs on top:
- no PREPARE/EXECUTE and no EXPLAIN of a write (the tuner needs those, an agent does not);
- no statement anywhere in the tree that writes or locks rows (a CTE, a subquery, EXPLAIN's);
- calls only to functions that cannot act outside the read-only transaction: a denylist of
  built-ins that do (signals, files, large objects, advisory locks, settings, WAL, dblink, SQL
  run from text) and, resolved against pg_proc, no VOLATILE function unless it is a built-in
  on a short allow-list. Operators are resolved too: a user-defined operator is a function call.

Functions reached indirectly (a view's body, a type's input function, a trigger) are not
seen here; the read-only transaction stops their writes, and only a least-privilege role stops
what escapes a transaction (docs/mcp-security.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pglast
from pglast import ast
from pglast.stream import RawStream

from dbarchitect.engines.readonly import check_read_only_pg
from dbarchitect.errors import ReadOnlyViolation

# Built-ins refused by name whatever their volatility (some are STABLE yet run SQL from text).
DENIED_FUNCTIONS = frozenset(
    {
        "set_config",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "pg_stat_file",
        "pg_notify",
        "txid_current",
        "txid_current_if_assigned",
        "pg_current_xact_id",
        "pg_current_xact_id_if_assigned",
        "nextval",
        "setval",
        "currval",
        "lastval",
        "setseed",
        "pg_logical_emit_message",
        "pg_create_restore_point",
        "pg_switch_wal",
        "pg_promote",
        "query_to_xml",
        "query_to_xmlschema",
        "query_to_xml_and_xmlschema",
        "cursor_to_xml",
        "cursor_to_xmlschema",
        "table_to_xml",
        "table_to_xmlschema",
        "table_to_xml_and_xmlschema",
        "schema_to_xml",
        "schema_to_xmlschema",
        "schema_to_xml_and_xmlschema",
        "database_to_xml",
        "database_to_xmlschema",
        "database_to_xml_and_xmlschema",
        "ts_stat",  # runs the query text it is given
        "ts_rewrite",  # likewise, in its two-argument form
        "loread",
        "lowrite",
        "pg_import_system_collations",
        "pg_log_backend_memory_contexts",
        "pg_current_logfile",
    }
)
DENIED_PREFIXES = (
    "lo_",
    "dblink",
    "pg_advisory_",
    "pg_try_advisory_",
    "pg_sleep",
    "pg_ls_",
    "pg_read_",
    "pg_file_",
    "pg_replication_",
    "pg_logical_",
    "pg_create_",
    "pg_drop_",
    "pg_copy_",
    "pg_stat_reset",
    "pg_wal_replay_",
)
DENIED_SUFFIXES = ("_backup",)  # pg_start_backup, pg_backup_start, pg_stop_backup, …

# VOLATILE built-ins that only read or compute (sizes, clocks, random values).
ALLOWED_VOLATILE_BUILTINS = frozenset(
    {
        "random",
        "random_normal",
        "gen_random_uuid",
        "clock_timestamp",
        "timeofday",
        "pg_relation_size",
        "pg_total_relation_size",
        "pg_table_size",
        "pg_indexes_size",
        "pg_database_size",
        "pg_tablespace_size",
        "pg_is_in_recovery",
        "pg_current_wal_lsn",
        "pg_last_wal_receive_lsn",
        "pg_last_wal_replay_lsn",
        "pg_last_xact_replay_timestamp",
        "pg_stat_clear_snapshot",
        "pg_get_wal_replay_pause_state",
        "pg_is_wal_replay_paused",
    }
)

_WRITES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)


def is_denied_name(name: str) -> bool:
    """True for a function name refused whatever it resolves to."""
    name = name.lower()
    return (
        name in DENIED_FUNCTIONS
        or name.startswith(DENIED_PREFIXES)
        or name.endswith(DENIED_SUFFIXES)
    )


def parse_statement(sql: str) -> ast.Node:
    """The one statement of `sql`, after both guards' structural checks; else ReadOnlyViolation.

    Reading kinds only: SELECT/VALUES/TABLE, SHOW, EXPLAIN of such a read.
    """
    check_read_only_pg(sql)  # the engine's guard first: one statement, a reading kind
    stmt = pglast.parse_sql(sql)[0].stmt
    if isinstance(stmt, ast.ExplainStmt):
        if not isinstance(stmt.query, ast.SelectStmt):
            kind = type(stmt.query).__name__.removesuffix("Stmt")
            raise ReadOnlyViolation(f"refused by the query tool: EXPLAIN of {kind}")
    elif not isinstance(stmt, ast.SelectStmt | ast.VariableShowStmt):
        kind = type(stmt).__name__.removesuffix("Stmt")
        raise ReadOnlyViolation(f"refused by the query tool: {kind} is not a read")
    for node in walk(stmt):
        if isinstance(node, _WRITES):
            kind = type(node).__name__.removesuffix("Stmt").upper()
            raise ReadOnlyViolation(f"refused by the query tool: a nested {kind}")
        if isinstance(node, ast.SelectStmt) and (node.lockingClause or node.intoClause):
            raise ReadOnlyViolation("refused by the query tool: SELECT INTO / FOR UPDATE")
    return stmt


def canonical_text(stmt: ast.Node) -> str:
    """The statement printed back from its parse tree: no comments, no trailing semicolon.

    What is executed is then exactly what was analysed, whatever comment or quoting tricks
    the original text played.
    """
    text = str(RawStream()(stmt))
    if len(pglast.parse_sql(text)) != 1:  # defence in depth: printing must not add a statement
        raise ReadOnlyViolation("refused by the query tool: statement does not round-trip")
    return text


def called_names(stmt: ast.Node) -> tuple[set[str], set[str]]:
    """(function names, operator names) the statement calls, lower-cased, schema dropped.

    A denied function name raises ReadOnlyViolation at once.
    """
    functions: set[str] = set()
    operators: set[str] = set()
    for node in walk(stmt):
        if isinstance(node, ast.FuncCall):
            name = _last_name(node.funcname)
            if is_denied_name(name):
                raise ReadOnlyViolation(f"refused by the query tool: function {name}()")
            functions.add(name)
        elif isinstance(node, ast.A_Expr) and node.name:
            operators.add(_last_name(node.name))
    return functions, operators


# Every function of these names, behind these operators or inside these aggregates, any schema:
# refusing on any VOLATILE candidate is stricter than the server's overload resolution.
RESOLVE_SQL = """
SELECT p.proname, n.nspname, p.provolatile
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = ANY(%(functions)s)
   OR p.oid IN (SELECT o.oprcode::oid FROM pg_catalog.pg_operator o
                WHERE o.oprname = ANY(%(operators)s))
   OR p.oid IN (SELECT f.oid FROM pg_catalog.pg_aggregate a
                JOIN pg_catalog.pg_proc q ON q.oid = a.aggfnoid
                CROSS JOIN LATERAL (VALUES (a.aggtransfn::oid), (a.aggfinalfn::oid),
                                           (a.aggcombinefn::oid)) AS f(oid)
                WHERE q.proname = ANY(%(functions)s))
"""


def check_resolved(rows: list[tuple[Any, ...]]) -> None:
    """Refuse when a called function (or operator's function) may act: rows from RESOLVE_SQL."""
    for proname, nspname, volatility in rows:
        if is_denied_name(proname):
            raise ReadOnlyViolation(f"refused by the query tool: function {proname}()")
        builtin = nspname == "pg_catalog"
        if volatility == "v" and not (builtin and proname in ALLOWED_VOLATILE_BUILTINS):
            raise ReadOnlyViolation(
                f"refused by the query tool: {nspname}.{proname}() is VOLATILE"
                " (it could act outside the query)"
            )


def walk(node: Any) -> Iterator[ast.Node]:
    """Every AST node under `node`, itself included."""
    if isinstance(node, list | tuple):
        for item in node:
            yield from walk(item)
    elif isinstance(node, ast.Node):
        yield node
        for attr in getattr(type(node), "__slots__", ()):
            yield from walk(getattr(node, attr, None))


def _last_name(parts: Any) -> str:
    last = parts[-1]
    return str(getattr(last, "sval", last)).lower()
