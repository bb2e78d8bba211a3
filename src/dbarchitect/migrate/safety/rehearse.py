"""Rehearsal: run a migration on a filled scratch copy of its schema and measure each statement.

What is measured, per statement (see `Measured`):
- locks: table-level locks (pg_locks, locktype 'relation') of the migration backend on user
  tables, partitioned tables, materialized views and foreign tables (indexes, sequences and
  catalogs are left out: they are not what other sessions queue on). In a transaction block the
  same connection reads pg_locks right after the statement, so nothing is missed: locks are
  held until the transaction ends. A statement written outside BEGIN…COMMIT runs as
  `BEGIN; stmt; <probe>; COMMIT` — the same thing PostgreSQL does for it implicitly. Statements
  that refuse a transaction block (CONCURRENTLY, VACUUM; SQLSTATE 25001, tried first) run alone
  while a probe connection polls pg_locks. Polling alone would be lucky, not sound (a VACUUM
  on a small table is over in a millisecond), so first one connection per user table holds
  ACCESS EXCLUSIVE on it: the statement's first lock request on each table then waits, the probe
  sees it (mode included) and releases that table only; a wait on anything else (CONCURRENTLY
  waiting for older transactions) releases all. Later upgrades on an already released table are
  seen by polling only. Above _MAX_BLOCKERS tables polling is all there is.
- rewrites: relations whose pg_class.relfilenode changed (TRUNCATE counts: its file is new).
- scans: relations whose seq_scan counter rose during the statement (pg_stat_xact_user_tables
  inside a transaction, flushed pg_stat_user_tables otherwise). On tiny tables the planner may
  choose a sequential scan where a large table would use an index, so scans are a hint.
- elapsed wall time of the statement alone.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from typing import Any

import pglast
import psycopg
from psycopg import pq
from psycopg import sql as pgsql

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.safety.effects import STRENGTH, Effect

log = logging.getLogger(__name__)

_USER_RELS = (
    "SELECT c.oid, n.nspname || '.' || c.relname, c.relfilenode FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','m','f')"
    " AND n.nspname NOT IN ('pg_catalog','information_schema')"
    " AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
)
_LOCKS = (
    "SELECT relation, mode, granted FROM pg_locks WHERE locktype = 'relation'"
    " AND pid = %s AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
# Every lock of the backend, any type: a statement waiting on a transaction id is blocked too.
_ALL_LOCKS = (
    "SELECT relation, mode, granted, locktype = 'relation', virtualxid FROM pg_locks WHERE pid = %s"
)
_XACT_SCANS = "SELECT relid, seq_scan FROM pg_stat_xact_user_tables"
_SCANS = "SELECT relid, seq_scan FROM pg_stat_user_tables"
_MAX_BLOCKERS = 30  # connections, one per table, for statements watched from outside
_NOT_IN_BLOCK = "25001"  # active_sql_transaction: "… cannot run inside a transaction block"


@dataclass(frozen=True, slots=True, kw_only=True)
class Measured:
    """One migration statement as it really ran.

    `effect.locks` holds the locks this statement acquired (strongest per relation); `held`
    all locks the backend held right after it, including earlier statements' locks in the same
    transaction block (a lock requested again in a mode already held is only visible there).
    `error` is PostgreSQL's message when the statement failed; the rehearsal stops there.
    """

    sql: str
    line: int
    effect: Effect
    held: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    error: str | None = None


Conn = psycopg.Connection[tuple[Any, ...]]


def rehearse(schema_sql: str, migration_sql: str, *, rows: int = 10_000) -> list[Measured]:
    """Load `schema_sql` into a scratch database, fill each table with `rows` rows, then run
    `migration_sql` statement by statement and measure locks, rewrites, scans and time.

    Tables that cannot be filled are logged as warnings and left empty.
    """
    engine = get_dialect("postgres").engine()
    with engine.scratch() as url:
        if schema_sql.strip():
            engine.run_script(url, schema_sql, where="schema.sql")
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            for note in fill_tables(conn, rows):
                log.warning("rehearsal: %s", note)
            conn.execute("SET statement_timeout = '60s'")
            conn.execute("SET lock_timeout = '30s'")
            return _run(conn, url, migration_sql)


def split_statements(sql: str) -> list[tuple[str, int, Any]]:
    """The statements of `sql` as (text, 1-based line, parse node)."""
    out: list[tuple[str, int, Any]] = []
    for piece in pglast.split(sql, only_slices=True):
        text = sql[piece]
        stripped = text.strip()
        line = sql[: piece.start + (len(text) - len(text.lstrip()))].count("\n") + 1
        out.append((stripped, line, pglast.parse_sql(stripped)[0].stmt))
    return out


def _run(conn: Conn, url: DatabaseURL, migration_sql: str) -> list[Measured]:
    results: list[Measured] = []
    for text, line, node in split_statements(migration_sql):
        if type(node).__name__ == "TransactionStmt":
            # Transaction control is passed through as written, so the blocks stay the author's.
            try:
                conn.execute(text.encode())
            except psycopg.Error as exc:
                results.append(Measured(sql=text, line=line, effect=Effect(), error=_msg(exc)))
                break
            results.append(Measured(sql=text, line=line, effect=Effect()))
            continue
        in_block = conn.info.transaction_status == pq.TransactionStatus.INTRANS
        measured = _in_block(conn, text, line, wrap=not in_block)
        if measured is None:
            measured = _alone(conn, url, text, line)
        results.append(measured)
        if measured.error is not None:
            if conn.info.transaction_status != pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
            break
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        conn.execute("ROLLBACK")  # BEGIN never committed: PostgreSQL would roll back too
    return results


def _in_block(conn: Conn, text: str, line: int, *, wrap: bool) -> Measured | None:
    """Run `text` inside a transaction block and read its effects from the same session.

    With `wrap`, the block is ours (BEGIN … COMMIT around one statement); None means the
    statement refuses a transaction block.
    """
    if wrap:
        conn.execute("BEGIN")
    pid = conn.info.backend_pid
    before_rels = _relations(conn)
    before_locks = _lock_rows(conn, pid)
    before_scans: dict[int, int] = dict(conn.execute(_XACT_SCANS).fetchall())
    start = time.perf_counter()
    try:
        conn.execute(text.encode())
    except psycopg.Error as exc:
        elapsed = time.perf_counter() - start
        if wrap and exc.sqlstate == _NOT_IN_BLOCK:
            conn.execute("ROLLBACK")
            return None
        return Measured(sql=text, line=line, effect=Effect(), elapsed=elapsed, error=_msg(exc))
    elapsed = time.perf_counter() - start
    after_locks = _lock_rows(conn, pid)
    after_rels = _relations(conn)
    after_scans: dict[int, int] = dict(conn.execute(_XACT_SCANS).fetchall())
    if wrap:
        conn.execute("COMMIT")
    names = _names(before_rels, after_rels)
    new = after_locks - before_locks
    scanned = {
        names[oid]
        for oid, n in after_scans.items()
        if n > before_scans.get(oid, 0) and oid in names
    }
    effect = Effect(
        locks=_strongest(new, names),
        rewrites=_rewrites(before_rels, after_rels),
        scans=frozenset(scanned),
        in_transaction=True,
    )
    return Measured(
        sql=text, line=line, effect=effect, held=_strongest(after_locks, names), elapsed=elapsed
    )


def _alone(conn: Conn, url: DatabaseURL, text: str, line: int) -> Measured:
    """Run a statement that refuses transaction blocks, watching it from other connections."""
    pid = conn.info.backend_pid
    before_rels = _relations(conn)
    conn.execute("SELECT pg_stat_force_next_flush()")
    before_scans: dict[int, int] = dict(conn.execute(_SCANS).fetchall())
    seen: set[tuple[int, str]] = set()
    outcome: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            conn.execute(text.encode())
        except BaseException as exc:  # reported to the caller's thread below
            outcome.append(exc)
        finally:
            done.set()

    with ExitStack() as stack:
        probe: Conn = stack.enter_context(psycopg.connect(conninfo(url), autocommit=True))
        blockers = _blockers(stack, probe, url)
        handled: set[tuple[int, str]] = set()
        start = time.perf_counter()
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        while not done.is_set():
            rows = probe.execute(_ALL_LOCKS, (pid,)).fetchall()
            seen |= {(oid, mode) for oid, mode, _, is_rel, _ in rows if is_rel}
            for oid, mode, granted, is_rel, vxid in rows:
                if granted or not blockers or (oid, mode) in handled:
                    continue
                if is_rel and oid in blockers:
                    handled.add((oid, mode))
                    # Its request is recorded: let it through, but queue a blocker behind it
                    # that conflicts with every stronger mode, to catch a later upgrade.
                    held = max((m for o, m in seen if o == oid), key=STRENGTH.__getitem__)
                    blockers[oid] = blockers[oid].hand_over(stack, probe, url, held)
                elif vxid is not None and any(b.vxid == vxid for b in blockers.values()):
                    # Waiting for a blocker's transaction to end (CONCURRENTLY): end it, and
                    # put a fresh one in its place, which the statement does not wait for.
                    for key, blocker in list(blockers.items()):
                        if blocker.vxid == vxid:
                            blockers[key] = blocker.renew(stack, probe, url)
                else:  # a wait on anything else: let everything through
                    for blocker in blockers.values():
                        blocker.release()
                    blockers.clear()
        thread.join()
        elapsed = time.perf_counter() - start
        for blocker in blockers.values():
            blocker.release()
    if outcome:
        exc = outcome[0]
        error = _msg(exc) if isinstance(exc, psycopg.Error) else repr(exc)
        return Measured(sql=text, line=line, effect=Effect(), elapsed=elapsed, error=error)
    conn.execute("SELECT pg_stat_force_next_flush()")
    after_scans: dict[int, int] = dict(conn.execute(_SCANS).fetchall())
    after_rels = _relations(conn)
    names = _names(before_rels, after_rels)
    scanned = {
        names[oid]
        for oid, n in after_scans.items()
        if n > before_scans.get(oid, 0) and oid in names
    }
    locks = _strongest(seen, names)
    effect = Effect(
        locks=locks,
        rewrites=_rewrites(before_rels, after_rels),
        scans=frozenset(scanned),
        in_transaction=False,
    )
    return Measured(sql=text, line=line, effect=effect, held=dict(locks), elapsed=elapsed)


# The strongest lock mode compatible with a held mode: it conflicts with every stronger one.
_NEXT_BLOCK = {
    "AccessShareLock": "EXCLUSIVE",
    "RowShareLock": "SHARE ROW EXCLUSIVE",
    "RowExclusiveLock": "SHARE UPDATE EXCLUSIVE",
    "ShareUpdateExclusiveLock": "ROW EXCLUSIVE",
    "ShareLock": "SHARE",
    "ShareRowExclusiveLock": "ROW SHARE",
    "ExclusiveLock": "ACCESS SHARE",
}


class _Blocker:
    """A connection holding (or queued for) a lock on one table in an open transaction."""

    def __init__(self, stack: ExitStack, url: DatabaseURL, oid: int, name: str) -> None:
        self.oid, self.name = oid, name
        self.conn: Conn = stack.enter_context(psycopg.connect(conninfo(url), autocommit=True))
        self.conn.execute("BEGIN")
        self.thread: threading.Thread | None = None
        self.mode = ""
        self.vxid: str | None = None

    def request(self, mode: str) -> None:
        """Ask for the lock from a thread: it may have to queue behind the watched statement."""
        self.mode = mode

        def lock() -> None:
            # An error means release() cancelled it: the statement went on without it.
            with suppress(psycopg.Error):
                self.conn.execute(f"LOCK TABLE ONLY {self.name} IN {mode} MODE")

        self.thread = threading.Thread(target=lock, daemon=True)
        self.thread.start()

    def renew(self, stack: ExitStack, probe: Conn, url: DatabaseURL) -> _Blocker:
        """A new transaction holding the same lock, replacing this one."""
        nxt = _Blocker(stack, url, self.oid, self.name)
        if self.mode:
            nxt.request(self.mode)
            nxt.wait_queued(probe)
        self.release()
        return nxt

    def wait_queued(self, probe: Conn) -> None:
        """Until the lock request shows in pg_locks (granted or queued); note our vxid."""
        while True:
            rows = probe.execute(
                "SELECT relation, virtualxid FROM pg_locks WHERE pid = %s"
                " AND locktype IN ('relation', 'virtualxid')",
                (self.conn.info.backend_pid,),
            ).fetchall()
            self.vxid = next((v for r, v in rows if v is not None), None)
            if any(r == self.oid for r, _ in rows) and self.vxid is not None:
                return

    def hand_over(self, stack: ExitStack, probe: Conn, url: DatabaseURL, held: str) -> _Blocker:
        """Queue the next blocker for `held`'s upgrades, then release this one."""
        nxt = _Blocker(stack, url, self.oid, self.name)
        if held in _NEXT_BLOCK:
            nxt.request(_NEXT_BLOCK[held])
            nxt.wait_queued(probe)  # behind the statement's request: that one goes first
        self.release()
        return nxt

    def release(self) -> None:
        """End the blocker's transaction (cancelling a request still waiting)."""
        if self.thread is not None and self.thread.is_alive():
            self.conn.cancel_safe()
        if self.thread is not None:
            self.thread.join()
        self.conn.execute("ROLLBACK")


