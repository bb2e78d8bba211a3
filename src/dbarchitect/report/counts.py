"""Object counts of a schema, taken the way the real-world corpus README counts PostgreSQL.

The figures mirror catalog rows, not DDL statements: every partition is a table, and what a
partition carries because its parent has it (primary keys, foreign keys, indexes, triggers,
checks cloned onto it) is counted on the partition as PostgreSQL's catalogs do. An index
stands behind each primary key, unique constraint and exclusion constraint, so those count as
indexes too (`pg_index` holds a row for each), and so do indexes on materialized views.
"""

from __future__ import annotations

from dbarchitect.model.schema import Schema

COUNT_KEYS = (
    "schemas",
    "tables",
    "partitioned_tables",
    "partitions",
    "views",
    "materialized_views",
    "indexes",
    "primary_keys",
    "foreign_keys",
    "check_constraints",
    "sequences",
    "functions",
    "procedures",
    "triggers",
    "policies",
    "rls_tables",
    "enums_and_domains",
)
"""The keys of `count_objects`, in the order the text header shows them."""


def count_objects(schema: Schema) -> dict[str, int]:
    """Count the objects of `schema` by kind; the keys are `COUNT_KEYS`, in that order.

    `tables` is every Table (ordinary, partitioned parents and partitions alike); `indexes`
    adds the indexes behind primary keys, unique and exclusion constraints and those of
    materialized views; `functions` includes procedures and aggregates; `triggers` covers
    tables and views; `check_constraints` covers tables and domains (both are CHECK rows in
    `pg_constraint`); `schemas` is the namespaces the schema lists.
    """
    tables = schema.tables
    views = [v for v in schema.views if not v.materialized]
    matviews = [v for v in schema.views if v.materialized]
    table_indexes = sum(
        len(t.indexes) + len(t.uniques) + len(t.exclusions) + (t.primary_key is not None)
        for t in tables
    )
    triggers = sum(len(t.triggers) for t in tables) + sum(len(v.triggers) for v in schema.views)
    counts = {
        "schemas": len(schema.namespaces),
        "tables": len(tables),
        "partitioned_tables": sum(t.partitioning is not None for t in tables),
        "partitions": sum(t.partition_of is not None for t in tables),
        "views": len(views),
        "materialized_views": len(matviews),
        "indexes": table_indexes + sum(len(v.indexes) for v in schema.views),
        "primary_keys": sum(t.primary_key is not None for t in tables),
        "foreign_keys": sum(len(t.foreign_keys) for t in tables),
        "check_constraints": sum(len(t.checks) for t in tables)
        + sum(len(d.checks) for d in schema.domains),
        "sequences": len(schema.sequences),
        "functions": len(schema.functions),
        "procedures": sum(f.kind == "procedure" for f in schema.functions),
        "triggers": triggers,
        "policies": sum(len(t.policies) for t in tables),
        "rls_tables": sum(t.rls_enabled for t in tables),
        "enums_and_domains": len(schema.enums) + len(schema.domains),
    }
    return {key: counts[key] for key in COUNT_KEYS}
