"""Samples of column values through a read-only session, for rules that look at data."""

from __future__ import annotations

from typing import Any

from dbarchitect.dialects.base import Dialect
from dbarchitect.engines.base import Session
from dbarchitect.model import Column, Table


class Sampler:
    """`sampler(table, column, n)`: up to n non-null values of one column (read-only)."""

    def __init__(self, session: Session, dialect: Dialect) -> None:
        self._session = session
        self._dialect = dialect

    def __call__(self, table: Table, column: Column, n: int) -> list[Any]:
        q = self._dialect.quote
        name = f"{q(table.schema)}.{q(table.name)}" if table.schema else q(table.name)
        col = q(column.name)
        rows = self._session.fetch(
            f"SELECT {col} AS v FROM {name} WHERE {col} IS NOT NULL LIMIT {int(n)}"
        )
        return [r["v"] for r in rows]
