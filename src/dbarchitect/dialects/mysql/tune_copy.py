"""The MariaDB tuner's scratch copy: where candidate indexes are built and statements timed.

The copy lives in a database made by the engine's scratch(). When that database is on the
user's server, tables are copied inside the server (CREATE TABLE … LIKE, INSERT … SELECT);
otherwise rows travel through the client in batches (keyset pages on a one-column primary
key). A table is copied the first time a query reads it, at most COPY_ROWS rows of it.

A statement's time is copy_tuner.median_ms of its runs, at most ROW_CAP rows returned
(sql_select_limit), each run stopped after TIME_LIMIT_S (max_statement_time); writes run in a
transaction that is rolled back.
"""

from __future__ import annotations

import contextlib
import time
from typing import Literal

from dbarchitect.dialects.mysql.quoting import quote_ident as quote
from dbarchitect.engines.base import Session
from dbarchitect.engines.mysql import MysqlEngine
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.model import Schema, Table
from dbarchitect.tune.copy_tuner import ROW_CAP, TIME_LIMIT_S, median_ms

COPY_ROWS = 1_000_000  # rows copied per table
BATCH = 5_000  # rows per INSERT when copying through the client
CopyMode = Literal["auto", "server", "client"]


def open_scratch(
    engine: MysqlEngine, source: Session, url: DatabaseURL, mode: CopyMode
) -> tuple[contextlib.ExitStack, Session, str]:
    """A scratch database and a writing session on it (closing the stack closes the session,
    then drops the database), and how tables reach it: "server" when it is on the server of
    `source`, else "client"; `mode` forces one ("server" on another server: InputError)."""
    stack = contextlib.ExitStack()
    try:
        scratch = stack.enter_context(engine.scratch())
        copy = stack.enter_context(engine.connect(scratch, read_only=False))
        # Copies and builds may take long; timed runs get their own limit.
        copy.execute("SET SESSION foreign_key_checks = 0, max_statement_time = 0")
        same = _server(copy) == _server(source)
        if mode == "server" and not same:
            raise InputError(f"{url}: the scratch database is on another server")
        auto = "server" if same else "client"
        copied_by = auto if mode == "auto" else mode
    except BaseException:
        stack.close()
        raise
    return stack, copy, copied_by


def copy_table(source: Session, copy: Session, table: Table, *, by: str, database: str) -> None:
    """Create `table` on the copy with at most COPY_ROWS of its rows: inside the server from
    `database` when `by` is "server", else read through `source` in pages of BATCH rows."""
    columns = [c.name for c in table.columns if not c.generated]
    name, cols = quote(table.name), ", ".join(quote(c) for c in columns)
    if by == "server":
        origin = f"{quote(database)}.{name}"
        copy.execute(f"CREATE TABLE {name} LIKE {origin}")
        copy.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {origin} LIMIT {COPY_ROWS}")
        return
    copy.execute(str(source.fetch(f"SHOW CREATE TABLE {name}")[0]["Create Table"]))
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    pk = table.primary_key.columns if table.primary_key else ()
    # Keyset pages on a one-column primary key (OFFSET pages cost more as they go deeper).
    key = pk[0] if len(pk) == 1 and pk[0] in columns else None
    last: object = None
    for offset in range(0, COPY_ROWS, BATCH):
        if key is None:
            page = f"LIMIT {BATCH} OFFSET {offset}"
        else:
            after = "" if offset == 0 else f"WHERE {quote(key)} > %s "
            page = f"{after}ORDER BY {quote(key)} LIMIT {BATCH}"
        params = None if key is None or offset == 0 else (last,)
        rows = source.fetch(f"SELECT {cols} FROM {name} {page}", params)
        if rows:
            values = [r[c] for r in rows for c in columns]
            copy.fetch(
                f"INSERT INTO {name} ({cols}) VALUES " + ", ".join([marks] * len(rows)), values
            )
            last = rows[-1][key] if key else None
        if len(rows) < BATCH:
            return


def create_views(copy: Session, schema: Schema) -> None:
    """Views in dependency order: retry those whose sources do not exist yet."""
    pending = list(schema.views)
    while pending:
        left = []
        for view in pending:
            try:
                copy.execute(f"CREATE VIEW {quote(view.name)} AS {view.definition}")
            except InputError:
                left.append(view)
        if len(left) == len(pending):
            return  # the rest cannot be made here; queries on them will say so when timed
        pending = left


def index_length(session: Session, table: str) -> int:
    """The table's INDEX_LENGTH in information_schema (every storage engine reports it)."""
    got = session.fetch(
        "SELECT INDEX_LENGTH AS n FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
        (table,),
    )
    return int(got[0]["n"] or 0) if got else 0


def _server(session: Session) -> tuple[str, ...]:
    row = session.fetch("SELECT @@hostname AS h, @@port AS p, @@socket AS s, @@datadir AS d")[0]
    return (str(row["h"]), str(row["p"]), str(row["s"]), str(row["d"]))


# --- timing -----------------------------------------------------------------------------


def _time_once(session: Session, sql: str, *, write: bool) -> float:
    limited = (
        f"SET STATEMENT max_statement_time = {TIME_LIMIT_S}, sql_select_limit = {ROW_CAP} FOR {sql}"
    )
    start = time.perf_counter()
    try:
        if write:
            session.execute("START TRANSACTION")
        session.fetch(limited)
    except InputError as exc:
        if "max_statement_time" not in str(exc):
            raise
    finally:
        elapsed = (time.perf_counter() - start) * 1000
        if write:
            session.execute("ROLLBACK")
    return elapsed


def time_ms(session: Session, sql: str, *, write: bool) -> float:
    """Median milliseconds of `sql` on `session` (see copy_tuner.median_ms)."""
    return median_ms(lambda: _time_once(session, sql, write=write))
