"""The MCP query tool on SQLite: one guarded read on a file opened read-only, bounded.

engines/sqlite's read-only session does the heavy lifting (mode=ro, PRAGMA query_only, an
authorizer that refuses ATTACH, schema changes, transaction control, setting pragmas and
load_extension; Python's sqlite3 refuses a second statement). On top of it this layer accepts
only reading statement kinds, interrupts the query past its time through a progress handler,
caps the length of any string or blob the engine may build, and reads rows in small batches.
"""

from __future__ import annotations

import re
import sqlite3
import time

from dbarchitect.engines import sqlite
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError, ReadOnlyViolation
from dbarchitect.mcp.query_values import Collector, QueryResult

_COMMENTS = re.compile(r"(--[^\n]*(\n|$)|/\*.*?(\*/|$))", re.S)
_READING = ("select", "with", "values", "explain", "pragma")
_BATCH = 100
_PROGRESS_STEPS = 1000  # virtual-machine instructions between two clock checks


def run_sqlite(
    url: DatabaseURL, sql: str, *, max_rows: int, timeout_ms: int, max_bytes: int
) -> QueryResult:
    """Run one guarded read on a SQLite database file."""
    head = _COMMENTS.sub(" ", sql).strip().lower()
    # The newline ends a trailing -- comment, so the added semicolon is outside it.
    if not sqlite3.complete_statement(sql + "\n;"):
        raise InputError(f"query refused on {url}: incomplete statement")
    if not head.startswith(_READING):
        word = head.split(maxsplit=1)[0] if head else "empty text"
        raise ReadOnlyViolation(f"refused by the query tool on {url}: {word.upper()} is not a read")
    session = sqlite.connect(url, read_only=True)
    conn = session.raw  # limits and the progress handler need sqlite3 itself
    deadline = time.monotonic() + timeout_ms / 1000
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
    # No string or blob longer than the byte budget is ever built (zeroblob, repeat tricks).
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max(max_bytes, 1024))
    collector = Collector(max_rows=max_rows, max_bytes=max_bytes)
    try:
        with session.transaction():  # one snapshot, always rolled back
            cur = conn.execute(sql)
            collector.columns = [d[0] for d in cur.description or ()]
            while batch := cur.fetchmany(_BATCH):
                if not all(collector.add(row) for row in batch):
                    break
            cur.close()
    except (sqlite3.Error, sqlite3.Warning) as exc:
        raise _translate(exc, url, timeout_ms) from None
    finally:
        session.close()
    return collector.result()


def _translate(exc: Exception, url: DatabaseURL, timeout_ms: int) -> Exception:
    message = (str(exc).splitlines() or [type(exc).__name__])[0]
    if message == "interrupted":
        return InputError(f"query cancelled on {url}: longer than {timeout_ms} ms")
    refused = (
        message.startswith(("not authorized", "authorization denied"))
        or "readonly database" in message
        or "one statement at a time" in message
        or "may not be modified" in message
    )
    if refused:
        return ReadOnlyViolation(f"refused on a read-only session ({url}): {message}")
    return InputError(f"query failed on {url}: {message}")
