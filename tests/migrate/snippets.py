"""SQL snippets read as schemas: one PostgreSQL database per test module, emptied between
scripts (CREATE DATABASE costs about a second; emptying costs under a tenth)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import Schema
from dbarchitect.sources import introspect_url

# The public schema comes back exactly as a fresh database has it.
RESET = r"""
DO $$DECLARE r record; BEGIN
  FOR r IN SELECT nspname FROM pg_namespace
           WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_%'
  LOOP EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname); END LOOP;
END$$;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
GRANT USAGE ON SCHEMA public TO PUBLIC;
COMMENT ON SCHEMA public IS 'standard public schema';
"""
_DB: list[DatabaseURL] = []


@pytest.fixture(scope="module", autouse=True)
def snippet_database() -> Iterator[None]:
    """Import into a test module to give its `pg()` calls a database."""
    with get_dialect("postgres").engine().scratch() as url:
        _DB.append(url)
        yield
        _DB.clear()


@cache
def pg(sql: str) -> Schema:
    """The schema a SQL script builds in an empty PostgreSQL database."""
    engine = get_dialect("postgres").engine()
    url = _DB[0]
    try:
        if sql.strip():
            engine.run_script(url, sql)
        return introspect_url(url)
    finally:
        engine.run_script(url, RESET)
