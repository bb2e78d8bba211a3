"""The Diesel migration of a designed schema runs up, down and up again on real PostgreSQL.

The migration is what `dbarch design` writes: `make_migration(<empty database>, schema)` through
`write_diesel`. Each file is run the way Diesel runs it: the whole file as one batch
(`batch_execute`), inside one transaction unless metadata.toml turns that off.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.migration import make_migration
from dbarchitect.migrate.output import write_diesel
from dbarchitect.migrate.verify import differences
from dbarchitect.model import Schema
from dbarchitect.sources import introspect_url
from tests.design.test_diesel_codegen import source_schema

CASES = ["identity_uuid_enum", "tenancy_composite_fk", "trigger_function", "pagila", "chinook"]


@cache
def empty_database() -> Schema:
    """What a fresh scratch database introspects to: the FROM side of an initial migration."""
    with get_dialect("postgres").engine().scratch() as url:
        return introspect_url(url)


def run_like_diesel(url: DatabaseURL, folder: Path, direction: str) -> None:
    sql = (folder / f"{direction}.sql").read_text(encoding="utf-8")
    metadata = folder / "metadata.toml"
    in_transaction = not (
        metadata.exists() and "run_in_transaction = false" in metadata.read_text()
    )
    with psycopg.connect(conninfo(url), autocommit=not in_transaction) as conn:
        conn.execute(sql.encode())  # no parameters: one simple-protocol batch, as Diesel sends
        if in_transaction:
            conn.commit()


@pytest.mark.parametrize("name", CASES)
def test_diesel_up_down_up(name: str, tmp_path: Path) -> None:
    schema = source_schema(name)
    empty = empty_database()
    # online=False: Diesel sends a file as one batch, and PostgreSQL refuses CONCURRENTLY in a
    # multi-statement batch even outside a transaction (diesel-rs/diesel#4552).
    migration = make_migration(empty, schema, online=False)
    paths = write_diesel(migration, tmp_path, "initial_schema", datetime(2024, 5, 6, 7, 8, 9))
    folder = tmp_path / "migrations" / "2024-05-06-070809_initial_schema"
    assert sorted(p.name for p in paths) == ["down.sql", "up.sql"]  # no metadata.toml needed
    assert all(p.parent == folder for p in paths)
    with get_dialect("postgres").engine().scratch() as url:
        run_like_diesel(url, folder, "up")
        assert differences(introspect_url(url), schema) == []
        run_like_diesel(url, folder, "down")
        after_down = introspect_url(url)
        assert differences(after_down, empty) == []
        leftovers = (
            after_down.tables,
            after_down.views,
            after_down.enums,
            after_down.domains,
            after_down.functions,
            after_down.sequences,
        )
        assert leftovers == ((), (), (), (), (), ())
        run_like_diesel(url, folder, "up")
        assert differences(introspect_url(url), schema) == []


def test_the_round_trip_check_catches_a_broken_down(tmp_path: Path) -> None:
    """A down.sql that leaves a table behind is caught by the same comparison."""
    schema = source_schema("identity_uuid_enum")
    migration = make_migration(empty_database(), schema, online=False)
    write_diesel(migration, tmp_path, "initial_schema", datetime(2024, 5, 6, 7, 8, 9))
    folder = tmp_path / "migrations" / "2024-05-06-070809_initial_schema"
    down = folder / "down.sql"
    down.write_text(down.read_text().replace("DROP TABLE public.users;", ""), encoding="utf-8")
    with get_dialect("postgres").engine().scratch() as url:
        run_like_diesel(url, folder, "up")
        run_like_diesel(url, folder, "down")
        left = differences(introspect_url(url), empty_database())
    assert left and all("users" in line for line in left), left
