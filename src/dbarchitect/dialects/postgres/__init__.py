"""PostgreSQL: catalog introspection, DDL rendering and type mapping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dbarchitect.dialects.base import Dialect
from dbarchitect.dialects.postgres import ddl, introspect, quoting, stats, types
from dbarchitect.engines.base import Engine, Session
from dbarchitect.engines.postgres import PostgresEngine
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import LogicalType, Schema

if TYPE_CHECKING:
    from dbarchitect.design.build_designer import Designer
    from dbarchitect.migrate.migration import Statement
    from dbarchitect.migrate.operations import Operation
    from dbarchitect.report.docs.guide import OperationsGuide
    from dbarchitect.tune.tuner import Tuner
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

    def expression_key(self, text: str, *, query: bool = False) -> str:
        from dbarchitect.dialects.postgres.normalize import expression_key

        return expression_key(text, query=query)

    def fill_tables(self, url: DatabaseURL, rows: int) -> list[str] | None:
        # The catalog-driven filler knows domains, enums, arrays, ranges and typmods.
        import psycopg

        from dbarchitect.engines.postgres import conninfo
        from dbarchitect.migrate.safety.fill import fill_tables

        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            return fill_tables(conn, rows)

    def collect_stats(self, session: Session) -> Stats | None:
        return stats.collect_stats(session)

    def tuner(self, url: DatabaseURL, schema: Schema, *, allow_writes: bool = False) -> Tuner:
        from dbarchitect.dialects.postgres.tune.tuner import PgTuner

        return PgTuner(url, schema, allow_writes=allow_writes)

    def operations(self, schema: Schema, stats: Stats | None = None) -> OperationsGuide:
        from dbarchitect.dialects.postgres.operations import guide

        return guide(schema, stats)

    def designer(self) -> Designer:
        from dbarchitect.dialects.postgres.design import PostgresDesigner

        return PostgresDesigner()

    def render_operations(
        self,
        operations: Sequence[Operation],
        before: Schema,
        after: Schema,
        *,
        online: bool = True,
    ) -> list[Statement]:
        from dbarchitect.dialects.postgres import migrate

        return migrate.render_operations(operations, before, after, online=online)
