"""`dbarch diff` on the real PostgreSQL schemas of ../shared/realworld, judged by the catalogs.

For each set: the schema diffed against itself is empty; the migration from an empty database
to the full schema applies, and the result has the same catalog fingerprint as a database
loaded from the real files (and a second diff is empty); its down migration leaves no user
object behind.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.diff import diff
from dbarchitect.migrate.migration import make_migration
from dbarchitect.model import Schema
from dbarchitect.sources import introspect_url
from tests.conftest import realworld_files, realworld_manifest
from tests.migrate import catalog
from tests.migrate.judge import Step, apply, scratch_database

DATASETS = {d["name"]: d for d in realworld_manifest()["datasets"]}
PG_SETS = ["pagila", "chinook-postgresql", "synapse-postgresql", "basejump", "musicbrainz"]
TIMINGS: dict[str, dict[str, float]] = {}


def _schema_files(dataset: dict[str, Any]) -> list[Path]:
    # Pagila's data file is loaded too: it refreshes the materialized view its schema file
    # creates WITH NO DATA, and "populated" is part of the fingerprint.
    return [Path(f) for f in realworld_files(dataset)]


@pytest.fixture(scope="module", params=PG_SETS)
def real(request: pytest.FixtureRequest) -> Iterator[tuple[str, DatabaseURL, Schema]]:
    """The set loaded from its real files, and dbarchitect's reading of it."""
    name = request.param
    engine = get_dialect("postgres").engine()
    started = time.perf_counter()
    with engine.scratch() as url:
        loaded = engine.load_files(url, _schema_files(DATASETS[name]))
        schema = introspect_url(loaded)
        TIMINGS.setdefault(name, {})["load+introspect"] = time.perf_counter() - started
        yield name, loaded, schema


def test_self_diff_is_empty(real: tuple[str, DatabaseURL, Schema]) -> None:
    name, _url, schema = real
    started = time.perf_counter()
    ops = diff(schema, schema).operations
    TIMINGS[name]["self-diff"] = time.perf_counter() - started
    assert not ops, [op.describe() for op in ops[:20]]


def test_from_empty_to_full_and_back(real: tuple[str, DatabaseURL, Schema]) -> None:
    name, loaded, full = real
    want = catalog.fingerprint(loaded)
    problems: list[str] = []
    with scratch_database() as target:
        nothing = catalog.fingerprint(target)
        empty = introspect_url(target)
        started = time.perf_counter()
        migration = make_migration(empty, full)
        TIMINGS[name]["make_migration"] = time.perf_counter() - started

        started = time.perf_counter()
        apply(target, [Step(sql=s.sql, transactional=s.transactional) for s in migration.up], "up")
        TIMINGS[name]["apply up"] = time.perf_counter() - started
        have = catalog.fingerprint(target)
        if have != want:
            problems += ["up: fingerprint differs from the real load:"]
            problems += catalog.fingerprint_diff(have, want, limit=15)
        again = diff(introspect_url(target), full).operations
        if again:
            problems += ["second diff is not empty:", *(op.describe() for op in again[:15])]

        started = time.perf_counter()
        down = [Step(sql=s.sql, transactional=s.transactional) for s in migration.down]
        down_failed = False
        try:
            apply(target, down, "down")
        except Exception as exc:  # the judge's failure names the statement and the error
            problems.append(str(exc))
            down_failed = True
        TIMINGS[name]["apply down"] = time.perf_counter() - started
        left = catalog.fingerprint(target)
        if left != nothing and not down_failed:
            problems += ["down: user objects are left:"]
            problems += catalog.fingerprint_diff(left, nothing, limit=15)
    assert not problems, "\n".join(problems)


def teardown_module() -> None:
    for name, parts in TIMINGS.items():
        print(name, {k: round(v, 2) for k, v in parts.items()})