def _blockers(stack: ExitStack, probe: Conn, url: DatabaseURL) -> dict[int, _Blocker]:
    """One connection per user table holding ACCESS EXCLUSIVE on it (ONLY: partitions have
    their own), so that the watched statement's first lock request on each table waits and
    is seen with its mode. Above _MAX_BLOCKERS tables, none (polling alone)."""
    tables = probe.execute(
        "SELECT c.oid, format('%I.%I', n.nspname, c.relname) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','m')"
        " AND n.nspname NOT IN ('pg_catalog','information_schema')"
        " AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
    ).fetchall()
    if len(tables) > _MAX_BLOCKERS:
        return {}
    blockers: dict[int, _Blocker] = {}
    for oid, name in tables:
        blocker = _Blocker(stack, url, oid, name)
        blocker.request("ACCESS EXCLUSIVE")
        blocker.wait_queued(probe)
        blockers[oid] = blocker
    return blockers


def _relations(conn: Conn) -> dict[int, tuple[str, int]]:
    return {oid: (name, node) for oid, name, node in conn.execute(_USER_RELS).fetchall()}


def _names(before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]) -> dict[int, str]:
    # A relation is named as it was before the statement (RENAME locks the old name's table).
    return {oid: name for oid, (name, _) in {**after, **before}.items()}


