"""Fixtures shared by the tuning tests."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from dbarchitect.engines.postgres import PostgresEngine, conninfo
from dbarchitect.engines.url import DatabaseURL
from tests.tune.helpers import gen


@pytest.fixture(scope="module")
def shop_url() -> Iterator[DatabaseURL]:
    """A scratch database with the log generator's shop, for loops run live."""
    with PostgresEngine().scratch() as url:
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            conn.execute(gen.SETUP.encode())
        yield url
