"""The review on real schemas written by others: it runs, and it is not noise."""

from __future__ import annotations

from collections import Counter

import pytest

from dbarchitect.review import review
from tests.conftest import realworld_manifest, realworld_schema

DATASETS = [d["name"] for d in realworld_manifest()["datasets"] if "expected" in d]


@pytest.mark.parametrize("name", DATASETS)
def test_review_is_quiet_on_well_kept_schemas(name: str) -> None:
    schema = realworld_schema(name)
    findings = review(schema)
    for f in findings:
        assert f.message and f.object and f.rule
    # A rule that flags most tables of a schema people maintain carefully is noise, not advice:
    # no warning or error rule may fire on more than half of the tables.
    tables = max(len([t for t in schema.tables if t.partition_of is None]), 1)
    per_rule = Counter(f.rule for f in findings if f.severity != "info" and f.kind == "table")
    noisy = {rule: n for rule, n in per_rule.items() if n > tables / 2 and n > 3}
    assert not noisy, f"{name}: rules flag most tables: {noisy}"
