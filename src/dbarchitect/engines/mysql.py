"""MySQL/MariaDB I/O: read-only sessions on user databases, scratch databases, client loading."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors
from pymysql.constants import CLIENT

from dbarchitect.engines import mariadb_server
from dbarchitect.engines.base import Engine, Params, Session
from dbarchitect.engines.mysql_guard import check_read_only_mysql
from dbarchitect.engines.url import DatabaseURL, redact
from dbarchitect.errors import ConnectionFailed, DbarchError, InputError, ReadOnlyViolation

STATEMENT_TIMEOUT_S = 60
LOCK_TIMEOUT_S = 5
SYSTEM_DATABASES = frozenset({"mysql", "information_schema", "performance_schema", "sys"})
# Server errors that mean "you tried to write": read-only transaction, --read-only server.
_READ_ONLY_ERRORS = frozenset({1792, 1290, 1836})
# Client-side errors (CR_*): the server was never reached or went away.
_CONNECTION_ERRORS = range(2000, 3000)
_MARKER = "dbarch_current_database_5e1f"
_live_scratches: set[str] = set()


def connect_args(url: DatabaseURL) -> dict[str, Any]:
    """PyMySQL keyword arguments for `url`; a host that is a path is a unix socket."""
    args: dict[str, Any] = {
        "charset": "utf8mb4",
        "connect_timeout": 10,
        "cursorclass": pymysql.cursors.DictCursor,
        "program_name": "dbarchitect",
    }
    socket = url.param("unix_socket") or url.param("socket")
    if url.host and url.host.startswith("/"):
        socket = url.host
    if socket:
        args["unix_socket"] = socket
    else:
        args["host"] = url.host or "localhost"
        args["port"] = url.port or 3306
    if url.user is not None:
        args["user"] = url.user
    if url.password is not None:
        args["password"] = url.password
    if url.database:
        args["database"] = url.database
    ssl_keys = ("ssl_ca", "ssl_cert", "ssl_key")
    ssl = {k.removeprefix("ssl_"): v for k, v in url.query if k in ssl_keys}
    if ssl:
        args["ssl"] = ssl
    return args


def _error_text(exc: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int):
        return f"{args[1]} (error {args[0]})"
    return str(exc) or type(exc).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


class MysqlSession(Session):
    """A PyMySQL connection. Read-only: every statement is guarded, runs in a READ ONLY
    transaction and is rolled back; the client never enables multi-statement text."""

    def __init__(
        self, conn: pymysql.connections.Connection[Any], url: DatabaseURL, *, read_only: bool
    ) -> None:
        self._conn = conn
        self._url = url
        self.read_only = read_only
        self._in_transaction = False
        self._version: str = str(self._raw("SELECT VERSION() AS v")[0]["v"])
        self._setup()

    @property
    def is_mariadb(self) -> bool:
        return "mariadb" in self._version.lower()

    def _setup(self) -> None:
        timeouts = [
            f"lock_wait_timeout = {LOCK_TIMEOUT_S}",
            f"innodb_lock_wait_timeout = {LOCK_TIMEOUT_S}",
        ]
        if self.is_mariadb:
            timeouts.append(f"max_statement_time = {STATEMENT_TIMEOUT_S}")
        else:
            timeouts.append(f"max_execution_time = {STATEMENT_TIMEOUT_S * 1000}")
        # The guard lexes text with backslash escapes and "…" as strings: make that true.
        mode = str(self._raw("SELECT @@SESSION.sql_mode AS m")[0]["m"])
        kept = [
            m
            for m in mode.split(",")
            if m and m not in ("ANSI_QUOTES", "NO_BACKSLASH_ESCAPES", "ANSI")
        ]
        self._raw("SET SESSION " + ", ".join(timeouts))
        self._raw("SET SESSION sql_mode = %s", (",".join(kept),))
        if self.read_only:
            self._raw("SET SESSION TRANSACTION READ ONLY")

    def _raw(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql, params)
                rows = cur.fetchall() if cur.description else ()
                return [dict(r) for r in rows]
        except pymysql.MySQLError as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: pymysql.MySQLError) -> DbarchError:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        text = redact(_one_line(_error_text(exc)), self._url.password)
        if code in _READ_ONLY_ERRORS:
            return ReadOnlyViolation(f"refused on a read-only session: {text}")
        if code in _CONNECTION_ERRORS:
            return ConnectionFailed(f"connection to {self._url} lost: {text}")
        return InputError(f"{self._url}: {text}")

    def fetch(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        if not self.read_only:
            return self._raw(sql, params)
        with self._conn.cursor() as cur:
            final = cur.mogrify(sql, params) if params is not None else sql
        check_read_only_mysql(final)
        if self._in_transaction:
            return self._raw(sql, params)
        self._raw("START TRANSACTION READ ONLY")
        try:
            return self._raw(sql, params)
        finally:
            self._rollback()

    def _rollback(self) -> None:
        try:
            self._conn.rollback()
        except pymysql.MySQLError as exc:
            raise self._translate(exc) from None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One consistent InnoDB snapshot; read-only sessions always roll it back."""
        if self._in_transaction:
            yield
            return
        mode = ", READ ONLY" if self.read_only else ""
        self._raw(f"START TRANSACTION WITH CONSISTENT SNAPSHOT{mode}")
        self._in_transaction = True
        ok = False
        try:
            yield
            ok = True
        finally:
            self._in_transaction = False
            if ok and not self.read_only:
                self._conn.commit()
            else:
                self._rollback()

    def execute(self, sql: str) -> None:
        if self.read_only:
            self.fetch(sql)
            return
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql)
                while cur.nextset():
                    pass
        except pymysql.MySQLError as exc:
            raise self._translate(exc) from None

    @property
    def server_version(self) -> int:
        return version_number(self._version)

    @property
    def raw(self) -> Any:
        return self._conn

    def close(self) -> None:
        with contextlib.suppress(pymysql.MySQLError):  # already gone: nothing to release
            self._conn.close()


