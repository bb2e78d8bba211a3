"""`dbarch design` end to end on every example spec: each target's DDL loads, the review finds
no error, and every file written works with the tool it is written for."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dbarchitect.cli import main
from dbarchitect.codegen.sqlalchemy import render_models
from dbarchitect.design.load import load_spec
from dbarchitect.design.run import Design, realize
from dbarchitect.design.write import write_design
from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.verify import differences
from dbarchitect.sources import introspect_url
from dbarchitect.sources.sqlalchemy import load_models

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.stem)
def design(request: pytest.FixtureRequest) -> Design:
    return realize(load_spec(request.param))


def test_the_five_examples_exist() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"ecommerce", "social", "marketplace_chat", "milestones", "saas"} <= names


def test_every_target_loads_and_reviews_clean(design: Design) -> None:
    assert [t.dialect for t in design.targets] == list(design.loaded.spec.targets)
    for target in design.targets:
        assert target.schema.tables, target.dialect
        assert target.errors == (), [f.message for f in target.errors]
        names = {t.name for t in target.schema.tables}
        assert set(design.loaded.spec.entities) <= names


def test_models_create_all_to_the_designed_schema(design: Design) -> None:
    for dialect in ("postgres", "sqlite"):
        if dialect not in design.loaded.spec.targets:
            continue
        schema = design.target(dialect).schema
        path = Path(f"/tmp/dbarch-models-{design.loaded.spec.name}-{dialect}.py")
        path.write_text(render_models(schema), encoding="utf-8")
        try:
            got = load_models(str(path), dialect=dialect)
        finally:
            path.unlink()
        assert differences(got, schema) == [], dialect


def _run_sql(url: DatabaseURL, path: Path) -> None:
    get_dialect(url.dialect).engine().run_script(url, path.read_text(), where=str(path))


def test_written_migrations_run_on_the_primary_engine(design: Design, tmp_path: Path) -> None:
    with get_dialect(design.primary.dialect).engine().scratch() as url:
        _check_outputs(design, tmp_path, url)


def _check_outputs(design: Design, tmp_path: Path, pg_url: DatabaseURL) -> None:
    written = write_design(design, tmp_path / "out", now=NOW)
    out = tmp_path / "out"
    rel = {str(p.relative_to(out)) for p in written}
    for name in ("models.py", "schema.dbml", "erd.mmd", "erd.dot", "erd.svg"):
        assert name in rel
    assert {f"schema/{t.dialect}.sql" for t in design.targets} <= rel
    assert "migrations/001_initial_schema.sql" in rel
    # The numbered migrations, in order, build the designed schema; downs undo them.
    ups = sorted((out / "migrations").glob("[0-9][0-9][0-9]_*[a-z].sql"))
    ups = [p for p in ups if not p.name.endswith(".down.sql")]
    for path in ups:
        _run_sql(pg_url, path)
    assert differences(introspect_url(pg_url), design.primary.schema) == []
    for path in reversed(ups):
        _run_sql(pg_url, path.with_name(path.name[:-4] + ".down.sql"))
    assert introspect_url(pg_url).tables == ()
    # Diesel: up, down, up.
    (folder,) = (out / "diesel" / "migrations").iterdir()
    for step in ("up", "down", "up"):
        _run_sql(pg_url, folder / f"{step}.sql")
    assert differences(introspect_url(pg_url), design.primary.schema) == []


def test_migrate_test_passes_on_the_written_migrations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = next(p for p in EXAMPLES if p.stem == "ecommerce")
    code, out, err = run(["design", str(spec), "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    assert "postgres: loaded and introspected" in err
    code, out, err = run(["migrate", "test", str(tmp_path / "o" / "migrations")], capsys)
    assert code == 0, out + err
    assert out.splitlines()[-1].endswith("ok")


def test_without_out_prints_the_ddl_of_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    spec = next(p for p in EXAMPLES if p.stem == "social")
    code, out, err = run(["design", str(spec), "--dialect", "sqlite"], capsys)
    assert code == 0, err
    assert "CREATE TABLE" in out
    assert "sqlite: loaded" in err


def test_bad_spec_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "name: bad\nentities:\n  users:\n    fields:\n      email: strng(10)\n", encoding="utf-8"
    )
    out_dir = tmp_path / "out"
    code, _out, err = run(["design", str(spec), "--out", str(out_dir)], capsys)
    assert code == 2
    assert err.startswith(f"dbarch: error: {spec}:5:")
    assert len(err.strip().splitlines()) == 1
    assert not out_dir.exists()


def test_a_full_out_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("mine")
    spec = next(p for p in EXAMPLES if p.stem == "milestones")
    code, _out, err = run(["design", str(spec), "--out", str(out_dir)], capsys)
    assert code == 2
    assert "not empty" in err
    assert [p.name for p in out_dir.iterdir()] == ["keep.txt"]


def test_a_spec_is_a_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = next(p for p in EXAMPLES if p.stem == "saas")
    code, out, err = run(["inspect", str(spec), "--dialect", "sqlite", "-f", "json"], capsys)
    assert code == 0, err
    assert '"dialect": "sqlite"' in out and '"invoices"' in out
    code, out, err = run(["diff", str(spec), "empty", "--no-verify"], capsys)
    assert code == 0, err
    assert "DROP TABLE public.invoice_lines" in out
    code, out, err = run(["docs", str(spec), "--out", str(tmp_path / "docs")], capsys)
    assert code == 0, err
    design_md = (tmp_path / "docs" / "database-design.md").read_text()
    assert "invoice_lines" in design_md and "erDiagram" in design_md
