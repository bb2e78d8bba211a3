"""PostgreSQL operations: monitoring queries, alerts, backup and restore, maintenance, pooling,
replicas, upgrade and hardening — for one schema (its namespaces, sequences, RLS tables).

Every monitoring query reads the statistics views and catalogs only (it runs on a read-only
session) and is written for PostgreSQL 13 and later; each is tested on a real server.
"""

from __future__ import annotations

from dbarchitect.dialects.postgres.operations.monitoring import ALERTS, monitoring
from dbarchitect.dialects.postgres.operations.procedures import (
    CACHING,
    PARTITIONING,
    RECOVERY,
    REPLICAS,
    STATISTICS,
    TROUBLESHOOTING,
    backup,
    hardening,
    pooling,
    restore,
    table_maintenance,
    upgrade,
)
from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats
from dbarchitect.report.docs.guide import OperationsGuide, sql_list


def guide(schema: Schema, stats: Stats | None = None) -> OperationsGuide:
    """The operations guide of a PostgreSQL schema (live statistics sharpen the advice)."""
    namespaces = sorted({t.schema for t in schema.tables} | {s.schema for s in schema.sequences})
    ns = sql_list(namespaces)
    version = stats.server_version if stats else 150000
    return OperationsGuide(
        engine="PostgreSQL",
        monitoring=monitoring(ns, version),
        alerts=ALERTS,
        recovery=RECOVERY,
        backup=backup(namespaces),
        restore=restore(schema, stats),
        troubleshooting=TROUBLESHOOTING,
        upgrade=upgrade(schema),
        hardening=hardening(schema, namespaces),
        statistics=STATISTICS,
        table_maintenance=table_maintenance(schema, stats),
        pooling=pooling(schema),
        caching=CACHING,
        replicas=REPLICAS,
        partitioning=PARTITIONING,
        row_overhead_bytes=28,  # 23-byte tuple header (padded to 24) and a 4-byte line pointer
        index_entry_overhead_bytes=12,  # 8-byte index tuple header and a 4-byte line pointer
        create_index="CREATE INDEX CONCURRENTLY {name} ON {table} ({columns});",
        # CONCURRENTLY is refused on a partitioned table: ON ONLY, then per partition.
        create_parent_index="CREATE INDEX {name} ON ONLY {table} ({columns});",
        attach_index="ALTER INDEX {parent} ATTACH PARTITION {name};",
        param_style="dollar",
    )