def version_number(text: str) -> int:
    """'10.11.19-MariaDB-0+deb12u1' → 101119; '8.0.36' → 80036."""
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
    if not m:
        return 0
    major, minor, patch = (int(g) for g in m.groups())
    return major * 10000 + minor * 100 + patch


def connect(url: DatabaseURL, *, read_only: bool = True) -> MysqlSession:
    """Open a session on `url`; ConnectionFailed (password redacted) when that fails."""
    args = connect_args(url)
    # Writable sessions run scripts (several statements); read-only ones never may.
    args["client_flag"] = 0 if read_only else CLIENT.MULTI_STATEMENTS
    args["autocommit"] = True
    try:
        conn = pymysql.connect(**args)
    except pymysql.MySQLError as exc:
        text = redact(_one_line(_error_text(exc)), url.password)
        raise ConnectionFailed(f"cannot connect to {url}: {text}") from None
    except (OSError, ValueError) as exc:
        text = redact(_one_line(str(exc)), url.password)
        raise ConnectionFailed(f"cannot connect to {url}: {text}") from None
    try:
        return MysqlSession(conn, url, read_only=read_only)
    except BaseException:
        conn.close()
        raise


_CLIENT_ERROR = re.compile(
    r"^ERROR (?P<code>\d+)(?: \((?P<state>\w+)\))? at line (?P<line>\d+)"
    r"(?: in file: '.*?')?: (?P<msg>.*)$"
)


_NEAR_LINE = re.compile(r" at line (\d+)$")


