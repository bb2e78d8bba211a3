"""Static migration check: walk the statements in order, predict each one's effect, find hazards.

Transactions are followed as psql runs a file: outside BEGIN … COMMIT every statement is its
own transaction; inside, locks accumulate until COMMIT or ROLLBACK, which is what makes a slow
step after a strong lock dangerous. Statements on tables created earlier in the same file are
not hazards: such a table is new and empty. A table created by an earlier file of the run is
known (columns, constraints) but has had time to fill, so it is treated as existing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pglast import ast
from pglast.enums import TransactionStmtKind as TK
from pglast.enums import VariableSetKind

from dbarchitect.dialects.postgres.locks import Concern, Prediction, predict, qualify, walk
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.safety import plans
from dbarchitect.migrate.safety.effects import Effect, blocks_reads, blocks_writes
from dbarchitect.migrate.safety.hazards import HAZARDS, hazard_finding
from dbarchitect.migrate.safety.parse import (
    MAX_IDENTIFIER_BYTES,
    MigrationFile,
    Statement,
    parse_migrations,
)
from dbarchitect.migrate.safety.state import SchemaState
from dbarchitect.model.schema import Schema
from dbarchitect.review.finding import Finding

_BEGIN = (TK.TRANS_STMT_BEGIN, TK.TRANS_STMT_START)
_END = (TK.TRANS_STMT_COMMIT, TK.TRANS_STMT_ROLLBACK)
_CREATES = (ast.CreateStmt, ast.CreateTableAsStmt, ast.ViewStmt, ast.CreateSchemaStmt)


def lock_name(mode: str) -> str:
    """`AccessExclusiveLock` → `ACCESS EXCLUSIVE`, as the documentation spells lock modes."""
    words: list[str] = []
    for ch in mode.removesuffix("Lock"):
        if ch.isupper() and words:
            words.append(" ")
        words.append(ch.upper())
    return "".join(words)


def blocking(mode: str) -> str:
    """What a lock mode blocks, in words."""
    if blocks_reads(mode):
        return "blocks reads and writes"
    if blocks_writes(mode):
        return "blocks writes (reads continue)"
    return "blocks neither reads nor writes"


@dataclass(slots=True)
class _Tx:
    """The transaction state of the file being walked."""

    explicit: bool = False
    begin: Statement | None = None
    held: dict[str, tuple[str, str]] = field(default_factory=dict)  # rel → (mode, file:line)
    enum_values: dict[str, str] = field(default_factory=dict)  # value → type
    local_timeout: bool = False
    session_timeout: bool = False

    def end(self) -> None:
        self.explicit, self.begin, self.local_timeout = False, None, False
        self.held.clear()
        self.enum_values.clear()

    @property
    def lock_timeout(self) -> bool:
        return self.local_timeout or self.session_timeout


class _Walker:
    def __init__(self, state: SchemaState) -> None:
        self.state = state
        self.findings: list[Finding] = []
        self.predicted: list[tuple[Statement, Effect]] = []

    def emit(self, stmt: Statement, rule: str, obj: str, message: str, fix: str | None) -> None:
        found = hazard_finding(
            HAZARDS,
            rule,
            obj=obj,
            message=message,
            fix=fix,
            file=stmt.file,
            line=stmt.line,
            ignored=stmt.ignored,
        )
        if found is not None:
            self.findings.append(found)

    def walk_file(self, migration: MigrationFile) -> None:
        self.state.forget_new()
        tx = _Tx()
        for stmt in migration.statements:
            self.statement(stmt, tx)
        if tx.explicit and tx.begin is not None:
            self.emit(
                tx.begin,
                "unbalanced-transaction",
                tx.begin.where,
                f"BEGIN at {tx.begin.where} is never committed: the migration's changes are "
                "rolled back when the session ends",
                "COMMIT;  -- at the end of the file",
            )

    def statement(self, stmt: Statement, tx: _Tx) -> None:
        node = stmt.node
        self._identifiers(stmt)
        if isinstance(node, ast.TransactionStmt):
            self._transaction(stmt, node, tx)
            return
        if isinstance(node, ast.VariableSetStmt) and node.name == "lock_timeout":
            on = node.kind == VariableSetKind.VAR_SET_VALUE and not _is_zero(node.args)
            if node.is_local:
                tx.local_timeout = on and tx.explicit
            else:
                tx.session_timeout = on
            return
        if isinstance(node, _CREATES):
            self.state.apply(node)  # the relation it creates is new from the start
        pred = predict(node, self.state)
        self.predicted.append((stmt, pred.effect))
        self._enum(stmt, node, tx)
        if not pred.effect.in_transaction and tx.explicit:
            what = stmt.text.split("\n", 1)[0][:80]
            self.emit(
                stmt,
                "concurrently-in-transaction",
                _first_relation(pred) or stmt.where,
                f"`{what}` cannot run inside a transaction block (BEGIN at "
                f"{tx.begin.where if tx.begin else '?'}): the statement fails",
                plans.outside_transaction(stmt.text.rstrip(";")),
            )
        for concern in pred.concerns:
            if not self.state.is_new(concern.relation):
                self.emit(stmt, concern.hazard, concern.relation, _message(concern), concern.fix)
        self._validates(stmt, pred, tx)
        self._lock_timeout(stmt, pred, tx)
        self._slow_step(stmt, pred, tx)
        if tx.explicit:
            for rel, mode in pred.effect.locks.items():
                if rel not in tx.held or _stronger(mode, tx.held[rel][0]):
                    tx.held[rel] = (mode, stmt.where)
        if not isinstance(node, _CREATES):
            self.state.apply(node)

    def _transaction(self, stmt: Statement, node: Any, tx: _Tx) -> None:
        if node.kind in _BEGIN:
            if tx.explicit:
                self.emit(
                    stmt,
                    "unbalanced-transaction",
                    stmt.where,
                    f"BEGIN inside the transaction begun at "
                    f"{tx.begin.where if tx.begin else '?'}: it is ignored (WARNING), and the "
                    "next COMMIT ends the outer transaction",
                    "COMMIT;  -- before this BEGIN",
                )
                return
            tx.explicit, tx.begin = True, stmt
        elif node.kind in _END:
            if not tx.explicit:
                self.emit(
                    stmt,
                    "unbalanced-transaction",
                    stmt.where,
                    "COMMIT or ROLLBACK without BEGIN: there is no transaction to end here "
                    "(a migration tool's own transaction would be ended early)",
                    "BEGIN;  -- where the transaction should start",
                )
                return
            tx.end()

    def _enum(self, stmt: Statement, node: ast.Node, tx: _Tx) -> None:
        if isinstance(node, ast.AlterEnumStmt):
            if node.newVal is None or not tx.explicit:
                return
            type_name = ".".join(str(s.sval) for s in node.typeName or ())
            if self.state.pg_version < 12:
                self.emit(
                    stmt,
                    "enum-value-used-in-same-transaction",
                    type_name,
                    f"ALTER TYPE {type_name} ADD VALUE is refused inside a transaction block "
                    f"before PostgreSQL 12 (checking for {self.state.pg_version})",
                    plans.outside_transaction(stmt.text.rstrip(";")),
                )
            tx.enum_values[node.newVal] = type_name
            return
        if not tx.enum_values:
            return
        for sub in walk(node):
            const: Any = sub
            if isinstance(sub, ast.A_Const) and isinstance(const.val, ast.String):
                value = str(const.val.sval)
                used = tx.enum_values.get(value)
                if used is not None:
                    self.emit(
                        stmt,
                        "enum-value-used-in-same-transaction",
                        used,
                        f"'{value}' was added to {used} in this transaction and "
                        "cannot be used before COMMIT (unsafe use of new value)",
                        plans.enum_commit(f"ALTER TYPE {used} ADD VALUE '{value}'", value),
                    )
                    return

    def _validates(self, stmt: Statement, pred: Prediction, tx: _Tx) -> None:
        """VALIDATE in the transaction that locked the table: the scan runs under that lock."""
        for table, name in pred.validates:
            held = tx.held.get(table)
            if held is None or not blocks_writes(held[0]) or self.state.is_new(table):
                continue
            kind = self.state.constraint_kind(table, name)
            rule = "add-foreign-key-validates" if kind == "foreign key" else "add-check-validates"
            self.emit(
                stmt,
                rule,
                table,
                f"VALIDATE CONSTRAINT {name} scans {table} in the same transaction that took "
                f"{lock_name(held[0])} on it at {held[1]}, which {blocking(held[0])} until "
                "COMMIT",
                f"COMMIT;\n{stmt.text.rstrip(';')};  -- in its own transaction",
            )

    def _lock_timeout(self, stmt: Statement, pred: Prediction, tx: _Tx) -> None:
        if tx.lock_timeout:
            return
        for rel, mode in sorted(pred.effect.locks.items()):
            if mode == "AccessExclusiveLock" and not self.state.is_new(rel):
                if rel in tx.held and tx.held[rel][0] == mode:
                    return  # already held: this statement waits for nothing
                self.emit(
                    stmt,
                    "missing-lock-timeout",
                    rel,
                    f"waits for ACCESS EXCLUSIVE on {rel} without a lock_timeout: while it "
                    "waits, every query on the table queues behind it",
                    plans.with_lock_timeout(stmt.text.rstrip(";")),
                )
                return

    def _slow_step(self, stmt: Statement, pred: Prediction, tx: _Tx) -> None:
        if not tx.explicit:
            return
        slow = {r for r in pred.effect.rewrites | pred.effect.scans if not self.state.is_new(r)}
        if not slow:
            return
        for rel, (mode, where) in sorted(tx.held.items()):
            if rel in slow or not blocks_writes(mode) or self.state.is_new(rel):
                continue
            step = "rewrite" if pred.effect.rewrites & slow else "scan"
            self.emit(
                stmt,
                "strong-lock-held-across-slow-step",
                rel,
                f"the {step} of {', '.join(sorted(slow))} runs while this transaction holds "
                f"{lock_name(mode)} on {rel} (taken at {where}), which {blocking(mode)} for "
                "the whole step",
                plans.split_transaction(rel, stmt.text.rstrip(";")),
            )
            return

    def _identifiers(self, stmt: Statement) -> None:
        for name in stmt.long_names:
            short = name.encode()[:MAX_IDENTIFIER_BYTES].decode(errors="ignore")
            self.emit(
                stmt,
                "identifier-too-long",
                short,
                f"identifier of {len(name.encode())} bytes is silently truncated to {short!r}",
                f"-- use a name of at most {MAX_IDENTIFIER_BYTES} bytes, e.g. {short}",
            )


def _is_zero(args: tuple[ast.Node, ...] | None) -> bool:
    for a in args or ():
        if isinstance(a, ast.A_Const):
            value: Any = a.val
            if isinstance(value, ast.Integer):
                return bool(value.ival == 0)
            if isinstance(value, ast.String):
                return str(value.sval).strip() in ("0", "0ms", "0s")
    return False


def _stronger(a: str, b: str) -> bool:
    from dbarchitect.migrate.safety.effects import STRENGTH

    return STRENGTH[a] > STRENGTH[b]


def _first_relation(pred: Prediction) -> str | None:
    return next(iter(sorted(pred.effect.locks)), None)


def _message(concern: Concern) -> str:
    if concern.lock is None:
        return concern.message
    return (
        f"{concern.message}; takes {lock_name(concern.lock)} on {concern.relation}, which "
        f"{blocking(concern.lock)}"
    )


def check_statements(
    migrations: Sequence[MigrationFile],
    *,
    schema: Schema | None = None,
    pg_version: int = 15,
    volatility: Callable[[str], str] | None = None,
) -> list[Finding]:
    """Hazards of already parsed migrations, in the order given (see `check_migrations`)."""
    return _walk(migrations, schema, pg_version, volatility).findings


def predict_statements(
    migrations: Sequence[MigrationFile],
    *,
    schema: Schema | None = None,
    pg_version: int = 15,
    volatility: Callable[[str], str] | None = None,
) -> list[tuple[Statement, Effect]]:
    """The predicted effect of every statement (transaction control and SET left out)."""
    return _walk(migrations, schema, pg_version, volatility).predicted


def _walk(
    migrations: Sequence[MigrationFile],
    schema: Schema | None,
    pg_version: int,
    volatility: Callable[[str], str] | None,
) -> _Walker:
    state = SchemaState(
        schema, pg_version=pg_version, volatility=volatility or _lazy_scratch_volatility
    )
    walker = _Walker(state)
    for migration in migrations:
        walker.walk_file(migration)
    return walker


def check_migrations(
    paths: Sequence[str],
    *,
    schema: Schema | None = None,
    pg_version: int = 15,
    volatility: Callable[[str], str] | None = None,
) -> list[Finding]:
    """Statically check PostgreSQL migration files (or directories, or `-` for stdin).

    `schema` is what the migration runs against; `volatility` maps a function name to
    pg_proc's provolatile ('i', 's', 'v', '' when unknown) — by default the scratch cluster's
    catalog. Findings come in statement order, each with file and line.
    """
    return check_statements(
        parse_migrations(paths), schema=schema, pg_version=pg_version, volatility=volatility
    )


def catalog_volatility(rows: Sequence[dict[str, object]]) -> Callable[[str], str]:
    """A lookup over pg_proc rows (proname, provolatile); the most volatile overload wins."""
    rank = {"i": 0, "s": 1, "v": 2}
    table: dict[str, str] = {}
    for row in rows:
        name, vol = str(row["proname"]), str(row["provolatile"])
        if rank.get(vol, 2) >= rank.get(table.get(name, "i"), 0):
            table[name] = vol
    return lambda name: table.get(name, "")


VOLATILITY_QUERY = "SELECT p.proname, p.provolatile FROM pg_proc p"


def url_volatility(url: DatabaseURL) -> Callable[[str], str]:
    """Function volatility from a live database's pg_proc, over a read-only session."""
    from dbarchitect.engines.postgres import connect

    with connect(url, read_only=True) as session:
        return catalog_volatility(session.fetch(VOLATILITY_QUERY))


@functools.cache
def scratch_volatility() -> Callable[[str], str]:
    """Function volatility from the scratch cluster's pg_proc (read once per process)."""
    from dbarchitect.engines.postgres import scratch_url

    return url_volatility(scratch_url())


def _lazy_scratch_volatility(name: str) -> str:
    # The scratch cluster starts only when a default expression actually needs the catalog.
    return scratch_volatility()(name)


__all__ = ["check_migrations", "check_statements", "qualify", "scratch_volatility"]
