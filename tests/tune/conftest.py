"""Fixtures shared by the tuning tests."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from dbarchitect.engines.base import Session
from dbarchitect.engines.postgres import PostgresEngine, connect, conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import Schema
from tests.tune.helpers import gen, postgres_db
from tests.tune.shape_cases import SCOPES_SQL, TPCH_SCHEMA


@pytest.fixture(scope="module")
def shop_url() -> Iterator[DatabaseURL]:
    """A scratch database with the log generator's shop, for loops run live."""
    with PostgresEngine().scratch() as url:
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            conn.execute(gen.SETUP.encode())
        yield url


@pytest.fixture(scope="module")
def db() -> Iterator[tuple[Session, Schema]]:
    """One scratch database holding TPC-H and the scopes schema, with a session on it."""
    setup = TPCH_SCHEMA.read_text() + SCOPES_SQL
    with postgres_db(setup, where="test schema") as (url, schema), connect(url) as session:
        yield session, schema


@pytest.fixture(scope="module")
def schema(db: tuple[Session, Schema]) -> Schema:
    return db[1]
