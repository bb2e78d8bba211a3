"""SQLite I/O: read-only sessions on database files, scratch database files, SQL loading.

A read-only session holds by three layers, because each alone can be escaped (NOTES.md): the
file is opened with `mode=ro` and `PRAGMA query_only` is on, which stop writes to it; an
authorizer refuses ATTACH (which `mode=ro` lets create and write another file, and which
`VACUUM INTO` uses underneath), DETACH, schema changes, transaction control, and any pragma that
sets something (so `query_only` cannot be switched off from inside). Python's sqlite3 runs one
statement per call and refuses text holding a second one.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dbarchitect.engines.base import Engine, Params, Session
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import ConnectionFailed, InputError, ReadOnlyViolation

BUSY_TIMEOUT_S = 5.0

# Pragmas that only report something even when given an argument (a table or index name).
_READING_PRAGMAS_WITH_ARG = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "foreign_key_check",
        "integrity_check",
        "quick_check",
    }
)
# Pragmas without an argument that still do something (write, checkpoint, free memory).
_ACTING_PRAGMAS = frozenset(
    {"optimize", "wal_checkpoint", "incremental_vacuum", "shrink_memory", "analysis_limit"}
)
# Schema changes and other databases are refused outright. INSERT, UPDATE and DELETE are not
# refused here: virtual-table modules (R*Tree) prepare such statements on their shadow tables
# while they connect for a read; mode=ro and query_only stop them from running.
_REFUSED = frozenset(
    {
        sqlite3.SQLITE_ATTACH,
        sqlite3.SQLITE_DETACH,
        sqlite3.SQLITE_ALTER_TABLE,
        sqlite3.SQLITE_ANALYZE,
        sqlite3.SQLITE_REINDEX,
        sqlite3.SQLITE_CREATE_INDEX,
        sqlite3.SQLITE_CREATE_TABLE,
        sqlite3.SQLITE_CREATE_TEMP_INDEX,
        sqlite3.SQLITE_CREATE_TEMP_TABLE,
        sqlite3.SQLITE_CREATE_TEMP_TRIGGER,
        sqlite3.SQLITE_CREATE_TEMP_VIEW,
        sqlite3.SQLITE_CREATE_TRIGGER,
        sqlite3.SQLITE_CREATE_VIEW,
        sqlite3.SQLITE_CREATE_VTABLE,
        sqlite3.SQLITE_DROP_INDEX,
        sqlite3.SQLITE_DROP_TABLE,
        sqlite3.SQLITE_DROP_TEMP_INDEX,
        sqlite3.SQLITE_DROP_TEMP_TABLE,
        sqlite3.SQLITE_DROP_TEMP_TRIGGER,
        sqlite3.SQLITE_DROP_TEMP_VIEW,
        sqlite3.SQLITE_DROP_TRIGGER,
        sqlite3.SQLITE_DROP_VIEW,
        sqlite3.SQLITE_DROP_VTABLE,
    }
)


class SqliteSession(Session):
    """A connection to one SQLite database file (or `:memory:`)."""

    def __init__(self, conn: sqlite3.Connection, *, read_only: bool, url: DatabaseURL) -> None:
        self._conn = conn
        self._url = url
        self.read_only = read_only
        self._in_transaction = False
        self._ours = False  # set while we run our own BEGIN/ROLLBACK past the authorizer
        if read_only:
            conn.execute("PRAGMA query_only = 1")
            conn.set_authorizer(self._authorize)

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, trig: str | None
    ) -> int:
        if action in _REFUSED:
            return sqlite3.SQLITE_DENY
        if action in (sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT):
            # Only our own BEGIN/ROLLBACK around a snapshot; a user's COMMIT could end it.
            return sqlite3.SQLITE_OK if self._ours else sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION and arg2 == "load_extension":
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in _READING_PRAGMAS_WITH_ARG:
                return sqlite3.SQLITE_OK
            if arg2 is None and name not in _ACTING_PRAGMAS:
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def fetch(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        try:
            cur = self._conn.execute(sql, params if params is not None else ())
            rows = cur.fetchall()
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise self._translate(exc) from None
        if cur.description is None:
            return []
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _translate(self, exc: Exception) -> Exception:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        refused = (
            message in ("not authorized", "authorization denied")
            or "readonly database" in message
            or "one statement at a time" in message
            or "may not be modified" in message
        )
        if self.read_only and refused:
            return ReadOnlyViolation(f"refused on a read-only session ({self._url}): {message}")
        return InputError(f"{self._url}: {message}")

    def _control(self, sql: str) -> None:
        self._ours = True
        try:
            self._conn.execute(sql)
        finally:
            self._ours = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One read snapshot for several fetches; read-only sessions always roll it back."""
        if self._in_transaction:
            yield
            return
        self._control("BEGIN")
        self._in_transaction = True
        ok = False
        try:
            yield
            ok = True
        finally:
            self._in_transaction = False
            if self._conn.in_transaction:
                self._control("COMMIT" if ok and not self.read_only else "ROLLBACK")

    def execute(self, sql: str) -> None:
        if self.read_only:
            self.fetch(sql)
            return
        self.run(sql, where=str(self._url))

    def run(self, text: str, *, where: str) -> None:
        """Run SQL text statement by statement (writable sessions); errors name `where`:line."""
        if self.read_only:
            raise ReadOnlyViolation(f"refused on a read-only session ({self._url}): a script")
        run_text(self._conn, text, where=where)

    @property
    def server_version(self) -> int:
        major, minor, patch = sqlite3.sqlite_version_info
        return major * 1_000_000 + minor * 1_000 + patch

    @property
    def raw(self) -> Any:
        return self._conn

    def close(self) -> None:
        self._conn.close()


