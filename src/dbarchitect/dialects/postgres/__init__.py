"""PostgreSQL: catalog introspection, DDL rendering and type mapping."""

from __future__ import annotations

from collections.abc import Sequence

from dbarchitect.dialects.base import Dialect
from dbarchitect.dialects.postgres import ddl, introspect, quoting, stats, types
from dbarchitect.engines.base import Engine, Session
from dbarchitect.engines.postgres import PostgresEngine
from dbarchitect.model import LogicalType, Schema
from dbarchitect.model.stats import Stats


class PostgresDialect(Dialect):
    name = "postgres"
    label = "PostgreSQL"
    has_schemas = True
    default_schema = "public"
    max_identifier_bytes = 63
    supports_rls = True
    supports_partitioning = True
    supports_sequences = True
    supports_enums = True
    supports_functions = True

    def engine(self) -> Engine:
        return PostgresEngine()

    def quote(self, ident: str) -> str:
        return quoting.quote(ident)

    def logical_type(self, engine_type: str) -> LogicalType:
        return types.logical_type(engine_type, None, None)

    def introspect(self, session: Session, schemas: Sequence[str] | None = None) -> Schema:
        return introspect.introspect(session, schemas)

    def render(self, schema: Schema) -> str:
        return ddl.render(schema)

    def collect_stats(self, session: Session) -> Stats | None:
        return stats.collect_stats(session)
