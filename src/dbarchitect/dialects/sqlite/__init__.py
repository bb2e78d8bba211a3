"""The SQLite dialect: one database per file, no schemas, types by affinity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from dbarchitect.dialects.base import Dialect
from dbarchitect.dialects.sqlite import ddl, introspect, types
from dbarchitect.engines.base import Engine, Session
from dbarchitect.engines.sqlite import SqliteEngine
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import LogicalType, Schema
from dbarchitect.model.stats import Stats

if TYPE_CHECKING:
    from dbarchitect.design.build_designer import Designer
    from dbarchitect.migrate.migration import Statement
    from dbarchitect.migrate.operations import Operation
    from dbarchitect.report.docs.guide import OperationsGuide
    from dbarchitect.tune.tuner import Tuner


class SqliteDialect(Dialect):
    name: ClassVar[str] = "sqlite"
    label: ClassVar[str] = "SQLite"
    reorders_columns: ClassVar[bool] = True
    has_schemas: ClassVar[bool] = False
    default_schema: ClassVar[str] = ""
    # SQLite sets no limit on names beyond the length of a statement (SQLITE_MAX_SQL_LENGTH).
    max_identifier_bytes: ClassVar[int] = 1_000_000_000
    supports_rls: ClassVar[bool] = False
    supports_partitioning: ClassVar[bool] = False
    supports_sequences: ClassVar[bool] = False
    supports_enums: ClassVar[bool] = False
    supports_functions: ClassVar[bool] = False

    def engine(self) -> Engine:
        return SqliteEngine()

    def quote(self, ident: str) -> str:
        return ddl.quote(ident)

    def logical_type(self, engine_type: str) -> LogicalType:
        return types.logical_type(engine_type)

    def introspect(self, session: Session, schemas: Sequence[str] | None = None) -> Schema:
        return introspect.introspect(session, schemas)

    def render(self, schema: Schema) -> str:
        return ddl.render(schema)

    def operations(self, schema: Schema, stats: Stats | None = None) -> OperationsGuide:
        from dbarchitect.dialects.sqlite.operations import guide

        return guide(schema, stats)

    def designer(self) -> Designer:
        from dbarchitect.dialects.sqlite.design import SqliteDesigner

        return SqliteDesigner()

    def render_operations(
        self,
        operations: Sequence[Operation],
        before: Schema,
        after: Schema,
        *,
        online: bool = True,
    ) -> list[Statement]:
        from dbarchitect.dialects.sqlite import migrate

        return migrate.render_operations(operations, before, after, online=online)

    def tuner(self, url: DatabaseURL, schema: Schema, *, allow_writes: bool = False) -> Tuner:
        """Tuning on a database file: plans from EXPLAIN QUERY PLAN, candidates judged by
        building them on a scratch copy and timing the queries there."""
        from dbarchitect.dialects.sqlite.tune import SqliteTuner

        return SqliteTuner(url, schema, allow_writes=allow_writes)


__all__ = ["SqliteDialect"]
