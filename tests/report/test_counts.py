"""count_objects: the figures the text header shows and the real-world manifest records."""

from __future__ import annotations

import dataclasses

from dbarchitect.model import Index, IndexKey, Schema, Table, View
from dbarchitect.report.counts import COUNT_KEYS, count_objects
from tests.conftest import realworld_manifest
from tests.report.sample import big_schema, sample_schema


def test_sample_counts() -> None:
    assert count_objects(sample_schema()) == {
        "schemas": 2,
        "tables": 7,  # partitions and the partitioned parent are tables too
        "partitioned_tables": 1,
        "partitions": 2,
        "views": 1,
        "materialized_views": 1,
        # account: 2 + PK + UNIQUE; plan: PK + EXCLUDE; payment and its two partitions:
        # PK + 1 each; the materialized view: 1.
        "indexes": 13,
        "primary_keys": 5,
        "foreign_keys": 4,  # the partitions' cloned FKs count, as in pg_constraint
        "check_constraints": 2,  # one on a table, one on a domain
        "sequences": 1,
        "functions": 4,  # function, SECURITY DEFINER function, procedure, aggregate
        "procedures": 1,
        "triggers": 2,  # a table's and a view's
        "policies": 2,
        "rls_tables": 1,
        "enums_and_domains": 3,
    }


def test_keys_are_in_header_order_and_cover_the_manifest() -> None:
    counts = count_objects(Schema(dialect="postgres"))
    assert tuple(counts) == COUNT_KEYS
    assert set(counts.values()) == {0}
    manifest_keys: set[str] = set()
    for dataset in realworld_manifest()["datasets"]:
        if dataset["engine"] == "postgresql":
            expected = dataset.get("expected", {})
            manifest_keys |= {k for k, v in expected.items() if isinstance(v, int)}
    assert manifest_keys, "the manifest lists PostgreSQL counts"
    assert manifest_keys <= set(COUNT_KEYS), manifest_keys - set(COUNT_KEYS)


def test_indexes_behind_constraints_and_on_materialized_views() -> None:
    schema = sample_schema()
    before = count_objects(schema)["indexes"]
    plan = schema.table("public.plan")
    assert plan is not None
    # Dropping the exclusion constraint drops its index.
    without = dataclasses.replace(
        schema,
        tables=tuple(
            dataclasses.replace(t, exclusions=()) if t is plan else t for t in schema.tables
        ),
    )
    assert count_objects(without)["indexes"] == before - 1
    # An index on a plain view cannot exist, but one on a materialized view counts.
    mv = View(
        schema="public",
        name="mv",
        definition="SELECT 1",
        materialized=True,
        indexes=(Index(name="mv_idx", keys=(IndexKey(column="x"),)),),
    )
    more = dataclasses.replace(schema, views=(*schema.views, mv))
    assert count_objects(more)["indexes"] == before + 1
    assert count_objects(more)["materialized_views"] == 2


def test_big_schema_counts() -> None:
    counts = count_objects(big_schema(500))
    assert counts["tables"] == 500
    assert counts["indexes"] == 1500  # two explicit + the PK's, per table
    assert counts["foreign_keys"] == 499
    assert counts["primary_keys"] == 500


def test_rls_counts_tables_with_rls_enabled_only() -> None:
    forced_only = Table(schema="s", name="f", rls_forced=True)
    enabled = Table(schema="s", name="e", rls_enabled=True)
    counts = count_objects(Schema(dialect="postgres", tables=(forced_only, enabled)))
    assert counts["rls_tables"] == 1
