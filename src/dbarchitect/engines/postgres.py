"""PostgreSQL I/O: read-only sessions on user databases, a scratch cluster, psql loading."""

from __future__ import annotations

import re
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import dict_row

from dbarchitect.engines import pgcluster
from dbarchitect.engines.base import Engine, Params, Session
from dbarchitect.engines.readonly import check_read_only_pg
from dbarchitect.engines.url import DatabaseURL, parse_url, redact
from dbarchitect.errors import ConnectionFailed, InputError

STATEMENT_TIMEOUT_MS = 60_000
LOCK_TIMEOUT_MS = 5_000


def conninfo(url: DatabaseURL, **extra: Any) -> str:
    """A libpq connection string; parts missing from the URL come from PG* variables/.pgpass."""
    params: dict[str, Any] = {k: v for k, v in url.query}
    for key, value in (
        ("host", url.host),
        ("port", url.port),
        ("dbname", url.database),
        ("user", url.user),
        ("password", url.password),
    ):
        if value is not None:
            params[key] = value
    params.setdefault("connect_timeout", 10)
    params.setdefault("application_name", "dbarchitect")
    params.update(extra)
    return psycopg.conninfo.make_conninfo(**params)


class PgSession(Session):
    def __init__(self, conn: psycopg.Connection[dict[str, Any]], *, read_only: bool) -> None:
        self._conn = conn
        self.read_only = read_only
        self._in_transaction = False

    def fetch(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        if self.read_only:
            check_read_only_pg(sql)
        try:
            # prepare=True sends the text as one prepared statement: libpq refuses a second
            # statement smuggled after a semicolon, so "COMMIT; INSERT …" cannot escape.
            cur = self._conn.execute(sql.encode(), params, prepare=True)
            return cur.fetchall() if cur.description else []
        except psycopg.Error:
            if not self._in_transaction and not self._conn.autocommit:
                self._conn.rollback()
            raise
        finally:
            if self.read_only and not self._in_transaction:
                self._conn.rollback()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A REPEATABLE READ snapshot (read-only sessions: always rolled back at the end)."""
        if self._in_transaction:
            yield
            return
        conn = self._conn
        saved = conn.autocommit
        if saved:
            conn.autocommit = False
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self._in_transaction = True
        try:
            yield
        finally:
            self._in_transaction = False
            conn.rollback()
            conn.isolation_level = None
            if saved:
                conn.autocommit = True

    def execute(self, sql: str) -> None:
        if self.read_only:
            check_read_only_pg(sql)
            self.fetch(sql)
            return
        self._conn.execute(sql.encode())

    @property
    def server_version(self) -> int:
        return int(self._conn.info.server_version)

    @property
    def raw(self) -> Any:
        return self._conn

    def close(self) -> None:
        self._conn.close()


def connect(url: DatabaseURL, *, read_only: bool = True) -> PgSession:
    options = f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    user_options = url.param("options")
    if user_options:
        options = f"{user_options} {options}"  # ours last: libpq lets the last -c win
    try:
        conn = psycopg.connect(
            conninfo(url, options=options), autocommit=not read_only, row_factory=dict_row
        )
    except psycopg.Error as exc:
        raise ConnectionFailed(f"cannot connect to {url}: {_first_line(str(exc), url)}") from None
    if read_only:
        conn.read_only = True
    return PgSession(conn, read_only=read_only)


def _first_line(message: str, url: DatabaseURL) -> str:
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    text = lines[0] if lines else "unknown error"
    for ln in lines:  # libpq puts the real reason after "connection to server … failed:"
        if "FATAL" in ln or "failed:" in ln:
            text = ln
    return redact(text, url.password)


_PSQL_ERROR = re.compile(
    r"^psql:(?P<file>.*?):(?P<line>\d+): (?:ERROR|FATAL|error):\s+(?P<msg>.*)$"
)


class PostgresEngine(Engine):
    def connect(self, url: DatabaseURL, *, read_only: bool = True) -> Session:
        return connect(url, read_only=read_only)

    @contextmanager
    def scratch(self) -> Iterator[DatabaseURL]:
        cluster = pgcluster.get_cluster()
        name = f"dbarch_{uuid.uuid4().hex[:12]}"
        before = set(self._databases(cluster.url))
        with psycopg.connect(conninfo(cluster.url), autocommit=True) as conn:
            conn.execute(
                pgsql.SQL("CREATE DATABASE {} TEMPLATE template0").format(pgsql.Identifier(name))
            )
        try:
            yield cluster.url.with_database(name)
        finally:
            created = (set(self._databases(cluster.url)) - before) | {name}
            with psycopg.connect(conninfo(cluster.url), autocommit=True) as conn:
                for db in sorted(created):
                    conn.execute(
                        pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            pgsql.Identifier(db)
                        )
                    )

    @staticmethod
    def _databases(url: DatabaseURL) -> list[str]:
        with psycopg.connect(conninfo(url.with_database("postgres"))) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY oid"
            ).fetchall()
        return [r[0] for r in rows]

    def load_files(self, url: DatabaseURL, files: Sequence[Path]) -> DatabaseURL:
        before = self._databases(url)
        for path in files:
            self._psql(url, path, where=str(path))
        # A file may create a database and \c into it (pg_dump -C, Chinook): follow it there.
        after = self._databases(url)
        new = [db for db in after if db not in before]
        if new and not _has_user_objects(url):
            return url.with_database(new[-1])
        return url

    def run_script(self, url: DatabaseURL, sql: str, *, where: str = "<sql>") -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".sql", encoding="utf-8") as fh:
            fh.write(sql)
            fh.flush()
            self._psql(url, Path(fh.name), where=where)

    def _psql(self, url: DatabaseURL, path: Path, *, where: str) -> None:
        psql = pgcluster.find_binary("psql")
        if psql is None:
            self._execute_file(url, path, where=where)
            return
        cmd = [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo(url), "-f", path.name]
        proc = subprocess.run(
            cmd,
            cwd=path.parent,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=pgcluster.client_env(),
            check=False,
        )
        if proc.returncode != 0:
            raise InputError(_psql_error(proc.stderr, where, url))

    def _execute_file(self, url: DatabaseURL, path: Path, *, where: str) -> None:
        text = path.read_text(encoding="utf-8")
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            try:
                conn.execute(text.encode())
            except psycopg.Error as exc:
                pos = exc.diag.statement_position
                line = text[: int(pos)].count("\n") + 1 if pos else 1
                raise InputError(f"{where}:{line}: {exc.diag.message_primary}") from None


def _has_user_objects(url: DatabaseURL) -> bool:
    with psycopg.connect(conninfo(url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg_toast%'"
        ).fetchone()
    return bool(row and row[0])


def _psql_error(stderr: str, where: str, url: DatabaseURL) -> str:
    for line in stderr.splitlines():
        m = _PSQL_ERROR.match(line)
        if m:
            return redact(f"{where}:{m.group('line')}: {m.group('msg')}", url.password)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    text = lines[0] if lines else "psql failed"
    return redact(f"{where}: {text.removeprefix('psql: ')}", url.password)


def scratch_url() -> DatabaseURL:
    """The scratch cluster's maintenance URL (starts the cluster on first use)."""
    return pgcluster.get_cluster().url


__all__ = ["PgSession", "PostgresEngine", "connect", "conninfo", "parse_url", "scratch_url"]
