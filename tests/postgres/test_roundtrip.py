"""Introspect → render → load → introspect gives the same Schema, on real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbarchitect.cli import main
from dbarchitect.dialects import get_dialect
from dbarchitect.model import Schema, from_json, to_json
from dbarchitect.sources import load_schema
from tests.conftest import FIXTURES

RICH = FIXTURES / "postgres" / "rich.sql"


@pytest.fixture(scope="module")
def rich() -> Schema:
    return load_schema([str(RICH)])


def test_rich_fixture_covers_every_object_kind(rich: Schema) -> None:
    tables = {t.qualified: t for t in rich.tables}
    assert {"app.customer", "Sales Dept.order", "app.event_2024_other_h1"} <= set(tables)
    assert rich.enums and rich.domains and rich.composite_types and rich.ranges
    assert rich.collations and rich.text_search_configs and rich.extensions
    assert {f.kind for f in rich.functions} == {"function", "procedure", "aggregate"}
    assert any(v.materialized for v in rich.views) and any(v.check_option for v in rich.views)
    customer = tables["app.customer"]
    assert customer.rls_enabled and customer.rls_forced and len(customer.policies) == 3
    assert {i.method for t in rich.tables for i in t.indexes} >= {
        "btree",
        "hash",
        "gin",
        "brin",
        "spgist",
    }
    assert customer.column("id") is not None and customer.column("id").identity is not None
    assert customer.column("name_upper").generated == "upper(name)"
    order = tables["Sales Dept.order"]
    assert order.column("Größe") is not None and order.exclusions
    assert any(fk.deferrable and fk.initially_deferred for fk in order.foreign_keys)
    event = tables["app.event"]
    assert event.partitioning is not None and event.partitioning.strategy == "RANGE"
    attached = [i for t in rich.tables for i in t.indexes if i.parent]
    assert attached, "partition indexes record their parent index"
    assert any(g.columns for g in rich.grants), "column privileges are read"
    assert any(g.grantee == "PUBLIC" for g in rich.grants)
    assert not any(g.object == "app.secret()" and g.grantee == "PUBLIC" for g in rich.grants)
    assert rich.default_privileges


def test_rich_round_trip_is_exact(rich: Schema) -> None:
    ddl = get_dialect("postgres").render(rich)
    engine = get_dialect("postgres").engine()
    with engine.scratch() as url:
        engine.run_script(url, ddl, where="rendered")
        from dbarchitect.sources import introspect_url

        again = introspect_url(url)
    assert again == rich
    assert to_json(again) == to_json(rich)


def test_json_file_is_a_source(rich: Schema, tmp_path: Path) -> None:
    path = tmp_path / "rich.json"
    path.write_text(to_json(rich), encoding="utf-8")
    assert load_schema(str(path)) == rich
    assert from_json(path.read_text()) == rich


def test_inspect_sql_reinspected_gives_identical_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql_out = tmp_path / "rich.out.sql"
    _run(["inspect", str(RICH), "--format", "sql", "--output", str(sql_out)])
    _run(["inspect", str(RICH), "--format", "json"])
    first = capsys.readouterr().out
    _run(["inspect", str(sql_out), "--format", "json"])
    second = capsys.readouterr().out
    assert first == second
    assert '"name": "Größe"' in first


def test_schema_filter_keeps_only_named_schemas() -> None:
    only = load_schema([str(RICH)], schemas=["Sales Dept"])
    assert {t.schema for t in only.tables} == {"Sales Dept"}
    assert [n.name for n in only.namespaces] == ["Sales Dept"]


def _run(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code in (0, None)