class MysqlEngine(Engine):
    """The MySQL/MariaDB engine: PyMySQL sessions, a scratch MariaDB, the mariadb client."""

    def connect(self, url: DatabaseURL, *, read_only: bool = True) -> Session:
        return connect(url, read_only=read_only)

    @contextmanager
    def scratch(self) -> Iterator[DatabaseURL]:
        server = mariadb_server.get_server()
        name = f"dbarch_{uuid.uuid4().hex[:12]}"
        admin = connect(server.url, read_only=False)
        try:
            before = _databases(admin)
            admin.execute(f"CREATE DATABASE {_backtick(name)}")
        finally:
            admin.close()
        _live_scratches.add(name)
        try:
            yield server.url.with_database(name)
        finally:
            _live_scratches.discard(name)
            admin = connect(server.url, read_only=False)
            try:
                # Dumps often DROP/CREATE DATABASE and USE it: drop what appeared meanwhile,
                # except other scratch databases that are still in use.
                for db in sorted((_databases(admin) - before - _live_scratches) | {name}):
                    admin.execute(f"DROP DATABASE IF EXISTS {_backtick(db)}")
            finally:
                admin.close()

    def load_files(self, url: DatabaseURL, files: Sequence[Path]) -> DatabaseURL:
        current = url
        for path in files:
            if not path.is_file():
                raise InputError(f"{path}: cannot read: no such file")
            # Each file starts in the database the previous one ended in (USE carries over).
            current = self._client(current, path.resolve(), where=str(path))
        return current

    def run_script(self, url: DatabaseURL, sql: str, *, where: str = "<sql>") -> None:
        with tempfile.TemporaryDirectory(prefix="dbarch-sql-") as tmp:
            path = Path(tmp) / "script.sql"
            path.write_text(sql, encoding="utf-8")
            self._client(url, path, where=where)

    def _client(self, url: DatabaseURL, path: Path, *, where: str) -> DatabaseURL:
        """Run a file through the mariadb client; return the URL of the database it ended in.

        The client `source`s the file (so errors carry the file's own line numbers and it
        stops at the first one) and then says which database is current, so that a file that
        creates a database and USEs it (Chinook, Sakila) hands back that database.
        """
        if "\n" in str(path):
            raise InputError(f"{where}: a file name with a newline cannot be loaded")
        client = mariadb_server.client_binary()
        cmd = [
            str(client),
            "--no-defaults",
            "--batch",
            "--raw",
            "--comments",  # keep comments in routine bodies, as mysqldump output expects
            "--abort-source-on-error",
            "--default-character-set=utf8mb4",
            *self._client_target(url),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MYSQL")}
        if url.password is not None:
            env["MYSQL_PWD"] = url.password
        script = f"source {path}\nSELECT DATABASE() AS {_MARKER};\n"
        proc = subprocess.run(
            cmd,
            input=script.encode(),
            capture_output=True,
            cwd=path.parent,
            env=env,
            check=False,
        )
        stderr = proc.stderr.decode("utf-8", errors="replace")
        if proc.returncode != 0:
            raise self._client_error(stderr, where, url)
        lines = proc.stdout.decode("utf-8", errors="replace").splitlines()
        if len(lines) >= 2 and lines[-2] == _MARKER and lines[-1] != "NULL":
            return url.with_database(lines[-1])
        return url

    @staticmethod
    def _client_target(url: DatabaseURL) -> list[str]:
        args = connect_args(url)
        out = []
        if "unix_socket" in args:
            out.append(f"--socket={args['unix_socket']}")
        else:
            out += [f"--host={args['host']}", f"--port={args['port']}", "--protocol=TCP"]
        if url.user is not None:
            out.append(f"--user={url.user}")
        if url.database:
            out.append(f"--database={url.database}")
        return out

    @staticmethod
    def _client_error(stderr: str, where: str, url: DatabaseURL) -> DbarchError:
        lines = stderr.splitlines()
        for i, line in enumerate(lines):
            # The server's message may hold newlines (a quoted bit of the statement): the
            # client exits right after it, so the rest of stderr belongs to it.
            m = _CLIENT_ERROR.match(_one_line(" ".join([line, *lines[i + 1 :]])))
            if m:
                lineno = int(m.group("line"))
                # The client names the line the statement starts on; a syntax error's
                # "… at line K" counts within the statement: together, the exact line.
                near = _NEAR_LINE.search(m.group("msg"))
                if m.group("code") == "1064" and near:
                    lineno += int(near.group(1)) - 1
                return InputError(redact(f"{where}:{lineno}: {m.group('msg')}", url.password))
        rest = [ln.strip() for ln in lines if ln.strip()]
        text = redact(rest[-1] if rest else "the client failed", url.password)
        if re.match(r"^ERROR 2\d\d\d\b", text) or "Access denied" in text:
            return ConnectionFailed(f"cannot connect to {url}: {text}")
        return InputError(f"{where}: {text}")


def _databases(session: MysqlSession) -> set[str]:
    rows = session.fetch("SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA")
    return {str(r["name"]) for r in rows} - SYSTEM_DATABASES


def _backtick(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def scratch_url() -> DatabaseURL:
    """The scratch server's root URL (starts the server on first use)."""
    return mariadb_server.get_server().url


__all__ = [
    "MysqlEngine",
    "MysqlSession",
    "connect",
    "connect_args",
    "scratch_url",
    "version_number",
]
