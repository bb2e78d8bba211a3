"""The built schema is what the engine makes of its DDL: render → load in a scratch database
→ introspect → no difference, and the review finds no error. For the test specs and every
example under examples/, on PostgreSQL, SQLite and MariaDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbarchitect.design.build import build
from dbarchitect.design.load import load_spec
from dbarchitect.migrate.verify import differences
from dbarchitect.review.engine import review
from tests.conftest import ROOT
from tests.design.test_build_cases import DIALECTS, SPECS, TODAY, built, introspected, realized

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("spec", sorted(SPECS))
def test_spec_loads_and_introspects_equal(tmp_path: Path, spec: str, dialect: str) -> None:
    b = built(tmp_path, SPECS[spec], dialect, name=spec)
    with realized(b.schema) as (_, url):
        got = introspected(url)
    assert differences(got, b.schema) == []
    assert [f.message for f in review(got) if f.severity == "error"] == []


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_loads_and_introspects_equal(example: Path, dialect: str) -> None:
    b = build(load_spec(example), dialect, today=TODAY)
    with realized(b.schema) as (_, url):
        got = introspected(url)
    assert got.tables, "the DDL created no table"
    assert differences(got, b.schema) == []
    assert [f.message for f in review(got) if f.severity == "error"] == []
