"""The Dialect: what one engine needs to know, as flags, tables and a few narrow hooks.

Analyses never branch on engine names; they ask the dialect. A dialect package provides
introspection (catalog → Schema), DDL rendering (Schema → SQL) and type mapping, and names the
engine (engines/) that does its I/O.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from dbarchitect.engines.base import Engine, Session
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import LogicalType, Schema
from dbarchitect.model.stats import Stats

if TYPE_CHECKING:
    from dbarchitect.design.build_designer import Designer
    from dbarchitect.migrate.migration import Statement
    from dbarchitect.migrate.operations import Operation
    from dbarchitect.report.docs.guide import OperationsGuide
    from dbarchitect.tune.tuner import Tuner


class Dialect(abc.ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    has_schemas: ClassVar[bool] = True
    default_schema: ClassVar[str] = ""
    max_identifier_bytes: ClassVar[int] = 63
    supports_rls: ClassVar[bool] = False
    supports_partitioning: ClassVar[bool] = False
    supports_sequences: ClassVar[bool] = False
    supports_enums: ClassVar[bool] = False
    supports_functions: ClassVar[bool] = False
    # Whether a column can be moved within its table (MySQL's AFTER, SQLite's rebuild).
    reorders_columns: ClassVar[bool] = False
    file_suffixes: ClassVar[tuple[str, ...]] = (".sql",)

    @abc.abstractmethod
    def engine(self) -> Engine:
        """The engine that opens connections and scratch databases for this dialect."""

    @abc.abstractmethod
    def quote(self, ident: str) -> str:
        """Quote an identifier when it needs it (reserved, mixed case, odd characters)."""

    @abc.abstractmethod
    def logical_type(self, engine_type: str) -> LogicalType:
        """The logical family of one of this engine's type names."""

    @abc.abstractmethod
    def introspect(self, session: Session, schemas: Sequence[str] | None = None) -> Schema:
        """Read the whole schema through `session` in a small, fixed number of queries."""

    @abc.abstractmethod
    def render(self, schema: Schema) -> str:
        """DDL that recreates `schema` in an empty database, in dependency order."""

    def expression_key(self, text: str, *, query: bool = False) -> str:
        """A form of an expression (or a view's query) under which two texts the engine
        printed for the same meaning compare equal. Where the engine prints stably: the text."""
        return text

    def fill_tables(self, url: DatabaseURL, rows: int) -> list[str] | None:
        """Fill every table of the scratch database at `url` with `rows` generated rows and
        return notes on tables left empty; None where the dialect has no filler of its own."""
        return None

    def collect_stats(self, session: Session) -> Stats | None:
        """Live statistics (table and index usage, sizes, sequences), where the engine has any."""
        return None

    def tuner(self, url: DatabaseURL, schema: Schema, *, allow_writes: bool = False) -> Tuner:
        """Tuning primitives (plans, what-if costs, index sizes) on the database at `url`."""
        from dbarchitect.errors import InputError

        raise InputError(f"{url}: tuning is not available for {self.label}")

    def operations(self, schema: Schema, stats: Stats | None = None) -> OperationsGuide:
        """What operators of this engine need for `schema`: monitoring queries, alerts, backup,
        restore, maintenance, upgrade and hardening steps (the documents of `dbarch docs`)."""
        from dbarchitect.report.docs.guide import OperationsGuide

        return OperationsGuide(engine=self.label)

    def designer(self) -> Designer:
        """The design build's answers for this engine (types, defaults, triggers, what it
        cannot express): see design/build_designer.py."""
        from dbarchitect.errors import InputError

        raise InputError(f"design is not available for {self.label}")

    @abc.abstractmethod
    def render_operations(
        self,
        operations: Sequence[Operation],
        before: Schema,
        after: Schema,
        *,
        online: bool = True,
    ) -> list[Statement]:
        """SQL for ordered operations that take a database from `before` to `after`.

        `online` asks for the forms that keep the table available where the engine has them.
        """
