"""MySQL/MariaDB: a database is the namespace (schema ""), backtick quoting, information_schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from dbarchitect.dialects.base import Dialect
from dbarchitect.dialects.mysql import ddl, introspect, types
from dbarchitect.dialects.mysql.quoting import quote_ident
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


class MysqlDialect(Dialect):
    """MySQL and MariaDB (tested on MariaDB 10.11)."""

    name: ClassVar[str] = "mysql"
    label: ClassVar[str] = "MySQL/MariaDB"
    reorders_columns: ClassVar[bool] = True
    has_schemas: ClassVar[bool] = False
    default_schema: ClassVar[str] = ""
    max_identifier_bytes: ClassVar[int] = 64
    supports_rls: ClassVar[bool] = False
    supports_partitioning: ClassVar[bool] = True
    supports_sequences: ClassVar[bool] = True
    supports_enums: ClassVar[bool] = False
    supports_functions: ClassVar[bool] = True

    def engine(self) -> Engine:
        from dbarchitect.engines.mysql import MysqlEngine

        return MysqlEngine()

    def quote(self, ident: str) -> str:
        return quote_ident(ident)

    def logical_type(self, engine_type: str) -> LogicalType:
        return types.logical_type(engine_type)

    def introspect(self, session: Session, schemas: Sequence[str] | None = None) -> Schema:
        return introspect.introspect(session, schemas)

    def render(self, schema: Schema) -> str:
        return ddl.render(schema)

    def operations(self, schema: Schema, stats: Stats | None = None) -> OperationsGuide:
        from dbarchitect.dialects.mysql.operations import guide

        return guide(schema, stats)

    def designer(self) -> Designer:
        from dbarchitect.dialects.mysql.design import MysqlDesigner

        return MysqlDesigner()

    def render_operations(
        self,
        operations: Sequence[Operation],
        before: Schema,
        after: Schema,
        *,
        online: bool = True,
    ) -> list[Statement]:
        from dbarchitect.dialects.mysql import migrate

        return migrate.render_operations(operations, before, after, online=online)

    def tuner(self, url: DatabaseURL, schema: Schema, *, allow_writes: bool = False) -> Tuner:
        """Tuning on MariaDB: plans from EXPLAIN FORMAT=JSON, candidates judged by building
        them on a scratch copy and timing the queries there."""
        from dbarchitect.dialects.mysql.tune import MysqlTuner

        return MysqlTuner(url, schema, allow_writes=allow_writes)


__all__ = ["MysqlDialect"]
