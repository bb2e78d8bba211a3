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
  ACCESS EXCLUSIVE on it: each lock request of the statement waits, the probe sees it (mode
  included), queues behind it a new blocker in the strongest mode compatible with what the
  statement now holds (so a later upgrade waits and is seen too) and releases the old one. When
  the statement waits for a blocker's transaction to end (CONCURRENTLY waits for older
  transactions), that blocker is replaced by a fresh transaction it does not wait for. Any other
  wait releases all. Above _MAX_BLOCKERS tables polling is all there is.
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

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.safety.effects import STRENGTH, Effect
from dbarchitect.migrate.safety.fill import error_message, fill_tables

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
                results.append(
                    Measured(sql=text, line=line, effect=Effect(), error=error_message(exc))
                )
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
        return Measured(
            sql=text, line=line, effect=Effect(), elapsed=elapsed, error=error_message(exc)
        )
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
        error = error_message(exc) if isinstance(exc, psycopg.Error) else repr(exc)
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
