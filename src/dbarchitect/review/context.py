"""What a rule sees: the schema, its dialect, live statistics and data when there are any."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.base import Dialect
from dbarchitect.model import Column, Schema, Table
from dbarchitect.model.stats import Stats
from dbarchitect.review.config import ReviewConfig

Sampler = Callable[[Table, Column, int], list[Any]]


@dataclass
class ReviewContext:
    """The inputs of one review. Object names in findings follow `object_name`'s rules."""

    schema: Schema
    config: ReviewConfig = field(default_factory=ReviewConfig)
    stats: Stats | None = None
    sampler: Sampler | None = None

    @property
    def dialect(self) -> Dialect:
        return get_dialect(self.schema.dialect)

    @property
    def tables(self) -> list[Table]:
        """Tables that are not partitions (a partition repeats its parent's design)."""
        return [t for t in self.schema.tables if t.partition_of is None]

    def quote(self, name: str) -> str:
        return self.dialect.quote(name)

    def qname(self, table: Table) -> str:
        """The table's name as SQL, quoted where needed."""
        q = self.dialect.quote
        return f"{q(table.schema)}.{q(table.name)}" if table.schema else q(table.name)

    def threshold(self, name: str, default: float) -> float:
        return self.config.threshold(name, default)

    def columns(self) -> Iterator[tuple[Table, Column]]:
        for t in self.tables:
            for c in t.columns:
                yield t, c


def object_name(*parts: str) -> str:
    """Finding object names: `schema.table`, `schema.table.column`, `table` without schemas."""
    return ".".join(p for p in parts if p)
