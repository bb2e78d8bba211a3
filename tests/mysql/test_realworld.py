"""Chinook and Sakila for MySQL: loaded through load_schema, counted, round-tripped."""

from __future__ import annotations

from typing import Any

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines import mariadb_server
from dbarchitect.engines.mysql import connect
from dbarchitect.model import Schema, to_json
from dbarchitect.sources import introspect_url, load_schema
from tests.conftest import REALWORLD, realworld_manifest

DIALECT = get_dialect("mysql")


def dataset(name: str) -> dict[str, Any]:
    found = [d for d in realworld_manifest()["datasets"] if d["name"] == name]
    assert len(found) == 1, name
    return found[0]


def counts(schema: Schema) -> dict[str, int]:
    """The manifest's counts, taken from the model (indexes include PRIMARY and uniques)."""
    return {
        "tables": len(schema.tables),
        "views": len(schema.views),
        "indexes": sum(
            len(t.indexes) + len(t.uniques) + (t.primary_key is not None) for t in schema.tables
        ),
        "functions": sum(f.kind == "function" for f in schema.functions),
        "procedures": sum(f.kind == "procedure" for f in schema.functions),
        "triggers": sum(len(t.triggers) for t in schema.tables),
        "foreign_keys": sum(len(t.foreign_keys) for t in schema.tables),
    }


def round_trip(schema: Schema) -> Schema:
    engine = DIALECT.engine()
    with engine.scratch() as url:
        engine.run_script(url, DIALECT.render(schema), where="rendered.sql")
        return introspect_url(url)


@pytest.mark.parametrize(
    ("name", "expected_key"),
    [
        ("chinook-mysql", "expected"),
        ("sakila-mysql", "expected_mariadb"),
    ],
)
def test_counts_match_manifest_and_round_trip_holds(name: str, expected_key: str) -> None:
    data = dataset(name)
    files = [str(REALWORLD / f) for f in data["load"]]
    schema = load_schema(files, dialect="mysql")
    expected = {k: v for k, v in data[expected_key].items() if k != "rows"}
    assert counts(schema) == expected
    again = round_trip(schema)
    assert again == schema
    assert to_json(again) == to_json(schema)


def test_rows_and_database_switch() -> None:
    # The files DROP/CREATE their own database and USE it: the loader must follow, and the
    # scratch must drop that database afterwards.
    engine = DIALECT.engine()
    checks = {
        "chinook-mysql": ("Chinook", "expected"),
        "sakila-mysql": ("sakila", "expected_mariadb"),
    }
    for name, (database, key) in checks.items():
        data = dataset(name)
        with engine.scratch() as url:
            result = engine.load_files(url, [REALWORLD / f for f in data["load"]])
            assert result.database == database
            with connect(result) as s:
                for table, rows in data[key]["rows"].items():
                    got = s.fetch(f"SELECT COUNT(*) AS n FROM `{table}`")[0]["n"]
                    assert got == rows, (name, table)
        with connect(mariadb_server.get_server().url) as s:
            names = {
                r["n"] for r in s.fetch("SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA")
            }
        assert database not in names and url.database not in names


def test_sakila_details() -> None:
    data = dataset("sakila-mysql")
    schema = load_schema([str(REALWORLD / data["load"][0])], dialect="mysql")
    film = schema.table("film")
    assert film is not None
    col = {c.name: c for c in film.columns}
    assert col["rating"].type == "enum('G','PG','PG-13','R','NC-17')"
    assert col["special_features"].logical == "set"
    assert col["release_year"].type == "year(4)"
    assert col["rental_rate"].default == "4.99"
    assert col["last_update"].options == (("on_update", "current_timestamp()"),)
    address = schema.table("address")
    assert address is not None and address.column("location") is None  # MariaDB skips it
    film_text = schema.table("film_text")
    assert film_text is not None
    assert [i.method for i in film_text.indexes] == ["fulltext"]
    actor_info = schema.view("actor_info")
    assert actor_info is not None and "sakila" not in actor_info.definition
    assert dict(actor_info.options) == {"sql_security": "INVOKER"}
    rewards = next(f for f in schema.functions if f.name == "rewards_report")
    assert rewards.kind == "procedure" and rewards.comment == (
        "Provides a customizable report on best customers"
    )
    assert "TRADITIONAL" in dict(rewards.config)["sql_mode"]
