"""What every engine offers: sessions on a user's database, scratch databases, SQL loading."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from dbarchitect.engines.url import DatabaseURL

Params = Sequence[Any] | Mapping[str, Any] | None


class Session(abc.ABC):
    """An open connection. Read-only sessions refuse anything that could write."""

    read_only: bool

    @abc.abstractmethod
    def fetch(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """Run one statement and return its rows as dicts."""

    def transaction(self) -> AbstractContextManager[None]:
        """One consistent snapshot for several `fetch` calls (introspection uses this).

        Read-only sessions roll it back at the end; the default does nothing special.
        """
        return nullcontext()

    @abc.abstractmethod
    def execute(self, sql: str) -> None:
        """Run SQL text that may hold several statements (writable sessions only)."""

    @property
    @abc.abstractmethod
    def server_version(self) -> int:
        """The server's version as one number.

        PostgreSQL 15.18 → 150018, MariaDB 10.11.19 → 101119, SQLite 3.40.1 → 3040001.
        """

    @property
    @abc.abstractmethod
    def raw(self) -> Any:
        """The driver's own connection, for the few callers that need what `fetch` hides
        (streaming rows, server-side limits, progress handlers). They keep the session's
        read-only guarantees themselves: nothing here checks what they send."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Engine(abc.ABC):
    """The side effects of one database engine: connect, make scratch databases, load SQL."""

    @abc.abstractmethod
    def connect(self, url: DatabaseURL, *, read_only: bool = True) -> Session:
        """Open a session. Read-only unless the caller exists to write and says so."""

    @abc.abstractmethod
    def scratch(self) -> AbstractContextManager[DatabaseURL]:
        """A new empty database for the length of the `with` block, then dropped."""

    @abc.abstractmethod
    def load_files(self, url: DatabaseURL, files: Sequence[Path]) -> DatabaseURL:
        """Run SQL files in order with the engine's client semantics.

        Returns the URL of the database that holds the result (a file may create and switch
        to another database, as pg_dump output and MySQL dumps do). Raises InputError naming
        the file and line when the engine rejects a statement.
        """

    @abc.abstractmethod
    def run_script(self, url: DatabaseURL, sql: str, *, where: str = "<sql>") -> None:
        """Run SQL text (several statements) on a scratch database; errors name `where`."""