def _lock_rows(conn: Conn, pid: int) -> set[tuple[int, str]]:
    return {(oid, mode) for oid, mode, _ in conn.execute(_LOCKS, (pid,)).fetchall()}


def _strongest(rows: set[tuple[int, str]], names: dict[int, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for oid, mode in rows:
        name = names.get(oid)
        if name is None or mode not in STRENGTH:
            continue
        if name not in out or STRENGTH[mode] > STRENGTH[out[name]]:
            out[name] = mode
    return dict(sorted(out.items()))


def _rewrites(
    before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]
) -> frozenset[str]:
    return frozenset(
        name
        for oid, (name, node) in after.items()
        if oid in before and node != 0 and before[oid][1] != node
    )


def _msg(exc: BaseException) -> str:
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        return exc.diag.message_primary
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def summarize(measured: list[Measured]) -> dict[str, Any]:
    """The migration's measured facts as stored in corpus labels: the strongest lock per
    relation over all statements, the rewritten relations, and the first error if any."""
    locks: dict[str, str] = {}
    rewrites: set[str] = set()
    error: str | None = None
    for m in measured:
        for rel, mode in m.effect.locks.items():
            if rel not in locks or STRENGTH[mode] > STRENGTH[locks[rel]]:
                locks[rel] = mode
        rewrites |= m.effect.rewrites
        if m.error is not None and error is None:
            error = m.error
    out: dict[str, Any] = {"locks": dict(sorted(locks.items())), "rewrites": sorted(rewrites)}
    if error is not None:
        out["error"] = error
    return out


# ---- filling the scratch tables -------------------------------------------------------------

_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.attidentity <> '' OR a.attgenerated <> ''
         OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%', false),
       d.adbin IS NOT NULL,
       coalesce(nullif(t.typbasetype, 0), t.oid), CASE WHEN t.typbasetype <> 0
         THEN t.typtypmod ELSE a.atttypmod END
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
"""
_TABLES = """
SELECT c.oid, format('%I.%I', n.nspname, c.relname) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'
ORDER BY 2
"""
_FKEYS = """
SELECT conrelid, confrelid,
       ARRAY(SELECT attname FROM unnest(conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute ON attrelid = conrelid AND attnum = k.n ORDER BY i),
       ARRAY(SELECT attname FROM unnest(confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute ON attrelid = confrelid AND attnum = k.n ORDER BY i)
FROM pg_constraint WHERE contype = 'f' ORDER BY conrelid, conname
"""


def fill_tables(conn: Conn, rows: int) -> list[str]:
    """Insert `rows` generated rows into every user table, FK parents first (partitioned
    tables through their parent). Returns notes about what could not be filled."""
    tables: dict[int, str] = dict(conn.execute(_TABLES).fetchall())
    fkeys: dict[int, list[tuple[int, list[str], list[str]]]] = {}
    for child, parent, cols, refcols in conn.execute(_FKEYS).fetchall():
        fkeys.setdefault(child, []).append((parent, list(cols), list(refcols)))
    notes: list[str] = []
    counts: dict[int, int] = {}
    for oid in _parents_first(tables, fkeys):
        name = tables[oid]
        sql, why = _insert_sql(conn, oid, name, rows, fkeys.get(oid, []), counts, tables)
        if sql is None:
            notes.append(f"{name} left empty: {why}")
            continue
        try:
            conn.execute(sql.encode())
        except psycopg.Error as exc:
            notes.append(f"{name} left empty: {_msg(exc)}")
            continue
        counts[oid] = rows
    conn.execute("ANALYZE")
    return notes


def _parents_first(
    tables: dict[int, str], fkeys: dict[int, list[tuple[int, list[str], list[str]]]]
) -> list[int]:
    order: list[int] = []
    state: dict[int, int] = {}

    def visit(oid: int) -> None:
        if state.get(oid):  # done, or on the stack (an FK cycle: break it here)
            return
        state[oid] = 1
        for parent, _, _ in fkeys.get(oid, []):
            if parent in tables:
                visit(parent)
        state[oid] = 2
        order.append(oid)

    for oid in sorted(tables, key=lambda o: tables[o]):
        visit(oid)
    return order


def _insert_sql(
    conn: Conn,
    oid: int,
    name: str,
    rows: int,
    fks: list[tuple[int, list[str], list[str]]],
    counts: dict[int, int],
    tables: dict[int, str],
) -> tuple[str | None, str]:
    joins: list[str] = []
    fk_value: dict[str, str] = {}
    for i, (parent, cols, refcols) in enumerate(fks):
        if parent == oid or not counts.get(parent) or any(c in fk_value for c in cols):
            continue  # self-references and empty parents get NULL (or the table is skipped)
        alias = f"fk{i}"
        picked = ", ".join(_ident(conn, c) for c in refcols)
        joins.append(
            f" JOIN (SELECT row_number() OVER () AS rn, {picked} FROM {tables[parent]}) {alias}"
            f" ON {alias}.rn = 1 + (s.g - 1) % {counts[parent]}"
        )
        for col, ref in zip(cols, refcols, strict=True):
            fk_value[col] = f"{alias}.{_ident(conn, ref)}"
    fk_cols = {c for _, cols, _ in fks for c in cols}
    names: list[str] = []
    values: list[str] = []
    for col, typ, notnull, automatic, has_default, base, typmod in conn.execute(
        _COLUMNS, (oid,)
    ).fetchall():
        if automatic:
            continue
        expr = fk_value.get(col) if col in fk_cols else _value(conn, base, typmod)
        if expr is None:
            if has_default:
                continue
            if not notnull:
                expr = "NULL"
            else:
                return None, f"no value for NOT NULL column {col} ({typ})"
        names.append(_ident(conn, col))
        values.append(f"({expr})::{typ}")
    if not names:
        return f"INSERT INTO {name} SELECT FROM generate_series(1, {rows}) s(g)", ""
    return (
        f"INSERT INTO {name} ({', '.join(names)}) SELECT {', '.join(values)}"
        f" FROM generate_series(1, {rows}) s(g){''.join(joins)}",
        "",
    )


def _value(conn: Conn, base: int, typmod: int) -> str | None:
    """A generic expression of `s.g` (1…rows) that fits the base type, or None."""
    row = conn.execute(
        "SELECT typname, typcategory, typtype FROM pg_type WHERE oid = %s", (base,)
    ).fetchone()
    if row is None:
        return None
    typname, category, typtype = row
    if typtype == "e":
        label = conn.execute(
            "SELECT quote_literal(enumlabel) FROM pg_enum WHERE enumtypid = %s"
            " ORDER BY enumsortorder LIMIT 1",
            (base,),
        ).fetchone()
        return f"{label[0]}" if label else None
    by_name = {
        "uuid": "gen_random_uuid()",
        "json": "json_build_object('g', s.g)",
        "jsonb": "jsonb_build_object('g', s.g)",
        "bytea": "convert_to(s.g::text, 'UTF8')",
        "inet": "'10.0.0.0'::inet + s.g",
        "cidr": "'10.0.0.0'::inet + s.g",
        "tsvector": "to_tsvector('simple', 'w' || s.g)",
        "date": "date '2020-01-01' + s.g",
        "time": "time '00:00' + s.g * interval '1 second'",
        "timetz": "time '00:00' + s.g * interval '1 second'",
        "int2": "s.g % 32000",
        "point": "point(s.g, s.g)",
        "money": "s.g",
        "bool": "s.g % 2 = 0",
        "numeric": _numeric(typmod),
    }
    if typname in by_name:
        return by_name[typname]
    by_category = {
        "N": "s.g",
        "S": f"substr('v' || s.g, 1, {typmod - 4})" if typmod > 4 else "'v' || s.g",
        "D": "timestamp '2020-01-01' + s.g * interval '1 minute'",
        "T": "s.g * interval '1 second'",
        "A": "'{}'",
        "R": "'empty'",
    }
    return by_category.get(category)


def _numeric(typmod: int) -> str:
    if typmod < 4:
        return "s.g"
    precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    return f"s.g % {10 ** max(precision - scale, 0)}" if precision > scale else "0"


def _ident(conn: Conn, name: str) -> str:
    return pgsql.Identifier(name).as_string(conn)
