"""Every example spec: the SQLAlchemy models generated from the designed schema create_all()
into a scratch database that introspects equal to that schema (PostgreSQL and SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbarchitect.codegen.sqlalchemy import render_models
from dbarchitect.design.load import load_spec
from dbarchitect.design.run import realize
from dbarchitect.migrate.verify import differences
from dbarchitect.sources.sqlalchemy import load_models
from tests.conftest import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("spec", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_models_rebuild_the_designed_schema(spec: Path, tmp_path: Path) -> None:
    design = realize(load_spec(spec), ("postgres", "sqlite"))
    for target in design.targets:
        path = tmp_path / f"{spec.stem}_{target.dialect}_models.py"
        path.write_text(render_models(target.schema), encoding="utf-8")
        got = load_models(str(path), dialect=target.dialect)
        assert differences(got, target.schema) == [], target.dialect
        assert got.tables == target.schema.tables, target.dialect