def connect(url: DatabaseURL, *, read_only: bool = True) -> SqliteSession:
    """Open `url`; read-only sessions need an existing database file and never create one."""
    path = url.database or ":memory:"
    if path == ":memory:":
        target, uri = ":memory:", False
    else:
        file = Path(path).expanduser()
        if read_only and not file.is_file():
            raise ConnectionFailed(f"cannot open {url}: no such database file")
        if not read_only and not file.parent.is_dir():
            raise ConnectionFailed(f"cannot open {url}: directory {file.parent} does not exist")
        mode = "ro" if read_only else "rwc"
        target, uri = f"file:{quote(str(file.resolve()))}?mode={mode}", True
    try:
        conn = sqlite3.connect(target, uri=uri, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise ConnectionFailed(f"cannot open {url}: {exc}") from None
    try:
        # A file that is not a database opens fine and fails on first read: fail here instead.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except sqlite3.Error as exc:
        conn.close()
        raise ConnectionFailed(f"cannot open {url}: {exc}") from None
    return SqliteSession(conn, read_only=read_only, url=url)


# --- running SQL text -------------------------------------------------------------------------

_NEAR = re.compile(r'^near "(?P<tok>.*)": syntax error$')


def split_statements(text: str) -> Iterator[tuple[int, str]]:
    """Yield (offset of the first significant character, statement text) for each statement.

    Semicolons inside quotes, identifiers and comments do not end a statement, and
    `sqlite3.complete_statement` decides whether a semicolon ends one (it knows that the
    semicolons in a CREATE TRIGGER body do not). Lines that start with '.' between
    statements are sqlite3 shell dot-commands (".mode", ".read"): we skip them, since they are
    instructions to the shell and not SQL.
    """
    i, n = 0, len(text)
    first = -1  # offset of the statement's first significant character
    while i < n:
        ch = text[i]
        if first < 0 and ch == "." and (i == 0 or text[i - 1] == "\n"):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if ch == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if ch == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if ch.isspace():
            i += 1
            continue
        if first < 0:
            first = i
        if ch in "'\"`[":
            close = "]" if ch == "[" else ch
            end = text.find(close, i + 1)
            # A doubled quote inside a quoted string is the quote itself: keep scanning.
            while end >= 0 and close != "]" and text.startswith(close * 2, end):
                end = text.find(close, end + 2)
            i = n if end < 0 else end + 1
            continue
        if ch == ";" and sqlite3.complete_statement(text[first : i + 1]):
            yield first, text[first : i + 1]
            first = -1
        i += 1
    if first >= 0:
        yield first, text[first:]


def run_text(conn: sqlite3.Connection, text: str, *, where: str) -> None:
    """Run every statement of `text` in order; an error names `where` and the line."""
    for offset, stmt in split_statements(text):
        try:
            conn.execute(stmt).fetchall()
        except (sqlite3.Error, sqlite3.Warning) as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            line = _error_line(text, offset, stmt, message)
            raise InputError(f"{where}:{line}: {message}") from None


def _error_line(text: str, offset: int, stmt: str, message: str) -> int:
    """The statement's first line, or the line of the token a syntax error names."""
    line = text.count("\n", 0, offset) + 1
    m = _NEAR.match(message)
    if not m:
        return line
    token = m.group("tok")
    pattern = re.escape(token)
    if re.fullmatch(r"\w+", token):
        pattern = rf"(?<!\w){pattern}(?!\w)"
    hit = re.search(pattern, stmt)
    return line if hit is None else line + stmt.count("\n", 0, hit.start())


def _read_sql(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None


@contextmanager
def _loading(url: DatabaseURL) -> Iterator[SqliteSession]:
    session = connect(url, read_only=False)
    try:
        # Loading happens in scratch databases: no need to wait for the disk after each
        # statement (the setting lasts for this connection only).
        session.fetch("PRAGMA synchronous = OFF")
        yield session
    finally:
        session.close()


class SqliteEngine(Engine):
    """SQLite through Python's sqlite3 module; scratch databases are temporary files."""

    def connect(self, url: DatabaseURL, *, read_only: bool = True) -> Session:
        return connect(url, read_only=read_only)

    @contextmanager
    def scratch(self) -> Iterator[DatabaseURL]:
        """A new database file in a temporary directory (several connections can share it)."""
        directory = Path(tempfile.mkdtemp(prefix="dbarch-sqlite-"))
        path = directory / "scratch.db"
        try:
            sqlite3.connect(path).close()  # creates the empty file, so read-only opens work
            yield DatabaseURL(dialect="sqlite", scheme="sqlite", database=str(path))
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def load_files(self, url: DatabaseURL, files: Sequence[Path]) -> DatabaseURL:
        texts = [(path, _read_sql(Path(path))) for path in files]
        with _loading(url) as session:
            for path, text in texts:
                session.run(text, where=str(path))
        return url

    def run_script(self, url: DatabaseURL, sql: str, *, where: str = "<sql>") -> None:
        with _loading(url) as session:
            session.run(sql, where=where)


__all__ = ["SqliteEngine", "SqliteSession", "connect", "run_text", "split_statements"]
