"""The dialect registry: one package per engine, looked up by name."""

from __future__ import annotations

from functools import cache

from dbarchitect.dialects.base import Dialect
from dbarchitect.errors import InputError

NAMES = ("postgres", "sqlite", "mysql")
_ALIASES = {"postgresql": "postgres", "pg": "postgres", "mariadb": "mysql", "sqlite3": "sqlite"}


@cache
def get_dialect(name: str) -> Dialect:
    """The dialect called `name` (postgres, sqlite, mysql, or an alias such as mariadb)."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key == "postgres":
        from dbarchitect.dialects.postgres import PostgresDialect

        return PostgresDialect()
    if key == "sqlite":
        from dbarchitect.dialects.sqlite import SqliteDialect

        return SqliteDialect()
    if key == "mysql":
        from dbarchitect.dialects.mysql import MysqlDialect

        return MysqlDialect()
    raise InputError(f"unknown dialect {name!r} (known: {', '.join(NAMES)}, mariadb)")


__all__ = ["NAMES", "Dialect", "get_dialect"]
